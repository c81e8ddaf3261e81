//! The first start on a fresh state directory: several worker processes
//! open a SQLite file that does not exist yet, all at the same instant.
//! Every one connects, registers and beats without "database is locked",
//! and the file ends up in WAL mode.

use crate::support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use fjord_servicegroup::ServiceRecords;
use support::db::TestDb;
use support::unique;

const CHILD_ENV: &str = "FJORD_TEST_SG_FIRST_CHILD";
const TEST: &str = "servicegroup_sqlite_first_start::concurrent_first_writers_to_a_new_file_never_see_a_lock_error";
/// Worker processes opening the file at once.
const PROCESSES: usize = 10;
/// Milliseconds between the processes' starts: each one meets the file
/// at another stage of its creation (new, being switched to WAL, getting
/// its table).
const STAGGER_MS: u128 = 2;
/// Fresh files tried in a row: the race is on the file's creation.
const ROUNDS: usize = 4;

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

/// One worker: waits for the common start instant, then connects,
/// registers and beats once.
fn child(spec: &str) {
    let mut parts = spec.split('\t');
    let (url, host, binary, start) = (
        parts.next().expect("url"),
        parts.next().expect("host"),
        parts.next().expect("binary"),
        parts
            .next()
            .and_then(|s| s.parse::<u128>().ok())
            .expect("start"),
    );
    while now_ms() < start {
        std::thread::sleep(Duration::from_millis(1));
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let records = ServiceRecords::connect(url).await.unwrap();
        let rec = records.register(host, binary, "demo").await.unwrap();
        records.heartbeat(rec.id).await.unwrap();
        records.close().await;
    });
}

#[test]
fn concurrent_first_writers_to_a_new_file_never_see_a_lock_error() {
    if let Ok(spec) = std::env::var(CHILD_ENV) {
        child(&spec);
        return;
    }
    let exe = std::env::current_exe().unwrap();
    for round in 0..ROUNDS {
        let db = TestDb::sqlite();
        let host = unique("first");
        // Far enough ahead for every process to be up and waiting.
        let start = now_ms() + 500;
        let mut children: Vec<_> = (0..PROCESSES)
            .map(|i| {
                Command::new(&exe)
                    .args(["--exact", TEST, "--test-threads=1"])
                    .env(
                        CHILD_ENV,
                        format!(
                            "{}\t{host}\tbinary-{}\t{}",
                            db.url,
                            i % 3,
                            start + STAGGER_MS * i as u128
                        ),
                    )
                    // libtest prints a failed child's panic on stdout
                    .stdout(Stdio::piped())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut failures = Vec::new();
        for c in &mut children {
            loop {
                if let Some(status) = c.try_wait().unwrap() {
                    if !status.success() {
                        let mut err = String::new();
                        if let Some(mut e) = c.stdout.take() {
                            use std::io::Read;
                            let _ = e.read_to_string(&mut err);
                        }
                        let why = err.lines().find(|l| l.contains("locked")).unwrap_or(&err);
                        failures.push(format!("{status}: {why}"));
                    }
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
        assert!(failures.is_empty(), "round {round}: {failures:#?}");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let records = ServiceRecords::connect(&db.url).await.unwrap();
            assert_eq!(records.list().await.unwrap().len(), 3, "round {round}");
            records.close().await;
            let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
            let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
                .fetch_one(&pool)
                .await
                .unwrap();
            assert_eq!(mode, "wal", "round {round}");
            pool.close().await;
        });
    }
}

/// The moment the race hits, made to last: another process's connection
/// writes to the new file (still in its first journal mode) while a worker
/// connects and switches the file to WAL. The worker waits for the write to
/// end instead of failing.
#[test]
fn connect_waits_for_a_writer_on_a_new_file() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use sqlx::Connection;
        let db = TestDb::sqlite();
        let opts = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(db.url.trim_start_matches("sqlite:///"))
            .create_if_missing(true);
        let mut holder = sqlx::SqliteConnection::connect_with(&opts).await.unwrap();
        sqlx::query("CREATE TABLE first (x INTEGER)")
            .execute(&mut holder)
            .await
            .unwrap();
        let mut tx = holder.begin().await.unwrap();
        sqlx::query("INSERT INTO first VALUES (1)")
            .execute(&mut *tx)
            .await
            .unwrap();
        let url = db.url.clone();
        let worker = tokio::spawn(async move {
            let records = ServiceRecords::connect(&url).await?;
            let rec = records.register("h", "demo-api", "api").await?;
            records.heartbeat(rec.id).await?;
            records.close().await;
            Ok::<(), fjord_servicegroup::RecordsError>(())
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        tx.commit().await.unwrap();
        let outcome = tokio::time::timeout(Duration::from_secs(30), worker)
            .await
            .expect("the worker connects within 30 s")
            .unwrap();
        assert!(outcome.is_ok(), "{outcome:?}");
        holder.close().await.unwrap();
    });
}
