//! Body size limit: Content-Length checked up front, streamed (chunked)
//! bodies counted; over the limit is 413.

use crate::support::apps;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use apps::{body_reader, request, send};
use bytes::Bytes;
use fjord_http::loader::{Loader, PasteConfig};
use fjord_http::middleware::{DEFAULT_MAX_REQUEST_BODY_SIZE, SizeLimitLayer};
use fjord_http::{App, Request};
use http_body::Frame;
use tower::Layer;

fn with_length(n: usize) -> Request {
    http::Request::builder()
        .method("POST")
        .uri("/")
        .header("content-length", n.to_string())
        .body(fjord_http::full(vec![b'a'; n]))
        .unwrap()
}

fn chunked(chunks: usize, size: usize) -> Request {
    let frames = (0..chunks)
        .map(move |_| Ok::<_, std::io::Error>(Frame::data(Bytes::from(vec![b'b'; size]))));
    let body = http_body_util::StreamBody::new(futures_util::stream::iter(frames));
    http::Request::builder()
        .method("POST")
        .uri("/")
        .header("transfer-encoding", "chunked")
        .body(fjord_http::boxed(body))
        .unwrap()
}

#[tokio::test]
async fn default_limit_is_oslos_and_content_length_is_checked_before_the_app() {
    assert_eq!(DEFAULT_MAX_REQUEST_BODY_SIZE, 114_688);
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let reader = body_reader();
    let inner = App::new(tower::service_fn(move |req: Request| {
        counter.fetch_add(1, Ordering::SeqCst);
        tower::ServiceExt::oneshot(reader.clone(), req)
    }));
    let app = App::new(SizeLimitLayer::default().layer(inner));
    let (parts, body) = send(&app, with_length(114_688)).await;
    assert_eq!((parts.status.as_u16(), &body[..]), (200, &b"114688"[..]));
    let (parts, body) = send(&app, with_length(114_689)).await;
    assert_eq!(parts.status, 413);
    assert!(String::from_utf8_lossy(&body).contains("max_request_body_size (114688)"));
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "the oversized request never reached the app"
    );
}

#[tokio::test]
async fn streamed_bodies_are_counted() {
    let app = App::new(SizeLimitLayer::new(1000).layer(body_reader()));
    let (parts, body) = send(&app, chunked(10, 100)).await;
    assert_eq!((parts.status.as_u16(), &body[..]), (200, &b"1000"[..]));
    let (parts, _) = send(&app, chunked(11, 100)).await;
    assert_eq!(
        parts.status, 413,
        "the app's read failed and its answer was replaced"
    );
    let (parts, _) = send(&app, request("GET", "/")).await;
    assert_eq!(parts.status, 200);
}

#[tokio::test]
async fn paste_option_sets_the_limit() {
    let ini = "[pipeline:main]\npipeline = sizelimit app\n[filter:sizelimit]\npaste.filter_factory = oslo_middleware.sizelimit:RequestBodySizeLimiter.factory\nmax_request_body_size = 10\n[app:app]\npaste.app_factory = t:reader\n[DEFAULT]\n";
    let mut loader = Loader::new();
    loader.register_app("t:reader", |_g, _l| Ok(body_reader()));
    let app = loader
        .load_app(&PasteConfig::parse(ini, "t.ini").unwrap(), "main")
        .unwrap();
    assert_eq!(send(&app, with_length(10)).await.0.status, 200);
    assert_eq!(send(&app, with_length(11)).await.0.status, 413);
    assert_eq!(send(&app, chunked(3, 4)).await.0.status, 413);

    let bad = ini.replace("= 10", "= ten");
    let err = loader
        .load_app(&PasteConfig::parse(&bad, "t.ini").unwrap(), "main")
        .unwrap_err();
    assert!(
        err.to_string().contains("max_request_body_size")
            && err.to_string().contains("[filter:sizelimit]"),
        "{err}"
    );
}
