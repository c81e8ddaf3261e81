//! Deprecated names and groups are still read, reported with file and line,
//! and the current name wins over them.

use crate::support;

use fjord_config::validate::{FindingKind, Severity, validate};
use fjord_config::{ConfigOpts, ConfigSource, EnvSource, Opt};

fn conf() -> ConfigOpts {
    let mut c = ConfigOpts::new("dep").env_source(EnvSource::Off);
    c.register(
        "api",
        &[
            Opt::int("workers")
                .default(1)
                .deprecated_name("api_workers")
                .deprecated_opt("DEFAULT", "osapi_workers"),
            Opt::str("listen").deprecated_group("DEFAULT"),
        ],
    )
    .unwrap();
    c
}

#[test]
fn old_names_are_read_and_reported() {
    let dir = support::temp_dir("dep");
    let file = dir.join("d.conf");
    std::fs::write(&file, "[DEFAULT]\nosapi_workers = 4\nlisten = 0.0.0.0\n").unwrap();
    let mut c = conf();
    c.load(vec![ConfigSource::File(file.clone())]).unwrap();
    assert_eq!(c.get::<i64>("api", "workers").unwrap(), 4);
    assert_eq!(c.get::<String>("api", "listen").unwrap(), "0.0.0.0");
    let uses = c.deprecated_uses();
    assert_eq!(uses.len(), 2);
    assert_eq!(
        uses[0].old,
        ("DEFAULT".to_owned(), "osapi_workers".to_owned())
    );
    assert_eq!(uses[0].new, ("api".to_owned(), "workers".to_owned()));

    let files = vec![fjord_config::ini::IniFile::read(&file).unwrap()];
    let findings = validate(&c, &files);
    let deprecated: Vec<_> = findings
        .iter()
        .filter(|f| f.kind == FindingKind::DeprecatedName)
        .collect();
    assert_eq!(deprecated.len(), 2);
    assert_eq!(deprecated[0].line, Some(2));
    assert_eq!(deprecated[0].severity, Severity::Warning);
    assert!(
        deprecated[0].message.contains("use [api] workers"),
        "{}",
        deprecated[0]
    );
}

#[test]
fn current_name_wins_in_the_same_file() {
    let dir = support::temp_dir("dep2");
    let file = dir.join("d.conf");
    std::fs::write(&file, "[api]\nworkers = 2\napi_workers = 9\n").unwrap();
    let mut c = conf();
    c.load(vec![ConfigSource::File(file)]).unwrap();
    assert_eq!(c.get::<i64>("api", "workers").unwrap(), 2);
    assert!(c.deprecated_uses().is_empty());
}
