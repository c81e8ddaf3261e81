//! The console's port over RPC from a worker of a `ProcessLauncher`:
//! demo-all with `backdoor_port = 0` logs `console on 127.0.0.1:<port>`
//! (the master binds it before its first fork), and the demo worker's
//! base API (`get_backdoor_port`, namespace `baseapi`, as nova's
//! `BaseRPCAPI`) answers that port; the port is the console.
use crate::support;

use std::io::Read;
use std::time::Duration;

use fjord::messaging::{Context, MessagingOptions, RpcClient, Target, Transport};
use nix::sys::signal::Signal;
use serde_json::{Map, json};
use support::Demo;

#[test]
fn get_backdoor_port_over_rpc_is_the_console_port() {
    let mut demo = Demo::start(
        "demo-all",
        &[
            ("OS_DEFAULT__BACKDOOR_SOCKET", ""),
            ("OS_DEFAULT__BACKDOOR_PORT", "0"),
        ],
    );
    demo.wait_http("/hello", 200, Duration::from_secs(30));
    let mut port = None;
    fjord_test_support::wait_for("the console line", Duration::from_secs(10), || {
        port = demo.stderr().lines().find_map(|l| {
            l.split("console on 127.0.0.1:")
                .nth(1)
                .and_then(|p| p.trim().parse::<u16>().ok())
        });
        port.is_some()
    });
    let port = port.unwrap();

    // The demo's embedded transport, as a client of its broker.
    let mut o = MessagingOptions::default();
    o.transport_url = Some(format!(
        "embedded://{}",
        demo.state.join("broker.sock").display()
    ));
    let transport = Transport::new(&o).expect("transport");
    let base = RpcClient::new(&transport, Target::new("demo"))
        .with_namespace("baseapi")
        .with_version("1.1")
        .unwrap()
        .with_timeout(Duration::from_secs(5));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let got = rt.block_on(fjord_test_support::wait::retry_future(
        "get_backdoor_port",
        Duration::from_secs(20),
        Duration::from_millis(100),
        || async {
            base.call(&Context::new(), "get_backdoor_port", Map::new())
                .await
        },
    ));
    assert_eq!(got, json!(port), "{}", demo.stderr());
    rt.block_on(transport.close());

    // That port is the console.
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut greeting = [0u8; 24];
    s.read_exact(&mut greeting).unwrap();
    assert_eq!(&greeting, b"fjord console of demo-al");
    drop(s);

    demo.signal(Signal::SIGTERM);
    assert_eq!(
        demo.wait_exit(Duration::from_secs(30)),
        0,
        "{}",
        demo.stderr()
    );
}
