//! A worker service with a heartbeat and a periodic task, built with no
//! runtime (as in the master before fork), then started, stopped, reset and
//! started again (a SIGHUP restart) in a runtime: the restart keeps its
//! service record.

use crate::support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use fjord_service::periodic::{PeriodicTask, PeriodicTasks};
use fjord_service::{Result, Service, TaskGroup, async_trait};
use fjord_servicegroup::{Heartbeat, ServiceOptions};
use support::db::TestDb;
use support::{unique, wait_until_future};

#[derive(Debug)]
struct Worker {
    tg: TaskGroup,
    heartbeat: Heartbeat,
    periodic: PeriodicTasks,
    options: ServiceOptions,
}

impl Worker {
    fn new(host: &str, db: &TestDb, runs: Arc<AtomicUsize>) -> Self {
        let options = ServiceOptions::default()
            .connection(db.url.clone())
            .report_interval(Duration::from_millis(100))
            .periodic_fuzzy_delay(Duration::ZERO)
            .periodic_interval_max(Duration::from_millis(100));
        let periodic = PeriodicTasks::new().add(
            PeriodicTask::new("count", Duration::from_millis(50), move |_: ()| {
                runs.fetch_add(1, Ordering::SeqCst);
                async {}
            })
            .run_immediately(true),
        );
        Worker {
            tg: TaskGroup::default(),
            heartbeat: Heartbeat::new(host, "demo-worker", "demo", &options),
            periodic,
            options,
        }
    }
}

#[async_trait]
impl Service for Worker {
    fn name(&self) -> &str {
        "demo-worker"
    }
    async fn start(&self) -> Result<()> {
        self.heartbeat.start(&self.tg);
        self.periodic.start(&self.tg, (), &self.options.periodic());
        Ok(())
    }
    async fn stop(&self, graceful: bool) {
        self.tg.stop(graceful).await
    }
    async fn wait(&self) {
        self.tg.wait().await
    }
    async fn reset(&self) -> Result<()> {
        self.tg.reset();
        Ok(())
    }
}

#[test]
fn built_before_the_runtime_and_restartable() {
    let db = TestDb::sqlite();
    let host = unique("svc");
    let runs = Arc::new(AtomicUsize::new(0));
    // no runtime exists here
    assert!(tokio::runtime::Handle::try_current().is_err());
    let worker = Worker::new(&host, &db, runs.clone());

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let first_id = rt.block_on(async {
        worker.start().await.unwrap();
        let hb = &worker.heartbeat;
        assert!(
            wait_until_future(Duration::from_secs(10), || async {
                hb.state().reports >= 2
            })
            .await
        );
        assert!(
            wait_until_future(Duration::from_secs(10), || async {
                runs.load(Ordering::SeqCst) >= 3
            })
            .await
        );
        worker.stop(true).await;
        worker.wait().await;
        hb.state().record_id.expect("registered")
    });
    drop(rt);

    // a restart in a new runtime: new pool, same record
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        worker.reset().await.unwrap();
        let before = worker.heartbeat.state().reports;
        let ran = runs.load(Ordering::SeqCst);
        worker.start().await.unwrap();
        let hb = &worker.heartbeat;
        assert!(
            wait_until_future(Duration::from_secs(10), || async {
                hb.state().reports >= before + 2
            })
            .await,
            "{:?}",
            hb.state()
        );
        assert_eq!(hb.state().record_id, Some(first_id));
        assert_eq!(hb.state().failures, 0);
        assert!(runs.load(Ordering::SeqCst) > ran);
        let records = hb.records().expect("connected");
        let rec = records.get(first_id).await.unwrap().expect("record");
        assert!(rec.up);
        assert!(rec.record.report_count >= i64::try_from(before + 2).unwrap());
        worker.stop(true).await;
        records.close().await;
    });
    rt.block_on(db.cleanup());
}
