//! `fjord-config generate`: a commented sample config or a Markdown option
//! reference (like oslo-config-generator).

use std::path::PathBuf;

use fjord_config::Namespace;
use fjord_config::generator::{markdown, sample_ini};

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
    /// A namespace to include; repeatable, in output order. Default: every
    /// namespace of the --from-binary programs, in their order.
    #[arg(
        long = "namespace",
        value_name = "N",
        required_unless_present = "from_binary"
    )]
    namespace: Vec<String>,
    /// A program built on fjord whose option namespaces (asked with its
    /// hidden --fjord-config-namespaces flag) --namespace may name too;
    /// repeatable.
    #[arg(long = "from-binary", value_name = "PATH")]
    from_binary: Vec<PathBuf>,
    /// Output format.
    #[arg(long = "format", value_enum, default_value = "ini")]
    format: Format,
    /// Write here instead of standard output.
    #[arg(long = "output-file", value_name = "PATH")]
    output_file: Option<PathBuf>,
}

/// Writes the sample; 0 on success, 2 for an unknown namespace, a
/// --from-binary program that does not answer, or a write error.
pub(crate) fn run(args: &Args) -> u8 {
    let (catalog, binary_names) = match crate::catalog(&args.from_binary) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("fjord-config generate: {e}");
            return 2;
        }
    };
    let names = if args.namespace.is_empty() {
        &binary_names
    } else {
        &args.namespace
    };
    let mut namespaces: Vec<&Namespace> = Vec::new();
    for name in names {
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
