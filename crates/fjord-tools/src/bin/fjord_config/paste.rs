//! `fjord-config paste`: what an `api-paste.ini` loads to, with
//! paste.deploy's semantics, and which factories fjord provides natively.

use std::path::PathBuf;

/// Arguments of `paste`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The paste-deploy ini file (`api-paste.ini`).
    #[arg(long = "paste-config", value_name = "PATH")]
    paste_config: PathBuf,
}

/// Prints the description as JSON; 0 when the file reads and every section
/// resolves, 2 when it cannot be read.
pub(crate) fn run(args: &Args) -> u8 {
    let description = fjord_http::loader::describe(&args.paste_config);
    let ok = description["ok"].as_bool().unwrap_or(false);
    match serde_json::to_string_pretty(&description) {
        Ok(text) => super::emit(&format!("{text}\n")),
        Err(e) => {
            eprintln!("fjord-config paste: {e}");
            return 2;
        }
    }
    if ok { 0 } else { 2 }
}
