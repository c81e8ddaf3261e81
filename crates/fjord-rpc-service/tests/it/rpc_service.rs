//! S1/S2/S5: an RpcService runs its manager's hooks in order around the RPC
//! server, serves the manager's endpoints and the base API, runs periodic
//! tasks, and cleans up on stop.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use fjord_messaging::{Context, Endpoint, FnEndpoint, RemoteError, RpcClient, Target, Transport};
use fjord_rpc_service::{Manager, RpcService};
use fjord_service::periodic::{PeriodicOptions, PeriodicTask, PeriodicTasks};
use fjord_service::{Result, Service, async_trait};
use serde_json::{Map, Value, json};

#[derive(Debug, Default)]
struct Recorder {
    events: Arc<Mutex<Vec<String>>>,
}

impl Recorder {
    fn push(&self, e: &str) {
        self.events.lock().unwrap().push(e.to_owned());
    }
}

#[async_trait]
impl Manager for Recorder {
    fn endpoints(&self) -> Vec<Arc<dyn Endpoint>> {
        vec![Arc::new(
            FnEndpoint::builder()
                .version("1.0")
                .method("hello", |_ctx, args| async move {
                    Ok::<_, RemoteError>(json!({"hello": args.get("name").cloned()}))
                })
                .build(),
        )]
    }

    fn periodic_tasks(&self) -> PeriodicTasks {
        let events = self.events.clone();
        PeriodicTasks::new().add(
            PeriodicTask::new("tick", Duration::from_secs(1), move |()| {
                events.lock().unwrap().push("tick".into());
                async {}
            })
            .run_immediately(true),
        )
    }

    async fn init_host(&self) -> Result<()> {
        self.push("init_host");
        Ok(())
    }

    async fn pre_start_hook(&self) -> Result<()> {
        self.push("pre_start_hook");
        Ok(())
    }

    async fn post_start_hook(&self) -> Result<()> {
        self.push("post_start_hook");
        Ok(())
    }

    async fn cleanup_host(&self) {
        self.push("cleanup_host");
    }
}

fn args(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

#[tokio::test]
async fn hooks_endpoints_base_api_and_periodic_tasks() {
    let transport = Transport::fake();
    let manager = Recorder::default();
    let events = manager.events.clone();
    // Built without a runtime's help, as in a master before fork.
    let service = RpcService::create("demo-worker", "svc", "host1", &transport, manager)
        .unwrap()
        .periodic_options(
            PeriodicOptions::default()
                .periodic_fuzzy_delay(Duration::ZERO)
                .periodic_interval_max(Duration::from_secs(1)),
        );
    service.start().await.unwrap();
    assert_eq!(
        events.lock().unwrap()[..3],
        ["init_host", "pre_start_hook", "post_start_hook"]
    );

    let ctx = Context::new();
    // The manager's endpoint, on (topic, server = host) and on the topic.
    let to_host = RpcClient::new(&transport, Target::new("svc")).with_server("host1");
    let got = to_host
        .call(&ctx, "hello", args(json!({"name": "x"})))
        .await
        .unwrap();
    assert_eq!(got, json!({"hello": "x"}));
    // The base API, as nova's BaseRPCAPI answers it.
    let base = RpcClient::new(&transport, Target::new("svc"))
        .with_namespace("baseapi")
        .with_version("1.1")
        .unwrap();
    let pong = base
        .call(&ctx, "ping", args(json!({"arg": "p"})))
        .await
        .unwrap();
    assert_eq!(pong, json!({"service": "demo-worker", "arg": "p"}));
    // Null without a console; `backdoor_port_is_the_console_port` (same
    // process) may have started one.
    assert_eq!(
        base.call(&ctx, "get_backdoor_port", Map::new())
            .await
            .unwrap(),
        json!(fjord_service::diagnostics::backdoor_port())
    );

    // The periodic task ran (run_immediately, no fuzzy delay).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !events.lock().unwrap().iter().any(|e| e == "tick") {
        assert!(
            tokio::time::Instant::now() < deadline,
            "periodic task never ran"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    service.stop(true).await;
    service.wait().await;
    assert_eq!(
        events.lock().unwrap().last().map(String::as_str),
        Some("cleanup_host")
    );
}

/// `get_backdoor_port` over RPC answers the port of the console a real
/// launcher serves (a `ServiceLauncher` with `backdoor_port = 0`, left
/// running on its own thread until the test binary exits).
#[test]
fn backdoor_port_is_the_console_port() {
    use std::io::Read;
    let transport = Transport::fake();
    let service = RpcService::create(
        "demo-worker",
        "console",
        "host1",
        &transport,
        Recorder::default(),
    )
    .unwrap();
    let options = fjord_service::LauncherOptions::default()
        .name("rpc-console")
        .backdoor(Some(fjord_service::diagnostics::Backdoor::Port {
            start: 0,
            end: 0,
        }));
    let mut launcher = fjord_service::ServiceLauncher::new(options);
    launcher.launch_service(service);
    std::thread::spawn(move || launcher.wait());
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let port = loop {
        if let Some(p) = fjord_service::diagnostics::backdoor_port() {
            break p;
        }
        assert!(std::time::Instant::now() < deadline, "no console");
        std::thread::sleep(Duration::from_millis(10));
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let base = RpcClient::new(&transport, Target::new("console"))
        .with_namespace("baseapi")
        .with_version("1.1")
        .unwrap();
    let got = rt.block_on(fjord_test_support::wait::retry_future(
        "get_backdoor_port",
        Duration::from_secs(10),
        Duration::from_millis(50),
        || async {
            base.call(&Context::new(), "get_backdoor_port", Map::new())
                .await
        },
    ));
    assert_eq!(got, json!(port));
    // And that port is the console.
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut greeting = [0u8; 27];
    s.read_exact(&mut greeting).unwrap();
    assert_eq!(&greeting, b"fjord console of rpc-consol");
}
