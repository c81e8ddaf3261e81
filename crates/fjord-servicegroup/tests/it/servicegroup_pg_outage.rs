//! PostgreSQL goes away and comes back (simulated with a loopback TCP proxy
//! in front of 127.0.0.1:5432 that this test stops and restarts): the
//! heartbeat logs the failures, the worker keeps running, and reporting
//! resumes on the same record.

use crate::support;

use std::time::Duration;

use fjord_service::TaskGroup;
use fjord_servicegroup::{Heartbeat, ServiceRecords};
use support::db::TestDb;
use support::{unique, wait_until_future};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

const INTERVAL: Duration = Duration::from_millis(150);

/// Forwards 127.0.0.1:<port> to 127.0.0.1:5432 until stopped; stopping
/// closes the listener and every forwarded connection.
struct Proxy {
    stop: CancellationToken,
}

impl Proxy {
    async fn start(port: u16) -> (Proxy, u16) {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = CancellationToken::new();
        let s = stop.clone();
        tokio::spawn(async move {
            loop {
                let (mut client, _) = tokio::select! {
                    _ = s.cancelled() => return,
                    r = listener.accept() => match r { Ok(c) => c, Err(_) => return },
                };
                let s = s.clone();
                tokio::spawn(async move {
                    let Ok(mut upstream) = TcpStream::connect("127.0.0.1:5432").await else {
                        return;
                    };
                    tokio::select! {
                        _ = s.cancelled() => {}
                        _ = tokio::io::copy_bidirectional(&mut client, &mut upstream) => {}
                    }
                });
            }
        });
        (Proxy { stop }, port)
    }

    fn stop(&self) {
        self.stop.cancel();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reporting_resumes_when_postgresql_returns() {
    let test = "reporting_resumes_when_postgresql_returns";
    let Some(db) = TestDb::postgres(test).await else {
        return;
    };
    let (proxy, port) = Proxy::start(0).await;
    let via_proxy = db
        .url
        .replace("127.0.0.1:5432", &format!("127.0.0.1:{port}"));
    assert_ne!(via_proxy, db.url, "the test URL must name 127.0.0.1:5432");
    let host = unique("pgout");
    let hb = Heartbeat::with_records(
        &host,
        "demo-worker",
        "demo",
        ServiceRecords::builder(via_proxy).table(db.table.clone()),
        INTERVAL,
    );
    let tg = TaskGroup::default();
    hb.start(&tg);
    assert!(
        wait_until_future(Duration::from_secs(10), || async {
            hb.state().reports >= 2
        })
        .await
    );
    let id = hb.state().record_id.expect("registered");

    proxy.stop();
    let failing = wait_until_future(Duration::from_secs(15), || async {
        hb.state().failures >= 2
    })
    .await;
    assert!(failing, "{:?}", hb.state());
    assert_eq!(tg.len(), 1, "the heartbeat task is still running");

    let (proxy, _) = Proxy::start(port).await;
    let reports = hb.state().reports;
    let back = wait_until_future(Duration::from_secs(15), || async {
        let st = hb.state();
        !st.failing && st.reports >= reports + 2
    })
    .await;
    assert!(back, "{:?}", hb.state());
    assert_eq!(hb.state().record_id, Some(id));

    tg.stop(true).await;
    proxy.stop();
    let records = db.connect().await;
    let s = records.get(id).await.unwrap().expect("record");
    assert!(s.up);
    assert!(s.record.report_count >= i64::try_from(reports + 2).unwrap());
    records.close().await;
    db.cleanup().await;
}
