//! Proxy headers: honoured only with `enable_proxy_headers_parsing`.

use crate::support::apps;

use apps::{request, send};
use fjord_http::loader::{Loader, PasteConfig, ScriptName};
use fjord_http::middleware::{Forwarded, ProxyHeadersLayer};
use fjord_http::{App, Request, Response, full};
use tower::Layer;

/// Answers "scheme host client prefix uri".
fn echo() -> App {
    App::new(tower::service_fn(|req: Request| async move {
        let f = req
            .extensions()
            .get::<Forwarded>()
            .cloned()
            .unwrap_or_default();
        let script = req
            .extensions()
            .get::<ScriptName>()
            .map(|s| s.0.clone())
            .unwrap_or_default();
        let host = req
            .headers()
            .get("host")
            .and_then(|h| h.to_str().ok())
            .unwrap_or("-")
            .to_owned();
        let text = format!(
            "{} {} {} {} {} {}",
            f.scheme.unwrap_or_else(|| "-".into()),
            f.host.unwrap_or_else(|| "-".into()),
            f.client.unwrap_or_else(|| "-".into()),
            if script.is_empty() {
                "-".into()
            } else {
                script
            },
            host,
            req.uri()
        );
        Ok::<_, std::convert::Infallible>(Response::new(full(text)))
    }))
}

fn proxied(headers: &[(&'static str, &str)]) -> Request {
    let mut req = request("GET", "/v1/x?y=1");
    req.headers_mut()
        .insert("host", "10.0.0.5:8774".parse().unwrap());
    for (k, v) in headers {
        req.headers_mut().insert(*k, v.parse().unwrap());
    }
    req
}

const XF: &[(&str, &str)] = &[
    ("x-forwarded-proto", "https"),
    ("x-forwarded-host", "api.example.com"),
    ("x-forwarded-for", "192.0.2.7, 10.0.0.1"),
    ("x-forwarded-prefix", "/compute"),
];

#[tokio::test]
async fn ignored_unless_enabled() {
    let app = App::new(ProxyHeadersLayer::new(false).layer(echo()));
    let (_, body) = send(&app, proxied(XF)).await;
    assert_eq!(body, "- - - - 10.0.0.5:8774 /v1/x?y=1");
}

#[tokio::test]
async fn x_forwarded_headers_when_enabled() {
    let app = App::new(ProxyHeadersLayer::new(true).layer(echo()));
    let (_, body) = send(&app, proxied(XF)).await;
    assert_eq!(
        body,
        "https api.example.com 192.0.2.7 /compute api.example.com https://api.example.com/v1/x?y=1"
    );
}

#[tokio::test]
async fn rfc7239_forwarded_takes_precedence() {
    let app = App::new(ProxyHeadersLayer::new(true).layer(echo()));
    let mut h = XF.to_vec();
    h.push((
        "forwarded",
        "for=\"198.51.100.17\";proto=http;host=front.example.org, for=10.0.0.1",
    ));
    let (_, body) = send(&app, proxied(&h)).await;
    assert_eq!(
        body,
        "http front.example.org 198.51.100.17 /compute front.example.org http://front.example.org/v1/x?y=1"
    );
}

#[tokio::test]
async fn paste_option_enables_it() {
    let ini = "[pipeline:main]\npipeline = proxy app\n[filter:proxy]\npaste.filter_factory = oslo_middleware.http_proxy_to_wsgi:HTTPProxyToWSGI.factory\nenable_proxy_headers_parsing = True\n[pipeline:off]\npipeline = proxy_off app\n[filter:proxy_off]\npaste.filter_factory = oslo_middleware:HTTPProxyToWSGI.factory\n[app:app]\npaste.app_factory = t:echo\n";
    let mut loader = Loader::new();
    loader.register_app("t:echo", |_g, _l| Ok(echo()));
    let config = PasteConfig::parse(ini, "t.ini").unwrap();
    let (_, body) = send(&loader.load_app(&config, "main").unwrap(), proxied(XF)).await;
    assert!(body.starts_with(b"https api.example.com"), "{body:?}");
    let (_, body) = send(&loader.load_app(&config, "off").unwrap(), proxied(XF)).await;
    assert!(body.starts_with(b"- - -"), "{body:?}");

    let bad = "[pipeline:main]\npipeline = proxy app\n[filter:proxy]\npaste.filter_factory = oslo_middleware:HTTPProxyToWSGI.factory\nenable_proxy_headers_parsing = perhaps\n[app:app]\npaste.app_factory = t:echo\n";
    let err = loader
        .load_app(&PasteConfig::parse(bad, "t.ini").unwrap(), "main")
        .unwrap_err();
    assert!(
        err.to_string().contains("enable_proxy_headers_parsing"),
        "{err}"
    );
}

#[tokio::test]
async fn service_config_option_enables_it_when_the_paste_file_does_not_say() {
    // As in nova: the paste file has no option, nova.conf's
    // [oslo_middleware] enable_proxy_headers_parsing does.
    let ini = "[pipeline:main]\npipeline = proxy app\n[filter:proxy]\npaste.filter_factory = oslo_middleware:HTTPProxyToWSGI.factory\n[app:app]\npaste.app_factory = t:echo\n";
    let mut loader = Loader::new();
    loader.register_app("t:echo", |_g, _l| Ok(echo()));
    let config = PasteConfig::parse(ini, "t.ini").unwrap();
    let (_, body) = send(&loader.load_app(&config, "main").unwrap(), proxied(XF)).await;
    assert!(body.starts_with(b"- - -"), "{body:?}");
    loader.set_middleware_option("enable_proxy_headers_parsing", "true");
    let (_, body) = send(&loader.load_app(&config, "main").unwrap(), proxied(XF)).await;
    assert!(body.starts_with(b"https api.example.com"), "{body:?}");
    // The filter section's own key still wins.
    let off = ini.replace(
        "factory\n[app",
        "factory\nenable_proxy_headers_parsing = false\n[app",
    );
    let config = PasteConfig::parse(&off, "t.ini").unwrap();
    let (_, body) = send(&loader.load_app(&config, "main").unwrap(), proxied(XF)).await;
    assert!(body.starts_with(b"- - -"), "{body:?}");
}
