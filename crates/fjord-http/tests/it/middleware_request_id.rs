//! Request id middleware: `req-<uuid4>` generated per request, echoed in
//! `x-openstack-request-id`, stored in extensions and in a tracing span.

use crate::support::apps;

use apps::{header, named, request, send};
use fjord_http::loader::{Loader, PasteConfig};
use fjord_http::middleware::{GlobalRequestId, RequestIdLayer};
use fjord_http::{App, Request, Response, full};
use tower::Layer;

#[tokio::test]
async fn ids_are_generated_echoed_and_visible_to_the_app() {
    let app = App::new(RequestIdLayer::new().layer(named("x")));
    let (a, _) = send(&app, request("GET", "/")).await;
    let (b, _) = send(&app, request("GET", "/")).await;
    let id_a = header(&a, "x-openstack-request-id");
    let id_b = header(&b, "x-openstack-request-id");
    assert!(id_a.starts_with("req-") && id_a.len() == 40, "{id_a}");
    assert!(uuid_v4(&id_a[4..]), "{id_a}");
    assert_ne!(id_a, id_b, "a fresh id per request");
    assert_eq!(
        header(&a, "x-request-id"),
        id_a,
        "same id in the request extensions"
    );
}

fn uuid_v4(s: &str) -> bool {
    s.len() == 36
        && s.as_bytes()[14] == b'4'
        && s.chars().all(|c| c == '-' || c.is_ascii_hexdigit())
}

#[tokio::test]
async fn incoming_id_is_kept_as_global_id_only_when_well_formed() {
    let inner = App::new(tower::service_fn(|req: Request| async move {
        let g = req
            .extensions()
            .get::<GlobalRequestId>()
            .map(|g| g.0.clone())
            .unwrap_or_default();
        Ok::<_, std::convert::Infallible>(Response::new(full(g)))
    }));
    let app = App::new(RequestIdLayer::new().layer(inner));
    let good = "req-0f3c2c4e-3f5a-4b7c-9d1e-2a3b4c5d6e7f";
    let mut req = request("GET", "/");
    req.headers_mut()
        .insert("X-OpenStack-Request-ID", good.parse().unwrap());
    let (parts, body) = send(&app, req).await;
    assert_eq!(body, good);
    assert_ne!(
        header(&parts, "x-openstack-request-id"),
        good,
        "local id is always fresh"
    );
    let mut req = request("GET", "/");
    req.headers_mut().insert(
        "X-OpenStack-Request-ID",
        "req-evil\u{7f}".parse().unwrap_or("bogus".parse().unwrap()),
    );
    let (_, body) = send(&app, req).await;
    assert_eq!(body, "");
}

#[tokio::test]
async fn app_header_is_kept_and_compat_headers_come_from_paste_options() {
    let inner = App::new(tower::service_fn(|_req: Request| async move {
        let mut r = Response::new(full("x"));
        r.headers_mut()
            .insert("x-openstack-request-id", "req-from-app".parse().unwrap());
        Ok::<_, std::convert::Infallible>(r)
    }));
    let app = App::new(RequestIdLayer::new().layer(inner));
    let (parts, _) = send(&app, request("GET", "/")).await;
    assert_eq!(header(&parts, "x-openstack-request-id"), "req-from-app");

    let ini = "[pipeline:main]\npipeline = rid app\n[filter:rid]\nuse = egg:oslo.middleware#request_id\ncompat_headers = x-compute-request-id\n[app:app]\npaste.app_factory = t:app\n";
    let mut loader = Loader::new();
    loader.register_app("t:app", |_g, _l| Ok(named("app")));
    let app = loader
        .load_app(&PasteConfig::parse(ini, "t.ini").unwrap(), "main")
        .unwrap();
    let (parts, _) = send(&app, request("GET", "/")).await;
    let id = header(&parts, "x-openstack-request-id");
    assert!(id.starts_with("req-"));
    assert_eq!(header(&parts, "x-compute-request-id"), id);
}
