//! CORS as oslo.middleware 8 does it: simple requests, preflights,
//! wildcard, and the paste factory's options.

use crate::support::apps;

use apps::{header, named, request, send};
use fjord_http::loader::{Loader, PasteConfig};
use fjord_http::middleware::{CorsConfig, CorsLayer};
use fjord_http::{App, Request, Response, full};
use tower::Layer;

fn cors(config: CorsConfig) -> App {
    App::new(CorsLayer::new(config).layer(named("app")))
}

fn from(origin: &str, method: &str) -> Request {
    let mut r = request(method, "/servers");
    r.headers_mut().insert("origin", origin.parse().unwrap());
    r
}

fn preflight(origin: &str, method: &str, headers: &str) -> Request {
    let mut r = from(origin, "OPTIONS");
    r.headers_mut()
        .insert("access-control-request-method", method.parse().unwrap());
    if !headers.is_empty() {
        r.headers_mut()
            .insert("access-control-request-headers", headers.parse().unwrap());
    }
    r
}

fn config() -> CorsConfig {
    CorsConfig::default()
        .allow_origin("https://dash.example.com")
        .expose_headers(["X-OpenStack-Request-ID"])
        .allow_headers(["X-Auth-Token"])
        .allow_methods(["GET", "POST"])
}

#[tokio::test]
async fn simple_requests_from_allowed_origins_get_headers() {
    let app = cors(config());
    let (p, body) = send(&app, from("https://dash.example.com", "GET")).await;
    assert_eq!(body, "app /servers");
    assert_eq!(
        header(&p, "access-control-allow-origin"),
        "https://dash.example.com"
    );
    assert_eq!(header(&p, "access-control-allow-credentials"), "true");
    assert_eq!(
        header(&p, "access-control-expose-headers"),
        "X-OpenStack-Request-ID"
    );
    assert_eq!(header(&p, "vary"), "Origin");

    let (p, _) = send(&app, from("https://evil.example.com", "GET")).await;
    assert_eq!(header(&p, "access-control-allow-origin"), "");
    let (p, _) = send(&app, request("GET", "/")).await;
    assert_eq!(header(&p, "vary"), "");
}

#[tokio::test]
async fn preflight_checks_method_and_headers() {
    let app = cors(config().max_age(600));
    let (p, body) = send(
        &app,
        preflight(
            "https://dash.example.com",
            "POST",
            "x-auth-token, Content-Type",
        ),
    )
    .await;
    assert_eq!(
        p.status, 200,
        "the app's answer to OPTIONS is kept when 2xx"
    );
    assert_eq!(body, "app /servers");
    assert_eq!(
        header(&p, "access-control-allow-origin"),
        "https://dash.example.com"
    );
    assert_eq!(header(&p, "access-control-allow-methods"), "POST");
    assert_eq!(
        header(&p, "access-control-allow-headers"),
        "x-auth-token,Content-Type"
    );
    assert_eq!(header(&p, "access-control-max-age"), "600");
    assert_eq!(header(&p, "access-control-allow-credentials"), "true");

    let (p, _) = send(&app, preflight("https://dash.example.com", "DELETE", "")).await;
    assert_eq!(
        header(&p, "access-control-allow-origin"),
        "",
        "method not allowed"
    );
    let (p, _) = send(
        &app,
        preflight("https://dash.example.com", "GET", "X-Secret"),
    )
    .await;
    assert_eq!(
        header(&p, "access-control-allow-origin"),
        "",
        "header not allowed"
    );
    let (p, _) = send(&app, from("https://dash.example.com", "OPTIONS")).await;
    assert_eq!(
        header(&p, "access-control-allow-origin"),
        "",
        "no request method: not a preflight"
    );
}

#[tokio::test]
async fn failed_options_answer_becomes_empty_200_and_existing_headers_win() {
    let not_found = App::new(tower::service_fn(|req: Request| async move {
        let mut r = Response::new(full("nope"));
        *r.status_mut() = http::StatusCode::NOT_FOUND;
        if req.uri().path() == "/own" {
            r.headers_mut().insert(
                "access-control-allow-origin",
                "https://mine".parse().unwrap(),
            );
        }
        r.headers_mut().insert("vary", "Accept".parse().unwrap());
        Ok::<_, std::convert::Infallible>(r)
    }));
    let app =
        App::new(CorsLayer::new(config().allow_credentials(false).max_age(0)).layer(not_found));
    let (p, body) = send(&app, preflight("https://dash.example.com", "GET", "")).await;
    assert_eq!(p.status, 200);
    assert!(body.is_empty());
    assert_eq!(
        header(&p, "access-control-allow-origin"),
        "https://dash.example.com"
    );
    assert_eq!(header(&p, "access-control-allow-credentials"), "");
    assert_eq!(header(&p, "access-control-max-age"), "");

    let (p, _) = send(&app, from("https://dash.example.com", "GET")).await;
    assert_eq!(p.status, 404);
    assert_eq!(header(&p, "vary"), "Accept,Origin");
    let mut r = from("https://dash.example.com", "GET");
    *r.uri_mut() = "/own".parse().unwrap();
    let (p, _) = send(&app, r).await;
    assert_eq!(header(&p, "access-control-allow-origin"), "https://mine");
}

#[tokio::test]
async fn wildcard_and_paste_options() {
    let ini = "[pipeline:main]\npipeline = cors app\n[filter:cors]\npaste.filter_factory = oslo_middleware.cors:filter_factory\nallowed_origin = *\nallow_credentials = false\nexpose_headers = X-A, X-B\n[app:app]\npaste.app_factory = t:app\n";
    let mut loader = Loader::new();
    loader.register_app("t:app", |_g, _l| Ok(named("app")));
    let app = loader
        .load_app(&PasteConfig::parse(ini, "t.ini").unwrap(), "main")
        .unwrap();
    let (p, _) = send(&app, from("https://any.example.net", "GET")).await;
    assert_eq!(header(&p, "access-control-allow-origin"), "*");
    assert_eq!(header(&p, "access-control-allow-credentials"), "");
    assert_eq!(header(&p, "access-control-expose-headers"), "X-A,X-B");

    let missing = "[filter:cors]\npaste.filter_factory = oslo_middleware:CORS.factory\n";
    let err = loader
        .load_filter(&PasteConfig::parse(missing, "t.ini").unwrap(), "cors")
        .err()
        .unwrap();
    assert!(
        err.to_string()
            .contains("allowed_origin or oslo_config_project is required"),
        "{err}"
    );
    let project = "[filter:cors]\npaste.filter_factory = oslo_middleware:CORS.factory\noslo_config_project = nova\n";
    assert!(
        loader
            .load_filter(&PasteConfig::parse(project, "t.ini").unwrap(), "cors")
            .is_ok()
    );
}
