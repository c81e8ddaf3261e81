//! demo-worker: the demo's RPC service (topic `demo`) with its periodic task.

use fjord::rpc_service::RpcService;
use fjord::service::launch;
use fjord_demo::{main_support as m, worker::DemoManager};

/// What `--help` says the program is.
const ABOUT: &str = "demo-worker is the fjord demo's RPC service: it answers `echo_object` (a DemoEcho versioned object) and `echo` calls on topic \
     `demo`, runs a periodic counter task and keeps its service record up to date. \
     With no --config-file it runs on a built-in copy of etc/demo/demo.conf. It writes \
     its PID to <state_path>/demo-worker.pid (--pid-file).";

fn main() -> anyhow::Result<()> {
    m::init_logging();
    let (opts, conf) = m::load_conf("demo-worker", ABOUT);
    m::ensure_state_path(&conf)?;
    let transport = m::transport(&conf)?;
    let shared: m::SharedConf = std::sync::Arc::new(std::sync::RwLock::new(conf.clone()));
    let s = shared.clone();
    let manager = DemoManager::new(
        &conf.host,
        std::sync::Arc::new(move || m::current(&s).counter_interval),
    );
    let count = manager.count_task();
    let heartbeat = fjord_demo::records::heartbeat(&conf, "demo-worker", "demo");
    let service = RpcService::create("demo-worker", "demo", &conf.host, &transport, manager)?
        .periodic_options(fjord_demo::records::service_options(&conf).periodic())
        .with_task(count)
        .with_task(move |tg| {
            heartbeat.start(tg);
        });
    let options = conf
        .launcher
        .clone()
        .name("demo-worker")
        .pid_file(&conf.pid_file);
    let mut launcher = launch(service, Some(1), options)?;
    launcher.config(&opts);
    launcher.on_reload(m::reload_hook(opts, shared));
    std::process::exit(launcher.wait()?.code());
}
