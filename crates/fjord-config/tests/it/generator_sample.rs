//! The sample generator covers every option, and the sample is itself a
//! valid config file: uncommented, it loads and validates cleanly.

use fjord_config::generator::{markdown, sample_ini};
use fjord_config::ini::IniFile;
use fjord_config::validate::validate;
use fjord_config::{ConfigOpts, EnvSource, Namespace, Opt, OptGroup};

fn namespaces() -> Vec<Namespace> {
    vec![
        // A launcher-like namespace (fjord-service declares the real one).
        Namespace::new("fjord.launcher").group(
            "DEFAULT",
            vec![
                Opt::int("graceful_shutdown_timeout").min(0).default(60),
                Opt::str("host")
                    .default(fjord_config::hostname())
                    .sample_default("<current_hostname>"),
                Opt::str("pid_file").cli().metavar("PATH"),
            ],
        ),
        Namespace::new("demo")
            .group(
                OptGroup::new("api").help("The HTTP API service."),
                vec![
                    Opt::port("listen_port")
                        .default(8799)
                        .help("Port to listen on."),
                    Opt::ip("listen")
                        .default("127.0.0.1")
                        .help("Address to bind."),
                    Opt::list("enabled_apis")
                        .default(vec!["v1", "v2"])
                        .help("APIs to serve."),
                    Opt::str("mode")
                        .choice("fast", "no fsync")
                        .choice("safe", "fsync")
                        .default("safe"),
                    Opt::float("ratio").min(0.0).max(1.0).default(0.5).mutable(),
                    Opt::uri("url")
                        .default("http://127.0.0.1:8799/")
                        .deprecated_name("endpoint"),
                    Opt::dict("quotas").default("a:1,b:2"),
                    Opt::multi_str("plugin").default(vec!["p1", "p2"]),
                ],
            )
            .group(
                "DEFAULT",
                vec![
                    Opt::bool("debug")
                        .default(false)
                        .help("Log at DEBUG level."),
                ],
            ),
    ]
}

#[test]
fn sample_lists_every_option_and_round_trips() {
    let nss = namespaces();
    let refs: Vec<&Namespace> = nss.iter().collect();
    let sample = sample_ini(&refs);
    // Commented out, the sample sets nothing.
    let parsed = IniFile::parse_str(&sample, "sample").unwrap();
    assert!(parsed.normalized().values().all(|keys| keys.is_empty()));

    let mut conf = ConfigOpts::new("gen").env_source(EnvSource::Off);
    for ns in &nss {
        conf.register_namespace(ns).unwrap();
    }
    for (group, opt) in conf.options() {
        let line = format!("#{} =", opt.name());
        assert!(
            sample.contains(&line),
            "{}.{} missing from sample",
            group.name(),
            opt.name()
        );
    }
    assert!(sample.contains("# From fjord.launcher"));
    assert!(sample.contains("# Deprecated group/name - [api]/endpoint"));
    assert!(sample.contains("# fast - no fsync"));
    assert!(sample.find("[DEFAULT]").unwrap() < sample.find("[api]").unwrap());

    // Uncomment every `#name = value` line: a file that validates cleanly.
    let uncommented: String = sample
        .lines()
        .map(|l| {
            let is_opt = l.starts_with('#') && !l.starts_with("# ") && l.contains(" =") && l != "#";
            if is_opt && !l.contains("<current_hostname>") {
                &l[1..]
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let file = IniFile::parse_str(&uncommented, "uncommented").unwrap();
    let findings = validate(&conf, &[file]);
    assert!(findings.is_empty(), "{findings:#?}\n{uncommented}");

    let md = markdown(&refs);
    for (_, opt) in conf.options() {
        assert!(md.contains(&format!("### `{}`", opt.name())));
    }
    assert!(md.contains("`OS_API__LISTEN_PORT`"));
}
