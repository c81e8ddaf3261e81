//! Periodic tasks: spacing, run_immediately, disabled tasks, the interval
//! cap and the fuzzy initial delay, on tokio's paused clock.

use crate::support;

use std::time::Duration;

use fjord_service::TaskGroup;
use fjord_service::periodic::{PeriodicOptions, PeriodicTask, PeriodicTasks};
use support::{Times, paused_rt};
use tokio::time::{Instant, sleep};

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn no_fuzz() -> PeriodicOptions {
    PeriodicOptions::default().periodic_fuzzy_delay(Duration::ZERO)
}

fn recording(name: &str, spacing: u64, times: &Times, start: Instant) -> PeriodicTask {
    let times = times.clone();
    PeriodicTask::new(name, secs(spacing), move |_: ()| {
        times.record(start);
        async {}
    })
}

#[test]
fn tasks_run_every_spacing_after_start() {
    paused_rt().block_on(async {
        let start = Instant::now();
        let (ten, seven) = (Times::default(), Times::default());
        let tasks = PeriodicTasks::new()
            .add(recording("ten", 10, &ten, start))
            .add(recording("seven", 7, &seven, start));
        let tg = TaskGroup::default();
        tasks.start(&tg, (), &no_fuzz());
        sleep(secs(36)).await;
        tg.stop(true).await;
        assert_eq!(ten.get(), vec![10, 20, 30]);
        assert_eq!(seven.get(), vec![7, 14, 21, 28, 35]);
    });
}

#[test]
fn run_immediately_runs_at_the_first_tick() {
    paused_rt().block_on(async {
        let start = Instant::now();
        let (now, later) = (Times::default(), Times::default());
        let tasks = PeriodicTasks::new()
            .add(recording("now", 10, &now, start).run_immediately(true))
            .add(recording("later", 10, &later, start));
        let tg = TaskGroup::default();
        tasks.start(&tg, (), &no_fuzz());
        sleep(secs(25)).await;
        tg.stop(true).await;
        assert_eq!(now.get(), vec![0, 10, 20]);
        assert_eq!(later.get(), vec![10, 20]);
    });
}

#[test]
fn zero_spacing_means_the_default_interval() {
    paused_rt().block_on(async {
        let start = Instant::now();
        let t = Times::default();
        let tasks = PeriodicTasks::new().add(recording("zero", 0, &t, start).run_immediately(true));
        let tg = TaskGroup::default();
        tasks.start(&tg, (), &no_fuzz());
        sleep(secs(130)).await;
        tg.stop(true).await;
        // spacings from 20 s up get oslo's 0-5 % jitter on their boundary
        let got = t.get();
        assert_eq!(got.len(), 3, "{got:?}");
        assert_eq!(got[..2], [0, 60]);
        assert!((120..=123).contains(&got[2]), "{got:?}");
    });
}

#[test]
fn disabled_tasks_never_run() {
    paused_rt().block_on(async {
        let start = Instant::now();
        let (on, off) = (Times::default(), Times::default());
        let tasks = PeriodicTasks::new()
            .add(
                recording("off", 5, &off, start)
                    .run_immediately(true)
                    .enabled(false),
            )
            .add(recording("on", 5, &on, start).run_immediately(true));
        assert_eq!(tasks.names(), vec!["on"]);
        let tg = TaskGroup::default();
        tasks.start(&tg, (), &no_fuzz());
        sleep(secs(12)).await;
        tg.stop(true).await;
        assert_eq!(on.get(), vec![0, 5, 10]);
        assert!(off.get().is_empty());
    });
}

#[test]
fn ticks_are_never_further_apart_than_the_interval_max() {
    paused_rt().block_on(async {
        let start = Instant::now();
        let t = Times::default();
        let capped = PeriodicTasks::new().add(recording("slow", 300, &t, start));
        let tg = TaskGroup::default();
        capped.start(&tg, (), &no_fuzz().periodic_interval_max(secs(5)));
        sleep(secs(21)).await;
        // ticks at 0, 5, 10, 15, 20
        assert_eq!(capped.ticks(), 5);
        tg.stop(true).await;

        // uncapped (60 s default): a 300 s task still ticks every 60 s,
        // oslo's DEFAULT_INTERVAL
        let t2 = Times::default();
        let default = PeriodicTasks::new().add(recording("slow", 300, &t2, start));
        let tg = TaskGroup::default();
        default.start(&tg, (), &no_fuzz());
        sleep(secs(121)).await;
        assert_eq!(default.ticks(), 3);
        tg.stop(true).await;
        assert!(t.get().is_empty() && t2.get().is_empty());
    });
}

#[test]
fn run_periodic_tasks_returns_the_idle_time() {
    paused_rt().block_on(async {
        let start = Instant::now();
        let (a, b) = (Times::default(), Times::default());
        let tasks = PeriodicTasks::new()
            .add(recording("a", 10, &a, start).run_immediately(true))
            .add(recording("b", 25, &b, start))
            .add(recording("huge", 3600, &Times::default(), start));
        assert_eq!(tasks.run_periodic_tasks(()).await, secs(10));
        sleep(secs(10)).await;
        assert_eq!(tasks.run_periodic_tasks(()).await, secs(10));
        sleep(secs(10)).await;
        // at 20: a runs, b is due at 25
        assert_eq!(tasks.run_periodic_tasks(()).await, secs(5));
        sleep(secs(5)).await;
        assert_eq!(tasks.run_periodic_tasks(()).await, secs(5));
        assert_eq!(a.get(), vec![0, 10, 20]);
        assert_eq!(b.get(), vec![25]);
    });
}

#[test]
fn first_tick_comes_after_the_fuzzy_delay() {
    let mut firsts = Vec::new();
    for _ in 0..5 {
        paused_rt().block_on(async {
            let start = Instant::now();
            let t = Times::default();
            let tasks =
                PeriodicTasks::new().add(recording("x", 100, &t, start).run_immediately(true));
            let tg = TaskGroup::default();
            tasks.start(
                &tg,
                (),
                &PeriodicOptions::default().periodic_fuzzy_delay(secs(30)),
            );
            sleep(secs(31)).await;
            tg.stop(true).await;
            let got = t.get();
            assert_eq!(got.len(), 1, "{got:?}");
            assert!(got[0] <= 30);
            firsts.push(got[0]);
        });
    }
    // five draws in [0, 30 s] at millisecond resolution are not all zero
    assert!(firsts.iter().any(|&s| s > 0), "{firsts:?}");
}

#[test]
fn context_is_passed_to_every_task() {
    paused_rt().block_on(async {
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let s = seen.clone();
        let tasks = PeriodicTasks::new().add(
            PeriodicTask::new("ctx", secs(1), move |host: String| {
                s.lock().unwrap().push(host);
                async {}
            })
            .run_immediately(true),
        );
        let tg = TaskGroup::default();
        tasks.start(&tg, "compute-1".to_string(), &no_fuzz());
        sleep(Duration::from_millis(1500)).await;
        tg.stop(true).await;
        assert_eq!(*seen.lock().unwrap(), vec!["compute-1", "compute-1"]);
    });
}
