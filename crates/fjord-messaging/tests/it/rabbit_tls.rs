//! TLS to the broker (M8): `[oslo_messaging_rabbit] ssl = true` with
//! `ssl_ca_file`, against the throwaway TLS node that
//! `scripts/rabbitmq-tls.sh` starts on 127.0.0.1:5671 (`.ci/run` runs it).
//! Calls and casts work over TLS, with and without a client certificate; a
//! broker certificate from another CA, a client certificate the broker does
//! not trust, or a CA file that does not exist, is a clear error, and
//! nothing hangs.

use crate::support;

use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Duration;

use fjord_messaging::{Context, MessagingOptions, RpcClient, Target, Transport};
use fjord_service::Service;
use serde_json::json;
use support::endpoints::demo_server;
use support::{args, unique, wait_until_async};

/// The directory of the TLS node's files, when its listener answers.
fn tls_node(test: &str) -> Option<PathBuf> {
    let dir = PathBuf::from(
        std::env::var("FJORD_RABBIT_TLS_DIR").unwrap_or_else(|_| "/tmp/fjord-rabbit-tls".into()),
    );
    let addr: SocketAddr = ([127, 0, 0, 1], 5671).into();
    let up = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_ok()
        && dir.join("ca.pem").exists();
    support::need(
        up,
        test,
        "no RabbitMQ TLS listener on 127.0.0.1:5671 (start one with scripts/rabbitmq-tls.sh)",
    )
    .then_some(dir)
}

fn tls_transport(ca_file: &std::path::Path) -> Transport {
    Transport::new(&tls_options(ca_file)).expect("transport")
}

fn tls_options(ca_file: &std::path::Path) -> MessagingOptions {
    let mut o = MessagingOptions::default();
    o.transport_url = Some("rabbit://guest:guest@127.0.0.1:5671/".into());
    o.rabbit.ssl = true;
    o.rabbit.ssl_ca_file = ca_file.display().to_string();
    o.rabbit.rabbit_retry_interval = 0.2;
    o.rabbit.rabbit_retry_backoff = 0.2;
    o.rabbit.rabbit_interval_max = 1.0;
    o
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_and_casts_over_tls() {
    let Some(dir) = tls_node("calls_and_casts_over_tls") else {
        return;
    };
    let topic = unique("fjt_tls");
    let t = tls_transport(&dir.join("ca.pem"));
    let (s, stats) = demo_server(&t, &topic);
    s.start().await.expect("server over TLS");
    let c = RpcClient::new(&t, Target::new(&topic)).with_timeout(Duration::from_secs(10));
    let got = c
        .call(
            &Context::new(),
            "echo",
            args(json!({"value": {"tls": true}})),
        )
        .await
        .expect("call over TLS");
    assert_eq!(got, json!({"tls": true}));
    c.cast(&Context::new(), "record", args(json!({})))
        .await
        .expect("cast over TLS");
    assert!(
        wait_until_async(Duration::from_secs(5), || stats
            .casts
            .load(Ordering::SeqCst)
            == 1)
        .await,
        "the cast did not arrive"
    );
    s.stop(true).await;
    t.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_certificate_from_another_ca_is_refused() {
    let Some(dir) = tls_node("a_broker_certificate_from_another_ca_is_refused") else {
        return;
    };
    let t = tls_transport(&dir.join("other-ca.pem"));
    let (s, _) = demo_server(&t, &unique("fjt_tls_bad"));
    let started = tokio::time::timeout(Duration::from_secs(30), s.start())
        .await
        .expect("a refused certificate must not hang");
    let err = started.expect_err("connected to a broker whose certificate it cannot verify");
    let text = err.to_string();
    assert!(
        text.to_lowercase().contains("certificate") || text.contains("UnknownIssuer"),
        "the error should say the certificate was refused: {text}"
    );
    // A client fails too, within its timeout, with the same cause logged.
    let c = RpcClient::new(&t, Target::new("fjt_tls_nobody")).with_timeout(Duration::from_secs(2));
    let r = tokio::time::timeout(
        Duration::from_secs(30),
        c.call(&Context::new(), "echo", args(json!({"value": 1}))),
    )
    .await
    .expect("a call over a refused TLS connection must end");
    assert!(r.is_err(), "call succeeded over an unverified broker");
    t.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_ca_file_is_a_clear_error() {
    let Some(_dir) = tls_node("a_missing_ca_file_is_a_clear_error") else {
        return;
    };
    let missing = PathBuf::from("/nonexistent/fjord/ca.pem");
    let t = tls_transport(&missing);
    let (s, _) = demo_server(&t, &unique("fjt_tls_ca"));
    let err = tokio::time::timeout(Duration::from_secs(30), s.start())
        .await
        .expect("must not hang")
        .expect_err("started without its CA file");
    let text = err.to_string();
    assert!(
        text.contains("ssl_ca_file") && text.contains("/nonexistent/fjord/ca.pem"),
        "the error should name the option and the file: {text}"
    );
    t.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_certificate_is_presented_and_verified() {
    let Some(dir) = tls_node("a_client_certificate_is_presented_and_verified") else {
        return;
    };
    let with_cert = |name: &str| {
        let mut o = tls_options(&dir.join("ca.pem"));
        o.rabbit.ssl_cert_file = dir.join(format!("{name}.pem")).display().to_string();
        o.rabbit.ssl_key_file = dir.join(format!("{name}.key")).display().to_string();
        Transport::new(&o).expect("transport")
    };
    // Signed by the CA the broker trusts: served.
    let t = with_cert("client");
    let topic = unique("fjt_tls_mtls");
    let (s, _) = demo_server(&t, &topic);
    s.start().await.expect("server with a client certificate");
    let c = RpcClient::new(&t, Target::new(&topic)).with_timeout(Duration::from_secs(10));
    assert_eq!(
        c.call(&Context::new(), "echo", args(json!({"value": 7})))
            .await
            .expect("call with a client certificate"),
        json!(7)
    );
    s.stop(true).await;
    t.close().await;

    // Signed by a CA the broker does not trust: the broker refuses the
    // handshake, which proves the certificate is sent.
    let t = with_cert("other-client");
    let (s, _) = demo_server(&t, &unique("fjt_tls_mtls_bad"));
    let r = tokio::time::timeout(Duration::from_secs(30), s.start())
        .await
        .expect("a refused client certificate must not hang");
    assert!(
        r.is_err(),
        "the broker accepted an untrusted client certificate"
    );
    t.close().await;

    // A certificate without its key is refused before any connection.
    let mut o = tls_options(&dir.join("ca.pem"));
    o.rabbit.ssl_cert_file = dir.join("client.pem").display().to_string();
    let err = Transport::new(&o).expect_err("a certificate without a key");
    assert!(err.to_string().contains("ssl_key_file"), "{err}");
}
