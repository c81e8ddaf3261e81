//! The command line: `--help` lists options (exit 0), flags per option,
//! repeatable multi-valued flags, usage errors exit 2.

use fjord_config::{ConfigOpts, EnvSource, Opt, OptGroup};

fn conf() -> ConfigOpts {
    let mut c = ConfigOpts::new("demo-api")
        .version("1.2.3")
        .about("The demo API.")
        .env_source(EnvSource::Off);
    c.register(
        "DEFAULT",
        &[
            Opt::int("workers")
                .min(1)
                .default(2)
                .cli()
                .help("API worker processes."),
            Opt::bool("debug")
                .default(false)
                .short('d')
                .help("Log at DEBUG."),
            Opt::multi_str("plugin").cli().help("Plugins to load."),
            Opt::str("state_path")
                .default("/var/lib/demo")
                .help("Where state lives."),
        ],
    )
    .unwrap();
    c.register(
        OptGroup::new("api"),
        &[Opt::port("listen_port").default(8799).cli().help("Port.")],
    )
    .unwrap();
    c
}

#[test]
fn help_lists_cli_and_file_options_and_exits_zero() {
    let mut c = conf();
    let err = c.parse_args(["demo-api", "--help"]).unwrap_err();
    assert!(err.is_help());
    assert_eq!(err.exit_code(), 0);
    let text = err.to_string();
    for needle in [
        "--config-file <PATH>",
        "--config-dir <DIR>",
        "--workers <WORKERS>",
        "API worker processes. (integer value, default: 2)",
        "--debug",
        "--nodebug",
        "-d",
        "--plugin <PLUGIN>",
        "--api-listen-port <LISTEN_PORT>",
        "state_path: Where state lives. (string value, default: /var/lib/demo)",
    ] {
        assert!(text.contains(needle), "help lacks {needle:?}:\n{text}");
    }
    assert_eq!(c.help(), c.command().render_help().to_string());
    let err = c.parse_args(["demo-api", "--version"]).unwrap_err();
    assert!(err.is_help() && err.to_string().contains("1.2.3"));
}

#[test]
fn repeated_multi_flags_accumulate() {
    let mut c = conf();
    c.parse_args([
        "demo-api",
        "--plugin",
        "a",
        "--plugin",
        "b",
        "-d",
        "--api-listen-port",
        "9000",
    ])
    .unwrap();
    assert_eq!(
        c.get::<Vec<String>>("DEFAULT", "plugin").unwrap(),
        ["a", "b"]
    );
    assert!(c.get::<bool>("DEFAULT", "debug").unwrap());
    assert_eq!(c.get::<u16>("api", "listen_port").unwrap(), 9000);
}

#[test]
fn usage_errors_and_bad_cli_values_exit_two() {
    let mut c = conf();
    let err = c.parse_args(["demo-api", "--no-such-flag"]).unwrap_err();
    assert_eq!(err.exit_code(), 2);
    assert!(err.to_string().contains("--no-such-flag"));

    let err = c.parse_args(["demo-api", "--workers", "0"]).unwrap_err();
    assert_eq!(err.exit_code(), 2);
    let text = err.to_string();
    assert!(
        text.contains("workers")
            && text.contains("command line --workers")
            && text.contains(">= 1"),
        "{text}"
    );
    assert!(!c.is_loaded(), "a failed load leaves nothing loaded");
}
