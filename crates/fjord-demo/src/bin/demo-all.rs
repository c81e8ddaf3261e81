//! demo-all: the API (with its workers) and one demo worker under one master.

use fjord::rpc_service::RpcService;
use fjord::service::ProcessLauncher;
use fjord_demo::{api, main_support as m, records::Records, worker::DemoManager};

/// What `--help` says the program is.
const ABOUT: &str = "demo-all runs the whole fjord demo product under one master process: the \
     demo-api HTTP API (osapi_demo_workers processes, one per CPU by default, on \
     http://127.0.0.1:8799) and one demo-worker RPC service. With no --config-file it \
     runs on a built-in copy of etc/demo/demo.conf: the embedded message transport and \
     an SQLite file under state_path (/tmp/fjord-demo), nothing to install. The master \
     writes its PID to <state_path>/demo-all.pid (--pid-file); signal it with HUP \
     (reload), USR2 (report) or TERM (graceful stop).";

fn main() -> anyhow::Result<()> {
    m::init_logging();
    let (opts, conf) = m::load_conf("demo-all", ABOUT);
    m::ensure_state_path(&conf)?;
    let transport = m::transport(&conf)?;
    let shared: m::SharedConf = std::sync::Arc::new(std::sync::RwLock::new(conf.clone()));
    let records = Records::new(&conf);
    let (s, t) = (shared.clone(), transport.clone());
    let api = api::build(conf.clone(), move || {
        api::ApiContext::new(m::current(&s), t.clone(), records.clone())
    })?;
    let s = shared.clone();
    let manager = DemoManager::new(
        &conf.host,
        std::sync::Arc::new(move || m::current(&s).counter_interval),
    );
    let count = manager.count_task();
    let heartbeat = fjord_demo::records::heartbeat(&conf, "demo-worker", "demo");
    let worker = RpcService::create("demo-worker", "demo", &conf.host, &transport, manager)?
        .periodic_options(fjord_demo::records::service_options(&conf).periodic())
        .with_task(count)
        .with_task(move |tg| {
            heartbeat.start(tg);
        });
    let mut launcher = ProcessLauncher::new(
        conf.launcher
            .clone()
            .name("demo-all")
            .pid_file(&conf.pid_file),
    );
    launcher.launch_service(api, conf.server.workers)?;
    launcher.launch_service(worker, Some(1))?;
    launcher.config(&opts);
    launcher.on_reload(m::reload_hook(opts, shared));
    std::process::exit(launcher.wait()?.code());
}
