//! Worker processes of one host share one SQLite file: four processes
//! register the same service at once and write heartbeats concurrently;
//! none fails with "database is locked" and no beat is lost.

use crate::support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fjord_servicegroup::ServiceRecords;
use support::db::TestDb;
use support::unique;

const CHILD_ENV: &str = "FJORD_TEST_SG_CHILD";
const PROCESSES: usize = 4;
const BEATS: i64 = 25;

fn child(spec: &str) {
    let (url, host) = spec.split_once('\t').expect("url<TAB>host");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let records = ServiceRecords::connect(url).await.unwrap();
        let rec = records.register(host, "demo-worker", "demo").await.unwrap();
        for _ in 0..BEATS {
            records.heartbeat(rec.id).await.unwrap();
        }
        records.close().await;
    });
}

#[test]
fn worker_processes_share_one_sqlite_file() {
    if let Ok(spec) = std::env::var(CHILD_ENV) {
        child(&spec);
        return;
    }
    let db = TestDb::sqlite();
    let host = unique("procs");
    let exe = std::env::current_exe().unwrap();
    let mut children: Vec<_> = (0..PROCESSES)
        .map(|_| {
            Command::new(&exe)
                .args([
                    "--exact",
                    "servicegroup_processes::worker_processes_share_one_sqlite_file",
                    "--test-threads=1",
                ])
                .env(CHILD_ENV, format!("{}\t{host}", db.url))
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    for c in &mut children {
        loop {
            if let Some(status) = c.try_wait().unwrap() {
                let mut err = String::new();
                if let Some(mut e) = c.stderr.take() {
                    use std::io::Read;
                    let _ = e.read_to_string(&mut err);
                }
                assert!(status.success(), "child failed: {status}\n{err}");
                break;
            }
            if Instant::now() > deadline {
                // only our own children, by their handle
                let _ = c.kill();
                panic!("child {} did not finish within 60 s", c.id());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let records = db.connect().await;
        let mine: Vec<_> = records
            .list()
            .await
            .unwrap()
            .into_iter()
            .filter(|s| s.record.host == host)
            .collect();
        assert_eq!(mine.len(), 1);
        assert_eq!(mine[0].record.report_count, PROCESSES as i64 * BEATS);
        assert!(mine[0].up);
        records.close().await;
        db.cleanup().await;
    });
}
