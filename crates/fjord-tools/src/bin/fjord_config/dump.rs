//! `fjord-config dump`: the corpus's JSON view of a stack of files.

use std::path::PathBuf;

use fjord_config::conf::expand_sources;
use fjord_config::dump::{dump, failed};

/// Arguments of `dump`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// A config file; repeat for a stack (later files win).
    #[arg(long = "config-file", value_name = "PATH")]
    config_file: Vec<PathBuf>,
    /// A directory whose `*.conf` files are read in sorted order, at its
    /// place among the --config-file options.
    #[arg(long = "config-dir", value_name = "DIR")]
    config_dir: Vec<PathBuf>,
}

/// Prints the dump; 0 if every file was read, 2 otherwise.
pub(crate) fn run(args: &Args, m: &clap::ArgMatches) -> u8 {
    if args.config_file.is_empty() && args.config_dir.is_empty() {
        eprintln!("fjord-config dump: give at least one --config-file or --config-dir");
        return 2;
    }
    let sources = crate::sources_in_order(m);
    let result = match expand_sources(&sources) {
        Ok(paths) => {
            let refs: Vec<&std::path::Path> = paths.iter().map(PathBuf::as_path).collect();
            dump(&refs)
        }
        Err(e) => failed(&e, ""),
    };
    crate::emit(&format!("{}\n", result.to_json()));
    if result.is_ok() { 0 } else { 2 }
}
