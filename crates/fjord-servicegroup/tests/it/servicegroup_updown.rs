//! Service records: heartbeats count, a service is up while its last beat
//! is within service_down_time, and operators can disable/enable it with a
//! reason. SQLite and PostgreSQL.

use crate::support;

use std::time::{Duration, SystemTime};

use fjord_servicegroup::{RecordsError, ServiceStatus, format_timestamp};
use support::db::TestDb;
use support::{unique, wait_until_future};

fn find(list: Vec<ServiceStatus>, host: &str) -> Vec<ServiceStatus> {
    list.into_iter().filter(|s| s.record.host == host).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_while_the_last_beat_is_recent() {
    for db in TestDb::all("up_while_the_last_beat_is_recent").await {
        let host = unique("updown");
        let records = db
            .builder()
            .service_down_time(Duration::from_secs(1))
            .connect()
            .await
            .unwrap();
        let rec = records
            .register(&host, "demo-worker", "demo")
            .await
            .unwrap();
        // not reported yet: its creation time stands in (nova)
        let s = records.get(rec.id).await.unwrap().expect("record");
        assert!(s.up, "{}", db.backend);
        assert_eq!(s.state(), "up");

        let before = SystemTime::now();
        records.heartbeat(rec.id).await.unwrap();
        let s = records.get(rec.id).await.unwrap().expect("record");
        assert_eq!(s.record.report_count, 1);
        let seen = s.record.last_seen_up.expect("last_seen_up");
        // stored with (at least) microsecond precision, from our clock
        assert!(seen + Duration::from_millis(1) >= before, "{}", db.backend);
        assert_eq!(s.record.updated_at, Some(seen));
        assert_eq!(format_timestamp(seen).len(), 26);

        // no more beats: down once service_down_time has passed
        let went_down = wait_until_future(Duration::from_secs(10), || async {
            !records.get(rec.id).await.unwrap().expect("record").up
        })
        .await;
        assert!(went_down, "{}: still up after 10 s", db.backend);
        let down = find(records.list().await.unwrap(), &host);
        assert_eq!(down.len(), 1);
        assert_eq!(down[0].state(), "down");

        // a beat brings it back
        records.heartbeat(rec.id).await.unwrap();
        let s = records.get(rec.id).await.unwrap().expect("record");
        assert!(s.up, "{}", db.backend);
        assert_eq!(s.record.report_count, 2);
        records.close().await;
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disable_and_enable_with_a_reason() {
    for db in TestDb::all("disable_and_enable_with_a_reason").await {
        let host = unique("disable");
        let records = db.connect().await;
        let a = records
            .register(&host, "demo-worker", "demo")
            .await
            .unwrap();
        let b = records
            .register(&host, "demo-worker", "other")
            .await
            .unwrap();
        let api = records.register(&host, "demo-api", "demo").await.unwrap();
        assert!(!a.disabled);

        let n = records
            .set_disabled(&host, "demo-worker", true, Some("maintenance"))
            .await
            .unwrap();
        assert_eq!(n, 2, "{}", db.backend);
        for id in [a.id, b.id] {
            let s = records.get(id).await.unwrap().expect("record");
            assert!(s.record.disabled);
            assert_eq!(s.status(), "disabled");
            assert_eq!(s.record.disabled_reason.as_deref(), Some("maintenance"));
            // disabled is not down: the service still runs and reports
            assert!(s.up);
        }
        let s = records.get(api.id).await.unwrap().expect("record");
        assert!(
            !s.record.disabled,
            "{}: other binaries untouched",
            db.backend
        );

        // a restart keeps the operator's decision
        let again = records
            .register(&host, "demo-worker", "demo")
            .await
            .unwrap();
        assert!(again.disabled);

        records
            .set_disabled(&host, "demo-worker", false, Some("ignored"))
            .await
            .unwrap();
        let s = records.get(a.id).await.unwrap().expect("record");
        assert!(!s.record.disabled);
        assert_eq!(s.record.disabled_reason, None);

        let e = records
            .set_disabled(&unique("nohost"), "demo-worker", true, None)
            .await
            .unwrap_err();
        assert!(matches!(e, RecordsError::NotFound { .. }), "{e}");
        let e = records
            .set_disabled(&host, "demo-worker", true, Some(&"r".repeat(300)))
            .await
            .unwrap_err();
        assert!(matches!(e, RecordsError::InvalidInput { .. }), "{e}");
        assert!(
            !records
                .get(a.id)
                .await
                .unwrap()
                .expect("record")
                .record
                .disabled
        );
        records.close().await;
        db.cleanup().await;
    }
}
