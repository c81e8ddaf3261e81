//! The throwaway RabbitMQ cluster of `scripts/rabbitmq-cluster.sh` (three
//! nodes by default), as the fault tests see it: its nodes, their ports,
//! and `rabbitmqctl` pointed at them (with the cluster's own HOME and
//! cookie).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::paths::workspace_root;

/// One node of the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// The Erlang node name, `fjord-cluster<i>@localhost`.
    pub name: String,
    /// Its AMQP port on 127.0.0.1.
    pub port: u16,
}

/// The running cluster, read from `target/rabbitmq-cluster.env`.
#[derive(Debug, Clone)]
pub struct RabbitCluster {
    /// Node 1 (the one the others joined), node 2, ...
    pub nodes: Vec<Node>,
    home: PathBuf,
    env_file: PathBuf,
    ctl: PathBuf,
}

/// Where `scripts/rabbitmq-cluster.sh start` writes the cluster's state.
pub fn state_file() -> PathBuf {
    workspace_root().join("target/rabbitmq-cluster.env")
}

impl RabbitCluster {
    /// The cluster described by `path` (the script's `KEY=value` lines),
    /// or why not.
    ///
    /// # Errors
    ///
    /// A sentence when the file is missing or lacks a key.
    pub fn from_state(path: &Path) -> Result<RabbitCluster, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let get = |k: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(k)?.strip_prefix('='))
                .map(str::to_string)
                .ok_or_else(|| format!("{} has no {k}", path.display()))
        };
        let port = |k: &str| {
            get(k)?
                .parse::<u16>()
                .map_err(|e| format!("{} {k}: {e}", path.display()))
        };
        let count: usize = get("FJORD_CLUSTER_NODES")?
            .parse()
            .map_err(|e| format!("{} FJORD_CLUSTER_NODES: {e}", path.display()))?;
        let nodes = (1..=count)
            .map(|i| {
                Ok(Node {
                    name: get(&format!("FJORD_CLUSTER_NODE{i}"))?,
                    port: port(&format!("FJORD_CLUSTER_PORT{i}"))?,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        if nodes.len() < 2 {
            return Err(format!("{} names fewer than 2 nodes", path.display()));
        }
        Ok(RabbitCluster {
            nodes,
            home: get("FJORD_CLUSTER_HOME")?.into(),
            env_file: get("FJORD_CLUSTER_ENV_FILE")?.into(),
            ctl: get("FJORD_CLUSTER_CTL")?.into(),
        })
    }

    /// `rabbit://guest:guest@127.0.0.1:P1,guest:guest@127.0.0.1:P2,.../`:
    /// every node, as an operator lists a cluster.
    pub fn url(&self) -> String {
        self.url_of(&self.nodes.iter().collect::<Vec<_>>())
    }

    /// The transport URL listing `nodes`, in this order.
    pub fn url_of(&self, nodes: &[&Node]) -> String {
        let hosts: Vec<String> = nodes
            .iter()
            .map(|n| format!("guest:guest@127.0.0.1:{}", n.port))
            .collect();
        format!("rabbit://{}/", hosts.join(","))
    }

    /// The node listening on AMQP `port`, if any.
    pub fn node_on(&self, port: u16) -> Option<&Node> {
        self.nodes.iter().find(|n| n.port == port)
    }

    /// The node after `node` (the first after the last).
    pub fn next(&self, node: &Node) -> &Node {
        let i = self.nodes.iter().position(|n| n == node).unwrap_or(0);
        &self.nodes[(i + 1) % self.nodes.len()]
    }

    /// Runs `rabbitmqctl -n <node> <args>` (bounded to 60 s) with the
    /// cluster's HOME and cookie (RabbitMQ's own CLI script, not the
    /// `/usr/sbin` wrapper that switches to the rabbitmq user's HOME);
    /// stdout on success, else stderr.
    ///
    /// # Errors
    ///
    /// The command's stderr (or why it could not run).
    pub fn ctl(&self, node: &Node, args: &[&str]) -> Result<String, String> {
        let out = Command::new("timeout")
            .arg("60")
            .arg(&self.ctl)
            .arg("-n")
            .arg(&node.name)
            .args(args)
            .env("HOME", &self.home)
            .env("RABBITMQ_CONF_ENV_FILE", &self.env_file)
            .output()
            .map_err(|e| format!("cannot run rabbitmqctl: {e}"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(format!(
                "rabbitmqctl -n {} {}: {}{}",
                node.name,
                args.join(" "),
                String::from_utf8_lossy(&out.stderr),
                String::from_utf8_lossy(&out.stdout)
            ))
        }
    }

    /// Whether every node runs the RabbitMQ application (as the first node
    /// that answers sees the cluster) and accepts AMQP connections.
    pub fn healthy(&self) -> bool {
        if !self.nodes.iter().all(|n| crate::skip::port_open(n.port)) {
            return false;
        }
        self.nodes.iter().any(|n| {
            self.ctl(n, &["cluster_status", "--formatter", "json"])
                .is_ok_and(|s| {
                    let running = s
                        .split("\"running_nodes\":")
                        .nth(1)
                        .and_then(|r| r.split(']').next())
                        .unwrap_or("");
                    self.nodes
                        .iter()
                        .all(|m| running.contains(&format!("\"{}\"", m.name)))
                })
        })
    }

    /// Starts the application on every node where it is stopped and waits
    /// (up to `within`) for all to run and accept AMQP connections: the
    /// state a test leaves the cluster in, whatever it stopped.
    pub fn restore(&self, within: Duration) -> bool {
        if self.healthy() {
            return true;
        }
        for n in self
            .nodes
            .iter()
            .filter(|n| !crate::skip::port_open(n.port))
        {
            let _ = self.ctl(n, &["start_app"]);
        }
        crate::wait::wait_until(within, || self.healthy())
    }
}
