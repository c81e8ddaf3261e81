//! A silent broker: a loopback proxy between fjord and RabbitMQ stops
//! forwarding without closing anything (fjord_test_support::proxy), under
//! call and cast load. The AMQP heartbeat (`heartbeat_timeout_threshold`)
//! finds the dead connections, fjord reconnects (through the proxy once it
//! forwards again, or to the next host of the URL), and no call waits past
//! its timeout. Each test prints a `FAULT` line (bench/results/faults.md).

use crate::support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use fjord_messaging::{RpcClient, RpcServer, Target};
use fjord_service::Service;
use fjord_test_support::proxy::Proxy;
use support::fault::{self, Load, Received};
use support::unique;

/// `heartbeat_timeout_threshold` of these tests, seconds.
const THRESHOLD: u16 = 4;
const CALL_TIMEOUT: Duration = Duration::from_secs(3);

fn broker() -> std::net::SocketAddr {
    ([127, 0, 0, 1], 5672).into()
}

struct Setup {
    server: RpcServer,
    ts: fjord_messaging::Transport,
    tc: fjord_messaging::Transport,
    load: Load,
    received: Arc<Received>,
}

/// A server and a loaded client on `url` (quorum queues off: one node).
async fn setup(url: &str, topic: &str) -> Setup {
    fault::capture_logs();
    let mut opts = fault::options(url, THRESHOLD);
    opts.rabbit.rabbit_quorum_queue = false;
    let received = Arc::new(Received::default());
    let ts = fault::transport(&opts);
    let server = RpcServer::builder(&ts, Target::new(topic).with_server("s1"))
        .endpoint(fault::endpoint(received.clone()))
        .build()
        .unwrap();
    server.start().await.unwrap();
    let tc = fault::transport(&opts);
    let client = RpcClient::new(&tc, Target::new(topic));
    let load = Load::start(&client, 2, CALL_TIMEOUT);
    Setup {
        server,
        ts,
        tc,
        load,
        received,
    }
}

impl Setup {
    async fn finish(mut self, scenario: &str, t: Instant) -> fault::Figures {
        let f = self.load.figures(t, t, Instant::now());
        let confirmed = self.load.casts.lock().unwrap().len();
        let lost = self
            .load
            .lost_casts(&self.received, Duration::from_secs(10))
            .await;
        fault::bounded(
            "stopping the load",
            Duration::from_secs(60),
            self.load.stop(),
        )
        .await;
        eprintln!("{}", f.report(scenario, confirmed, lost.len()));
        fault::teardown(&self.server, &[&self.tc, &self.ts]).await;
        assert!(
            lost.is_empty(),
            "{scenario}: confirmed casts lost: {lost:?}"
        );
        f
    }
}

/// Every connection goes through one proxy; it goes silent for longer than
/// the threshold, then forwards again: fjord finds the dead connections by
/// heartbeat (it opens new ones through the proxy), and calls succeed once
/// the proxy forwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_broker_is_detected_by_heartbeat_and_left_for_a_new_connection() {
    let test = "silent_broker_is_detected_by_heartbeat_and_left_for_a_new_connection";
    if !support::rabbit(test) {
        return;
    }
    let proxy = Proxy::start(broker()).await.unwrap();
    let url = format!("rabbit://guest:guest@127.0.0.1:{}/", proxy.port());
    let s = setup(&url, &unique("fjt_silent")).await;
    assert!(
        s.load
            .recovered_after(Instant::now(), Duration::from_secs(10))
            .await
            .is_some()
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = proxy.accepted();
    let t = Instant::now();
    proxy.pause();
    // Heartbeat detection: fjord gives the silent connections up and
    // connects again (held by the paused proxy).
    let threshold = Duration::from_secs(THRESHOLD.into());
    let detected =
        fjord_test_support::wait_until_async(threshold * 3, || proxy.accepted() > before)
            .await
            .then(|| t.elapsed());
    eprintln!("silent broker: first reconnect after {detected:?} (threshold {threshold:?})");
    // Silent a little longer than it took to notice, then forwarding again.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let resumed = t.elapsed();
    proxy.resume();
    let recovery = s.load.recovered_after(t, Duration::from_secs(40)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let f = s
        .finish(
            &format!(
                "fjord silent broker, same host (silent {:.1}s)",
                resumed.as_secs_f64()
            ),
            t,
        )
        .await;
    let detected = detected.expect("no reconnect: the silent connections were never given up");
    assert!(
        detected <= threshold + Duration::from_secs(2),
        "the silence was noticed after {detected:?}, threshold {threshold:?}"
    );
    assert_eq!(f.hung, 0, "{f:?}");
    assert!(
        f.longest <= CALL_TIMEOUT + Duration::from_millis(500),
        "{f:?}"
    );
    let recovery = recovery.expect("no call succeeded after the proxy forwarded again");
    assert!(
        recovery <= resumed + Duration::from_secs(10),
        "recovered {recovery:?} after the silence began, forwarding again after {resumed:?}"
    );
}

/// Two hosts in the URL, each a proxy to the broker; the busier one goes
/// silent for good: fjord moves to the other within the threshold plus a
/// reconnect (not trying the silent host first).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_broker_is_left_for_the_next_host() {
    let test = "silent_broker_is_left_for_the_next_host";
    if !support::rabbit(test) {
        return;
    }
    let a = Proxy::start(broker()).await.unwrap();
    let b = Proxy::start(broker()).await.unwrap();
    let url = format!(
        "rabbit://guest:guest@127.0.0.1:{},guest:guest@127.0.0.1:{}/",
        a.port(),
        b.port()
    );
    let s = setup(&url, &unique("fjt_silent2")).await;
    assert!(
        s.load
            .recovered_after(Instant::now(), Duration::from_secs(10))
            .await
            .is_some()
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    // The busier proxy goes silent (the hosts are shuffled per transport).
    let (silent, other) = if a.connections() >= b.connections() {
        (&a, &b)
    } else {
        (&b, &a)
    };
    let on_silent = silent.connections();
    eprintln!(
        "silent broker: {on_silent} connection(s) on the proxy going silent, {} on the other",
        other.connections()
    );
    let t = Instant::now();
    silent.pause();
    let recovery = s.load.recovered_after(t, Duration::from_secs(60)).await;
    // Everything moved: a steady load on the other host only.
    let threshold = Duration::from_secs(THRESHOLD.into());
    tokio::time::sleep(Duration::from_secs(2)).await;
    let f = s.finish("fjord silent broker, next host", t).await;
    assert!(on_silent > 0);
    assert_eq!(f.hung, 0, "{f:?}");
    assert!(
        f.longest <= CALL_TIMEOUT + Duration::from_millis(500),
        "{f:?}"
    );
    let recovery = recovery.expect("no call succeeded after a host went silent");
    // The threshold to notice (checked every half heartbeat), then the next
    // host: a lost connection's next attempt starts after its host.
    let bound = threshold + Duration::from_secs(4);
    assert!(
        recovery <= bound,
        "recovered after {recovery:?} (bound {bound:?})"
    );
}

/// The same silent host with Python oslo.messaging (server and client from
/// the venv, two proxies in the URL, the busier one goes silent), measured
/// for the fault table; asserted only to have run and produced figures.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_oslo_messaging_silent_broker_for_comparison() {
    let test = "python_oslo_messaging_silent_broker_for_comparison";
    if !support::rabbit(test) {
        return;
    }
    let Some(py) = support::venv_python(test) else {
        return;
    };
    let a = Proxy::start(broker()).await.unwrap();
    let b = Proxy::start(broker()).await.unwrap();
    let url = format!(
        "rabbit://guest:guest@127.0.0.1:{},guest:guest@127.0.0.1:{}/",
        a.port(),
        b.port()
    );
    let threshold = THRESHOLD.to_string();
    let timeout = CALL_TIMEOUT.as_secs().to_string();
    let mut peer = fault::PyPeer::start(
        &py,
        &url,
        &unique("fjt_pysilent"),
        &[
            "--queues",
            "plain",
            "--heartbeat",
            &threshold,
            "--timeout",
            &timeout,
            "--callers",
            "2",
        ],
    )
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let silent = if a.connections() >= b.connections() {
        &a
    } else {
        &b
    };
    peer.fault().await;
    silent.pause();
    peer.back().await;
    peer.recovered(Duration::from_secs(40)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let f = peer.report().await;
    eprintln!(
        "{}",
        fault::py_report("python silent broker, next host", &f)
    );
    assert!(f["calls"].as_u64().is_some(), "{f}");
}

/// With heartbeats off nothing notices a silent broker, so closing must not
/// wait for its answers: the transport's close (the publisher's
/// `connection.close`) and a listener's stop (`basic.cancel`, its
/// connection's close) each end within the bound of one broker answer
/// (10 s with heartbeats off), and the listener's receiver ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_and_listener_stop_are_bounded_when_the_broker_is_silent() {
    use fjord_messaging::transport::{Destination, ListenSpec, OutgoingMessage};
    let test = "close_and_listener_stop_are_bounded_when_the_broker_is_silent";
    if !support::rabbit(test) {
        return;
    }
    fault::capture_logs();
    let proxy = Proxy::start(broker()).await.unwrap();
    let url = format!("rabbit://guest:guest@127.0.0.1:{}/", proxy.port());
    let mut opts = fault::options(&url, 0);
    opts.rabbit.rabbit_quorum_queue = false;
    let t = fault::transport(&opts);
    let mut listener = t.driver().listen(ListenSpec::Replies).await.unwrap();
    let queue = listener.address.clone().expect("a reply queue");
    // The publisher's connection and the listener's, both open.
    t.driver()
        .send(
            &Destination::Reply { queue },
            OutgoingMessage::new(b"{}".to_vec()),
        )
        .await
        .unwrap();
    let m = tokio::time::timeout(Duration::from_secs(10), listener.receiver.recv())
        .await
        .expect("the message in time")
        .expect("a message");
    m.acker.ack().await;
    assert_eq!(proxy.connections(), 2);

    proxy.pause();
    let started = Instant::now();
    fault::bounded("closing the transport", Duration::from_secs(30), t.close()).await;
    let closed = started.elapsed();
    fault::bounded(
        "stopping the listener",
        Duration::from_secs(30),
        listener.control.stop(),
    )
    .await;
    fault::bounded("the listener ending", Duration::from_secs(30), async {
        while listener.receiver.recv().await.is_some() {}
    })
    .await;
    let ended = started.elapsed();
    eprintln!("silent broker: transport closed in {closed:?}, listener ended in {ended:?}");
    let one_answer = Duration::from_secs(10);
    assert!(closed <= one_answer + Duration::from_secs(2), "{closed:?}");
    assert!(ended <= one_answer + Duration::from_secs(2), "{ended:?}");
    proxy.resume();
}
