//! The skip-or-fail policy of fjord's tests, spelled once.

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

/// Whether a missing service or fixture must fail the test
/// (`FJORD_REQUIRE_SERVICES=1`, set by CI).
pub fn required() -> bool {
    std::env::var("FJORD_REQUIRE_SERVICES").as_deref() == Ok("1")
}

/// `true` when `ok`; otherwise fails the test under
/// `FJORD_REQUIRE_SERVICES=1`, else reports the skip and returns `false`
/// (the test then returns early).
///
/// The report is a `SKIPPED test: why` line written straight to standard
/// error (the harness does not capture it, so it shows in `cargo test`'s
/// output) and appended to the file named by `FJORD_SKIP_LOG`, if set,
/// which `scripts/test.sh` counts in its summary.
///
/// # Panics
///
/// When `ok` is false and [`required`] is true.
pub fn need(ok: bool, test: &str, why: &str) -> bool {
    if ok {
        return true;
    }
    if required() {
        panic!("{test}: {why} (FJORD_REQUIRE_SERVICES=1)");
    }
    let line = format!("SKIPPED {test}: {why}\n");
    let _ = std::io::stderr().write_all(line.as_bytes());
    if let Ok(path) = std::env::var("FJORD_SKIP_LOG")
        && let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
    {
        let _ = f.write_all(line.as_bytes());
    }
    false
}

/// Whether something accepts TCP connections on 127.0.0.1:`port`.
pub fn port_open(port: u16) -> bool {
    TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(2)).is_ok()
}

/// RabbitMQ on 127.0.0.1:5672, or [`need`]'s skip.
pub fn rabbit(test: &str) -> bool {
    need(
        port_open(5672),
        test,
        "RabbitMQ is not reachable on 127.0.0.1:5672 (start it: rabbitmq-server -detached)",
    )
}

/// PostgreSQL on 127.0.0.1:5432, or [`need`]'s skip.
pub fn postgres(test: &str) -> bool {
    need(
        port_open(5432),
        test,
        "PostgreSQL is not reachable on 127.0.0.1:5432 (start it: pg_ctlcluster $(ls /etc/postgresql) main start)",
    )
}

/// The throwaway RabbitMQ cluster (`scripts/rabbitmq-cluster.sh start`),
/// every node running and clustered, or [`need`]'s skip.
pub fn rabbit_cluster(test: &str) -> Option<crate::cluster::RabbitCluster> {
    let path = crate::cluster::state_file();
    let cluster = crate::cluster::RabbitCluster::from_state(&path)
        .map_err(|e| format!("{e} (start it: scripts/rabbitmq-cluster.sh start)"))
        .and_then(|c| {
            // A test before this one may have left a node stopped.
            if c.restore(Duration::from_secs(60)) {
                Ok(c)
            } else {
                Err(format!(
                    "the RabbitMQ cluster of {} is not running (scripts/rabbitmq-cluster.sh start)",
                    path.display()
                ))
            }
        });
    match cluster {
        Ok(c) => Some(c),
        Err(why) => {
            need(false, test, &why);
            None
        }
    }
}
