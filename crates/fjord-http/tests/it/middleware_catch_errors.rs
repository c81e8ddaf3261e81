//! Catch errors: a panic or an error in the app becomes a generic 500
//! JSON answer; the details go to the log; the service keeps serving.

use crate::support::apps;

use apps::{header, request, send};
use fjord_http::loader::{Loader, PasteConfig};
use fjord_http::middleware::CatchErrorsLayer;
use fjord_http::{App, Request, Response, full};
use tower::Layer;

/// Panics in its future for `/panic`, in `call` for `/panic-now`, answers
/// otherwise.
#[derive(Clone)]
struct Flaky;

impl tower::Service<Request> for Flaky {
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future =
        futures_util::future::BoxFuture<'static, Result<Response, std::convert::Infallible>>;

    fn poll_ready(
        &mut self,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let path = req.uri().path().to_owned();
        if path == "/panic-now" {
            panic!("secret database password hunter2 in call");
        }
        Box::pin(async move {
            if path == "/panic" {
                panic!("secret database password hunter2 in future");
            }
            Ok(Response::new(full("fine")))
        })
    }
}

fn assert_generic_500(parts: &http::response::Parts, body: &[u8]) {
    assert_eq!(parts.status, 500);
    assert_eq!(header(parts, "content-type"), "application/json");
    let v: serde_json::Value = serde_json::from_slice(body).unwrap();
    assert_eq!(v["error"]["code"], 500);
    assert_eq!(v["error"]["title"], "Internal Server Error");
    let text = String::from_utf8_lossy(body);
    assert!(
        !text.contains("hunter2") && !text.contains("panic") && !text.contains("boom"),
        "{text}"
    );
}

#[tokio::test]
async fn panics_become_generic_500_and_the_service_keeps_serving() {
    let app = App::new(CatchErrorsLayer::new().layer(Flaky));
    for path in ["/panic", "/panic-now"] {
        let (parts, body) = send(&app, request("GET", path)).await;
        assert_generic_500(&parts, &body);
    }
    let (parts, body) = send(&app, request("GET", "/ok")).await;
    assert_eq!(
        (parts.status.as_u16(), &body[..]),
        (200, &b"fine"[..]),
        "still serving"
    );
}

#[tokio::test]
async fn service_errors_become_generic_500() {
    let failing = tower::service_fn(|req: Request| async move {
        if req.uri().path() == "/boom" {
            Err(std::io::Error::other("boom: disk on fire"))
        } else {
            Ok(Response::new(full("ok")))
        }
    });
    let app = App::new(CatchErrorsLayer::new().layer(failing));
    let (parts, body) = send(&app, request("POST", "/boom")).await;
    assert_generic_500(&parts, &body);
    assert_eq!(send(&app, request("GET", "/")).await.0.status, 200);
}

#[tokio::test]
async fn usable_as_paste_filter() {
    let ini = "[pipeline:main]\npipeline = catch_errors app\n[filter:catch_errors]\npaste.filter_factory = oslo_middleware:CatchErrors.factory\n[app:app]\npaste.app_factory = t:flaky\n";
    let mut loader = Loader::new();
    loader.register_app("t:flaky", |_g, _l| Ok(App::new(Flaky)));
    let app = loader
        .load_app(&PasteConfig::parse(ini, "t.ini").unwrap(), "main")
        .unwrap();
    let (parts, body) = send(&app, request("GET", "/panic")).await;
    assert_generic_500(&parts, &body);
}
