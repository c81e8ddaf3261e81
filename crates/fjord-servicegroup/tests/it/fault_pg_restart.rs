//! PostgreSQL restarts under service heartbeats. The machine's PostgreSQL
//! is shared, so the test makes a throwaway server of its own (`initdb` and
//! `pg_ctl` as the postgres user, in a temp dir, on a free loopback port)
//! and restarts that one: the heartbeat task logs the failures and keeps
//! running, reports resume on the same record, and a restart shorter than
//! `service_down_time` never shows the service down to a reader polling
//! the records; an outage longer than it may (nova's rule), and the service
//! is up again once reports resume. Prints `FAULT` lines
//! (bench/results/faults.md).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use fjord_service::TaskGroup;
use fjord_servicegroup::{Heartbeat, ServiceRecords};
use fjord_test_support::{need, temp_dir, wait_until_future};

const REPORT_INTERVAL: Duration = Duration::from_millis(300);
const SERVICE_DOWN_TIME: Duration = Duration::from_secs(3);

/// A PostgreSQL server of this test's own; stopped and removed on drop.
struct ThrowawayPg {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
}

impl ThrowawayPg {
    /// `initdb` + `pg_ctl start` as the postgres user, or `None` after the
    /// skip (no PostgreSQL binaries, not root).
    fn start(test: &str) -> Option<ThrowawayPg> {
        let bin = std::fs::read_dir("/usr/lib/postgresql").ok().and_then(|d| {
            d.flatten()
                .map(|e| e.path().join("bin"))
                .find(|b| b.join("initdb").is_file())
        });
        let runuser =
            Path::new("/usr/sbin/runuser").is_file() || Path::new("/sbin/runuser").is_file();
        // Effective uid 0 (the `Uid:` line of /proc/self/status: real, effective, ...).
        let root = std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|ids| ids.split_whitespace().nth(1))
                == Some("0")
        });
        if !need(
            bin.is_some() && runuser && root,
            test,
            "needs PostgreSQL's initdb/pg_ctl (/usr/lib/postgresql/*/bin), runuser and root to run a throwaway server",
        ) {
            return None;
        }
        let bin = bin?;
        let dir = temp_dir("pgfault");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let pg = ThrowawayPg { bin, dir, port };
        let chown = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(&pg.dir)
            .status()
            .expect("chown");
        assert!(chown.success());
        pg.run(
            "initdb",
            &[
                "-D",
                &pg.data(),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
            ],
        );
        pg.ctl(&["start", "-w", "-t", "60"]);
        Some(pg)
    }

    fn data(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    /// Runs a PostgreSQL program as the postgres user; panics on failure.
    fn run(&self, program: &str, args: &[&str]) {
        let out = Command::new("runuser")
            .args(["-u", "postgres", "--", "timeout", "90"])
            .arg(self.bin.join(program))
            .args(args)
            .output()
            .expect("runuser");
        assert!(
            out.status.success(),
            "{program} {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `pg_ctl <args>` with this server's data dir, port and socket dir.
    fn ctl(&self, args: &[&str]) {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.display()
        );
        let log = self.dir.join("postgres.log").display().to_string();
        let data = self.data();
        let mut all = vec!["-D", &data, "-o", &opts, "-l", &log];
        all.extend_from_slice(args);
        self.run("pg_ctl", &all);
    }

    fn url(&self) -> String {
        format!("postgresql://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for ThrowawayPg {
    fn drop(&mut self) {
        let _ = Command::new("runuser")
            .args(["-u", "postgres", "--", "timeout", "60"])
            .arg(self.bin.join("pg_ctl"))
            .args(["-D", &self.data(), "stop", "-m", "immediate", "-w"])
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A reader polling the record every 50 ms on its own connection, as
/// `service list` would: how often it saw the service down, and when.
struct Watcher {
    stop: Arc<AtomicBool>,
    seen_down: Arc<AtomicUsize>,
    seen_up: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Watcher {
    fn start(records: ServiceRecords, id: i64) -> Watcher {
        let stop = Arc::new(AtomicBool::new(false));
        let (seen_down, seen_up) = (Arc::default(), Arc::default());
        let (s, d, u): (_, Arc<AtomicUsize>, Arc<AtomicUsize>) =
            (stop.clone(), Arc::clone(&seen_down), Arc::clone(&seen_up));
        let task = tokio::spawn(async move {
            while !s.load(Ordering::SeqCst) {
                // While the database is down the query fails: nothing seen.
                if let Ok(Ok(Some(st))) =
                    tokio::time::timeout(Duration::from_secs(1), records.get(id)).await
                {
                    if st.up { &u } else { &d }.fetch_add(1, Ordering::SeqCst);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            records.close().await;
        });
        Watcher {
            stop,
            seen_down,
            seen_up,
            task,
        }
    }

    fn counts(&self) -> (usize, usize) {
        (
            self.seen_up.load(Ordering::SeqCst),
            self.seen_down.load(Ordering::SeqCst),
        )
    }

    async fn finish(self) -> (usize, usize) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = tokio::time::timeout(Duration::from_secs(5), self.task).await;
        (
            self.seen_up.load(Ordering::SeqCst),
            self.seen_down.load(Ordering::SeqCst),
        )
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeats_survive_postgresql_restarts() {
    let test = "heartbeats_survive_postgresql_restarts";
    let Some(pg) = ThrowawayPg::start(test) else {
        return;
    };
    let builder = || {
        ServiceRecords::builder(pg.url())
            .table("services")
            .service_down_time(SERVICE_DOWN_TIME)
    };
    let hb = Heartbeat::with_records(
        "fault-host",
        "demo-worker",
        "demo",
        builder(),
        REPORT_INTERVAL,
    );
    let tg = TaskGroup::default();
    hb.start(&tg);
    assert!(
        wait_until_future(Duration::from_secs(15), || async {
            hb.state().reports >= 2
        })
        .await,
        "{:?}",
        hb.state()
    );
    let id = hb.state().record_id.expect("registered");
    let watcher = Watcher::start(builder().connect().await.expect("reader"), id);

    // 1. A restart (fast shutdown, down for a second, start): shorter than
    // service_down_time, longer than a few report intervals.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (reports, failures) = (hb.state().reports, hb.state().failures);
    let down_before = watcher.counts().1;
    let t = Instant::now();
    pg.ctl(&["stop", "-m", "fast", "-w", "-t", "60"]);
    tokio::time::sleep(Duration::from_secs(1)).await;
    pg.ctl(&["start", "-w", "-t", "60"]);
    let outage = t.elapsed();
    let resumed = wait_until_future(Duration::from_secs(15), || async {
        let st = hb.state();
        !st.failing && st.reports >= reports + 2
    })
    .await;
    let recovered = t.elapsed();
    let st = hb.state();
    let (up, down) = watcher.counts();
    eprintln!(
        "FAULT fjord PostgreSQL restart (stop, 1 s, start): outage {:.2}s (service_down_time {SERVICE_DOWN_TIME:?}); \
         heartbeat failures {}; reports resumed after {:.2}s; reader saw up {up} down {} times; \
         heartbeat task alive {}",
        outage.as_secs_f64(),
        st.failures - failures,
        recovered.as_secs_f64(),
        down - down_before,
        tg.len() == 1
    );
    assert!(resumed, "reports did not resume: {st:?}");
    assert!(
        st.failures > failures,
        "the restart was not noticed: {st:?}"
    );
    assert!(outage < SERVICE_DOWN_TIME, "the restart took {outage:?}");
    assert_eq!(
        down, down_before,
        "a restart of {outage:?} showed the service down"
    );
    assert_eq!(tg.len(), 1, "the heartbeat task ended");
    assert_eq!(st.record_id, Some(id), "a new record after the restart");

    // 2. An outage longer than service_down_time: the service may be seen
    // down, and is up again once reports resume.
    let (reports, failures) = (hb.state().reports, hb.state().failures);
    let t = Instant::now();
    pg.ctl(&["stop", "-m", "fast", "-w", "-t", "60"]);
    tokio::time::sleep(SERVICE_DOWN_TIME + Duration::from_secs(1)).await;
    pg.ctl(&["start", "-w", "-t", "60"]);
    let outage = t.elapsed();
    let resumed = wait_until_future(Duration::from_secs(15), || async {
        let st = hb.state();
        !st.failing && st.reports >= reports + 2
    })
    .await;
    let recovered = t.elapsed();
    let up_before = watcher.counts().0;
    let up_again = wait_until_future(Duration::from_secs(10), || async {
        watcher.counts().0 > up_before + 2
    })
    .await;
    let st = hb.state();
    let (up, down2) = watcher.finish().await;
    eprintln!(
        "FAULT fjord PostgreSQL down {:.2}s (> service_down_time {SERVICE_DOWN_TIME:?}): \
         heartbeat failures {}; reports resumed after {:.2}s; reader saw up {up} down {} times; \
         heartbeat task alive {}",
        outage.as_secs_f64(),
        st.failures - failures,
        recovered.as_secs_f64(),
        down2 - down,
        tg.len() == 1
    );
    assert!(resumed, "reports did not resume: {st:?}");
    assert!(st.failures > failures, "the outage was not noticed: {st:?}");
    assert!(up_again, "the reader does not see the service up again");
    assert_eq!(tg.len(), 1, "the heartbeat task ended");
    assert_eq!(st.record_id, Some(id));
    tg.stop(true).await;
    let records = builder().connect().await.expect("records");
    let s = records.get(id).await.unwrap().expect("record");
    assert!(s.up);
    records.close().await;
}
