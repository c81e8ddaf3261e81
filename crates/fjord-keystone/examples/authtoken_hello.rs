//! `GET /hello` behind the authtoken filter: the smallest Keystone-protected
//! fjord API (and what bench/keystone_bench.py measures).
//!
//! ```text
//! scripts/keystone.sh start
//! cargo run --release -p fjord-keystone --example authtoken_hello -- \
//!     --config-file api.conf --port 8080        # [keystone_authtoken] in api.conf
//! curl -i http://127.0.0.1:8080/hello                                   # 401
//! curl -i -H "X-Auth-Token: $TOKEN" http://127.0.0.1:8080/hello         # Hello, admin!
//! ```
//!
//! The app is loaded from a paste pipeline as OpenStack APIs are
//! (`request_id authtoken hello`, or `request_id hello` with `--noauth`),
//! the filter found under keystonemiddleware's name, its options read from the config file's `[keystone_authtoken]`.
//! `listening on http://...` is printed once the workers serve.

use std::convert::Infallible;

use fjord_config::ConfigOpts;
use fjord_http::loader::{Loader, PasteConfig};
use fjord_http::server::{HttpService, ServerOptions};
use fjord_http::{App, Request, full};
use fjord_service::{LauncherOptions, launch};

const PASTE: &str = "\
[composite:main]
use = egg:Paste#urlmap
/ = api

[pipeline:api]
pipeline = request_id authtoken hello

[pipeline:noauth]
pipeline = request_id hello

[filter:request_id]
paste.filter_factory = oslo_middleware:RequestId.factory

[filter:authtoken]
paste.filter_factory = keystonemiddleware.auth_token:filter_factory

[app:hello]
paste.app_factory = authtoken_hello:hello_factory
";

/// `Hello, <X-User-Name>!` (the name the filter set), else `Hello, World!`.
fn hello() -> App {
    App::new(tower::service_fn(|req: Request| {
        let who = req
            .headers()
            .get("x-user-name")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("World")
            .to_owned();
        std::future::ready(Ok::<_, Infallible>(http::Response::new(full(format!(
            "Hello, {who}!"
        )))))
    }))
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,fjord_http::access=warn".into()),
        )
        .init();
    let mut conf = ConfigOpts::new("authtoken_hello");
    conf.register(
        "DEFAULT",
        &[
            fjord_config::Opt::int("workers").default(1).min(1).cli(),
            fjord_config::Opt::port("port").default(8080).cli(),
            fjord_config::Opt::bool("noauth").default(false).cli(),
        ],
    )?;
    fjord_keystone::config::register_opts(&mut conf)?;
    conf.parse_args(std::env::args())?;
    let base = fjord_keystone::config::conf_from(&conf)?;
    let noauth: bool = conf.get("DEFAULT", "noauth")?;
    let paste = PasteConfig::parse(PASTE, "authtoken_hello-paste.ini")?;
    let make_app = move || {
        let mut loader = Loader::new();
        fjord_keystone::register(&mut loader, base.clone());
        loader.register_app("authtoken_hello:hello_factory", |_, _| Ok(hello()));
        loader
            .load_app(&paste, if noauth { "noauth" } else { "api" })
            .map_err(|e| anyhow::anyhow!("{e}"))
    };
    // Built once in the master, so a bad [keystone_authtoken] stops here.
    make_app()?;
    let port: u16 = conf.get("DEFAULT", "port")?;
    let workers: i64 = conf.get("DEFAULT", "workers")?;
    let service = HttpService::bind_with(
        ServerOptions::new("authtoken_hello")
            .listen("127.0.0.1")
            .port(port),
        move || match make_app() {
            Ok(app) => app,
            Err(e) => {
                tracing::error!("{e}");
                std::process::exit(2)
            }
        },
    )?;
    let url = service.url();
    let mut launcher = launch(
        service,
        Some(workers as usize),
        LauncherOptions::default().name("authtoken_hello"),
    )?;
    launcher.on_ready(move || println!("listening on {url}"));
    let exit = launcher.wait()?;
    std::process::exit(exit.code());
}
