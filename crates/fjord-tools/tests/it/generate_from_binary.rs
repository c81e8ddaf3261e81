//! `fjord-config generate|validate --from-binary PATH`: the tool asks the
//! program for its option namespaces (`PATH --fjord-config-namespaces`,
//! JSON on stdout) instead of linking the program's crate. A shell script
//! stands in for a program built on fjord here; the demo's own binaries are
//! checked in crates/fjord-demo/tests/demo_conf_sample.rs.

use crate::support;

use fjord_config::{Catalog, NAMESPACES_FLAG, Namespace, Opt, OptGroup};

/// A "program" that answers the flag with `json` and fails otherwise.
fn fake_binary(dir: &std::path::Path, json: &str) -> String {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("fake-service");
    let script = format!(
        "#!/bin/sh\n[ \"$1\" = \"{NAMESPACES_FLAG}\" ] || exit 3\ncat <<'JSON'\n{json}\nJSON\n"
    );
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path.display().to_string()
}

fn catalog() -> Catalog {
    Catalog::new().with(
        Namespace::new("acme.api")
            .group(
                "DEFAULT",
                vec![Opt::port("acme_listen_port").default(8800).help("Port.")],
            )
            .group(
                OptGroup::new("acme").help("Acme."),
                vec![Opt::int("interval").min(1).default(10).mutable()],
            ),
    )
}

#[test]
fn generate_and_validate_with_the_binarys_namespaces() {
    let dir = support::temp_dir("from-binary");
    let bin = fake_binary(&dir, &catalog().to_json());

    // Without --namespace: the binary's namespaces, in its order.
    let out = support::run(&["generate", "--from-binary", &bin]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ini = support::stdout(&out);
    assert!(ini.contains("# From acme.api\n"), "{ini}");
    assert!(ini.contains("#acme_listen_port = 8800\n"), "{ini}");
    assert!(
        ini.contains("[acme]\n") && ini.contains("#interval = 10\n"),
        "{ini}"
    );
    assert!(!ini.contains("fjord.launcher"), "{ini}");

    // With --namespace: fjord's own namespaces and the binary's.
    let out = support::run(&[
        "generate",
        "--from-binary",
        &bin,
        "--namespace",
        "fjord.launcher",
        "--namespace",
        "acme.api",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let ini = support::stdout(&out);
    assert!(ini.find("# From fjord.launcher").unwrap() < ini.find("# From acme.api").unwrap());

    let conf = dir.join("acme.conf");
    std::fs::write(
        &conf,
        "[DEFAULT]\nacme_listen_port = 8801\n[acme]\nintervall = 3\n",
    )
    .unwrap();
    let conf = conf.display().to_string();
    let out = support::run(&["validate", "--config-file", &conf, "--from-binary", &bin]);
    let text = support::stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("intervall"), "{text}");
    assert!(text.contains("checked against acme.api:"), "{text}");
}

#[test]
fn a_binary_that_does_not_answer_is_bad_input() {
    let dir = support::temp_dir("from-binary-bad");
    let bin = fake_binary(&dir, "not json");
    let out = support::run(&["generate", "--from-binary", &bin]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad option catalog"));

    let out = support::run(&["generate", "--from-binary", "/bin/false"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains(NAMESPACES_FLAG));
}
