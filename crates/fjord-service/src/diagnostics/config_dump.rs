//! The configuration as the console's `config` command and the report
//! show it: every registered option as `(group, option, value)` text, with
//! secrets that have a value shown as `****` (oslo.config's
//! `log_opt_values` masking) and options without a value as `None`.

use fjord_config::ConfigOpts;

/// A copy of the configuration's values, secrets masked (see the module
/// docs). Built from the [`ConfigOpts`] an application hands its launcher
/// (`ProcessLauncher::config`, `ServiceLauncher::config`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ConfigDump {
    /// `(group, option, value)`, groups in registration order (`DEFAULT`
    /// first), options sorted by name within a group.
    pub(crate) entries: Vec<(String, String, String)>,
}

impl ConfigDump {
    /// The values of `conf` now.
    pub(crate) fn from_conf(conf: &ConfigOpts) -> Self {
        let mut groups: Vec<String> = vec!["DEFAULT".to_owned()];
        let mut rows: Vec<(String, String, String)> = Vec::new();
        for (group, opt) in conf.options() {
            let g = group.name().to_owned();
            if !groups.contains(&g) {
                groups.push(g.clone());
            }
            let shown = match conf.value(&g, opt.name()) {
                Ok(None) | Err(_) => "None".to_owned(),
                Ok(Some(_)) if opt.is_secret() => "****".to_owned(),
                Ok(Some(v)) => v.to_conf_string(),
            };
            rows.push((g, opt.name().to_owned(), shown));
        }
        rows.sort_by(|a, b| {
            let pos = |g: &str| groups.iter().position(|x| x == g);
            (pos(&a.0), &a.1).cmp(&(pos(&b.0), &b.1))
        });
        rows.dedup();
        ConfigDump { entries: rows }
    }

    /// The groups, in order.
    pub(crate) fn groups(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for (g, _, _) in &self.entries {
            if out.last() != Some(&g.as_str()) {
                out.push(g);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fjord_config::{EnvSource, Opt};

    #[test]
    fn secrets_are_masked() {
        let mut conf = ConfigOpts::new("t").env_source(EnvSource::Off);
        conf.register("DEFAULT", &[Opt::int("workers").default(2)])
            .unwrap();
        conf.register(
            "database",
            &[
                Opt::str("connection")
                    .secret()
                    .default("postgresql://u:pw@h/db"),
                Opt::str("unset_secret").secret(),
            ],
        )
        .unwrap();
        conf.load(vec![]).unwrap();
        let dump = ConfigDump::from_conf(&conf);
        assert_eq!(dump.groups(), ["DEFAULT", "database"]);
        let get = |g: &str, o: &str| {
            dump.entries
                .iter()
                .find(|e| e.0 == g && e.1 == o)
                .map(|e| e.2.clone())
        };
        assert_eq!(get("DEFAULT", "workers").as_deref(), Some("2"));
        assert_eq!(get("database", "connection").as_deref(), Some("****"));
        assert_eq!(get("database", "unset_secret").as_deref(), Some("None"));
    }
}
