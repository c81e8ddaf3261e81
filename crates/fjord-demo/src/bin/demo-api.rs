//! demo-api: the demo's HTTP API, served by `osapi_demo_workers` processes.

use fjord::service::{LauncherOptions, launch};
use fjord_demo::{api, main_support as m, records::Records};

fn main() -> anyhow::Result<()> {
    m::init_logging();
    let (opts, conf) = m::load_conf("demo-api");
    m::ensure_state_path(&conf)?;
    let transport = m::transport(&conf)?;
    let records = Records::new(&conf);
    let c = conf.clone();
    let service = api::build(conf.clone(), move || {
        api::ApiContext::new(c.clone(), transport.clone(), records.clone())
    })?;
    println!("demo-api listening on {}", service.url());
    let options = LauncherOptions::default()
        .name("demo-api")
        .graceful_shutdown_timeout(conf.graceful_shutdown_timeout);
    let mut launcher = launch(service, conf.api_workers, options)?;
    launcher.on_reload(move || {
        opts.reload().map(|_| ()).map_err(|e| {
            fjord::service::Error::with_source(
                fjord::service::ErrorKind::Reload,
                "configuration",
                e,
            )
        })
    });
    std::process::exit(launcher.wait()?.code());
}
