//! `publish_on_listener_connection`: an RPC server (the `rpc_server`
//! example, a process of its own so its connections can be counted by
//! pid) replies on its listener's connection, one connection instead of
//! two; after the broker drops that connection it serves again.

use crate::example_rpc_server_signals::rpc_server;
use crate::support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use fjord_messaging::{Context, RpcClient, Target};
use serde_json::json;
use support::{args, rabbit_transport, unique};

/// Ends the child however the test ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(exe: &std::path::Path, topic: &str, option: bool) -> Server {
    let url =
        format!("rabbit://guest:guest@127.0.0.1:5672/?publish_on_listener_connection={option}");
    let mut child = Command::new(exe)
        .args(["--transport-url", &url, "--topic", topic, "--server", "s1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn rpc_server");
    let stdout = child.stdout.take().expect("stdout");
    let server = Server(child);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let ready = rx
        .recv_timeout(Duration::from_secs(30))
        .is_ok_and(|l| l == "rpc server ready");
    assert!(ready, "no `rpc server ready` line within 30 s");
    server
}

/// Echo calls until one succeeds or `within` passes.
async fn echo_within(c: &RpcClient, value: i64, within: Duration) -> bool {
    let end = Instant::now() + within;
    while Instant::now() < end {
        let c = c.prepare().with_timeout(Duration::from_secs(2));
        if let Ok(v) = c
            .call(&Context::new(), "echo", args(json!({"value": value})))
            .await
        {
            assert_eq!(v, json!(value));
            return true;
        }
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_replies_on_its_listener_connection_and_recovers() {
    let test = "a_server_replies_on_its_listener_connection_and_recovers";
    if !support::rabbit_and_ctl(test) {
        return;
    }
    let exe = rpc_server();
    let tc = rabbit_transport("");
    for (option, connections) in [(false, 2), (true, 1)] {
        let topic = unique("fjt_lent");
        let server = start(&exe, &topic, option);
        let pid = server.0.id();
        let c = RpcClient::new(&tc, Target::new(&topic));
        for i in 0..3 {
            assert!(
                echo_within(&c, i, Duration::from_secs(10)).await,
                "option {option}: echo({i}) failed"
            );
        }
        let open = support::connections_of(pid);
        assert_eq!(
            open.len(),
            connections,
            "option {option}: the server has connections {open:?}"
        );
        // The broker drops the server's connections: it consumes again and
        // its replies find a way out (a new lent channel or a connection
        // of its own).
        let closed = support::close_connections_of(pid);
        assert_eq!(closed, connections, "option {option}");
        let t0 = Instant::now();
        assert!(
            echo_within(&c, 7, Duration::from_secs(30)).await,
            "option {option}: no call succeeded within 30 s after the drop"
        );
        eprintln!(
            "option {option}: served again {:?} after the drop",
            t0.elapsed()
        );
        drop(server);
    }
    tc.close().await;
}
