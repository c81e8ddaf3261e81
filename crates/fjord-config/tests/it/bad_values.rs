//! Bad input from a file, the environment or a missing file is one clear
//! error naming file, section, option and what was expected; exit code 2;
//! nothing is loaded. Unknown options are not fatal.

use crate::support;

use fjord_config::{ConfigOpts, ConfigSource, EnvSource, Error, Location, Opt};

fn conf(env: EnvSource) -> ConfigOpts {
    let mut c = ConfigOpts::new("bad").env_source(env);
    c.register("DEFAULT", &[Opt::int("workers").min(1).max(64).default(1)])
        .unwrap();
    c.register(
        "database",
        &[
            Opt::str("connection").secret(),
            Opt::float("ratio").min(0.0).max(1.0).default(0.5),
            Opt::str("mode").choices(&["fast", "safe"]).default("safe"),
            Opt::bool("sync").default(true),
            Opt::ip("bind").default("127.0.0.1"),
        ],
    )
    .unwrap();
    c
}

fn load_text(text: &str) -> (ConfigOpts, Result<(), Error>, String) {
    let dir = support::temp_dir("bad");
    let file = dir.join("bad.conf");
    std::fs::write(&file, text).unwrap();
    let mut c = conf(EnvSource::Off);
    let r = c.load(vec![ConfigSource::File(file.clone())]);
    (c, r, file.display().to_string())
}

#[test]
fn out_of_range_integer_names_file_line_section_option_and_expectation() {
    let (c, r, file) = load_text("[DEFAULT]\n# comment\nworkers = 0\n");
    let err = r.unwrap_err();
    assert_eq!(err.exit_code(), 2);
    match &err {
        Error::BadValue(b) => {
            assert_eq!(
                (b.group.as_str(), b.option.as_str()),
                ("DEFAULT", "workers")
            );
            assert_eq!(
                b.location,
                Location::File {
                    path: file.clone(),
                    line: 3,
                    section: "DEFAULT".into()
                }
            );
            assert_eq!(b.expected, "an integer in 1..=64");
        }
        other => panic!("unexpected {other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.contains(&file) && text.contains("line 3") && text.contains("[DEFAULT]"),
        "{text}"
    );
    assert!(!c.is_loaded());
}

#[test]
fn each_type_rejects_garbage() {
    for (text, option) in [
        ("[DEFAULT]\nworkers = many\n", "workers"),
        ("[database]\nratio = 1.5\n", "ratio"),
        ("[database]\nmode = reckless\n", "mode"),
        ("[database]\nsync = perhaps\n", "sync"),
        ("[Database]\nbind = 300.1.1.1\n", "bind"),
    ] {
        let (_, r, _) = load_text(text);
        match r.unwrap_err() {
            Error::BadValue(b) => assert_eq!(b.option, option),
            other => panic!("{text:?}: unexpected {other:?}"),
        }
    }
}

#[test]
fn secrets_are_not_echoed_in_errors() {
    let mut c = ConfigOpts::new("s").env_source(EnvSource::Off);
    c.register("DEFAULT", &[Opt::int("pin").secret()]).unwrap();
    let dir = support::temp_dir("secret");
    let file = dir.join("s.conf");
    std::fs::write(&file, "[DEFAULT]\npin = hunter2\n").unwrap();
    let text = c
        .load(vec![ConfigSource::File(file)])
        .unwrap_err()
        .to_string();
    assert!(!text.contains("hunter2") && text.contains("****"), "{text}");
}

#[test]
fn bad_environment_value_names_the_variable() {
    let env = EnvSource::Map([("OS_DEFAULT__WORKERS".to_owned(), "-3".to_owned())].into());
    let mut c = conf(env);
    let err = c.load(vec![]).unwrap_err();
    assert!(
        err.to_string()
            .contains("environment variable OS_DEFAULT__WORKERS"),
        "{err}"
    );
}

#[test]
fn malformed_line_missing_file_and_required_option() {
    let (_, r, file) = load_text("[DEFAULT]\nworkers 4\n");
    let err = r.unwrap_err();
    assert_eq!(err.exit_code(), 2);
    assert_eq!(
        err.to_string(),
        format!(
            "Failed to parse {file}: at {file}:2, No ':' or '=' found in assignment: 'workers 4'"
        )
    );

    let mut c = conf(EnvSource::Off);
    let err = c
        .load(vec![ConfigSource::File("/nonexistent/fjord.conf".into())])
        .unwrap_err();
    assert!(err.to_string().contains("/nonexistent/fjord.conf"));
    assert_eq!(err.exit_code(), 2);

    let mut c = ConfigOpts::new("r").env_source(EnvSource::Off);
    c.register("database", &[Opt::str("connection").required()])
        .unwrap();
    let err = c.load(vec![]).unwrap_err();
    assert!(matches!(err, Error::Required { .. }));
    assert!(err.to_string().contains("OS_DATABASE__CONNECTION"), "{err}");
}

#[test]
fn unknown_options_are_not_fatal() {
    let (c, r, _) = load_text("[DEFAULT]\nworkers = 2\nunknown_thing = 1\n[elsewhere]\nx = 1\n");
    r.unwrap();
    assert_eq!(c.get::<i64>("DEFAULT", "workers").unwrap(), 2);
    let files =
        vec![fjord_config::ini::IniFile::parse_str("[DEFAULT]\nunknown_thing = 1\n", "f").unwrap()];
    let unknown = c.unknown_in(&files);
    assert_eq!(unknown.len(), 1);
    assert_eq!(
        (unknown[0].key.as_str(), unknown[0].line),
        ("unknown_thing", 2)
    );
}

#[test]
fn invalid_defaults_and_duplicates_are_registration_errors() {
    let mut c = ConfigOpts::new("d");
    let err = c
        .register("DEFAULT", &[Opt::int("w").min(1).default(0)])
        .unwrap_err();
    assert!(matches!(err, Error::InvalidDefault { .. }));
    c.register("DEFAULT", &[Opt::int("w").default(1)]).unwrap();
    c.register("DEFAULT", &[Opt::int("w").default(1)]).unwrap();
    let err = c.register("DEFAULT", &[Opt::str("w")]).unwrap_err();
    assert!(matches!(err, Error::DuplicateOpt { .. }));
}
