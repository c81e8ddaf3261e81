//! HTTP/1.0 and 1.1 (H10): keep-alive, chunked both ways, 100-continue,
//! malformed input, port 0.

use crate::support;

use fjord_service::Service;
use support::*;
use tokio::io::AsyncWriteExt;

#[tokio::test]
async fn port_zero_reports_the_real_port_and_serves() {
    let (service, addr) = start(options(), simple_app()).await;
    assert_ne!(addr.port(), 0);
    assert_eq!(service.port(), addr.port());
    assert_eq!(service.url(), format!("http://127.0.0.1:{}", addr.port()));
    let r = get(addr, "/hello").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "Hello, World!");
    assert_eq!(r.header("content-length").as_deref(), Some("13"));
    service.stop(true).await;
}

#[tokio::test]
async fn keep_alive_serves_several_requests_on_one_connection() {
    let (service, addr) = start(options(), simple_app()).await;
    let mut s = connect(addr).await;
    for _ in 0..3 {
        let r = roundtrip(&mut s, b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n").await;
        assert_eq!(r.status, 200);
        assert_eq!(r.header("connection"), None);
    }
    assert_eq!(service.stats().connections_accepted, 1);
    assert_eq!(service.stats().requests, 3);
    service.stop(true).await;
}

#[tokio::test]
async fn keep_alive_off_closes_after_each_response() {
    let (service, addr) = start(options().wsgi_keep_alive(false), simple_app()).await;
    let mut s = connect(addr).await;
    let r = roundtrip(&mut s, b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("connection").as_deref(), Some("close"));
    let rest = read_until_closed(&mut s).await.expect("clean close");
    assert!(rest.is_empty());
    service.stop(true).await;
}

#[tokio::test]
async fn http_1_0_is_served_and_closed() {
    let (service, addr) = start(options(), simple_app()).await;
    let mut s = connect(addr).await;
    s.write_all(b"GET /hello HTTP/1.0\r\n\r\n").await.unwrap();
    let mut buf = Vec::new();
    let r = read_response(&mut s, &mut buf).await;
    assert!(r.head.starts_with("HTTP/1.0 200"), "{}", r.head);
    assert_eq!(r.text(), "Hello, World!");
    read_until_closed(&mut s).await.expect("closed");
    service.stop(true).await;
}

#[tokio::test]
async fn chunked_request_and_response() {
    let (service, addr) = start(options(), simple_app()).await;
    let mut s = connect(addr).await;
    let r = roundtrip(
        &mut s,
        b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "hello world");
    let r = roundtrip(&mut s, b"GET /chunked HTTP/1.1\r\nHost: t\r\n\r\n").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("transfer-encoding").as_deref(), Some("chunked"));
    assert_eq!(r.text(), "one,two,three");
    service.stop(true).await;
}

#[tokio::test]
async fn expect_100_continue() {
    let (service, addr) = start(options(), simple_app()).await;
    let mut s = connect(addr).await;
    s.write_all(
        b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n",
    )
    .await
    .unwrap();
    // The interim response comes before we send the body.
    let mut buf = Vec::new();
    let got = tokio::time::timeout(DEADLINE, async {
        let mut tmp = [0u8; 256];
        loop {
            let n = tokio::io::AsyncReadExt::read(&mut s, &mut tmp)
                .await
                .unwrap();
            assert!(n > 0, "closed before 100 Continue");
            buf.extend_from_slice(&tmp[..n]);
            if buf.windows(4).any(|w| w == b"\r\n\r\n") {
                return String::from_utf8_lossy(&buf).into_owned();
            }
        }
    })
    .await
    .expect("no 100 Continue");
    assert!(got.starts_with("HTTP/1.1 100 Continue"), "{got}");
    let r = roundtrip(&mut s, b"ping").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "ping");
    service.stop(true).await;
}

#[tokio::test]
async fn malformed_request_gets_400_and_the_server_lives_on() {
    let (service, addr) = start(options(), simple_app()).await;
    for garbage in [
        &b"THIS IS NOT HTTP\r\n\r\n"[..],
        b"GET / HTTP/1.1\r\nHost: t\r\nContent-Length: nope\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
    ] {
        let mut s = connect(addr).await;
        s.write_all(garbage).await.unwrap();
        let out = read_until_closed(&mut s).await.expect("clean close");
        let text = String::from_utf8_lossy(&out);
        assert!(text.starts_with("HTTP/1.1 400"), "{garbage:?} -> {text:?}");
    }
    assert_eq!(get(addr, "/hello").await.status, 200);
    service.stop(true).await;
}

#[tokio::test]
async fn pipelined_requests_are_answered_in_order() {
    let (service, addr) = start(options(), simple_app()).await;
    let mut s = connect(addr).await;
    s.write_all(
        b"GET /slow?ms=50 HTTP/1.1\r\nHost: t\r\n\r\nGET /hello HTTP/1.1\r\nHost: t\r\n\r\n",
    )
    .await
    .unwrap();
    let mut buf = Vec::new();
    assert_eq!(read_response(&mut s, &mut buf).await.text(), "slow");
    assert_eq!(
        read_response(&mut s, &mut buf).await.text(),
        "Hello, World!"
    );
    service.stop(true).await;
}

#[tokio::test]
async fn http_1_0_keep_alive_on_request() {
    let (service, addr) = start(options(), simple_app()).await;
    let mut s = connect(addr).await;
    for _ in 0..2 {
        let r = roundtrip(
            &mut s,
            b"GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        )
        .await;
        assert_eq!(r.status, 200);
        assert_eq!(r.header("connection").as_deref(), Some("keep-alive"));
    }
    assert_eq!(service.stats().connections_accepted, 1);
    service.stop(true).await;
}

#[tokio::test]
async fn client_half_close_still_gets_its_response() {
    let (service, addr) = start(options(), simple_app()).await;
    let mut s = connect(addr).await;
    s.write_all(b"GET /slow?ms=100 HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .unwrap();
    s.shutdown().await.unwrap();
    let out = read_until_closed(&mut s).await.expect("read");
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 200"), "{text:?}");
    assert!(text.ends_with("slow"), "{text:?}");
    service.stop(true).await;
}

#[tokio::test]
async fn random_and_broken_input_never_kills_a_connection_task_or_the_server() {
    let (service, addr) = start(options(), simple_app()).await;
    let answered = survive_bad_inputs(&service, addr, 300, BadInput::Http1).await;
    assert!(
        answered > 100,
        "only {answered} of 300 inputs got an answer"
    );
    assert_eq!(get(addr, "/hello").await.status, 200);
    service.stop(true).await;
}
