//! After SIGHUP every service runs on the new values, for both
//! `restart_method`s: demo-all's RPC worker counts every
//! `[demo] counter_interval`; the test changes it from 5 to 1 s in the
//! configuration file and sends SIGHUP. `reload` replaces the workers
//! (new PIDs) and they start on 1 s; `mutate` keeps the same PIDs and the
//! running worker's counting task picks up 1 s at its next wait.
use crate::support;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use support::Demo;

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn counts(demo: &Demo) -> usize {
    demo.stderr()
        .matches("periodic task count: counter=")
        .count()
}

fn the_new_interval_applies(method: &str) {
    let dir = std::env::temp_dir().join(format!(
        "fjord-reload-values-{method}-{}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("demo.conf");
    let original = std::fs::read_to_string(repo_root().join("etc/demo/demo.conf")).unwrap();
    assert!(original.contains("counter_interval = 5"));
    std::fs::write(&conf, &original).unwrap();
    let paste = repo_root().join("etc/demo/api-paste.ini");
    let conf_arg = conf.to_string_lossy().into_owned();
    let mut demo = Demo::spawn(
        "demo-all",
        &["--config-file", &conf_arg],
        &[
            ("OS_DEFAULT__RESTART_METHOD", method),
            ("OS_DEFAULT__API_PASTE_CONFIG", &paste.to_string_lossy()),
        ],
    );
    demo.wait_http("/healthcheck", 200, Duration::from_secs(30));
    let deadline = Instant::now() + Duration::from_secs(20);
    while counts(&demo) < 1 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(counts(&demo) >= 1, "the worker counts: {}", demo.stderr());
    let before = support::children_of(demo.pid());

    std::fs::write(
        &conf,
        original.replace("counter_interval = 5", "counter_interval = 1"),
    )
    .unwrap();
    let at_hup = counts(&demo);
    demo.signal(Signal::SIGHUP);
    // At 5 s, 9 s would hold at most 2 more runs; at 1 s, at least 4 more
    // (mutate: after the wait under way, up to 5 s).
    std::thread::sleep(Duration::from_secs(9));
    let after = counts(&demo) - at_hup;
    let err = demo.stderr();
    assert!(
        err.contains("option [demo] counter_interval changed"),
        "{method}: the change is logged: {err}"
    );
    assert!(
        after >= 4,
        "{method}: counting every 1 s after SIGHUP ({after} runs in 9 s): {err}"
    );
    let now = support::children_of(demo.pid());
    if method == "mutate" {
        assert_eq!(now, before, "mutate: the same worker processes");
        assert!(err.contains("re-read its configuration in place"), "{err}");
    } else {
        assert!(
            now.iter().all(|p| !before.contains(p)),
            "reload: new workers {before:?} -> {now:?}"
        );
    }
    demo.signal(Signal::SIGTERM);
    assert_eq!(demo.wait_exit(Duration::from_secs(30)), 0);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn reload_starts_the_new_workers_on_the_new_value() {
    the_new_interval_applies("reload");
}

#[test]
fn mutate_applies_the_new_value_in_the_running_workers() {
    the_new_interval_applies("mutate");
}

use fjord_test_support::load;

/// demo-all under keep-alive load through SIGHUP, SIGUSR1 (binary
/// upgrade) and SIGTERM: no request on the API fails.
#[test]
fn demo_all_fails_no_request_through_reload_upgrade_and_stop() {
    let mut demo = Demo::start("demo-all", &[]);
    demo.wait_http("/healthcheck", 200, Duration::from_secs(30));
    let load = load::Load::start(demo.port, 8, "/hello");
    std::thread::sleep(Duration::from_millis(1000));
    demo.signal(Signal::SIGHUP);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !demo.stderr().contains("reload complete") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        demo.stderr().contains("reload complete"),
        "{}",
        demo.stderr()
    );
    std::thread::sleep(Duration::from_millis(500));
    let hup = load.stop();
    let load = load::Load::start(demo.port, 8, "/hello");
    std::thread::sleep(Duration::from_millis(500));
    demo.signal(Signal::SIGUSR1);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !demo.stderr().contains("upgrade: the new master pid=") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let err = demo.stderr();
    let new_master: i32 = err
        .split("upgrade: the new master pid=")
        .nth(1)
        .and_then(|r| r.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("the new master serves: {err}"));
    assert_eq!(
        demo.wait_exit(Duration::from_secs(30)),
        0,
        "the old master exits"
    );
    std::thread::sleep(Duration::from_millis(1000));
    let usr1 = load.stop();
    let load = load::Load::start(demo.port, 8, "/hello");
    std::thread::sleep(Duration::from_millis(1000));
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(new_master), Signal::SIGTERM).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !support::is_gone(new_master) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(support::is_gone(new_master), "the new master stops on TERM");
    let term = load.stop();
    for (what, r) in [("SIGHUP", hup), ("SIGUSR1", usr1), ("SIGTERM", term)] {
        eprintln!(
            "demo-all, {what}: {} answered, {} failed, {} refused",
            r.ok, r.failed, r.refused
        );
        assert_eq!(r.failed, 0, "{what}: {r:?}");
        assert!(r.ok > 100, "{what}: {r:?}");
    }
}

/// Stop order: under echo load (each request an RPC call from an API
/// worker to the demo-worker), SIGTERM drains the API workers before the
/// RPC worker is told to stop, so no echo in flight fails.
#[test]
fn demo_all_stops_the_api_before_the_worker_it_calls() {
    let mut demo = Demo::start("demo-all", &[]);
    demo.wait_http("/healthcheck", 200, Duration::from_secs(30));
    let deadline = Instant::now() + Duration::from_secs(30);
    while demo.http("POST", "/v1/echo", Some(r#"{"ping": 1}"#)).0 != 200
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(100));
    }
    let load = load::Load::start_with(demo.port, 8, "/v1/echo", Some(r#"{"ping": 1}"#));
    std::thread::sleep(Duration::from_millis(1500));
    demo.signal(Signal::SIGTERM);
    assert_eq!(demo.wait_exit(Duration::from_secs(30)), 0);
    let r = load.stop();
    eprintln!(
        "demo-all, echo through SIGTERM: {} answered, {} failed",
        r.ok, r.failed
    );
    assert_eq!(r.failed, 0, "{r:?}");
    assert!(r.ok > 100, "{r:?}");
    let err = demo.stderr();
    let apis = err
        .find("the APIs have stopped")
        .expect("stopped in stages");
    let worker = err
        .find("worker of demo-worker stopping")
        .expect("the worker stops");
    assert!(
        apis < worker,
        "the RPC worker is told after the APIs have stopped"
    );
}
