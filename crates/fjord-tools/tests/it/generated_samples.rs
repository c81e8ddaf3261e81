//! The generated files the repository keeps (`etc/fjord/fjord.conf.sample`,
//! `docs/options.md`) are what `fjord-config generate` writes today: a
//! changed option declaration without a refreshed sample fails here, with
//! the command to refresh it. (`etc/demo/demo.conf.sample` is generated
//! from the demo's binary: crates/fjord-demo/tests/demo_conf_sample.rs.)

use crate::support;

use std::path::Path;

/// fjord's own namespaces, in sample order.
const FJORD: &[&str] = &[
    "fjord.launcher",
    "fjord.http",
    "fjord.messaging",
    "fjord.service",
];

/// (file relative to the repository root, namespaces, format)
const GENERATED: &[(&str, &[&str], &str)] = &[
    ("etc/fjord/fjord.conf.sample", FJORD, "ini"),
    ("docs/options.md", FJORD, "markdown"),
];

fn args(namespaces: &[&str], format: &str) -> Vec<String> {
    let mut args = vec!["generate".to_owned()];
    for ns in namespaces {
        args.push("--namespace".to_owned());
        args.push((*ns).to_owned());
    }
    args.push("--format".to_owned());
    args.push(format.to_owned());
    args
}

#[test]
fn generated_files_are_not_stale() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut stale = Vec::new();
    for (file, namespaces, format) in GENERATED {
        let args = args(namespaces, format);
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = support::run(&argv);
        assert_eq!(
            out.status.code(),
            Some(0),
            "fjord-config {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        let fresh = support::stdout(&out);
        assert!(
            fresh.len() > 200,
            "fjord-config {} printed almost nothing",
            args.join(" ")
        );
        let kept = std::fs::read_to_string(root.join(file)).unwrap_or_default();
        if kept != fresh {
            stale.push(format!(
                "  cargo run -q -p fjord-tools --bin fjord-config -- {} --output-file {file}",
                args.join(" ")
            ));
        }
    }
    assert!(
        stale.is_empty(),
        "generated files are stale (an option declaration changed); refresh them from the \
         repository root with:\n{}\n",
        stale.join("\n")
    );
}

#[test]
fn samples_cover_every_layer() {
    let out = support::run(&[
        "generate",
        "--namespace",
        "fjord.http",
        "--namespace",
        "fjord.messaging",
        "--namespace",
        "fjord.service",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let ini = support::stdout(&out);
    for needle in [
        "#wsgi_default_pool_size = 100\n",
        "[oslo_middleware]\n",
        "#max_request_body_size = 114688\n",
        "[ssl]\n",
        "#transport_url = <None>\n",
        "#control_exchange = openstack\n",
        "[oslo_messaging_rabbit]\n",
        "#rabbit_transient_queues_ttl = 1800\n",
        "#report_interval = 10\n",
        "#periodic_fuzzy_delay = 60\n",
        "[database]\n",
    ] {
        assert!(ini.contains(needle), "missing {needle:?} in:\n{ini}");
    }
}
