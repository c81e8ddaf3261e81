//! `fjord-config generate`: sample and Markdown reference from the
//! registry; the sample kept in docs/config.md must not be stale.

use crate::support;

use std::path::Path;

#[test]
fn ini_and_markdown_outputs() {
    let out = support::run(&["generate", "--namespace", "fjord.launcher"]);
    assert_eq!(out.status.code(), Some(0));
    let ini = support::stdout(&out);
    assert!(ini.starts_with("[DEFAULT]\n"));
    for opt in [
        "graceful_shutdown_timeout = 60",
        "log_options = true",
        "host = <current_hostname>",
        "state_path = /var/lib/fjord",
    ] {
        assert!(ini.contains(&format!("#{opt}\n")), "missing {opt}:\n{ini}");
    }
    let out = support::run(&[
        "generate",
        "--namespace",
        "fjord.launcher",
        "--format",
        "markdown",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let md = support::stdout(&out);
    assert!(
        md.contains("### `graceful_shutdown_timeout`") && md.contains("`OS_DEFAULT__LOG_OPTIONS`")
    );

    let dir = support::temp_dir("gen");
    let target = dir.join("fjord.conf.sample");
    let out = support::run(&[
        "generate",
        "--namespace",
        "fjord.launcher",
        "--output-file",
        &target.display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(std::fs::read_to_string(&target).unwrap(), ini);

    let out = support::run(&["generate", "--namespace", "nope"]);
    assert_eq!(out.status.code(), Some(2));
}

/// docs/config.md keeps the launcher sample between markers; regenerate it
/// with `fjord-config generate --namespace fjord.launcher` when this fails.
#[test]
fn sample_in_docs_is_not_stale() {
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/config.md");
    let text = std::fs::read_to_string(&docs).expect("docs/config.md exists");
    let begin = "<!-- BEGIN GENERATED fjord.launcher sample -->\n```ini\n";
    let end = "```\n<!-- END GENERATED fjord.launcher sample -->";
    let start = text.find(begin).expect("begin marker") + begin.len();
    let stop = text[start..].find(end).expect("end marker") + start;
    let out = support::run(&["generate", "--namespace", "fjord.launcher"]);
    assert_eq!(
        &text[start..stop],
        support::stdout(&out),
        "docs/config.md has a stale sample: regenerate it"
    );
}
