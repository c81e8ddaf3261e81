//! H9: graceful stop drains: in-flight requests finish (with
//! `Connection: close`), an idle keep-alive connection answers a request
//! sent soon after the drain began (with `Connection: close`) and is
//! closed if none comes within the linger, a connection holding part of
//! its next request gets it answered; a hard stop drops
//! connections in every stage; reset + start serves again on the same
//! socket.

use crate::support;
use fjord_test_support::wait_for_async;
use support::DEADLINE;

use std::time::Duration;

use bytes::Bytes;
use fjord_http::server::{Phase, SslOptions};
use fjord_service::Service;
use http_body_util::Empty;
use support::*;
use tokio::io::AsyncWriteExt;

#[tokio::test]
async fn graceful_stop_drains_in_flight_and_closes_idle() {
    let (service, addr) = start(options(), simple_app()).await;
    let mut phase = service.phase();
    assert_eq!(*phase.borrow_and_update(), Phase::Running);

    // B: an idle keep-alive connection.
    let mut idle = connect(addr).await;
    let r = roundtrip(&mut idle, b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n").await;
    assert_eq!(r.status, 200);
    // D: an idle keep-alive connection whose next request comes just
    // after the drain began.
    let mut late = connect(addr).await;
    let r = roundtrip(&mut late, b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n").await;
    assert_eq!(r.status, 200);
    // C: a keep-alive connection that has sent part of its next request.
    let mut partial = connect(addr).await;
    let r = roundtrip(&mut partial, b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n").await;
    assert_eq!(r.status, 200);
    partial
        .write_all(b"GET /hello HTTP/1.1\r\nHost: t\r\n")
        .await
        .unwrap();
    // A: a slow request in flight.
    let mut slow = connect(addr).await;
    slow.write_all(b"GET /slow?ms=2500 HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .unwrap();
    wait_for_async("slow request in flight", DEADLINE, || {
        service.stats().in_flight == 1
    })
    .await;
    // Setup only: let the server read C's partial head off the socket.
    tokio::time::sleep(Duration::from_millis(200)).await;

    let stopper = {
        let service = service.clone();
        tokio::spawn(async move { service.stop(true).await })
    };
    phase.changed().await.unwrap();
    assert_eq!(*phase.borrow_and_update(), Phase::Draining);

    let drain_began = std::time::Instant::now();

    // D's next request, sent 300 ms into the drain, is answered, with
    // Connection: close, and the connection then closes.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let r = roundtrip(&mut late, b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("connection").as_deref(), Some("close"));
    read_until_closed(&mut late).await.expect("late closed");

    // B, idle through the linger, is closed then, while A is still being
    // served.
    let out = read_until_closed(&mut idle)
        .await
        .expect("idle closed cleanly");
    assert!(out.is_empty(), "{out:?}");
    let lingered = drain_began.elapsed();
    assert!(
        lingered >= Duration::from_millis(800),
        "an idle connection stays open for the linger (closed after {lingered:?})"
    );
    assert_eq!(
        service.stats().in_flight,
        1,
        "idle closed before the drain ended"
    );

    // C finishes its request and gets an answer, with Connection: close.
    let r = roundtrip(&mut partial, b"\r\n").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("connection").as_deref(), Some("close"));
    read_until_closed(&mut partial)
        .await
        .expect("partial closed");

    // A completes normally, with Connection: close.
    let mut buf = Vec::new();
    let r = read_response(&mut slow, &mut buf).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "slow");
    assert_eq!(r.header("connection").as_deref(), Some("close"));
    read_until_closed(&mut slow).await.expect("slow closed");

    tokio::time::timeout(DEADLINE, stopper)
        .await
        .expect("stop returned")
        .unwrap();
    assert_eq!(*service.phase().borrow(), Phase::Stopped);
    assert_eq!(service.stats().active_connections, 0);
    tokio::time::timeout(DEADLINE, service.wait())
        .await
        .expect("wait returns after stop");
}

#[tokio::test]
async fn hard_stop_drops_in_flight_requests() {
    let (service, addr) = start(options(), simple_app()).await;
    let mut slow = connect(addr).await;
    slow.write_all(b"GET /slow?ms=20000 HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .unwrap();
    wait_for_async("in flight", DEADLINE, || service.stats().in_flight == 1).await;
    tokio::time::timeout(Duration::from_secs(2), service.stop(false))
        .await
        .expect("hard stop is prompt");
    let out = read_until_closed(&mut slow).await.unwrap_or_default();
    assert!(out.is_empty(), "{:?}", String::from_utf8_lossy(&out));
}

/// A hard stop closes a connection in whatever stage it is: still
/// sending the HTTP/2 preface, serving HTTP/1 or HTTP/2 with a request in
/// flight.
#[tokio::test]
async fn hard_stop_closes_connections_in_every_stage() {
    let (service, addr) = start(options().http2(true), simple_app()).await;
    let mut sniffing = connect(addr).await;
    sniffing.write_all(b"PRI * HTTP/2.0\r\n").await.unwrap();
    let mut h1 = connect(addr).await;
    h1.write_all(b"GET /slow?ms=20000 HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .unwrap();
    let (mut send, h2_conn) = h2c_connect(addr).await;
    let req = http::Request::get(format!("http://{addr}/slow?ms=20000"))
        .body(Empty::<Bytes>::new())
        .unwrap();
    let h2_stream = tokio::spawn(send.send_request(req));
    wait_for_async("both requests in flight", DEADLINE, || {
        service.stats().in_flight == 2
    })
    .await;
    assert_eq!(service.stats().active_connections, 3);

    tokio::time::timeout(Duration::from_secs(2), service.stop(false))
        .await
        .expect("hard stop is prompt");
    assert_eq!(service.stats().active_connections, 0);
    for (what, s) in [("sniffing", &mut sniffing), ("HTTP/1", &mut h1)] {
        let out = read_until_closed(s).await.unwrap_or_default();
        assert!(
            out.is_empty(),
            "{what}: {:?}",
            String::from_utf8_lossy(&out)
        );
    }
    let r = tokio::time::timeout(DEADLINE, h2_stream)
        .await
        .expect("the HTTP/2 stream ends")
        .unwrap();
    assert!(r.is_err(), "the HTTP/2 stream must be cut: {r:?}");
    // The app's futures were dropped too, the HTTP/2 stream's included.
    wait_for_async("requests dropped", DEADLINE, || {
        service.stats().in_flight == 0
    })
    .await;
    tokio::time::timeout(DEADLINE, h2_conn)
        .await
        .expect("the HTTP/2 connection closes")
        .unwrap()
        .ok();
}

/// A hard stop closes a TLS connection still in its handshake.
#[tokio::test]
async fn hard_stop_closes_a_connection_in_its_tls_handshake() {
    let pki = make_pki("hard-stop-tls");
    let options = options().ssl(SslOptions::new(&pki.server_cert, &pki.server_key));
    let (service, addr) = start(options, simple_app()).await;
    let mut handshaking = connect(addr).await;
    handshaking.write_all(&[0x16, 0x03, 0x01]).await.unwrap();
    wait_for_async("connection accepted", DEADLINE, || {
        service.stats().active_connections == 1
    })
    .await;
    tokio::time::timeout(Duration::from_secs(2), service.stop(false))
        .await
        .expect("hard stop is prompt");
    assert_eq!(service.stats().active_connections, 0);
    let out = read_until_closed(&mut handshaking)
        .await
        .unwrap_or_default();
    assert!(out.is_empty(), "{:?}", String::from_utf8_lossy(&out));
}

#[tokio::test]
async fn reset_keeps_the_socket_and_start_serves_again() {
    let (service, addr) = start(options(), simple_app()).await;
    assert_eq!(get(addr, "/hello").await.status, 200);
    service.stop(true).await;
    assert_eq!(*service.phase().borrow(), Phase::Stopped);

    // While stopped, the socket stays open: a client's connection waits
    // in the backlog and is served after the restart.
    let waiting = tokio::spawn(async move { get(addr, "/hello").await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!waiting.is_finished());

    service.reset().await.expect("reset");
    assert_eq!(*service.phase().borrow(), Phase::Idle);
    service.start().await.expect("start again");
    assert_eq!(service.local_addr(), addr);
    let r = tokio::time::timeout(DEADLINE, waiting)
        .await
        .expect("served after restart")
        .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(get(addr, "/hello").await.status, 200);
    service.stop(true).await;
}

#[tokio::test]
async fn start_twice_is_an_error() {
    let (service, _addr) = start(options(), simple_app()).await;
    let err = service.start().await.unwrap_err();
    assert!(err.to_string().contains("already started"), "{err}");
    service.stop(true).await;
}
