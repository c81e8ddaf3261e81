//! The Heartbeat task: registers and reports every report_interval; a
//! database that is down is logged and retried, never fatal, and reporting
//! resumes when it returns; a deleted record is registered again.

use crate::support;

use std::time::Duration;

use fjord_service::TaskGroup;
use fjord_servicegroup::{Heartbeat, ServiceRecords};
use support::db::TestDb;
use support::{Logs, unique, wait_until_future};

const INTERVAL: Duration = Duration::from_millis(150);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registers_and_reports_every_interval() {
    for db in TestDb::all("registers_and_reports_every_interval").await {
        let host = unique("hb");
        let hb = Heartbeat::with_records(&host, "demo-worker", "demo", db.builder(), INTERVAL);
        let tg = TaskGroup::default();
        hb.start(&tg);
        let ok = wait_until_future(Duration::from_secs(10), || async {
            hb.state().reports >= 3
        })
        .await;
        assert!(ok, "{}: {:?}", db.backend, hb.state());
        let id = hb.state().record_id.expect("registered");
        let records = hb.records().expect("connected");
        let s = records.get(id).await.unwrap().expect("record");
        assert!(s.up);
        assert_eq!(s.record.host, host);
        assert!(s.record.report_count >= 3, "{}", db.backend);
        assert_eq!(hb.state().failures, 0);

        tg.stop(true).await;
        assert!(tg.is_empty());
        let after = records
            .get(id)
            .await
            .unwrap()
            .expect("record")
            .record
            .report_count;
        tokio::time::sleep(INTERVAL * 3).await;
        let later = records
            .get(id)
            .await
            .unwrap()
            .expect("record")
            .record
            .report_count;
        assert_eq!(after, later, "{}: no beats after stop", db.backend);
        records.close().await;
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_that_is_down_is_retried_until_it_returns() {
    let logs = Logs::global();
    let host = unique("hbdown");
    // the SQLite file's directory does not exist yet: every connect fails
    let dir = std::env::temp_dir().join(unique("fjord_sg_down"));
    let url = format!("sqlite:///{}", dir.join("records.sqlite").display());
    let hb = Heartbeat::with_records(
        &host,
        "demo-worker",
        "demo",
        ServiceRecords::builder(url.clone()),
        INTERVAL,
    );
    let tg = TaskGroup::default();
    hb.start(&tg);
    let failing = wait_until_future(Duration::from_secs(10), || async {
        hb.state().failures >= 3
    })
    .await;
    assert!(failing, "{:?}", hb.state());
    assert_eq!(hb.state().reports, 0);
    assert!(hb.state().failing);
    // the worker's task is alive and retrying
    assert_eq!(tg.len(), 1);
    let errors = logs.lines_with(&["ERROR", &host, "failed to report state to", &url]);
    assert!(errors.len() >= 3, "{}", logs.text());

    // the database comes back
    std::fs::create_dir_all(&dir).unwrap();
    let back = wait_until_future(Duration::from_secs(10), || async {
        hb.state().reports >= 2
    })
    .await;
    assert!(back, "{:?}", hb.state());
    assert!(!hb.state().failing);
    assert_eq!(logs.lines_with(&["INFO", &host, "recovered"]).len(), 1);
    let records = hb.records().expect("connected");
    let mine: Vec<_> = records
        .list()
        .await
        .unwrap()
        .into_iter()
        .filter(|s| s.record.host == host)
        .collect();
    assert_eq!(mine.len(), 1);
    assert!(mine[0].up);
    tg.stop(true).await;
    records.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_postgresql_never_stops_the_worker() {
    let host = unique("hbpg");
    // nothing listens on port 1 of the loopback address
    let hb = Heartbeat::with_records(
        &host,
        "demo-api",
        "demo",
        ServiceRecords::builder("postgresql://fjord:secret@127.0.0.1:1/fjord"),
        INTERVAL,
    );
    let tg = TaskGroup::default();
    hb.start(&tg);
    let failing = wait_until_future(Duration::from_secs(10), || async {
        hb.state().failures >= 2
    })
    .await;
    assert!(failing, "{:?}", hb.state());
    let err = hb.state().last_error.expect("error");
    assert!(err.contains("127.0.0.1:1"), "{err}");
    assert!(!err.contains("secret"), "{err}");
    assert_eq!(tg.len(), 1);
    tg.stop(true).await;
    assert!(tg.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_record_is_registered_again() {
    let db = TestDb::sqlite();
    let host = unique("hbdel");
    let hb = Heartbeat::with_records(&host, "demo-worker", "demo", db.builder(), INTERVAL);
    let tg = TaskGroup::default();
    hb.start(&tg);
    assert!(
        wait_until_future(Duration::from_secs(10), || async {
            hb.state().reports >= 1
        })
        .await
    );
    let first = hb.state().record_id.expect("registered");
    db.execute(&format!("DELETE FROM services WHERE id = {first}"))
        .await;
    let again = wait_until_future(Duration::from_secs(10), || async {
        hb.state().record_id.is_some_and(|id| id != first)
    })
    .await;
    assert!(again, "{:?}", hb.state());
    let reports = hb.state().reports;
    assert!(
        wait_until_future(Duration::from_secs(10), || async {
            hb.state().reports > reports
        })
        .await
    );
    assert_eq!(hb.state().failures, 0);
    tg.stop(true).await;
    db.cleanup().await;
}
