//! `--help` says what each tool is before it lists commands and options.

use std::process::Command;

fn help(exe: &str) -> String {
    let out = Command::new(exe).arg("--help").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn each_tool_describes_itself() {
    for (exe, what) in [
        (
            env!("CARGO_BIN_EXE_fjord-manage"),
            "fjord-manage works on the state a fjord deployment shares",
        ),
        (
            env!("CARGO_BIN_EXE_fjord-config"),
            "fjord-config is the configuration tool of fjord services",
        ),
    ] {
        let text = help(exe);
        let at = text.find(what).unwrap_or_else(|| panic!("{exe}:\n{text}"));
        assert!(at < text.find("Usage:").unwrap(), "{exe}:\n{text}");
        assert!(text.contains("Exit codes:"), "{exe}:\n{text}");
    }
}
