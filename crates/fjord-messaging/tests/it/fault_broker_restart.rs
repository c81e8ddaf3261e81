//! The broker restarts under call and cast load (`rabbitmqctl stop_app`,
//! a few seconds down, `start_app`, on a node of the throwaway cluster that
//! is the only host in the URL; never the machine's own node): calls end by
//! their timeout while it is down, and at once with a connection error when
//! they ask for no retry; the server consumes again by itself, the client's
//! reply queue is declared again, calls succeed within [`RECOVERY_BOUND`]
//! of the restart, and no confirmed cast is lost (durable queues). Prints a
//! `FAULT` line (bench/results/faults.md).

use crate::support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use fjord_messaging::{Context, ErrorKind, RpcClient, RpcServer, Target};
use fjord_service::Service;
use serde_json::json;
use support::fault::{self, Load, Received};
use support::{args, unique};

/// The longest a new call may take to succeed after `start_app` returned
/// (the longest back-off, a connection, `kombu_reconnect_delay`, a margin).
const RECOVERY_BOUND: Duration = Duration::from_secs(15);
/// `rabbit_interval_max` of these tests, seconds.
const INTERVAL_MAX: f64 = 4.0;
const CALL_TIMEOUT: Duration = Duration::from_secs(3);
const DOWN: Duration = Duration::from_secs(5);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpc_resumes_after_a_broker_restart() {
    let test = "rpc_resumes_after_a_broker_restart";
    let _one_at_a_time = fault::CLUSTER.lock().await;
    fault::capture_logs();
    let Some(cluster) = fjord_test_support::skip::rabbit_cluster(test) else {
        return;
    };
    let node = cluster.nodes.last().expect("a node").clone();
    let mut opts = fault::options(&cluster.url_of(&[&node]), 10);
    opts.rabbit.rabbit_quorum_queue = false;
    opts.rabbit.amqp_durable_queues = true;
    // The listeners retry with back-off (1 s, 3 s, 5 s, ...): when the
    // broker returns, they reconnect at their next attempt, up to
    // rabbit_interval_max later (30 s by default). Capped here so the bound
    // below holds on a loaded machine.
    opts.rabbit.rabbit_interval_max = INTERVAL_MAX;
    let topic = unique("fjt_restart");
    let received = Arc::new(Received::default());
    let ts = fault::transport(&opts);
    let server = RpcServer::builder(&ts, Target::new(&topic).with_server("s1"))
        .endpoint(fault::endpoint(received.clone()))
        .build()
        .unwrap();
    server.start().await.unwrap();
    let tc = fault::transport(&opts);
    let client = RpcClient::new(&tc, Target::new(&topic));
    let mut load = Load::start(&client, 2, CALL_TIMEOUT);
    assert!(
        load.recovered_after(Instant::now(), Duration::from_secs(10))
            .await
            .is_some()
    );
    let replies_before = fault::consumer_queues(&cluster, "reply_");
    assert_eq!(replies_before.len(), 1, "{replies_before:?}");
    tokio::time::sleep(Duration::from_secs(1)).await;

    let t = Instant::now();
    cluster.ctl(&node, &["stop_app"]).expect("stop_app");
    let stopped = t.elapsed();
    // While it is down: a call that asks for no retry fails at once.
    let no_retry = client
        .prepare()
        .with_retry(Some(0))
        .with_timeout(CALL_TIMEOUT);
    let mut fast = Vec::new();
    let down_until = Instant::now() + DOWN;
    while Instant::now() < down_until {
        let started = Instant::now();
        let r = no_retry
            .call(&Context::new(), "echo", args(json!({"value": "down"})))
            .await;
        fast.push((started.elapsed(), r.map_err(|e| e.kind())));
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let t_start = Instant::now();
    cluster.ctl(&node, &["start_app"]).expect("start_app");
    let started_app = t_start.elapsed();
    let recovery = load.recovered_after(t_start, Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let f = load.figures(t, t_start, Instant::now());
    let confirmed = load.casts.lock().unwrap().len();
    let lost = load.lost_casts(&received, Duration::from_secs(10)).await;
    fault::bounded("stopping the load", Duration::from_secs(60), load.stop()).await;
    let replies_after = fault::consumer_queues(&cluster, "reply_");
    eprintln!(
        "broker restart: stop_app took {stopped:?}, start_app {started_app:?}; no-retry calls while down: {:?}",
        fast.iter()
            .map(|(d, r)| format!("{:.0}ms {r:?}", d.as_secs_f64() * 1000.0))
            .collect::<Vec<_>>()
    );
    eprintln!(
        "{}",
        f.report(
            &format!(
                "fjord broker restart (down {:.1}s)",
                (t_start - t).as_secs_f64()
            ),
            confirmed,
            lost.len()
        )
    );
    fault::teardown(&server, &[&tc, &ts]).await;
    fault::delete_queues(&cluster, &topic, "s1");

    assert!(!fast.is_empty());
    for (took, r) in &fast {
        assert_eq!(
            *r,
            Err(ErrorKind::Connection),
            "a call while down: {fast:?}"
        );
        assert!(*took < CALL_TIMEOUT, "a no-retry call took {took:?}");
    }
    // Fast: one round over the hosts, refused at once. (A call can wait
    // for the publisher lock while another sender's round runs, so the
    // median is asserted, not the slowest.)
    let mut took: Vec<Duration> = fast.iter().map(|(d, _)| *d).collect();
    took.sort();
    let median = took[took.len() / 2];
    assert!(
        median < Duration::from_millis(200),
        "no-retry calls while down took {took:?}"
    );
    let recovery = recovery.unwrap_or_else(|| {
        panic!(
            "no call succeeded after the restart; last log lines:\n{}",
            fault::log_tail(60)
        )
    });
    assert!(
        recovery <= RECOVERY_BOUND,
        "first call after the restart succeeded after {recovery:?}"
    );
    assert_eq!(f.hung, 0, "{f:?}");
    assert!(
        f.longest <= CALL_TIMEOUT + Duration::from_millis(500),
        "{f:?}"
    );
    assert_eq!(
        replies_after, replies_before,
        "the reply queue was not declared again"
    );
    assert!(lost.is_empty(), "confirmed casts lost: {lost:?}");
}

/// The same restart with Python oslo.messaging (server and client from the
/// venv, durable queues), measured for the fault table; asserted only to
/// have run and produced figures.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_oslo_messaging_broker_restart_for_comparison() {
    let test = "python_oslo_messaging_broker_restart_for_comparison";
    let _one_at_a_time = fault::CLUSTER.lock().await;
    fault::capture_logs();
    let Some(cluster) = fjord_test_support::skip::rabbit_cluster(test) else {
        return;
    };
    let Some(py) = support::venv_python(test) else {
        return;
    };
    let node = cluster.nodes.last().expect("a node").clone();
    let topic = unique("fjt_pyrestart");
    let mut peer = fault::PyPeer::start(
        &py,
        &cluster.url_of(&[&node]),
        &topic,
        &[
            "--queues",
            "durable",
            "--timeout",
            "3",
            "--callers",
            "2",
            "--interval-max",
            &INTERVAL_MAX.to_string(),
        ],
    )
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    peer.fault().await;
    let t = Instant::now();
    cluster.ctl(&node, &["stop_app"]).expect("stop_app");
    tokio::time::sleep(DOWN).await;
    cluster.ctl(&node, &["start_app"]).expect("start_app");
    let down = t.elapsed();
    peer.back().await;
    peer.recovered(RECOVERY_BOUND).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let f = peer.report().await;
    let healed = cluster.restore(Duration::from_secs(60));
    fault::delete_queues(&cluster, &topic, "pys1");
    eprintln!(
        "{}",
        fault::py_report(
            &format!("python broker restart (down {:.1}s)", down.as_secs_f64()),
            &f
        )
    );
    assert!(f["calls"].as_u64().is_some(), "{f}");
    assert!(healed, "the cluster did not heal");
}
