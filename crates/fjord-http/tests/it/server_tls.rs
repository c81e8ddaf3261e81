//! H6: TLS with rustls: server certificate, client certificates required
//! and verified with `ca_file`, `version`, h2 via ALPN, and clear errors
//! naming the file for missing or bad files.

use crate::support;

use std::net::SocketAddr;
use std::sync::Arc;

use fjord_http::server::{Error, HttpService, SslOptions};
use fjord_service::Service;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls_pki_types::ServerName;
use support::*;
use tokio::io::AsyncWriteExt;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

async fn tls_connect(
    addr: SocketAddr,
    config: Arc<rustls::ClientConfig>,
) -> std::io::Result<TlsStream<tokio::net::TcpStream>> {
    let tcp = connect(addr).await;
    let name = ServerName::try_from("localhost").expect("name");
    tokio::time::timeout(DEADLINE, TlsConnector::from(config).connect(name, tcp))
        .await
        .expect("handshake timed out")
}

/// The handshake fails (or, with TLS 1.3, the first read does): never
/// served.
async fn assert_refused(addr: SocketAddr, config: Arc<rustls::ClientConfig>) {
    match tls_connect(addr, config).await {
        Err(_) => {}
        Ok(mut s) => {
            let _ = s.write_all(HELLO).await;
            let out = read_until_closed(&mut s).await;
            assert!(
                out.as_ref().map_or(true, |o| o.is_empty()),
                "served without a valid client certificate: {out:?}"
            );
        }
    }
}

const HELLO: &[u8] = b"GET /hello HTTP/1.1\r\nHost: localhost\r\n\r\n";

#[tokio::test]
async fn serves_https() {
    let pki = make_pki("https");
    let options = options().ssl(SslOptions::new(&pki.server_cert, &pki.server_key));
    let (service, addr) = start(options, simple_app()).await;
    assert!(service.url().starts_with("https://127.0.0.1:"));
    let mut s = tls_connect(addr, tls_client(&pki, false, &[b"http/1.1"]))
        .await
        .expect("handshake");
    for _ in 0..2 {
        let r = roundtrip(&mut s, HELLO).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.text(), "Hello, World!");
    }
    // Plain HTTP on the TLS port is not served.
    let mut plain = connect(addr).await;
    let _ = plain.write_all(HELLO).await;
    let out = read_until_closed(&mut plain).await.unwrap_or_default();
    assert!(!String::from_utf8_lossy(&out).contains("200"));
    service.stop(true).await;
}

#[tokio::test]
async fn ca_file_requires_and_verifies_client_certificates() {
    let pki = make_pki("mtls");
    let options =
        options().ssl(SslOptions::new(&pki.server_cert, &pki.server_key).ca_file(&pki.ca_cert));
    let (service, addr) = start(options, simple_app()).await;

    // Without a client certificate: refused.
    assert_refused(addr, tls_client(&pki, false, &[])).await;

    // With one signed by the CA: served.
    let mut s = tls_connect(addr, tls_client(&pki, true, &[]))
        .await
        .expect("mTLS handshake");
    let r = roundtrip(&mut s, HELLO).await;
    assert_eq!(r.status, 200);

    // A certificate from another CA: refused.
    let other = make_pki("mtls-other");
    let config = tls_client_parts(
        &pki.ca_cert_pem,
        Some((&other.client_cert_pem, &other.client_key_pem)),
        &[],
    );
    assert_refused(addr, config).await;
    service.stop(true).await;
}

#[tokio::test]
async fn h2_is_negotiated_with_alpn() {
    let pki = make_pki("alpn");
    let options = options()
        .http2(true)
        .ssl(SslOptions::new(&pki.server_cert, &pki.server_key));
    let (service, addr) = start(options, simple_app()).await;
    let tls = tls_connect(addr, tls_client(&pki, false, &[b"h2", b"http/1.1"]))
        .await
        .expect("handshake");
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let (mut send, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls))
            .await
            .expect("h2 handshake");
    tokio::spawn(conn);
    let req = http::Request::get("https://localhost/hello")
        .body(Empty::<bytes::Bytes>::new())
        .unwrap();
    let resp = send.send_request(req).await.expect("h2 response");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.version(), http::Version::HTTP_2);
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"Hello, World!");

    // A client offering only http/1.1 still gets HTTP/1.1.
    let mut s = tls_connect(addr, tls_client(&pki, false, &[b"http/1.1"]))
        .await
        .expect("handshake");
    assert_eq!(roundtrip(&mut s, HELLO).await.status, 200);
    service.stop(true).await;
}

#[tokio::test]
async fn version_option_limits_the_protocol() {
    let pki = make_pki("version");
    let options =
        options().ssl(SslOptions::new(&pki.server_cert, &pki.server_key).version("TLSv1_2"));
    let (service, addr) = start(options, simple_app()).await;
    let mut s = tls_connect(addr, tls_client(&pki, false, &[]))
        .await
        .expect("handshake");
    assert_eq!(
        s.get_ref().1.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_2)
    );
    assert_eq!(roundtrip(&mut s, HELLO).await.status, 200);
    service.stop(true).await;
}

fn bind_err(ssl: SslOptions) -> Error {
    HttpService::bind(options().ssl(ssl), simple_app()).expect_err("bind must fail")
}

#[test]
fn missing_or_bad_files_are_clear_errors_naming_the_file() {
    let pki = make_pki("files");
    let missing = pki.dir.join("nope.pem");

    let err = bind_err(SslOptions::new(&missing, &pki.server_key));
    assert!(
        matches!(
            err,
            Error::TlsFile {
                option: "cert_file",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("nope.pem"), "{err}");

    let err = bind_err(SslOptions::new(&pki.server_cert, &missing));
    assert!(
        err.to_string().contains("key_file") && err.to_string().contains("nope.pem"),
        "{err}"
    );

    let err = bind_err(SslOptions::new(&pki.server_cert, &pki.server_key).ca_file(&missing));
    assert!(
        err.to_string().contains("ca_file") && err.to_string().contains("nope.pem"),
        "{err}"
    );

    let err = bind_err(SslOptions::default().cert_file(&pki.server_cert));
    assert!(err.to_string().contains("key_file"), "{err}");
    assert!(err.to_string().contains("server.pem"), "{err}");

    let junk = pki.dir.join("junk.pem");
    std::fs::write(&junk, "not a certificate").unwrap();
    let err = bind_err(SslOptions::new(&junk, &pki.server_key));
    assert!(matches!(err, Error::TlsContent { .. }), "{err:?}");
    assert!(err.to_string().contains("junk.pem"), "{err}");
    let err = bind_err(SslOptions::new(&pki.server_cert, &junk));
    assert!(err.to_string().contains("junk.pem"), "{err}");

    // A key that does not belong to the certificate.
    let other = make_pki("files-other");
    let err = bind_err(SslOptions::new(&pki.server_cert, &other.server_key));
    assert!(err.to_string().contains("server.key"), "{err}");

    let err = bind_err(SslOptions::new(&pki.server_cert, &pki.server_key).ciphers("HIGH:!aNULL"));
    assert!(err.to_string().contains("ssl.ciphers"), "{err}");

    // The error converts into the launcher's error with its text.
    let err: fjord_service::Error = bind_err(SslOptions::new(&missing, &pki.server_key)).into();
    assert!(err.to_string().contains("nope.pem"), "{err}");
}

#[tokio::test]
async fn random_bytes_to_the_tls_port_never_kill_a_task() {
    let pki = make_pki("tls-garbage");
    let options = options().ssl(SslOptions::new(&pki.server_cert, &pki.server_key));
    let (service, addr) = start(options, simple_app()).await;
    survive_bad_inputs(&service, addr, 200, BadInput::Tls).await;
    let mut s = tls_connect(addr, tls_client(&pki, false, &[b"http/1.1"]))
        .await
        .expect("handshake");
    assert_eq!(roundtrip(&mut s, HELLO).await.status, 200);
    drop(s);
    service.stop(true).await;
}
