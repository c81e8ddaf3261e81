//! The throwaway Keystone of `scripts/keystone.sh`, found through the env
//! file it writes (`target/keystone/env`, or `$FJORD_KEYSTONE_ENV`).

use std::collections::HashMap;
use std::path::PathBuf;

/// The facts `scripts/keystone.sh start` wrote: `KS_URL`, `KS_PORT`, the
/// users (`KS_ADMIN_*`, `KS_MEMBER_*`, `KS_SERVICE_*`) and their ids.
#[derive(Clone, Debug)]
pub struct Keystone {
    vars: HashMap<String, String>,
}

impl Keystone {
    /// The value of `key` in the env file.
    ///
    /// # Panics
    ///
    /// When the file has no such key (the script and the test disagree).
    pub fn get(&self, key: &str) -> String {
        self.vars
            .get(key)
            .cloned()
            .unwrap_or_else(|| panic!("{key} missing from the keystone env file"))
    }

    /// `http://127.0.0.1:PORT/v3`.
    pub fn url(&self) -> String {
        self.get("KS_URL")
    }

    /// Keystone's port.
    pub fn port(&self) -> u16 {
        self.get("KS_PORT").parse().expect("KS_PORT")
    }
}

/// Where the env file is: `$FJORD_KEYSTONE_ENV`, else
/// `<workspace>/target/keystone/env`.
pub fn env_file() -> PathBuf {
    std::env::var_os("FJORD_KEYSTONE_ENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::workspace_root().join("target/keystone/env"))
}

/// The running throwaway Keystone, or the skip policy's answer when there
/// is none (a `SKIPPED` line; a failure under `FJORD_REQUIRE_SERVICES=1`).
pub fn keystone(test: &str) -> Option<Keystone> {
    let path = env_file();
    let vars: Option<HashMap<String, String>> = std::fs::read_to_string(&path).ok().map(|text| {
        text.lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            .collect()
    });
    let up = vars.as_ref().is_some_and(|v| {
        v.get("KS_PORT")
            .and_then(|p| p.parse().ok())
            .is_some_and(crate::port_open)
    });
    let why = format!(
        "no Keystone running per {} (start one: scripts/keystone.sh start)",
        path.display()
    );
    if !crate::need(up, test, &why) {
        return None;
    }
    vars.map(|vars| Keystone { vars })
}
