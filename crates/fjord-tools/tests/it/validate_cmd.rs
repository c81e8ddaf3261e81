//! `fjord-config validate`: unknown options, bad values, each with file and
//! line; exit 1 if anything is wrong, 0 if clean, 2 for bad arguments.

use crate::support;

#[test]
fn problems_are_reported_with_file_and_line_and_exit_one() {
    let dir = support::temp_dir("validate");
    let file = dir.join("svc.conf");
    std::fs::write(
        &file,
        "[DEFAULT]\n# launcher\ngraceful_shutdown_timeout = -1\nlog_options = maybe\nhost = node-1\ntypo_option = 1\n[unknown_group]\nx = 1\n",
    )
    .unwrap();
    let f = file.display().to_string();
    let out = support::run(&[
        "validate",
        "--config-file",
        &f,
        "--namespace",
        "fjord.launcher",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let text = support::stdout(&out);
    for needle in [
        format!(
            "{f}:3: ERROR: [DEFAULT] graceful_shutdown_timeout = '-1': expected an integer >= 0"
        ),
        format!("{f}:4: ERROR: [DEFAULT] log_options = 'maybe'"),
        format!("{f}:6: ERROR: [DEFAULT] typo_option: unknown option"),
        format!("{f}:8: ERROR: [unknown_group] x: unknown option"),
        "4 error(s), 0 warning(s)".to_owned(),
    ] {
        assert!(text.contains(&needle), "missing {needle:?} in:\n{text}");
    }
    assert!(!text.contains(":5:"), "host = node-1 is fine:\n{text}");
}

#[test]
fn clean_file_exits_zero() {
    let dir = support::temp_dir("validate-ok");
    let file = dir.join("ok.conf");
    std::fs::write(
        &file,
        "[DEFAULT]\ngraceful_shutdown_timeout = 0\nlog_options = false\nstate_path = /srv\n",
    )
    .unwrap();
    let out = support::run(&["validate", "--config-file", &file.display().to_string()]);
    assert_eq!(out.status.code(), Some(0), "{}", support::stdout(&out));
    assert!(support::stdout(&out).contains("0 error(s)"));
}

#[test]
fn malformed_file_and_bad_arguments() {
    let dir = support::temp_dir("validate-bad");
    let file = dir.join("bad.conf");
    std::fs::write(&file, "[DEFAULT]\nno separator here\n").unwrap();
    let f = file.display().to_string();
    let out = support::run(&["validate", "--config-file", &f]);
    assert_eq!(out.status.code(), Some(1));
    assert!(support::stdout(&out).contains(&format!("{f}:2, No ':' or '=' found")));

    let out = support::run(&["validate", "--config-file", &f, "--namespace", "no.such.ns"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown namespace"));
}
