//! `fjord-config policy`: oslo.policy's operator tools.
//!
//! * `check` is `oslopolicy-checker`: which rules a set of credentials
//!   passes, against a policy file and the defaults a program registers.
//! * `sample` is `oslopolicy-sample-generator`: the commented policy.yaml
//!   of a program's registered defaults.
//!
//! A program built on fjord tells its registered defaults with the hidden
//! flag `--fjord-policy-defaults` (fjord_policy::PolicyCatalog::answer_defaults_flag),
//! asked with `--from-binary PATH` as `generate --from-binary` asks for
//! option namespaces.

use std::path::{Path, PathBuf};

use fjord_config::{ConfigOpts, ConfigSource, EnvSource};
use fjord_policy::{
    DEFAULTS_FLAG, Enforcer, PolicyCatalog, PolicyError, PolicyOptions, SampleOptions,
    generate_sample,
};
use serde_json::Value;

/// Arguments of `policy`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: Sub,
}

#[derive(Debug, clap::Subcommand)]
enum Sub {
    /// Print `NAME: allowed` or `NAME: denied` for each rule (oslopolicy-checker).
    Check(CheckArgs),
    /// Print the sample policy.yaml of a program's registered defaults
    /// (oslopolicy-sample-generator).
    Sample(SampleArgs),
}

/// Arguments of `policy check`.
#[derive(Debug, clap::Args)]
struct CheckArgs {
    /// The policy file (YAML or JSON), its rules overriding the registered
    /// defaults.
    #[arg(long = "policy-file", value_name = "F")]
    policy_file: PathBuf,
    /// The credentials, as oslo.context's to_policy_values() gives them: a
    /// JSON object, or @FILE to read it from a file.
    #[arg(long = "creds", value_name = "JSON")]
    creds: String,
    /// The target of the operation: a JSON object, or @FILE. Default: {}.
    #[arg(long = "target", value_name = "JSON")]
    target: Option<String>,
    /// A rule to check; repeatable, in this order. Default: every rule of
    /// the file and of the registered defaults, sorted by name.
    #[arg(long = "rule", value_name = "NAME")]
    rule: Vec<String>,
    /// A program built on fjord whose registered policy defaults (asked
    /// with its hidden --fjord-policy-defaults flag) the file overrides;
    /// repeatable.
    #[arg(long = "from-binary", value_name = "PATH")]
    from_binary: Vec<PathBuf>,
    /// Evaluate deprecated defaults OR'ed with the new ones, as
    /// `[oslo_policy] enforce_new_defaults = false` does.
    #[arg(long = "no-enforce-new-defaults")]
    no_enforce_new_defaults: bool,
    /// The service's config file, for its `[oslo_policy]` options
    /// (policy_dirs, relative to the file's directory, enforce_new_defaults,
    /// policy_default_rule); repeatable. --policy-file still names the main
    /// file. Default: none (no policy directories).
    #[arg(long = "config-file", value_name = "PATH")]
    config_file: Vec<PathBuf>,
}

/// Arguments of `policy sample`.
#[derive(Debug, clap::Args)]
struct SampleArgs {
    /// A program built on fjord whose registered policy defaults to write;
    /// repeatable.
    #[arg(long = "from-binary", value_name = "PATH", required = true)]
    from_binary: Vec<PathBuf>,
    /// A policy namespace to include; repeatable. Default: every namespace
    /// of the programs.
    #[arg(long = "namespace", value_name = "N")]
    namespace: Vec<String>,
    /// Leave out the deprecation notes.
    #[arg(long = "exclude-deprecated")]
    exclude_deprecated: bool,
    /// Write here instead of standard output.
    #[arg(long = "output-file", value_name = "PATH")]
    output_file: Option<PathBuf>,
}

/// Runs `policy check` or `policy sample`: 0 fine, 1 a rule could not be
/// evaluated, 2 bad input.
pub(crate) fn run(args: &Args) -> u8 {
    let result = match &args.command {
        Sub::Check(a) => check(a),
        Sub::Sample(a) => sample(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            let sub = match &args.command {
                Sub::Check(_) => "check",
                Sub::Sample(_) => "sample",
            };
            eprintln!("fjord-config policy {sub}: {e}");
            2
        }
    }
}

/// The registered defaults of the programs `binaries`, each run with
/// [`DEFAULTS_FLAG`].
fn binaries_catalog(binaries: &[PathBuf]) -> Result<PolicyCatalog, String> {
    let mut catalog = PolicyCatalog::new();
    for binary in binaries {
        let out = std::process::Command::new(binary)
            .arg(DEFAULTS_FLAG)
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|e| format!("--from-binary {}: cannot run it: {e}", binary.display()))?;
        if !out.status.success() {
            return Err(format!(
                "--from-binary {}: `{} {DEFAULTS_FLAG}` exited with {} (does it answer \
                 fjord_policy::PolicyCatalog::answer_defaults_flag?): {}",
                binary.display(),
                binary.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        let found = PolicyCatalog::from_json(&String::from_utf8_lossy(&out.stdout))
            .map_err(|e| format!("--from-binary {}: {e}", binary.display()))?;
        for name in found.names() {
            catalog.add(name, found.get(name).unwrap_or_default().to_vec());
        }
    }
    Ok(catalog)
}

/// A JSON object given inline or as `@FILE`.
fn json_object(flag: &str, text: &str) -> Result<Value, String> {
    let (source, text) = match text.strip_prefix('@') {
        Some(path) => (
            format!("{flag} {path}"),
            std::fs::read_to_string(path).map_err(|e| format!("{flag} {path}: {e}"))?,
        ),
        None => (flag.to_owned(), text.to_owned()),
    };
    let v: Value =
        serde_json::from_str(&text).map_err(|e| format!("{source}: not valid JSON: {e}"))?;
    if !v.is_object() {
        return Err(format!("{source}: must be a JSON object"));
    }
    Ok(v)
}

fn describe(e: &PolicyError) -> String {
    format!("{}: {e}", e.python_class())
}

fn check(args: &CheckArgs) -> Result<u8, String> {
    let creds = json_object("--creds", &args.creds)?;
    let target = match &args.target {
        Some(t) => json_object("--target", t)?,
        None => Value::Object(Default::default()),
    };
    let file = absolute(&args.policy_file)?;
    if !file.is_file() {
        return Err(format!(
            "--policy-file {}: no such file",
            args.policy_file.display()
        ));
    }
    let catalog = binaries_catalog(&args.from_binary)?;

    let mut options = if args.config_file.is_empty() {
        let mut o = PolicyOptions::default();
        o.policy_dirs.clear();
        o
    } else {
        let mut conf = ConfigOpts::new("fjord-config").env_source(EnvSource::Off);
        fjord_policy::register_opts(&mut conf).map_err(|e| e.to_string())?;
        conf.load(
            args.config_file
                .iter()
                .cloned()
                .map(ConfigSource::File)
                .collect(),
        )
        .map_err(|e| format!("--config-file: {e}"))?;
        PolicyOptions::from_conf(&conf).map_err(|e| format!("--config-file: {e}"))?
    };
    options.policy_file = file.display().to_string();
    if args.no_enforce_new_defaults {
        options.enforce_new_defaults = false;
    }
    let mut enforcer = Enforcer::from_options(options);
    enforcer.capture_notices(true);
    enforcer
        .register_defaults(catalog.defaults().cloned())
        .map_err(|e| format!("--from-binary: {}", describe(&e)))?;
    enforcer.load_rules().map_err(|e| {
        format!(
            "--policy-file {}: {}",
            args.policy_file.display(),
            describe(&e)
        )
    })?;

    let names: Vec<String> = if args.rule.is_empty() {
        let mut all: Vec<String> = enforcer.rules().iter().map(|(n, _)| n.to_owned()).collect();
        all.sort();
        all
    } else {
        args.rule.clone()
    };
    let mut out = String::new();
    let mut code = 0;
    for name in &names {
        match enforcer.enforce(name, &target, &creds) {
            Ok(true) => out.push_str(&format!("{name}: allowed\n")),
            Ok(false) => out.push_str(&format!("{name}: denied\n")),
            Err(e) => {
                out.push_str(&format!("{name}: error ({})\n", describe(&e)));
                code = 1;
            }
        }
    }
    for n in enforcer.take_notices() {
        eprintln!("fjord-config policy check: {n}");
    }
    crate::emit(&out);
    Ok(code)
}

fn absolute(path: &Path) -> Result<PathBuf, String> {
    if path.is_absolute() {
        return Ok(path.to_path_buf());
    }
    std::env::current_dir()
        .map(|d| d.join(path))
        .map_err(|e| format!("the current directory: {e}"))
}

fn sample(args: &SampleArgs) -> Result<u8, String> {
    let found = binaries_catalog(&args.from_binary)?;
    let catalog = if args.namespace.is_empty() {
        found
    } else {
        let mut picked = PolicyCatalog::new();
        for name in &args.namespace {
            let defaults = found.get(name).ok_or_else(|| {
                format!(
                    "unknown policy namespace {name:?} (known: {})",
                    found.names().collect::<Vec<_>>().join(", ")
                )
            })?;
            picked.add(name, defaults.to_vec());
        }
        picked
    };
    let mut options = SampleOptions::default();
    options.exclude_deprecated = args.exclude_deprecated;
    let generated = generate_sample(&catalog, options);
    for w in &generated.warnings {
        eprintln!("fjord-config policy sample: {w}");
    }
    match &args.output_file {
        None => crate::emit(&generated.text),
        Some(path) => std::fs::write(path, &generated.text)
            .map_err(|e| format!("--output-file {}: {e}", path.display()))?,
    }
    Ok(0)
}
