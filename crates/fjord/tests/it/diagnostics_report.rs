//! L10: the SIGUSR2 report of a real master (the `report` example: an HTTP
//! API and an RPC service on the embedded transport): requests in flight
//! with their age, oldest first; the RPC message in flight; the failing
//! periodic task's last error and next run; the same report in
//! `[oslo_reports] log_dir` and at `GET /report`.
use crate::support;

use std::time::Duration;

use nix::sys::signal::Signal;
use support::Proc;

/// The ages (seconds) of the report lines starting with `prefix`, in
/// report order.
fn ages(report: &str, prefix: &str) -> Vec<f64> {
    report
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix(prefix))
        .filter_map(|rest| rest.rsplit_once("age=")?.1.strip_suffix('s')?.parse().ok())
        .collect()
}

/// The last report in `stderr`: from its first line to the end of its
/// Configuration section.
fn last_report(stderr: &[String]) -> Option<String> {
    let start = stderr
        .iter()
        .rposition(|l| l.starts_with("fjord report: master pid="))?;
    let conf = start
        + stderr[start..]
            .iter()
            .position(|l| l.contains("Configuration"))?;
    let end = conf
        + 2
        + stderr
            .get(conf + 2..)?
            .iter()
            .position(|l| l.starts_with("(not given") || l.starts_with('['))?;
    Some(stderr[start..=end].join("\n") + "\n")
}

#[test]
fn the_report_shows_work_in_flight_tasks_and_goes_to_log_dir() {
    let dir = fjord_test_support::temp_dir("report");
    let logs = dir.join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let conf = dir.join("report.conf");
    std::fs::write(
        &conf,
        format!(
            "[DEFAULT]\ntransport_url = embedded://{}\napi_listen = 127.0.0.1\n\
             api_listen_port = 0\n[oslo_reports]\nlog_dir = {}\n",
            dir.join("broker.sock").display(),
            logs.display()
        ),
    )
    .unwrap();
    let p = Proc::example("report", &["--config-file", &conf.display().to_string()]);
    let port = p.listening_port();
    let master = p.pid().as_raw();
    p.wait_stderr("the endpoint's address", Duration::from_secs(10), |e| {
        fjord_test_support::diagnostics_url(e).is_some()
    });
    let url = fjord_test_support::diagnostics_url(&p.stderr()).unwrap();
    // The periodic task has failed at least once.
    p.wait_stderr("a failed check", Duration::from_secs(10), |e| {
        e.iter().any(|l| l.contains("check 1 failed"))
    });

    // Two slow requests a second apart (the query string is not shown),
    // then one that waits on an RPC call.
    let old = std::thread::spawn(move || support::get(port, "/slow?ms=9000&secret=x"));
    std::thread::sleep(Duration::from_millis(1000));
    let young = std::thread::spawn(move || support::get(port, "/slow?ms=7000"));
    let call = std::thread::spawn(move || support::get(port, "/call?ms=7000"));
    std::thread::sleep(Duration::from_millis(1000));

    p.signal(Signal::SIGUSR2);
    p.wait_stderr("the report", Duration::from_secs(10), |e| {
        last_report(e).is_some()
    });
    let report = last_report(&p.stderr()).unwrap();
    assert!(
        report.starts_with(&format!("fjord report: master pid={master} uptime=")),
        "{report}"
    );
    for part in [
        "binary = report\n",
        "version = 9.8.7-example\n",
        &format!("fjord-service = {}\n", env!("CARGO_PKG_VERSION")),
        "api #0 pid=",
        "report-conductor #0 pid=",
        "requests in flight=3 rpc messages in flight=0",
        "requests in flight=0 rpc messages in flight=1",
    ] {
        assert!(report.contains(part), "{part:?} in\n{report}");
    }
    assert!(!report.contains("secret"), "no query string: {report}");
    // Oldest first, with their ages.
    let slow = ages(&report, "request GET /slow ");
    assert_eq!(slow.len(), 2, "{report}");
    assert!(slow[0] >= 1.5 && slow[0] < 8.0, "{report}");
    assert!(slow[0] - slow[1] >= 0.5, "oldest first: {report}");
    let calls = ages(&report, "request GET /call ");
    assert_eq!(calls.len(), 1, "{report}");
    let rpc = ages(&report, "rpc conductor.sleep ");
    assert_eq!(rpc.len(), 1, "{report}");
    assert!(rpc[0] >= 0.5 && rpc[0] <= calls[0] + 0.1, "{report}");
    // The failing periodic task: its last error and its next run.
    let task = report
        .lines()
        .find(|l| l.trim_start().starts_with("Report.check: runs="))
        .unwrap_or_else(|| panic!("the task in\n{report}"));
    // The task runs every second: the report may catch it between runs
    // (its last run failed) or in one (running); either way it names its
    // next run and has failed before.
    assert!(
        (task.contains("(failed, took ") || task.contains(" running for "))
            && (task.contains("next run in ") || task.contains("next run due now"))
            && !task.contains("failures=0 "),
        "{task}"
    );
    assert!(
        report
            .lines()
            .any(|l| l.contains("last error (") && l.contains("failed: the disk is on fire")),
        "{report}"
    );

    // The same report in log_dir, named as oslo.reports names it, the
    // path logged.
    p.wait_stderr("the file's path", Duration::from_secs(10), |e| {
        e.iter().any(|l| l.contains("report written to "))
    });
    let files: Vec<_> = std::fs::read_dir(&logs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let name = files[0].file_name().unwrap().to_string_lossy().into_owned();
    let stamp = name
        .strip_prefix("report_gurumeditation_")
        .unwrap_or_else(|| panic!("{name}"));
    assert!(
        stamp.len() == 14 && stamp.bytes().all(|b| b.is_ascii_digit()),
        "{name}"
    );
    assert!(
        p.stderr()
            .iter()
            .any(|l| l.contains(&format!("report written to {}", files[0].display()))),
    );
    let written = std::fs::read_to_string(&files[0]).unwrap();
    assert_eq!(written, report, "the file holds the report printed");

    // GET /report: the same sections, fresh ages.
    let addr = url.trim_start_matches("http://");
    let (_, diag_port) = addr.rsplit_once(':').unwrap();
    let (status, served, _) = support::get(diag_port.parse().unwrap(), "/report");
    assert_eq!(status, 200);
    assert!(
        served.starts_with(&format!("fjord report: master pid={master} ")),
        "{served}"
    );
    assert_eq!(ages(&served, "request GET /slow ").len(), 2, "{served}");
    assert_eq!(ages(&served, "rpc conductor.sleep ").len(), 1, "{served}");

    // Once answered, nothing is in flight any more.
    for h in [old, young, call] {
        assert_eq!(h.join().unwrap().0, 200);
    }
    let (_, after, _) = support::get(diag_port.parse().unwrap(), "/report");
    assert!(
        after.contains("requests in flight=0 rpc messages in flight=0")
            && !after.contains("request GET /slow"),
        "{after}"
    );

    p.signal(Signal::SIGTERM);
    let mut p = p;
    assert_eq!(p.wait_exit(Duration::from_secs(20)), 0);
    let _ = std::fs::remove_dir_all(&dir);
}
