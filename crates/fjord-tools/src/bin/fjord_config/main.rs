//! `fjord-config`: see what fjord reads from config files, check them, and
//! generate samples (oslo-config-generator / oslo-config-validator).
//!
//! ```text
//! fjord-config dump --config-file F [--config-file G ...] [--config-dir D]
//! fjord-config validate --config-file F [--namespace N ...] [--fatal-warnings]
//! fjord-config generate --namespace N ... [--format ini|markdown] [--output-file F]
//! fjord-config paste --paste-config api-paste.ini
//! ```
//!
//! Exit codes: 0 fine, 1 `validate` found problems, 2 bad input (unreadable
//! or malformed file, unknown namespace, bad arguments).
//!
//! Each subcommand lives in its own module with an `Args` struct and a
//! `run(&ArgMatches) -> u8`; a new one (e.g. `paste`, whose loader lives in
//! fjord-http) is one module, one `Command` variant and one `match` arm.
#![forbid(unsafe_code)]

mod dump;
mod generate;
mod paste;
mod validate;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use fjord_config::Catalog;

/// See what fjord reads from config files, check them, generate samples.
///
/// fjord-config is the configuration tool of fjord services, oslo's
/// oslo-config-generator and oslo-config-validator in one: `dump` shows what
/// a service reads from its config files, `validate` reports unknown
/// options, bad values and deprecated names with file and line, `generate`
/// writes a commented sample or a Markdown reference of the options of
/// namespaces (fjord.launcher, fjord.http, fjord.messaging, fjord.service,
/// ...), and `paste` shows what an api-paste.ini loads to. Exit codes: 0
/// fine, 1 `validate` found problems, 2 bad input.
#[derive(Debug, Parser)]
#[command(name = "fjord-config", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print what oslo.config-compatible parsing reads from the files, as JSON.
    Dump(dump::Args),
    /// Check files against the options of namespaces.
    Validate(validate::Args),
    /// Write a sample config file or a Markdown option reference.
    Generate(generate::Args),
    /// Show what an api-paste.ini loads to and which factories fjord provides.
    Paste(paste::Args),
}

/// The namespaces `--namespace` can name: fjord's own (`fjord.launcher`,
/// `fjord.http`, `fjord.messaging`, `fjord.service`) and the demo's
/// (`fjord.demo`).
fn catalog() -> Catalog {
    Catalog::new()
        .with(fjord_service::LauncherOptions::namespace())
        .with(fjord_http::server::ServerOptions::namespace())
        .with(fjord_messaging::MessagingOptions::namespace())
        .with(fjord_service::servicegroup::ServiceOptions::namespace())
        .with(fjord_demo::conf::namespace())
}

fn main() -> ExitCode {
    let matches = match Cli::command().try_get_matches() {
        Ok(m) => m,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(2);
        }
    };
    let sub = matches.subcommand().map(|(_, m)| m);
    let code = match (&cli.command, sub) {
        (Command::Dump(args), Some(m)) => dump::run(args, m),
        (Command::Validate(args), Some(m)) => validate::run(args, m, &catalog()),
        (Command::Generate(args), _) => generate::run(args, &catalog()),
        (Command::Paste(args), _) => paste::run(args),
        (_, None) => 2,
    };
    ExitCode::from(code)
}

/// `--config-file` and `--config-dir` values in command-line order.
fn sources_in_order(m: &clap::ArgMatches) -> Vec<fjord_config::ConfigSource> {
    use fjord_config::ConfigSource;
    use std::path::PathBuf;
    let mut sources: Vec<(usize, ConfigSource)> = Vec::new();
    for (id, dir) in [("config_file", false), ("config_dir", true)] {
        if let (Some(values), Some(indices)) = (m.get_many::<PathBuf>(id), m.indices_of(id)) {
            for (v, i) in values.zip(indices) {
                let source = if dir {
                    ConfigSource::Dir(v.clone())
                } else {
                    ConfigSource::File(v.clone())
                };
                sources.push((i, source));
            }
        }
    }
    sources.sort_by_key(|(i, _)| *i);
    sources.into_iter().map(|(_, s)| s).collect()
}

/// Writes to standard output; a closed pipe (`| head`) is not an error.
fn emit(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}
