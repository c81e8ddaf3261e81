//! Periodic tasks: a failing, a panicking or a slow task neither stops the
//! others nor the service; failures are logged with the task name and error.

use crate::support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use fjord_service::TaskGroup;
use fjord_service::periodic::{PeriodicOptions, PeriodicTask, PeriodicTasks};
use support::{Logs, paused_rt};
use tokio::time::sleep;

fn counter() -> Arc<AtomicUsize> {
    Arc::new(AtomicUsize::new(0))
}

fn no_fuzz() -> PeriodicOptions {
    PeriodicOptions::default().periodic_fuzzy_delay(Duration::ZERO)
}

#[test]
fn failing_panicking_and_slow_tasks_do_not_stop_the_others() {
    let logs = Logs::global();
    paused_rt().block_on(async {
        let (ok, fail, boom, slow) = (counter(), counter(), counter(), counter());
        let (o, f, b, s) = (ok.clone(), fail.clone(), boom.clone(), slow.clone());
        let tasks = PeriodicTasks::new()
            .owner("TestManager")
            .add(
                PeriodicTask::new("fail", Duration::from_secs(10), move |_: ()| {
                    f.fetch_add(1, Ordering::SeqCst);
                    async { Err::<(), _>("disk full".to_string()) }
                })
                .run_immediately(true),
            )
            .add(
                PeriodicTask::new("boom", Duration::from_secs(10), move |_: ()| {
                    b.fetch_add(1, Ordering::SeqCst);
                    async {
                        if true {
                            panic!("kaboom");
                        }
                    }
                })
                .run_immediately(true),
            )
            .add(
                PeriodicTask::new("slow", Duration::from_secs(10), move |_: ()| {
                    s.fetch_add(1, Ordering::SeqCst);
                    async { sleep(Duration::from_secs(1000)).await }
                })
                .run_immediately(true),
            )
            .add(
                PeriodicTask::new("ok", Duration::from_secs(10), move |_: ()| {
                    o.fetch_add(1, Ordering::SeqCst);
                    async { Ok::<(), std::io::Error>(()) }
                })
                .run_immediately(true),
            );
        let tg = TaskGroup::default();
        tasks.start(&tg, (), &no_fuzz());
        sleep(Duration::from_secs(35)).await;

        // runs at 0, 10, 20, 30 for every task but the slow one, whose first
        // run is still going
        assert_eq!(ok.load(Ordering::SeqCst), 4);
        assert_eq!(fail.load(Ordering::SeqCst), 4);
        assert_eq!(boom.load(Ordering::SeqCst), 4);
        assert_eq!(slow.load(Ordering::SeqCst), 1);

        let report = tasks.report();
        let by_name = |n: &str| {
            report
                .iter()
                .find(|r| r.name == format!("TestManager.{n}"))
                .cloned()
                .expect(n)
        };
        let fail_r = by_name("fail");
        assert_eq!((fail_r.runs, fail_r.failures), (4, 4));
        assert_eq!(fail_r.last_error.as_deref(), Some("disk full"));
        let boom_r = by_name("boom");
        assert_eq!((boom_r.runs, boom_r.failures), (4, 4));
        assert_eq!(boom_r.last_error.as_deref(), Some("panicked: kaboom"));
        let slow_r = by_name("slow");
        assert_eq!((slow_r.runs, slow_r.skipped), (1, 3));
        assert!(slow_r.running);
        let ok_r = by_name("ok");
        assert_eq!((ok_r.runs, ok_r.failures, ok_r.running), (4, 0, false));
        assert_eq!(ok_r.last_error, None);

        // the service's group is alive: the timer and the slow run
        assert!(tg.len() >= 2, "{tg:?}");
        tg.stop(false).await;
        tg.wait().await;
        assert!(tg.is_empty());
    });
    assert_eq!(
        logs.lines_with(&[
            "ERROR",
            "Error during periodic task TestManager.fail: disk full"
        ])
        .len(),
        4,
        "{}",
        logs.text()
    );
    assert_eq!(
        logs.lines_with(&["ERROR", "Periodic task TestManager.boom panicked: kaboom"])
            .len(),
        4
    );
    assert_eq!(
        logs.lines_with(&["WARN", "Skipping periodic task TestManager.slow"])
            .len(),
        3
    );
}

#[test]
fn a_slow_task_runs_again_once_it_has_finished() {
    paused_rt().block_on(async {
        let starts = counter();
        let s = starts.clone();
        let tasks = PeriodicTasks::new().add(
            PeriodicTask::new("slow", Duration::from_secs(10), move |_: ()| {
                s.fetch_add(1, Ordering::SeqCst);
                async { sleep(Duration::from_secs(15)).await }
            })
            .run_immediately(true),
        );
        let tg = TaskGroup::default();
        tasks.start(&tg, (), &no_fuzz());
        // run 1 at 0 (ends 15), 10 skipped, run 2 at 20 (ends 35), 30 skipped,
        // run 3 at 40
        sleep(Duration::from_secs(41)).await;
        assert_eq!(starts.load(Ordering::SeqCst), 3);
        tg.stop(true).await;
    });
}

#[test]
fn run_periodic_tasks_survives_failures() {
    let logs = Logs::global();
    paused_rt().block_on(async {
        let ok = counter();
        let o = ok.clone();
        let tasks = PeriodicTasks::new()
            .add(
                PeriodicTask::new("boom_direct", Duration::from_secs(5), |_: ()| async {
                    if true {
                        panic!("direct kaboom");
                    }
                })
                .run_immediately(true),
            )
            .add(
                PeriodicTask::new("ok", Duration::from_secs(5), move |_: ()| {
                    o.fetch_add(1, Ordering::SeqCst);
                    async {}
                })
                .run_immediately(true),
            );
        assert_eq!(tasks.run_periodic_tasks(()).await, Duration::from_secs(5));
        sleep(Duration::from_secs(5)).await;
        assert_eq!(tasks.run_periodic_tasks(()).await, Duration::from_secs(5));
        assert_eq!(ok.load(Ordering::SeqCst), 2);
    });
    assert_eq!(
        logs.lines_with(&["Periodic task boom_direct panicked: direct kaboom"])
            .len(),
        2
    );
}

#[test]
fn graceful_stop_lets_a_run_in_progress_finish() {
    paused_rt().block_on(async {
        let done = counter();
        let d = done.clone();
        let tasks = PeriodicTasks::new().add(
            PeriodicTask::new("finish", Duration::from_secs(10), move |_: ()| {
                let d = d.clone();
                async move {
                    sleep(Duration::from_secs(3)).await;
                    d.fetch_add(1, Ordering::SeqCst);
                }
            })
            .run_immediately(true),
        );
        let tg = TaskGroup::default();
        tasks.start(&tg, (), &no_fuzz());
        sleep(Duration::from_secs(1)).await;
        tg.stop(true).await;
        assert_eq!(done.load(Ordering::SeqCst), 1);
        assert!(tg.is_empty());
    });
}
