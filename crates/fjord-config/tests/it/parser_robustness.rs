//! Arbitrary input never panics the reader or the resolver: it parses or
//! gives an error with a line inside the file (bounded pseudo-random cases).

use fjord_config::dump::{Dump, dump_files};
use fjord_config::ini::{IniFile, ParseError};

const PIECES: &[&str] = &[
    "[DEFAULT]",
    "[a]",
    "[",
    "]",
    "[]",
    "[A b]",
    "key",
    "k-2",
    " ",
    "\t",
    "=",
    ":",
    "#",
    ";",
    "\"",
    "'",
    "$",
    "$$",
    "\\$",
    "${",
    "}",
    "${a.key}",
    "$key",
    "$DEFAULT",
    ".",
    "\u{a0}",
    "\u{2028}",
    "\u{feff}",
    "é",
    "\n",
    "\n",
    "\n",
    "\r",
    "\r\n",
    "value",
    "0",
    "a,b",
];

#[test]
fn random_input_never_panics() {
    let mut seed: u64 = 0x5eed_f00d;
    let mut next = || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) as usize
    };
    let (mut ok, mut failed) = (0, 0);
    for _ in 0..3000 {
        let n = next() % 40;
        let mut text = String::new();
        for _ in 0..n {
            text.push_str(PIECES[next() % PIECES.len()]);
        }
        let lines = text.split(['\n', '\r']).count();
        match IniFile::parse_str(&text, "fuzz.conf") {
            Ok(file) => {
                ok += 1;
                match dump_files(&[file]) {
                    Dump::Ok { .. } => {}
                    other => panic!("parsed file failed to dump: {other:?}"),
                }
            }
            Err(ParseError::Syntax { line, .. }) => {
                failed += 1;
                assert!(
                    line >= 1 && line <= lines.max(1),
                    "line {line} outside {lines} for {text:?}"
                );
            }
            Err(other) => panic!("unexpected error {other:?}"),
        }
        // Bytes that are not UTF-8 give a decode error, never a panic.
        let mut bytes = text.into_bytes();
        bytes.insert(next() % (bytes.len() + 1), 0xff);
        assert!(IniFile::parse_bytes(&bytes, "fuzz.conf").is_err());
    }
    assert!(
        ok > 100 && failed > 100,
        "ok {ok}, failed {failed}: generator too narrow"
    );
}

#[test]
fn config_opts_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<fjord_config::ConfigOpts>();
    check::<fjord_config::Error>();
}
