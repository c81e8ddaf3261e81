//! H4: `client_socket_timeout`: a client that sends nothing, or trickles
//! its request head a byte at a time, or stalls its body, is closed at the
//! timeout, and never blocks other clients meanwhile.

use crate::support;
use fjord_test_support::wait_for_async;
use support::DEADLINE;

use std::time::{Duration, Instant};

use fjord_service::Service;
use support::*;
use tokio::io::AsyncWriteExt;

const TIMEOUT: Duration = Duration::from_millis(800);

#[tokio::test]
async fn silent_client_is_closed_at_the_timeout_and_blocks_nobody() {
    // Long enough that serving the others surely ends first.
    let timeout = Duration::from_secs(2);
    let (service, addr) = start(
        options()
            .client_socket_timeout(timeout)
            .wsgi_default_pool_size(1),
        simple_app(),
    )
    .await;
    let started = Instant::now();
    let mut silent = connect(addr).await;
    wait_for_async("silent client accepted", DEADLINE, || {
        service.stats().active_connections == 1
    })
    .await;
    // Others are served while the silent client holds its connection.
    for _ in 0..3 {
        assert_eq!(get(addr, "/hello").await.status, 200);
    }
    // The others' connections end; the silent one is still open.
    wait_for_async("others closed", DEADLINE, || {
        service.stats().active_connections == 1
    })
    .await;
    assert!(started.elapsed() < timeout, "others were delayed");
    let out = read_until_closed(&mut silent).await.unwrap_or_default();
    let waited = started.elapsed();
    assert!(
        waited >= timeout - Duration::from_millis(50),
        "closed too early: {waited:?}"
    );
    assert!(waited < timeout * 4, "closed too late: {waited:?}");
    // Nothing or a 408 may be written; never a success.
    assert!(!String::from_utf8_lossy(&out).contains(" 200 "));
    service.stop(true).await;
}

#[tokio::test]
async fn idle_keep_alive_connection_is_closed_at_the_timeout() {
    idle_keep_alive_closed_at_the_timeout().await;
}

/// The same on a multi-thread runtime (a worker with `worker_threads` > 1):
/// the server's one alarm wakes connection tasks on other threads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_keep_alive_connection_is_closed_at_the_timeout_multi_thread() {
    idle_keep_alive_closed_at_the_timeout().await;
}

async fn idle_keep_alive_closed_at_the_timeout() {
    let (service, addr) = start(options().client_socket_timeout(TIMEOUT), simple_app()).await;
    let mut s = connect(addr).await;
    let r = roundtrip(&mut s, b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n").await;
    assert_eq!(r.status, 200);
    let idle_since = Instant::now();
    let _ = read_until_closed(&mut s).await;
    let waited = idle_since.elapsed();
    assert!(waited >= TIMEOUT - Duration::from_millis(50), "{waited:?}");
    assert!(waited < TIMEOUT * 5, "{waited:?}");
    service.stop(true).await;
}

#[tokio::test]
async fn trickling_request_head_is_closed_at_the_timeout() {
    let (service, addr) = start(options().client_socket_timeout(TIMEOUT), simple_app()).await;
    let mut s = connect(addr).await;
    let started = Instant::now();
    let head =
        b"GET /hello HTTP/1.1\r\nHost: t\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    let mut closed = false;
    // One byte every 100 ms: each read makes progress, the head never ends
    // in time.
    for b in head {
        if s.write_all(&[*b]).await.is_err() {
            closed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        if started.elapsed() > TIMEOUT * 4 {
            break;
        }
    }
    if !closed {
        let out = read_until_closed(&mut s).await.unwrap_or_default();
        assert!(
            !String::from_utf8_lossy(&out).contains(" 200 "),
            "served a trickled head"
        );
    }
    let waited = started.elapsed();
    assert!(
        waited < TIMEOUT * 4,
        "not closed at the timeout: {waited:?}"
    );
    assert_eq!(get(addr, "/hello").await.status, 200);
    service.stop(true).await;
}

/// Each connection has its own deadline (one timer serves them all): one
/// accepted later is closed later, and a request that takes longer than
/// the timeout is answered, its connection then getting a full period
/// again.
#[tokio::test]
async fn each_connection_is_timed_from_its_own_last_response() {
    let (service, addr) = start(options().client_socket_timeout(TIMEOUT), simple_app()).await;
    let t0 = Instant::now();
    let first = tokio::spawn(async move {
        let mut s = connect(addr).await;
        let _ = read_until_closed(&mut s).await;
        t0.elapsed()
    });
    tokio::time::sleep(TIMEOUT / 2).await;
    let second = tokio::spawn(async move {
        let mut s = connect(addr).await;
        let _ = read_until_closed(&mut s).await;
        t0.elapsed()
    });
    let mut slow = connect(addr).await;
    let r = roundtrip(&mut slow, b"GET /slow?ms=1200 HTTP/1.1\r\nHost: t\r\n\r\n").await;
    assert_eq!(
        r.status, 200,
        "a request longer than the timeout is answered"
    );
    let answered = Instant::now();
    let _ = read_until_closed(&mut slow).await;
    let idle = answered.elapsed();

    let first = first.await.unwrap();
    let second = second.await.unwrap();
    let slack = Duration::from_millis(50);
    assert!(first >= TIMEOUT - slack, "first closed early: {first:?}");
    assert!(first < TIMEOUT * 2, "first closed late: {first:?}");
    assert!(
        second >= TIMEOUT + TIMEOUT / 2 - slack,
        "second closed early: {second:?}"
    );
    assert!(second < TIMEOUT * 3, "second closed late: {second:?}");
    assert!(
        idle >= TIMEOUT - slack,
        "slow's connection closed early: {idle:?}"
    );
    assert!(
        idle < TIMEOUT * 2,
        "slow's connection closed late: {idle:?}"
    );
    service.stop(true).await;
}

#[tokio::test]
async fn stalled_body_fails_at_the_timeout() {
    let (service, addr) = start(options().client_socket_timeout(TIMEOUT), simple_app()).await;
    let mut s = connect(addr).await;
    s.write_all(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc")
        .await
        .unwrap();
    let started = Instant::now();
    let mut buf = Vec::new();
    let r = read_response(&mut s, &mut buf).await;
    assert!(started.elapsed() >= TIMEOUT - Duration::from_millis(50));
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("client_socket_timeout"), "{}", r.text());
    service.stop(true).await;
}

#[tokio::test]
async fn zero_means_no_timeout() {
    let (service, addr) = start(
        options().client_socket_timeout(Duration::ZERO),
        simple_app(),
    )
    .await;
    let mut s = connect(addr).await;
    s.write_all(b"GET /hello HTTP/1.1\r\n").await.unwrap();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let r = roundtrip(&mut s, b"Host: t\r\n\r\n").await;
    assert_eq!(r.status, 200);
    service.stop(true).await;
}

#[tokio::test]
async fn client_not_reading_the_response_is_dropped_at_the_timeout() {
    let (service, addr) = start(options().client_socket_timeout(TIMEOUT), simple_app()).await;
    let mut s = connect(addr).await;
    // 64 MiB: far more than the socket buffers hold; we never read it.
    s.write_all(b"GET /big?n=67108864 HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .unwrap();
    wait_for_async("request received", DEADLINE, || {
        service.stats().requests == 1
    })
    .await;
    let started = Instant::now();
    assert_eq!(
        get(addr, "/hello").await.status,
        200,
        "others are served meanwhile"
    );
    // The stalled connection is closed at the timeout.
    wait_for_async("stalled connection closed", DEADLINE, || {
        service.stats().active_connections == 0
    })
    .await;
    assert!(started.elapsed() >= TIMEOUT - Duration::from_millis(100));
    drop(s);
    service.stop(true).await;
}
