//! B10: the status page in a real headless browser (Debian's `chromium`):
//! it fills its tables from `/status.json` (service records included),
//! redraws in place (its poll count grows within one page load), and shows
//! more requests a moment later under load. Saves a screenshot; with
//! `FJORD_UPDATE_SCREENSHOT=1` into `docs/img/status.png`, the picture the
//! README shows.
use crate::support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use fjord_test_support::load::Load;
use nix::sys::signal::Signal;

fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser"].iter().find_map(|name| {
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join(name))
                .find(|p| p.is_file())
        })
    })
}

/// Runs headless chromium on `url` for `budget` of (virtual) page time,
/// with `extra` arguments; returns its standard output. Bounded: killed
/// after 60 s.
fn run_chromium(exe: &Path, url: &str, budget: Duration, extra: &[&str]) -> String {
    let profile = fjord_test_support::temp_dir("chromium-profile");
    let mut cmd = Command::new(exe);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-dev-shm-usage",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    .arg(format!("--virtual-time-budget={}", budget.as_millis()))
    .args(extra)
    .arg(url)
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::null());
    let mut child = cmd.spawn().expect("chromium starts");
    let mut out = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut out, &mut s);
        s
    });
    let done = fjord_test_support::wait::wait_until(Duration::from_secs(60), || {
        child.try_wait().ok().flatten().is_some()
    });
    if !done {
        let _ = child.kill();
        let _ = child.wait();
        panic!("chromium did not finish within 60 s");
    }
    let _ = std::fs::remove_dir_all(&profile);
    reader.join().unwrap_or_default()
}

/// The numbers in the cells of the `id` table's rows, by row.
fn cells(dom: &str, id: &str) -> Vec<Vec<String>> {
    let Some(start) = dom.find(&format!("<table id=\"{id}\">")) else {
        return Vec::new();
    };
    let table = &dom[start..];
    let table = &table[..table.find("</table>").unwrap_or(table.len())];
    let body = table.split("<tbody>").nth(1).unwrap_or("");
    body.split("<tr>")
        .skip(1)
        .map(|row| {
            row.split("<td>")
                .skip(1)
                .map(|c| {
                    let c = c.split("</td>").next().unwrap_or("");
                    // Text only (the state is in a <span>).
                    let mut text = String::new();
                    let mut tag = false;
                    for ch in c.chars() {
                        match ch {
                            '<' => tag = true,
                            '>' => tag = false,
                            _ if !tag => text.push(ch),
                            _ => {}
                        }
                    }
                    text
                })
                .collect()
        })
        .collect()
}

fn polls(dom: &str) -> u32 {
    dom.split("data-polls=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Requests of the demo-api row of the services table.
fn api_requests(dom: &str) -> u64 {
    cells(dom, "services")
        .iter()
        .find(|r| r.first().map(String::as_str) == Some("demo-api"))
        .and_then(|r| r.get(4)?.parse().ok())
        .unwrap_or(0)
}

#[test]
fn the_status_page_updates_live_in_a_headless_browser() {
    let exe = chromium();
    if !fjord_test_support::skip::need(
        exe.is_some(),
        "demo_status_page::the_status_page_updates_live_in_a_headless_browser",
        "no chromium on PATH (apt-get install chromium)",
    ) {
        return;
    }
    let exe = exe.unwrap();
    let mut demo = support::Demo::start("demo-all", &[]);
    demo.proc
        .wait_stderr("the diagnostics address", Duration::from_secs(10), |e| {
            fjord_test_support::diagnostics_url(e).is_some()
        });
    let url = fjord_test_support::diagnostics_url(&demo.proc.stderr()).unwrap() + "/";
    support::wait_services_up(&demo, &["demo-api", "demo-worker"]);
    assert_eq!(
        demo.http("POST", "/v1/echo", Some("{}")).0,
        200,
        "{}",
        demo.stderr()
    );

    let load = Load::start(demo.port, 4, "/hello");
    std::thread::sleep(Duration::from_millis(500));
    let first = run_chromium(&exe, &url, Duration::from_secs(5), &["--dump-dom"]);
    // One page load: it polled and redrew several times.
    assert!(polls(&first) >= 3, "polls: {}\n{first}", polls(&first));
    let workers = cells(&first, "workers");
    assert_eq!(workers.len(), 3, "{workers:?}");
    let kids = support::children_of(demo.pid());
    for row in &workers {
        let pid: i32 = row[1].parse().unwrap();
        assert!(kids.contains(&pid), "{pid} is a worker of the master");
        assert_eq!(row[2], "serving");
        assert!(row[5].ends_with("MiB"), "RSS {row:?}");
    }
    let rpc = cells(&first, "rpc");
    assert!(
        rpc.iter()
            .any(|r| r[1] == "server" && r[2] == "demo.echo_object"),
        "{rpc:?}"
    );
    // The service records, as the metric fjord_service_up has them.
    let records = cells(&first, "records");
    for binary in ["demo-api", "demo-worker"] {
        assert!(
            records.iter().any(|r| r[0] == binary && r[2] == "up"),
            "{binary} up: {records:?}"
        );
    }
    let before = api_requests(&first);
    assert!(before > 0, "{first}");

    // Later, under the same load: more requests on the page.
    std::thread::sleep(Duration::from_secs(1));
    let shot = fjord_test_support::temp_dir("status-page").join("status.png");
    run_chromium(
        &exe,
        &url,
        Duration::from_secs(3),
        &[
            "--window-size=1200,900",
            "--hide-scrollbars",
            &format!("--screenshot={}", shot.display()),
        ],
    );
    let second = run_chromium(&exe, &url, Duration::from_secs(3), &["--dump-dom"]);
    let r = load.stop();
    assert_eq!(r.failed, 0, "{r:?}");
    let after = api_requests(&second);
    assert!(
        after > before,
        "requests on the page: {before} then {after}"
    );
    let png = std::fs::read(&shot).expect("a screenshot");
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    if std::env::var("FJORD_UPDATE_SCREENSHOT").as_deref() == Ok("1") {
        let dest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/img/status.png");
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::write(&dest, &png).unwrap();
    }
    demo.signal(Signal::SIGTERM);
    assert_eq!(demo.wait_exit(Duration::from_secs(20)), 0);
}
