//! `fjord-manage`: operator commands on a deployment's shared state, like
//! `nova-manage service list`.
//!
//! ```text
//! fjord-manage service list    --config-file F [--service-down-time SECS]
//! fjord-manage service disable --config-file F --host H --binary B [--reason TEXT]
//! fjord-manage service enable  --config-file F --host H --binary B
//! ```
//!
//! The database is `[database] connection` of the config files (with
//! `$state_path` substitution, e.g. `sqlite:///$state_path/demo.sqlite`),
//! overridable with `OS_DATABASE__CONNECTION`. Exit codes: 0 done, 1 the
//! database failed or nothing matched, 2 bad input.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use fjord_config::{ConfigOpts, ConfigSource, Opt, OptGroup};
use fjord_servicegroup::{ServiceRecords, format_table};

/// Operator commands on a fjord deployment's service records.
///
/// fjord-manage works on the state a fjord deployment shares, as nova-manage
/// does for nova: every API and RPC service registers a service record and
/// heart-beats it; `service list` shows each one with its state (up/down)
/// and status (enabled/disabled), `service disable` and `service enable`
/// change the status. The database is `[database] connection` of the files
/// given with --config-file or --config-dir (for the demo,
/// etc/demo/demo.conf), or OS_DATABASE__CONNECTION. Exit codes: 0 done, 1
/// the database failed or nothing matched, 2 bad input.
#[derive(Debug, Parser)]
#[command(name = "fjord-manage", version)]
struct Cli {
    #[command(subcommand)]
    command: Top,
}

#[derive(Debug, Subcommand)]
enum Top {
    /// Service records: list, disable, enable.
    #[command(subcommand)]
    Service(ServiceCmd),
}

#[derive(Debug, clap::Args)]
struct Common {
    /// A config file holding `[database] connection`; repeatable.
    #[arg(long = "config-file", value_name = "PATH")]
    config_file: Vec<PathBuf>,
    /// A directory of `*.conf` files.
    #[arg(long = "config-dir", value_name = "DIR")]
    config_dir: Vec<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum ServiceCmd {
    /// Every service with its state (up/down) and status (enabled/disabled).
    List {
        #[command(flatten)]
        common: Common,
        /// A service is down without a heartbeat for this long (default: the
        /// config's `service_down_time`, else 60).
        #[arg(long)]
        service_down_time: Option<u64>,
    },
    /// Disable a service (its record stays; schedulers skip it).
    Disable {
        #[command(flatten)]
        common: Common,
        /// The service's host.
        #[arg(long)]
        host: String,
        /// The service's binary (e.g. demo-worker).
        #[arg(long)]
        binary: String,
        /// Why, shown in the list.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Enable a disabled service.
    Enable {
        #[command(flatten)]
        common: Common,
        /// The service's host.
        #[arg(long)]
        host: String,
        /// The service's binary.
        #[arg(long)]
        binary: String,
    },
}

/// Reads `[database] connection` and `service_down_time` from the files.
fn read_conf(common: &Common) -> Result<(String, u64), String> {
    let mut conf = ConfigOpts::new("fjord-manage");
    let register = |conf: &mut ConfigOpts| -> fjord_config::Result<()> {
        fjord_service::LauncherOptions::register(conf)?;
        conf.register(
            "DEFAULT",
            &[Opt::int("service_down_time").min(1).default(60)],
        )?;
        conf.register(
            OptGroup::new("database"),
            &[Opt::str("connection").secret()],
        )
    };
    register(&mut conf).map_err(|e| e.to_string())?;
    let mut sources: Vec<ConfigSource> = common
        .config_file
        .iter()
        .cloned()
        .map(ConfigSource::File)
        .collect();
    sources.extend(common.config_dir.iter().cloned().map(ConfigSource::Dir));
    conf.load(sources).map_err(|e| e.to_string())?;
    let connection: Option<String> = conf
        .get("database", "connection")
        .map_err(|e| e.to_string())?;
    let connection = connection.ok_or_else(|| {
        "no [database] connection in the config files (or OS_DATABASE__CONNECTION)".to_owned()
    })?;
    let down: i64 = conf
        .get("DEFAULT", "service_down_time")
        .map_err(|e| e.to_string())?;
    Ok((connection, down.max(1) as u64))
}

async fn run(cli: Cli) -> Result<u8, String> {
    let Top::Service(cmd) = cli.command;
    match cmd {
        ServiceCmd::List {
            common,
            service_down_time,
        } => {
            let (url, down) = read_conf(&common)?;
            let records = ServiceRecords::builder(url)
                .service_down_time(Duration::from_secs(service_down_time.unwrap_or(down)))
                .connect()
                .await
                .map_err(|e| e.to_string())?;
            let list = records.list().await.map_err(|e| e.to_string())?;
            print!("{}", format_table(&list));
            Ok(0)
        }
        ServiceCmd::Disable {
            common,
            host,
            binary,
            reason,
        } => set(&common, &host, &binary, true, reason.as_deref()).await,
        ServiceCmd::Enable {
            common,
            host,
            binary,
        } => set(&common, &host, &binary, false, None).await,
    }
}

async fn set(
    common: &Common,
    host: &str,
    binary: &str,
    disabled: bool,
    reason: Option<&str>,
) -> Result<u8, String> {
    let (url, _) = read_conf(common)?;
    let records = ServiceRecords::connect(&url)
        .await
        .map_err(|e| e.to_string())?;
    let n = records
        .set_disabled(host, binary, disabled, reason)
        .await
        .map_err(|e| e.to_string())?;
    if n == 0 {
        eprintln!("fjord-manage: no service {binary} on host {host}");
        return Ok(1);
    }
    println!(
        "{binary} on {host}: {}",
        if disabled { "disabled" } else { "enabled" }
    );
    Ok(0)
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("fjord-manage: {e}");
            return ExitCode::from(1);
        }
    };
    match rt.block_on(run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("fjord-manage: {e}");
            ExitCode::from(1)
        }
    }
}
