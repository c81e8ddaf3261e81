//! H7: one access log line per response in oslo's `wsgi_log_format`,
//! limit rejections logged, the listening address logged at bind.

use crate::support;
use fjord_test_support::wait_for_async;
use support::DEADLINE;

use fjord_service::Service;
use support::*;
use tokio::io::AsyncWriteExt;

#[tokio::test]
async fn access_log_line_in_oslo_format() {
    let capture = Logs::global();
    let (service, addr) = start(options(), simple_app()).await;
    let r = get(addr, "/hello?marker=oslo-format").await;
    assert_eq!(r.status, 200);
    wait_for_async("access log line", DEADLINE, || {
        capture.text().contains("marker=oslo-format")
    })
    .await;
    let log = capture.text();
    let line = log
        .lines()
        .find(|l| l.contains("marker=oslo-format"))
        .expect("line");
    assert!(
        line.contains(
            "fjord_http::access: 127.0.0.1 \"GET /hello?marker=oslo-format HTTP/1.1\" status: 200 len: 13 time: "
        ),
        "{line}"
    );
    let time = line.rsplit("time: ").next().unwrap_or_default();
    assert_eq!(time.split('.').nth(1).map(str::len), Some(7), "{line}");
    assert!(
        log.contains(&format!("listening on http://127.0.0.1:{}", addr.port())),
        "{log}"
    );
    service.stop(true).await;
}

#[tokio::test]
async fn custom_format_and_rejections_are_logged() {
    let capture = Logs::global();
    let options = options()
        .max_url_len(64)
        .wsgi_log_format("custom %(method)s %(path)s -> %(status_code)s");
    let (service, addr) = start(options, simple_app()).await;
    let path = format!("/custom-{}", "c".repeat(100));
    let mut s = connect(addr).await;
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut buf = Vec::new();
    assert_eq!(read_response(&mut s, &mut buf).await.status, 414);
    let expected = format!("custom GET {path} -> 414");
    wait_for_async("log line", DEADLINE, || capture.text().contains(&expected)).await;
    assert!(capture.text().contains("over a server limit"));
    service.stop(true).await;
}

#[test]
fn bad_log_format_is_an_error_at_bind() {
    let err = fjord_http::server::HttpService::bind(
        options().wsgi_log_format("%(no_such_field)s"),
        simple_app(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("no_such_field"), "{err}");
}
