//! demo-api: the demo's HTTP API, served by `osapi_demo_workers` processes.

use fjord::service::{LauncherOptions, launch};
use fjord_demo::{api, main_support as m, records::Records};

fn main() -> anyhow::Result<()> {
    m::init_logging();
    let (opts, conf) = m::load_conf("demo-api");
    m::ensure_state_path(&conf)?;
    let transport = m::transport(&conf)?;
    let shared: m::SharedConf = std::sync::Arc::new(std::sync::RwLock::new(conf.clone()));
    let records = Records::new(&conf);
    let s = shared.clone();
    let service = api::build(conf.clone(), move || {
        api::ApiContext::new(m::current(&s), transport.clone(), records.clone())
    })?;
    println!("demo-api listening on {}", service.url());
    let options = LauncherOptions::default()
        .name("demo-api")
        .graceful_shutdown_timeout(conf.graceful_shutdown_timeout);
    let mut launcher = launch(service, conf.server.workers, options)?;
    launcher.on_reload(m::reload_hook(opts, shared));
    std::process::exit(launcher.wait()?.code());
}
