//! H10: HTTP/2 with prior knowledge on plain TCP (h2c) when `http2` is on,
//! next to HTTP/1.1 on the same port; graceful stop sends GOAWAY and lets
//! streams in flight finish.

use crate::support;
use fjord_test_support::wait_for_async;
use support::DEADLINE;

use std::net::SocketAddr;

use bytes::Bytes;
use fjord_service::Service;
use http_body_util::{BodyExt, Empty, Full};
use hyper::client::conn::http2::SendRequest;
use hyper_util::rt::{TokioExecutor, TokioIo};
use support::*;

async fn h2c<B>(addr: SocketAddr) -> hyper::Result<SendRequest<B>>
where
    B: http_body::Body + Unpin + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let tcp = connect(addr).await;
    let (send, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp)).await?;
    tokio::spawn(conn);
    Ok(send)
}

#[tokio::test]
async fn h2c_prior_knowledge_and_http1_on_one_port() {
    let (service, addr) = start(options().http2(true), simple_app()).await;
    let mut send = h2c::<Full<Bytes>>(addr).await.expect("h2c handshake");
    for _ in 0..3 {
        let req = http::Request::post(format!("http://{addr}/echo"))
            .body(Full::new(Bytes::from_static(b"over h2c")))
            .unwrap();
        let resp = send.send_request(req).await.expect("response");
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.version(), http::Version::HTTP_2);
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], b"over h2c");
    }
    // HTTP/1.1 clients are still served, including a request line that
    // starts like the preface.
    assert_eq!(get(addr, "/hello").await.status, 200);
    let mut s = connect(addr).await;
    let r = roundtrip(
        &mut s,
        b"PRIZE /hello HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n",
    )
    .await;
    assert_eq!(r.status, 200);
    service.stop(true).await;
}

#[tokio::test]
async fn h2c_is_off_by_default() {
    let (service, addr) = start(options(), simple_app()).await;
    let result = async {
        let mut send = h2c::<Empty<Bytes>>(addr).await?;
        let req = http::Request::get(format!("http://{addr}/hello"))
            .body(Empty::new())
            .unwrap();
        send.send_request(req).await
    };
    let result = tokio::time::timeout(DEADLINE, result)
        .await
        .expect("h2c attempt ended");
    assert!(result.is_err(), "h2c must not be served when http2 is off");
    assert_eq!(get(addr, "/hello").await.status, 200);
    service.stop(true).await;
}

#[tokio::test]
async fn h2_graceful_stop_finishes_streams_in_flight() {
    let (service, addr) = start(options().http2(true), simple_app()).await;
    let mut send = h2c::<Empty<Bytes>>(addr).await.expect("h2c handshake");
    let req = http::Request::get(format!("http://{addr}/slow?ms=800"))
        .body(Empty::new())
        .unwrap();
    let in_flight = tokio::spawn(send.send_request(req));
    wait_for_async("stream in flight", DEADLINE, || {
        service.stats().in_flight == 1
    })
    .await;
    let stopper = {
        let service = service.clone();
        tokio::spawn(async move { service.stop(true).await })
    };
    let resp = in_flight.await.unwrap().expect("stream finished");
    assert_eq!(resp.status(), 200);
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"slow");
    tokio::time::timeout(DEADLINE, stopper)
        .await
        .expect("stopped")
        .unwrap();
}

#[tokio::test]
async fn idle_h2c_connection_is_closed_at_the_timeout() {
    let timeout = std::time::Duration::from_millis(800);
    let (service, addr) = start(
        options().http2(true).client_socket_timeout(timeout),
        simple_app(),
    )
    .await;
    let (mut send, conn) = h2c_connect(addr).await;
    let req = http::Request::get(format!("http://{addr}/hello"))
        .body(Empty::<Bytes>::new())
        .unwrap();
    assert_eq!(
        send.send_request(req).await.expect("response").status(),
        200
    );
    let idle_since = std::time::Instant::now();
    // The server closes the idle connection: the client's connection ends.
    let ended = tokio::time::timeout(DEADLINE, conn)
        .await
        .expect("idle h2c connection closed by the server")
        .expect("connection task");
    // Closed with GOAWAY: the client sees a clean end, not a broken pipe.
    assert!(ended.is_ok(), "{ended:?}");
    assert!(idle_since.elapsed() >= timeout - std::time::Duration::from_millis(100));
    wait_for_async("no connection", DEADLINE, || {
        service.stats().active_connections == 0
    })
    .await;
    service.stop(true).await;
}

#[tokio::test]
async fn h2c_wait_for_the_client_restarts_with_each_frame_and_not_during_a_stream() {
    use std::time::Duration;
    let timeout = Duration::from_millis(600);
    let (service, addr) = start(
        options().http2(true).client_socket_timeout(timeout),
        simple_app(),
    )
    .await;

    // A stream in flight for longer than the timeout is not cut.
    let (mut send, _conn) = h2c_connect(addr).await;
    let req = http::Request::get(format!("http://{addr}/slow?ms=1500"))
        .body(Empty::<Bytes>::new())
        .unwrap();
    let resp = send.send_request(req).await.expect("slow response");
    assert_eq!(resp.status(), 200);
    assert_eq!(
        &resp.into_body().collect().await.unwrap().to_bytes()[..],
        b"slow"
    );

    // A client that sends a PING every 200 ms keeps its idle connection
    // open past three timeouts.
    let tcp = connect(addr).await;
    let (mut send, conn) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
        .timer(hyper_util::rt::TokioTimer::new())
        .keep_alive_interval(Duration::from_millis(200))
        .keep_alive_while_idle(true)
        .handshake::<_, Empty<Bytes>>(TokioIo::new(tcp))
        .await
        .expect("h2c handshake");
    let conn = tokio::spawn(conn);
    tokio::time::sleep(timeout * 3).await;
    assert!(!conn.is_finished(), "closed while the client pinged");
    let req = http::Request::get(format!("http://{addr}/hello"))
        .body(Empty::new())
        .unwrap();
    let resp = send
        .send_request(req)
        .await
        .expect("response after pinging");
    assert_eq!(resp.status(), 200);
    drop(send);
    let _ = conn.await;
    service.stop(true).await;
}

#[tokio::test]
async fn limits_apply_to_http2_too() {
    let (service, addr) = start(options().http2(true).max_url_len(64), simple_app()).await;
    let mut send = h2c::<Empty<Bytes>>(addr).await.expect("h2c handshake");
    let req = http::Request::get(format!("http://{addr}/{}", "u".repeat(100)))
        .body(Empty::new())
        .unwrap();
    let resp = send.send_request(req).await.expect("response");
    assert_eq!(resp.status(), 414);
    // The connection goes on serving.
    let req = http::Request::get(format!("http://{addr}/hello"))
        .body(Empty::new())
        .unwrap();
    assert_eq!(
        send.send_request(req).await.expect("response").status(),
        200
    );
    service.stop(true).await;
}

#[tokio::test]
async fn random_frames_after_the_preface_never_kill_a_task() {
    let (service, addr) = start(options().http2(true), simple_app()).await;
    survive_bad_inputs(&service, addr, 200, BadInput::H2).await;
    let mut send = h2c::<Empty<Bytes>>(addr).await.expect("h2c handshake");
    let req = http::Request::get(format!("http://{addr}/hello"))
        .body(Empty::new())
        .unwrap();
    let resp = send.send_request(req).await.expect("response");
    assert_eq!(resp.status(), 200);
    drop(send);
    service.stop(true).await;
}
