//! Source precedence: defaults < files (later wins, --config-dir in place,
//! `*.conf` sorted) < environment `OS_<GROUP>__<OPTION>` < command line.

use crate::support;

use fjord_config::{ConfigOpts, ConfigSource, EnvSource, Location, Opt};

fn conf(env: &[(&str, &str)]) -> ConfigOpts {
    let env = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let mut conf = ConfigOpts::new("prec").env_source(EnvSource::Map(env));
    conf.register(
        "DEFAULT",
        &[
            Opt::str("a").default("default-a"),
            Opt::str("b").default("default-b"),
            Opt::int("workers").default(1).cli(),
            Opt::bool("debug").default(false).cli(),
            Opt::multi_str("plugin"),
        ],
    )
    .unwrap();
    conf.register("database", &[Opt::str("connection").cli()])
        .unwrap();
    conf
}

#[test]
fn later_files_win_and_dirs_load_sorted_in_place() {
    let dir = support::temp_dir("prec");
    let d = dir.join("conf.d");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(
        dir.join("one.conf"),
        "[DEFAULT]\na = one\nb = one\nplugin = p1\n",
    )
    .unwrap();
    std::fs::write(d.join("20-z.conf"), "[DEFAULT]\na = dir-20\n").unwrap();
    std::fs::write(
        d.join("10-y.conf"),
        "[DEFAULT]\na = dir-10\nb = dir-10\nplugin = p2\n",
    )
    .unwrap();
    std::fs::write(d.join("ignored.txt"), "[DEFAULT]\na = not read\n").unwrap();
    std::fs::write(
        dir.join("last.conf"),
        "[DEFAULT]\nb = last\n[Database]\nconnection = sqlite://\n",
    )
    .unwrap();

    let mut c = conf(&[]);
    c.load(vec![
        ConfigSource::File(dir.join("one.conf")),
        ConfigSource::Dir(d.clone()),
        ConfigSource::File(dir.join("last.conf")),
    ])
    .unwrap();
    assert_eq!(c.get::<String>("DEFAULT", "a").unwrap(), "dir-20");
    assert_eq!(c.get::<String>("DEFAULT", "b").unwrap(), "last");
    assert_eq!(
        c.get::<Vec<String>>("DEFAULT", "plugin").unwrap(),
        ["p1", "p2"]
    );
    assert_eq!(
        c.get::<String>("database", "connection").unwrap(),
        "sqlite://"
    );
    assert_eq!(c.config_files().len(), 4);
    match c.location("DEFAULT", "b").unwrap() {
        Location::File {
            path,
            line,
            section,
        } => {
            assert!(path.ends_with("last.conf"));
            assert_eq!((line, section.as_str()), (2, "DEFAULT"));
        }
        other => panic!("unexpected location {other:?}"),
    }
    assert_eq!(c.location("DEFAULT", "workers").unwrap(), Location::Default);
}

#[test]
fn env_beats_files_and_cli_beats_env() {
    let dir = support::temp_dir("env");
    let file = dir.join("x.conf");
    std::fs::write(
        &file,
        "[DEFAULT]\nworkers = 3\ndebug = false\n[database]\nconnection = file\n",
    )
    .unwrap();

    let mut c = conf(&[
        ("OS_DEFAULT__WORKERS", "5"),
        ("OS_DATABASE__CONNECTION", "env"),
        ("OS_DEFAULT__DEBUG", "true"),
    ]);
    c.parse_args(["prec", "--config-file", file.to_str().unwrap()])
        .unwrap();
    assert_eq!(c.get::<i64>("DEFAULT", "workers").unwrap(), 5);
    assert!(c.get::<bool>("DEFAULT", "debug").unwrap());
    assert_eq!(c.get::<String>("database", "connection").unwrap(), "env");
    assert_eq!(
        c.location("DEFAULT", "workers").unwrap(),
        Location::Env {
            var: "OS_DEFAULT__WORKERS".into()
        }
    );

    let mut c = conf(&[("OS_DEFAULT__WORKERS", "5"), ("OS_DEFAULT__DEBUG", "true")]);
    c.parse_args([
        "prec",
        "--config-file",
        file.to_str().unwrap(),
        "--workers",
        "7",
        "--nodebug",
        "--database-connection",
        "cli",
    ])
    .unwrap();
    assert_eq!(c.get::<i64>("DEFAULT", "workers").unwrap(), 7);
    assert!(!c.get::<bool>("DEFAULT", "debug").unwrap());
    assert_eq!(c.get::<String>("database", "connection").unwrap(), "cli");

    // Repeated single-valued flags: the last wins, like argparse.
    let mut c = conf(&[]);
    c.parse_args([
        "prec",
        "--debug",
        "--nodebug",
        "--debug",
        "--workers",
        "2",
        "--workers",
        "4",
    ])
    .unwrap();
    assert!(c.get::<bool>("DEFAULT", "debug").unwrap());
    assert_eq!(c.get::<i64>("DEFAULT", "workers").unwrap(), 4);
}

#[test]
fn config_file_and_dir_order_follows_the_command_line() {
    let dir = support::temp_dir("order");
    let d = dir.join("d");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("a.conf"), "[DEFAULT]\na = dir\n").unwrap();
    std::fs::write(dir.join("f.conf"), "[DEFAULT]\na = file\n").unwrap();
    let (f, d) = (dir.join("f.conf"), d);

    let mut c = conf(&[]);
    c.parse_args([
        "prec",
        "--config-dir",
        d.to_str().unwrap(),
        "--config-file",
        f.to_str().unwrap(),
    ])
    .unwrap();
    assert_eq!(c.get::<String>("DEFAULT", "a").unwrap(), "file");
    let mut c = conf(&[]);
    c.parse_args([
        "prec",
        "--config-file",
        f.to_str().unwrap(),
        "--config-dir",
        d.to_str().unwrap(),
    ])
    .unwrap();
    assert_eq!(c.get::<String>("DEFAULT", "a").unwrap(), "dir");
}

#[test]
fn substitution_across_groups_defaults_and_types() {
    let dir = support::temp_dir("subst");
    let file = dir.join("s.conf");
    std::fs::write(
        &file,
        "[DEFAULT]\nstate_path = /srv\nport = 8080\n[api]\nurl = http://h:$port/${api.prefix}\nprefix = v1\n",
    )
    .unwrap();
    let mut c = ConfigOpts::new("s").env_source(EnvSource::Off);
    c.register(
        "DEFAULT",
        &[
            Opt::str("state_path"),
            Opt::port("port"),
            Opt::str("lock_path").default("$state_path/lock"),
        ],
    )
    .unwrap();
    c.register("api", &[Opt::uri("url"), Opt::str("prefix")])
        .unwrap();
    c.load(vec![ConfigSource::File(file)]).unwrap();
    assert_eq!(
        c.get::<String>("DEFAULT", "lock_path").unwrap(),
        "/srv/lock"
    );
    assert_eq!(c.get::<String>("api", "url").unwrap(), "http://h:8080/v1");
}

#[test]
fn built_in_configuration_only_without_config_files() {
    let builtin = "[DEFAULT]\na = builtin-a\nworkers = 4\n";
    let with_builtin = |env: &[(&str, &str)]| {
        let env = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let mut conf = ConfigOpts::new("prec")
            .env_source(EnvSource::Map(env))
            .default_config("<built-in prec.conf>", builtin);
        conf.register(
            "DEFAULT",
            &[
                Opt::str("a").default("default-a"),
                Opt::int("workers").default(1).cli(),
            ],
        )
        .unwrap();
        conf
    };
    // No file named: the built-in text, under the environment and the
    // command line, with its own name as location.
    let mut conf = with_builtin(&[("OS_DEFAULT__WORKERS", "6")]);
    conf.parse_args(["prec"]).unwrap();
    assert!(conf.uses_default_config());
    assert_eq!(conf.get::<String>("DEFAULT", "a").unwrap(), "builtin-a");
    assert_eq!(conf.get::<i64>("DEFAULT", "workers").unwrap(), 6);
    assert_eq!(conf.config_files(), vec!["<built-in prec.conf>".to_owned()]);
    assert!(
        conf.location("DEFAULT", "a")
            .unwrap()
            .to_string()
            .contains("<built-in prec.conf>")
    );
    // A reload reads it again.
    assert!(conf.reload_all().unwrap().is_empty());
    // A --config-file replaces it entirely.
    let dir = support::temp_dir("builtin");
    let file = dir.join("prec.conf");
    std::fs::write(&file, "[DEFAULT]\nworkers = 2\n").unwrap();
    let mut conf = with_builtin(&[]);
    conf.parse_args(["prec".as_ref(), "--config-file".as_ref(), file.as_os_str()])
        .unwrap();
    assert!(!conf.uses_default_config());
    assert_eq!(conf.get::<String>("DEFAULT", "a").unwrap(), "default-a");
    assert_eq!(conf.get::<i64>("DEFAULT", "workers").unwrap(), 2);
    assert!(matches!(conf.sources()[0], ConfigSource::File(_)));
}
