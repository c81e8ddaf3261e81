//! `fjord-config generate`: a commented sample config or a Markdown option
//! reference (like oslo-config-generator).

use std::path::PathBuf;

use fjord_config::generator::{markdown, sample_ini};
use fjord_config::{Catalog, Namespace};

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// A commented `*.conf.sample`.
    Ini,
    /// A Markdown option reference.
    Markdown,
}

/// Arguments of `generate`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// A namespace to include; repeatable, in output order.
    #[arg(long = "namespace", value_name = "N", required = true)]
    namespace: Vec<String>,
    /// Output format.
    #[arg(long = "format", value_enum, default_value = "ini")]
    format: Format,
    /// Write here instead of standard output.
    #[arg(long = "output-file", value_name = "PATH")]
    output_file: Option<PathBuf>,
}

/// Writes the sample; 0 on success, 2 for an unknown namespace or a write error.
pub(crate) fn run(args: &Args, catalog: &Catalog) -> u8 {
    let mut namespaces: Vec<&Namespace> = Vec::new();
    for name in &args.namespace {
        match catalog.get(name) {
            Some(ns) => namespaces.push(ns),
            None => {
                eprintln!(
                    "fjord-config generate: unknown namespace {name:?} (known: {})",
                    catalog.names().collect::<Vec<_>>().join(", ")
                );
                return 2;
            }
        }
    }
    let text = match args.format {
        Format::Ini => sample_ini(&namespaces),
        Format::Markdown => markdown(&namespaces),
    };
    match &args.output_file {
        None => {
            crate::emit(&text);
            0
        }
        Some(path) => match std::fs::write(path, text) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!(
                    "fjord-config generate: cannot write {}: {e}",
                    path.display()
                );
                2
            }
        },
    }
}
