//! What the middleware puts in the log: the request id span and the
//! catch-errors details. One test function on purpose: tracing's
//! thread-local subscriber and its per-callsite interest cache do not mix
//! with other tests hitting the same callsites concurrently.

use crate::support::apps;

use std::io::Write;
use std::sync::{Arc, Mutex};

use apps::{header, request, send};
use fjord_http::middleware::{CatchErrorsLayer, RequestIdLayer};
use fjord_http::{App, Request, Response, full};
use tower::Layer;

#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Buf {
    fn take(&self) -> String {
        String::from_utf8(std::mem::take(&mut *self.0.lock().unwrap())).unwrap()
    }
}

#[tokio::test]
async fn request_id_span_and_catch_errors_details_are_logged() {
    let buf = Buf::default();
    let writer = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    // Request id: events inside the app carry the id in the span.
    let inner = App::new(tower::service_fn(|req: Request| async move {
        if req.uri().path() == "/panic" {
            panic!("secret database password hunter2");
        }
        tracing::info!("handling");
        Ok::<_, std::convert::Infallible>(Response::new(full("x")))
    }));
    let app = App::new(RequestIdLayer::new().layer(CatchErrorsLayer::new().layer(inner)));
    let (parts, _) = send(&app, request("GET", "/")).await;
    let id = header(&parts, "x-openstack-request-id").to_owned();
    let log = buf.take();
    assert!(
        log.contains(&format!("request{{request_id={id}}}")) && log.contains("handling"),
        "{log}"
    );

    // Catch errors: the panic message, request line and masked headers go
    // to the log (inside the request's span), never to the client.
    let mut req = request("GET", "/panic");
    req.headers_mut()
        .insert("x-auth-token", "tok-123".parse().unwrap());
    let (parts, body) = send(&app, req).await;
    assert_eq!(parts.status, 500);
    assert!(!String::from_utf8_lossy(&body).contains("hunter2"));
    let id = header(&parts, "x-openstack-request-id").to_owned();
    let log = buf.take();
    assert!(log.contains("ERROR") && log.contains("hunter2"), "{log}");
    assert!(log.contains(&format!("request_id={id}")), "{log}");
    assert!(
        log.contains("GET /panic")
            && log.contains("x-auth-token: *****")
            && !log.contains("tok-123"),
        "{log}"
    );
}
