//! `fjord-config validate`: unknown options, bad values and deprecated
//! names, each with file and line (like oslo-config-validator).

use std::path::PathBuf;

use fjord_config::ConfigOpts;
use fjord_config::conf::read_sources;
use fjord_config::validate::{Severity, validate};

/// Arguments of `validate`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// A config file to check; repeatable.
    #[arg(long = "config-file", value_name = "PATH")]
    config_file: Vec<PathBuf>,
    /// A directory whose `*.conf` files are checked too.
    #[arg(long = "config-dir", value_name = "DIR")]
    config_dir: Vec<PathBuf>,
    /// A namespace whose options the files may set; repeatable.
    /// Default: the namespaces of the --from-binary programs, or without
    /// them every namespace fjord-config knows.
    #[arg(long = "namespace", value_name = "N")]
    namespace: Vec<String>,
    /// A program built on fjord whose option namespaces (asked with its
    /// hidden --fjord-config-namespaces flag) --namespace may name too;
    /// repeatable.
    #[arg(long = "from-binary", value_name = "PATH")]
    from_binary: Vec<PathBuf>,
    /// Treat warnings (deprecated names) as problems too.
    #[arg(long = "fatal-warnings")]
    fatal_warnings: bool,
}

/// Prints findings; 0 if none are errors, 1 otherwise, 2 for bad input.
pub(crate) fn run(args: &Args, m: &clap::ArgMatches) -> u8 {
    if args.config_file.is_empty() && args.config_dir.is_empty() {
        eprintln!("fjord-config validate: give at least one --config-file or --config-dir");
        return 2;
    }
    let (catalog, binary_names) = match crate::catalog(&args.from_binary) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("fjord-config validate: {e}");
            return 2;
        }
    };
    let names: Vec<String> = if !args.namespace.is_empty() {
        args.namespace.clone()
    } else if !binary_names.is_empty() {
        binary_names
    } else {
        catalog.names().map(str::to_owned).collect()
    };
    let mut conf = ConfigOpts::new("fjord-config");
    for name in &names {
        let Some(ns) = catalog.get(name) else {
            eprintln!(
                "fjord-config validate: unknown namespace {name:?} (known: {})",
                catalog.names().collect::<Vec<_>>().join(", ")
            );
            return 2;
        };
        if let Err(e) = conf.register_namespace(ns) {
            eprintln!("fjord-config validate: {e}");
            return 2;
        }
    }
    let files = match read_sources(&crate::sources_in_order(m)) {
        Ok(f) => f,
        Err(e) => {
            crate::emit(&format!("ERROR: {e}\n"));
            return 1;
        }
    };
    let findings = validate(&conf, &files);
    let (mut errors, mut warnings) = (0, 0);
    for f in &findings {
        match f.severity {
            Severity::Error => errors += 1,
            _ => warnings += 1,
        }
        crate::emit(&format!("{f}\n"));
    }
    crate::emit(&format!(
        "{} file(s) checked against {}: {errors} error(s), {warnings} warning(s)\n",
        files.len(),
        names.join(", ")
    ));
    if errors > 0 || (args.fatal_warnings && warnings > 0) {
        1
    } else {
        0
    }
}
