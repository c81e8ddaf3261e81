//! Service records: registration is idempotent across restarts, safe when
//! many workers race, and rejects bad input clearly. SQLite and PostgreSQL.

use crate::support;

use std::sync::Arc;

use fjord_servicegroup::{RecordsError, ServiceRecords};
use support::db::TestDb;
use support::unique;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_is_idempotent_and_survives_a_restart() {
    for db in TestDb::all("register_is_idempotent_and_survives_a_restart").await {
        let host = unique("host");
        let records = db.connect().await;
        let first = records
            .register(&host, "demo-worker", "demo")
            .await
            .unwrap();
        assert_eq!(first.report_count, 0, "{}", db.backend);
        assert_eq!(first.last_seen_up, None);
        records.heartbeat(first.id).await.unwrap();
        records.heartbeat(first.id).await.unwrap();
        records.close().await;

        // a restart: new pool, same (host, binary, topic)
        let records = db.connect().await;
        let again = records
            .register(&host, "demo-worker", "demo")
            .await
            .unwrap();
        assert_eq!(again.id, first.id, "{}", db.backend);
        assert_eq!(again.report_count, 2);
        assert!(again.last_seen_up.is_some());
        assert_eq!(again.created_at, first.created_at);

        // another topic or binary is another record
        let other = records
            .register(&host, "demo-worker", "other")
            .await
            .unwrap();
        let api = records.register(&host, "demo-api", "demo").await.unwrap();
        assert_ne!(other.id, first.id);
        assert_ne!(api.id, first.id);
        let mine: Vec<_> = records
            .list()
            .await
            .unwrap()
            .into_iter()
            .filter(|s| s.record.host == host)
            .map(|s| (s.record.binary, s.record.topic))
            .collect();
        assert_eq!(
            mine,
            vec![
                ("demo-api".to_string(), "demo".to_string()),
                ("demo-worker".to_string(), "demo".to_string()),
                ("demo-worker".to_string(), "other".to_string()),
            ],
            "{}",
            db.backend
        );
        records.close().await;
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_workers_share_one_record() {
    const WORKERS: usize = 24;
    for db in TestDb::all("racing_workers_share_one_record").await {
        let host = unique("race");
        // every worker has its own pool, as forked workers do, and they all
        // start (including creating the table) at the same moment
        let barrier = Arc::new(tokio::sync::Barrier::new(WORKERS));
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..WORKERS {
            let builder = db.builder().max_connections(1);
            let barrier = barrier.clone();
            let host = host.clone();
            set.spawn(async move {
                barrier.wait().await;
                let records = builder.connect().await?;
                let rec = records.register(&host, "demo-worker", "demo").await?;
                records.heartbeat(rec.id).await?;
                records.close().await;
                Ok::<i64, RecordsError>(rec.id)
            });
        }
        let mut ids = Vec::new();
        while let Some(r) = set.join_next().await {
            ids.push(r.unwrap().unwrap_or_else(|e| panic!("{}: {e}", db.backend)));
        }
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 1, "{}: {ids:?}", db.backend);
        let records = db.connect().await;
        let mine: Vec<_> = records
            .list()
            .await
            .unwrap()
            .into_iter()
            .filter(|s| s.record.host == host)
            .collect();
        assert_eq!(mine.len(), 1, "{}", db.backend);
        assert_eq!(mine[0].record.report_count, WORKERS as i64);
        records.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn bad_input_is_a_clear_error() {
    let db = TestDb::sqlite();
    let records = db.connect().await;
    let e = records
        .register("", "demo-worker", "demo")
        .await
        .unwrap_err();
    assert!(
        matches!(e, RecordsError::InvalidInput { what: "host", .. }),
        "{e}"
    );
    let long = "t".repeat(256);
    let e = records
        .register("h", "demo-worker", &long)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("invalid topic"), "{e}");
    let e = records.heartbeat(987_654).await.unwrap_err();
    assert!(matches!(e, RecordsError::NotFound { .. }), "{e}");
    // nothing was written by the failed calls
    assert!(records.list().await.unwrap().is_empty());
    records.close().await;

    let e = ServiceRecords::connect("mysql+pymysql://nova:secret@127.0.0.1/nova")
        .await
        .unwrap_err();
    assert!(matches!(e, RecordsError::InvalidUrl { .. }), "{e}");
    assert!(e.to_string().contains("\"mysql\""), "{e}");
    assert!(!e.to_string().contains("secret"), "{e}");

    let e = db
        .builder()
        .table("services; DROP")
        .connect()
        .await
        .unwrap_err();
    assert!(e.to_string().contains("invalid table name"), "{e}");

    let missing = std::env::temp_dir()
        .join(unique("no_such_dir"))
        .join("x.sqlite");
    let url = format!("sqlite:///{}", missing.display());
    let e = ServiceRecords::connect(&url).await.unwrap_err();
    assert!(matches!(e, RecordsError::Connect { .. }), "{e}");
    assert!(e.to_string().contains(&url), "{e}");
    db.cleanup().await;
}

#[tokio::test]
async fn in_memory_sqlite_keeps_its_records() {
    let records = ServiceRecords::connect("sqlite://").await.unwrap();
    let a = records.register("h", "b", "t").await.unwrap();
    // several calls, one connection: the in-memory database is not lost
    for _ in 0..5 {
        records.heartbeat(a.id).await.unwrap();
    }
    let list = records.list().await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].record.report_count, 5);
}
