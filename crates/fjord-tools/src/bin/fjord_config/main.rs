//! `fjord-config`: see what fjord reads from config files, check them, and
//! generate samples (oslo-config-generator / oslo-config-validator).
//!
//! ```text
//! fjord-config dump --config-file F [--config-file G ...] [--config-dir D]
//! fjord-config validate --config-file F [--namespace N ...] [--from-binary PATH ...] [--fatal-warnings]
//! fjord-config generate [--namespace N ...] [--from-binary PATH ...] [--format ini|markdown] [--output-file F]
//! fjord-config paste --paste-config api-paste.ini
//! fjord-config policy check --policy-file F --creds JSON [--target JSON] [--rule NAME ...] [--from-binary PATH ...] [--config-file F ...]
//! fjord-config policy sample --from-binary PATH [--namespace N ...] [--exclude-deprecated] [--output-file F]
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
mod policy;
mod validate;

use std::path::PathBuf;
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
/// and with --from-binary PATH those of any program built on fjord, asked
/// with its hidden --fjord-config-namespaces flag), and `paste` shows what
/// an api-paste.ini loads to, and `policy check` / `policy sample` are
/// oslopolicy-checker and oslopolicy-sample-generator. Exit codes: 0 fine,
/// 1 `validate` found problems (or `policy check` a rule it could not
/// evaluate), 2 bad input.
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
    /// oslo.policy's tools: check rules against credentials, write a sample policy.yaml.
    Policy(policy::Args),
}

/// fjord's own namespaces, which `--namespace` can always name:
/// `fjord.launcher`, `fjord.http`, `fjord.messaging`, `fjord.service`.
fn builtin_catalog() -> Catalog {
    Catalog::new()
        .with(fjord_service::LauncherOptions::namespace())
        .with(fjord_http::server::ServerOptions::namespace())
        .with(fjord_messaging::MessagingOptions::namespace())
        .with(fjord_servicegroup::ServiceOptions::namespace())
}

/// The namespaces of the programs `binaries`, each run with
/// [`fjord_config::NAMESPACES_FLAG`]: every program built on
/// `ConfigOpts::parse_args` prints the namespaces it registered as JSON.
fn binaries_catalog(binaries: &[PathBuf]) -> Result<Catalog, String> {
    let mut catalog = Catalog::new();
    for binary in binaries {
        let out = std::process::Command::new(binary)
            .arg(fjord_config::NAMESPACES_FLAG)
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|e| format!("--from-binary {}: cannot run it: {e}", binary.display()))?;
        if !out.status.success() {
            return Err(format!(
                "--from-binary {}: `{} {}` exited with {} (is it built on fjord-config's \
                 ConfigOpts::parse_args?): {}",
                binary.display(),
                binary.display(),
                fjord_config::NAMESPACES_FLAG,
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let found = Catalog::from_json(&text)
            .map_err(|e| format!("--from-binary {}: {e}", binary.display()))?;
        catalog.extend(found);
    }
    Ok(catalog)
}

/// The catalog `--namespace` names refer to: fjord's own namespaces and
/// those of `binaries` (which win on a name clash), and the names of the
/// binaries' own namespaces in their registration order.
fn catalog(binaries: &[PathBuf]) -> Result<(Catalog, Vec<String>), String> {
    let mut catalog = builtin_catalog();
    let found = binaries_catalog(binaries)?;
    let names = found.names().map(str::to_owned).collect();
    catalog.extend(found);
    Ok((catalog, names))
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
        (Command::Validate(args), Some(m)) => validate::run(args, m),
        (Command::Generate(args), _) => generate::run(args),
        (Command::Paste(args), _) => paste::run(args),
        (Command::Policy(args), _) => policy::run(args),
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
