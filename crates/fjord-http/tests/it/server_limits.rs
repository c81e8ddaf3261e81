//! H5: request line over `max_url_len` -> 414, header line over
//! `max_header_line` -> 431, body over `max_request_body_size` -> 413;
//! each answered with `Connection: close`, the connection closed cleanly,
//! and the worker keeps serving.

use crate::support;

use fjord_service::Service;
use support::*;
use tokio::io::AsyncWriteExt;

/// Sends `req`, expects `status` with `Connection: close` and then a clean
/// close (no reset).
async fn expect_rejected(addr: std::net::SocketAddr, req: &[u8], status: u16) {
    let mut s = connect(addr).await;
    s.write_all(req).await.expect("write");
    let mut buf = Vec::new();
    let r = read_response(&mut s, &mut buf).await;
    assert_eq!(r.status, status, "{}", r.head);
    assert_eq!(
        r.header("connection").as_deref(),
        Some("close"),
        "{}",
        r.head
    );
    read_until_closed(&mut s)
        .await
        .expect("closed cleanly, not reset");
}

#[tokio::test]
async fn long_request_line_is_414() {
    let (service, addr) = start(options(), simple_app()).await;
    // "GET " + path + " HTTP/1.1" just fits 8192: accepted (404).
    let path = format!("/{}", "a".repeat(8192 - 4 - 9 - 1));
    let ok = get(addr, &path).await;
    assert_eq!(ok.status, 404);
    let path = format!("/{}", "a".repeat(8192));
    let req = format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n");
    expect_rejected(addr, req.as_bytes(), 414).await;
    assert_eq!(get(addr, "/hello").await.status, 200);
    assert!(service.stats().rejected >= 1);
    service.stop(true).await;
}

#[tokio::test]
async fn per_api_max_url_len_override() {
    let (service, addr) = start(options().max_url_len(100), simple_app()).await;
    let req = format!("GET /{} HTTP/1.1\r\nHost: t\r\n\r\n", "b".repeat(100));
    expect_rejected(addr, req.as_bytes(), 414).await;
    service.stop(true).await;
}

#[tokio::test]
async fn long_header_line_is_431() {
    let (service, addr) = start(options(), simple_app()).await;
    let ok = format!(
        "GET /hello HTTP/1.1\r\nHost: t\r\nX-Big: {}\r\nConnection: close\r\n\r\n",
        "v".repeat(16384 - 7)
    );
    let mut s = connect(addr).await;
    assert_eq!(roundtrip(&mut s, ok.as_bytes()).await.status, 200);
    let req = format!(
        "GET /hello HTTP/1.1\r\nHost: t\r\nX-Big: {}\r\n\r\n",
        "v".repeat(16384)
    );
    expect_rejected(addr, req.as_bytes(), 431).await;
    assert_eq!(get(addr, "/hello").await.status, 200);
    service.stop(true).await;
}

#[tokio::test]
async fn huge_head_is_431_from_the_parser() {
    let (service, addr) = start(options(), simple_app()).await;
    let mut req = String::from("GET /hello HTTP/1.1\r\nHost: t\r\n");
    for i in 0..60 {
        req.push_str(&format!("X-H{i}: {}\r\n", "h".repeat(10_000)));
    }
    req.push_str("\r\n");
    let mut s = connect(addr).await;
    // The server may answer before reading all of it.
    let _ = s.write_all(req.as_bytes()).await;
    let out = read_until_closed(&mut s).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 431"), "{text:?}");
    assert_eq!(get(addr, "/hello").await.status, 200);
    service.stop(true).await;
}

#[tokio::test]
async fn declared_body_over_limit_is_413_without_reading_it() {
    let (service, addr) = start(options(), simple_app()).await;
    let body = vec![b'x'; 114_689];
    let mut req = format!(
        "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(&body);
    expect_rejected(addr, &req, 413).await;
    // At the limit: accepted.
    let body = vec![b'y'; 114_688];
    let mut req = format!(
        "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(&body);
    let mut s = connect(addr).await;
    let r = roundtrip(&mut s, &req).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body.len(), 114_688);
    service.stop(true).await;
}

#[tokio::test]
async fn chunked_body_overflowing_the_limit_is_413() {
    let (service, addr) = start(options().max_request_body_size(1000), simple_app()).await;
    let mut req = b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..3 {
        req.extend_from_slice(format!("1f4\r\n{}\r\n", "z".repeat(500)).as_bytes());
    }
    req.extend_from_slice(b"0\r\n\r\n");
    expect_rejected(addr, &req, 413).await;
    assert_eq!(get(addr, "/hello").await.status, 200);
    service.stop(true).await;
}

#[tokio::test]
async fn over_limit_with_expect_100_gets_413_and_no_continue() {
    let (service, addr) = start(options(), simple_app()).await;
    let mut s = connect(addr).await;
    s.write_all(
        b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 200000\r\nExpect: 100-continue\r\n\r\n",
    )
    .await
    .unwrap();
    let out = read_until_closed(&mut s).await.expect("clean close");
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(!text.contains("100 Continue"), "{text}");
    service.stop(true).await;
}
