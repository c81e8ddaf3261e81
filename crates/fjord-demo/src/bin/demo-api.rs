//! demo-api: the demo's HTTP API, served by `osapi_demo_workers` processes.

use fjord::service::launch;
use fjord_demo::{api, main_support as m, records::Records};

/// What `--help` says the program is.
const ABOUT: &str = "demo-api serves the fjord demo's HTTP API (/, /healthcheck, /hello, /v1/echo, \
     /v1/services) from osapi_demo_workers processes under one master; /v1/echo is \
     answered by a demo-worker over RPC. With no --config-file it runs on a built-in \
     copy of etc/demo/demo.conf. The master writes its PID to \
     <state_path>/demo-api.pid (--pid-file).";

fn main() -> anyhow::Result<()> {
    m::init_logging();
    let (opts, conf) = m::load_conf("demo-api", ABOUT);
    m::ensure_state_path(&conf)?;
    let transport = m::transport(&conf)?;
    let shared: m::SharedConf = std::sync::Arc::new(std::sync::RwLock::new(conf.clone()));
    let records = Records::new(&conf);
    let s = shared.clone();
    let service = api::build(conf.clone(), move || {
        api::ApiContext::new(m::current(&s), transport.clone(), records.clone())
    })?;
    let options = conf
        .launcher
        .clone()
        .name("demo-api")
        .pid_file(&conf.pid_file);
    let mut launcher = launch(service, conf.server.workers, options)?;
    launcher.config(&opts);
    launcher.on_reload(m::reload_hook(opts, shared));
    std::process::exit(launcher.wait()?.code());
}
