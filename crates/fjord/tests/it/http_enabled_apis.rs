//! H12: `enabled_apis` runs each API as its own service, with its own
//! listen address, port and worker count, under one master.
use crate::support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use nix::sys::signal::Signal;
use support::Proc;

fn get(url: &str) -> String {
    let addr = url.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    raw.split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default()
}

fn start(conf_text: &str, tag: &str) -> (Proc, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("fjord-apis-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("apis.conf");
    std::fs::write(&conf, conf_text).unwrap();
    let mut cmd = Command::new(support::example("apis"));
    cmd.arg("--config-file").arg(&conf);
    (Proc::spawn(cmd), dir)
}

fn urls(p: &Proc, n: usize) -> Vec<(String, String)> {
    p.wait_stdout("the listening lines", Duration::from_secs(20), |o| {
        o.iter().filter(|l| l.starts_with("api ")).count() == n
    });
    p.stdout()
        .iter()
        .filter_map(|l| {
            let rest = l.strip_prefix("api ")?;
            let (name, url) = rest.split_once(" listening on ")?;
            Some((name.to_owned(), url.to_owned()))
        })
        .collect()
}

#[test]
fn two_apis_with_their_own_ports_and_workers() {
    let (mut p, dir) = start(
        "[DEFAULT]\nenabled_apis = alpha,beta\ngraceful_shutdown_timeout = 5\n\
         alpha_listen = 127.0.0.1\nalpha_listen_port = 0\nalpha_workers = 2\n\
         beta_listen = 127.0.0.1\nbeta_listen_port = 0\nbeta_workers = 1\n",
        "both",
    );
    let urls = urls(&p, 2);
    assert_ne!(urls[0].1, urls[1].1, "each API has its own socket");
    for (name, url) in &urls {
        assert_eq!(&get(url), name);
    }
    let kids = support::children_of(p.pid().as_raw());
    assert_eq!(kids.len(), 3, "2 alpha workers + 1 beta worker");
    let titles: Vec<String> = kids
        .iter()
        .map(|pid| std::fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap_or_default())
        .collect();
    assert_eq!(
        titles
            .iter()
            .filter(|t| t.starts_with("fjord: worker alpha #"))
            .count(),
        2,
        "{titles:?}"
    );
    assert_eq!(
        titles
            .iter()
            .filter(|t| t.starts_with("fjord: worker beta #"))
            .count(),
        1,
        "{titles:?}"
    );
    p.signal(Signal::SIGTERM);
    assert_eq!(p.wait_exit(Duration::from_secs(20)), 0);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn only_enabled_apis_run_and_unknown_ones_are_refused() {
    let (mut p, dir) = start(
        "[DEFAULT]\nenabled_apis = beta\nbeta_listen = 127.0.0.1\nbeta_listen_port = 0\nbeta_workers = 1\n",
        "one",
    );
    let urls = urls(&p, 1);
    assert_eq!(urls[0].0, "beta");
    assert_eq!(support::children_of(p.pid().as_raw()).len(), 1);
    p.signal(Signal::SIGTERM);
    assert_eq!(p.wait_exit(Duration::from_secs(20)), 0);
    let _ = std::fs::remove_dir_all(dir);

    let (mut p, dir) = start("[DEFAULT]\nenabled_apis = gamma\n", "bad");
    assert_eq!(p.wait_exit(Duration::from_secs(20)), 2);
    assert!(p.stderr().join("\n").contains("unknown API \"gamma\""));
    let _ = std::fs::remove_dir_all(dir);
}
