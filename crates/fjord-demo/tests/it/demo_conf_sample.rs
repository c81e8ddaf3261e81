//! `etc/demo/demo.conf.sample` is what `fjord-config generate --from-binary
//! demo-api` writes: each demo binary answers the hidden
//! `--fjord-config-namespaces` flag with the namespaces it registers, in
//! sample order, and the kept sample is not stale.

use std::path::Path;

use fjord::config::generator::sample_ini;
use fjord::config::{Catalog, NAMESPACES_FLAG, Namespace};

fn namespaces_of(binary: &str) -> Catalog {
    let out = std::process::Command::new(binary)
        .arg(NAMESPACES_FLAG)
        .output()
        .expect("the demo binary runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{binary} {NAMESPACES_FLAG}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Catalog::from_json(&String::from_utf8_lossy(&out.stdout)).expect("a catalog as JSON")
}

#[test]
fn every_binary_answers_with_its_namespaces() {
    for binary in [
        env!("CARGO_BIN_EXE_demo-api"),
        env!("CARGO_BIN_EXE_demo-worker"),
        env!("CARGO_BIN_EXE_demo-all"),
    ] {
        assert_eq!(
            namespaces_of(binary).names().collect::<Vec<_>>(),
            [
                "fjord.launcher",
                "fjord.http",
                "fjord.messaging",
                "fjord.service",
                "keystonemiddleware.auth_token",
                "oslo.policy",
                "fjord.demo"
            ],
            "{binary}"
        );
    }
}

#[test]
fn sample_is_not_stale() {
    let catalog = namespaces_of(env!("CARGO_BIN_EXE_demo-api"));
    let namespaces: Vec<&Namespace> = catalog.namespaces().collect();
    let fresh = sample_ini(&namespaces);
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../etc/demo/demo.conf.sample");
    let kept = std::fs::read_to_string(&file).unwrap_or_default();
    assert!(
        kept == fresh,
        "etc/demo/demo.conf.sample is stale (an option declaration changed); refresh it from \
         the repository root with:\n  cargo build -q -p fjord-demo --bin demo-api && \
         cargo run -q -p fjord-tools --bin fjord-config -- generate --from-binary \
         ${{CARGO_TARGET_DIR:-target}}/debug/demo-api --output-file etc/demo/demo.conf.sample\n"
    );
}
