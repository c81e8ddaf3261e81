//! What the three binaries share: logging, configuration (exit code 2 on a
//! bad value, before anything starts), the transport.

use std::sync::Arc;

use fjord::config::ConfigOpts;
use fjord::messaging::Transport;

use crate::conf::{self, DemoConf};

/// Sets up logging to stderr (`RUST_LOG` filters; default `info`).
pub fn init_logging() {
    // Reloadable: the console's `log <filter>` changes it at run time.
    fjord::service::logging::init("info");
}

/// Parses the command line, files and environment; with no config file
/// given (or found where oslo looks), the built-in copy of
/// `etc/demo/demo.conf`. On `--help` prints `about` and the options and
/// exits 0; on a bad value prints one clear error and exits 2. On the
/// hidden `--fjord-policy-defaults` flag prints the demo's policy rules
/// for `fjord-config policy check|sample --from-binary` and exits 0.
pub fn load_conf(prog: &str, about: &str) -> (ConfigOpts, Arc<DemoConf>) {
    if crate::auth::policy_catalog().answer_defaults_flag(std::env::args_os().skip(1)) {
        std::process::exit(0);
    }
    let mut opts = ConfigOpts::new(prog)
        .project("demo")
        .about(about)
        .default_config(conf::BUILTIN_CONF_NAME, conf::BUILTIN_CONF);
    let loaded = conf::register(&mut opts)
        .and_then(|()| opts.parse_args(std::env::args_os()))
        .and_then(|()| DemoConf::from_conf(&opts));
    match loaded {
        Ok(c) => {
            if opts.uses_default_config() {
                tracing::info!(
                    "no --config-file given: using the built-in configuration \
                     (a copy of etc/demo/demo.conf)"
                );
            }
            if opts.get::<bool>("DEFAULT", "log_options").unwrap_or(true) {
                opts.log_options();
            }
            (opts, Arc::new(c))
        }
        Err(fjord::config::Error::Help(text)) => {
            print!("{text}");
            std::process::exit(0);
        }
        Err(e) => {
            eprintln!("{prog}: {e}");
            std::process::exit(e.exit_code());
        }
    }
}

/// The messaging transport: `transport_url` with every `fjord.messaging`
/// option, or, when it is unset, the embedded transport on
/// `<state_path>/broker.sock`.
///
/// # Errors
///
/// A malformed transport URL or option.
pub fn transport(conf: &DemoConf) -> anyhow::Result<Transport> {
    Ok(Transport::new(&conf.messaging)?)
}

/// Creates `state_path` if needed.
///
/// # Errors
///
/// The directory cannot be created.
pub fn ensure_state_path(conf: &DemoConf) -> anyhow::Result<()> {
    std::fs::create_dir_all(&conf.state_path)
        .map_err(|e| anyhow::anyhow!("state_path {}: {e}", conf.state_path.display()))
}

/// The demo's configuration as the master holds it: SIGHUP replaces it, and
/// workers forked afterwards (the reload replaces every worker) read the new
/// one. The listening socket and the paste file path stay as they were.
pub type SharedConf = Arc<std::sync::RwLock<Arc<DemoConf>>>;

/// The current configuration.
pub fn current(shared: &SharedConf) -> Arc<DemoConf> {
    shared
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone()
}

/// The SIGHUP hook: re-reads every file (oslo's `reload_config_files`, as
/// the workers restart anyway), logs what changed, and publishes the new
/// values for the workers to come. A bad file keeps the running workers.
pub fn reload_hook(
    opts: ConfigOpts,
    shared: SharedConf,
) -> impl FnMut() -> fjord::service::Result<()> + Send + 'static {
    move || {
        let reload_error = |e: fjord::config::Error| {
            fjord::service::Error::with_source(
                fjord::service::ErrorKind::Reload,
                "configuration reload",
                e,
            )
        };
        // `reload`: every option (the workers restart on them anyway);
        // `mutate`: the mutable ones only, as oslo's mutate_config_files.
        let changes = if current(&shared).launcher.get_restart_method()
            == fjord::service::RestartMethod::Mutate
        {
            opts.reload()
        } else {
            opts.reload_all()
        }
        .map_err(reload_error)?;
        for c in changes.applied() {
            tracing::info!("option [{}] {} changed", c.group, c.name);
        }
        let next = DemoConf::from_conf(&opts).map_err(reload_error)?;
        *shared
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(next);
        Ok(())
    }
}
