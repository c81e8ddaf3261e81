//! A node of a three-node RabbitMQ cluster is lost under call and cast load
//! (`rabbitmqctl stop_app` on the node the server consumes through), with
//! `rabbit_quorum_queue = true` and every node in `transport_url`: the
//! server and the client move to the other nodes by themselves, no call
//! hangs, new calls succeed within [`RECOVERY_BOUND`], and no confirmed cast
//! is lost. Then the node comes back and the node the server moved to is
//! stopped: the same again. Each phase prints a `FAULT` line with its
//! figures (bench/results/faults.md).

use crate::support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use fjord_messaging::{Context, RpcClient, RpcServer, Target};
use fjord_service::Service;
use serde_json::json;
use support::fault::{self, Load, Received};
use support::{args, unique};

/// The longest a new call may take to succeed after a node is lost.
const RECOVERY_BOUND: Duration = Duration::from_secs(15);
const CALL_TIMEOUT: Duration = Duration::from_secs(5);
const CALLERS: usize = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpc_survives_losing_a_cluster_node_with_quorum_queues() {
    let test = "rpc_survives_losing_a_cluster_node_with_quorum_queues";
    let _one_at_a_time = fault::CLUSTER.lock().await;
    fault::capture_logs();
    let Some(cluster) = fjord_test_support::skip::rabbit_cluster(test) else {
        return;
    };
    let opts = fault::options(&cluster.url(), 10);
    let topic = unique("fjt_nodeloss");
    let received = Arc::new(Received::default());
    let ts = fault::transport(&opts);
    let server = RpcServer::builder(&ts, Target::new(&topic).with_server("s1"))
        .endpoint(fault::endpoint(received.clone()))
        .build()
        .unwrap();
    server.start().await.unwrap();
    let server_node = || fault::consumer_nodes(&cluster, &topic, false);
    let first = server_node();
    assert_eq!(
        first.len(),
        1,
        "the server consumes {topic} through {first:?}"
    );

    // A client whose reply queue is consumed through the same node, so the
    // loss hits both (the hosts are shuffled per transport, as oslo does).
    let mut picked = None;
    for _ in 0..25 {
        let tc = fault::transport(&opts);
        let c = RpcClient::new(&tc, Target::new(&topic)).with_timeout(CALL_TIMEOUT);
        assert_eq!(
            c.call(&Context::new(), "echo", args(json!({"value": 0})))
                .await
                .unwrap(),
            json!(0)
        );
        if fault::consumer_nodes(&cluster, "reply_", true) == first {
            picked = Some((tc, c));
            break;
        }
        tc.close().await;
        // Its reply queue's consumer goes with its connection.
        fjord_test_support::wait_until_async(Duration::from_secs(5), || true).await;
    }
    let (tc, client) = picked.expect("no client transport landed on the server's node in 25 tries");

    let mut load = Load::start(&client, CALLERS, CALL_TIMEOUT);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut stopped = None;
    for phase in ["node loss", "node loss after the node's return"] {
        let nodes = server_node();
        assert_eq!(nodes.len(), 1, "{phase}: server consumers on {nodes:?}");
        let victim = cluster
            .nodes
            .iter()
            .find(|n| n.name == nodes[0])
            .expect("a cluster node")
            .clone();
        if let Some(back) = stopped.take() {
            assert_ne!(
                victim, back,
                "{phase}: the server went back to the node that was down"
            );
        }
        eprintln!(
            "{phase}: stopping {} (server and client consume through it)",
            victim.name
        );
        let t = Instant::now();
        cluster.ctl(&victim, &["stop_app"]).expect("stop_app");
        // Calls started before stop_app returned may have been served by
        // the node before it stopped: recovery counts from here.
        let t_stopped = Instant::now();
        let recovery = load
            .recovered_after(t_stopped, Duration::from_secs(30))
            .await;
        // Steady load after the recovery, counted too.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let f = load.figures(t, t_stopped, Instant::now());
        let moved = server_node();
        eprintln!("{phase}: server moved to {moved:?}");
        let confirmed_after: Vec<u64> = load
            .casts
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, at)| *at >= t)
            .map(|(n, _)| *n)
            .collect();
        let lost = load.lost_casts(&received, Duration::from_secs(10)).await;
        let lost_after: Vec<&u64> = lost
            .iter()
            .filter(|n| confirmed_after.contains(n))
            .collect();
        eprintln!(
            "{}",
            f.report(
                &format!("fjord {phase}"),
                confirmed_after.len(),
                lost_after.len()
            )
        );
        assert!(
            recovery.is_some_and(|r| r <= RECOVERY_BOUND),
            "{phase}: no new call succeeded within {RECOVERY_BOUND:?} ({recovery:?}): {f:?}"
        );
        assert_eq!(f.hung, 0, "{phase}: calls hung: {f:?}");
        assert!(
            f.longest <= CALL_TIMEOUT + Duration::from_secs(2),
            "{phase}: a call took {:?}",
            f.longest
        );
        assert_eq!(moved.len(), 1, "{phase}: server consumers {moved:?}");
        assert_ne!(moved[0], victim.name, "{phase}: the server did not move");
        assert!(
            !confirmed_after.is_empty(),
            "{phase}: no cast confirmed after the loss"
        );
        assert!(lost.is_empty(), "{phase}: confirmed casts lost: {lost:?}");
        // The node comes back before the next phase.
        cluster.ctl(&victim, &["start_app"]).expect("start_app");
        assert!(
            cluster.restore(Duration::from_secs(60)),
            "{phase}: the cluster did not heal"
        );
        stopped = Some(victim);
    }
    fault::bounded("stopping the load", Duration::from_secs(60), load.stop()).await;
    eprintln!(
        "node loss: {} calls, {} casts confirmed, {} cast errors, {} duplicate notes",
        load.calls.lock().unwrap().len(),
        load.casts.lock().unwrap().len(),
        load.cast_errors.lock().unwrap().len(),
        received
            .duplicates
            .load(std::sync::atomic::Ordering::SeqCst)
    );
    fault::teardown(&server, &[&tc, &ts]).await;
    fault::delete_queues(&cluster, &topic, "s1");
}

/// The same node loss with Python oslo.messaging (server and client from
/// the venv, `rabbit_quorum_queue` on, oslo's defaults otherwise), measured
/// for the fault table; asserted only to have run and produced figures.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_oslo_messaging_node_loss_for_comparison() {
    let test = "python_oslo_messaging_node_loss_for_comparison";
    let _one_at_a_time = fault::CLUSTER.lock().await;
    fault::capture_logs();
    let Some(cluster) = fjord_test_support::skip::rabbit_cluster(test) else {
        return;
    };
    let Some(py) = support::venv_python(test) else {
        return;
    };
    // As for fjord: a peer whose reply queue is consumed through the node
    // its server consumes through, so the loss hits both (oslo shuffles
    // the hosts per connection).
    let mut picked = None;
    for _ in 0..8 {
        let topic = unique("fjt_pyloss");
        let peer = fault::PyPeer::start(&py, &cluster.url(), &topic, &["--queues", "quorum"]).await;
        let server = fault::consumer_nodes(&cluster, &topic, false);
        let replies = fault::consumer_nodes(&cluster, "reply_", true);
        if server.len() == 1 && replies == server {
            picked = Some((peer, topic, server));
            break;
        }
        peer.kill().await;
        fault::delete_queues(&cluster, &topic, "pys1");
    }
    let (mut peer, topic, nodes) =
        picked.expect("no Python peer had its server and reply queue on one node in 8 tries");
    let types = cluster
        .ctl(&cluster.nodes[0], &["list_queues", "-q", "name", "type"])
        .unwrap_or_default();
    assert!(
        types
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == [topic.as_str(), "quorum"]),
        "the Python server's queue {topic} is not a quorum queue: {types}"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let victim = cluster
        .nodes
        .iter()
        .find(|n| n.name == nodes[0])
        .expect("a node")
        .clone();
    eprintln!(
        "python node loss: stopping {} (server and client consume through it)",
        victim.name
    );
    peer.fault().await;
    cluster.ctl(&victim, &["stop_app"]).expect("stop_app");
    peer.back().await;
    // As long as fjord's test gives itself, then its steady 3 s.
    peer.recovered(RECOVERY_BOUND).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let f = peer.report().await;
    cluster.ctl(&victim, &["start_app"]).expect("start_app");
    let healed = cluster.restore(Duration::from_secs(60));
    fault::delete_queues(&cluster, &topic, "pys1");
    eprintln!("{}", fault::py_report("python node loss", &f));
    assert!(f["calls"].as_u64().is_some(), "{f}");
    assert!(healed, "the cluster did not heal");
}
