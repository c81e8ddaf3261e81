//! The INI reader on hostile input: any bytes or text, and text built from
//! INI's own pieces, parse or give an error; never a panic.

use fjord_config::ini::IniFile;
use fjord_test_support::hostile::{any_bytes, any_text, check, tokens};

const INI: &[&str] = &[
    "[",
    "]",
    "[DEFAULT]",
    "[api]",
    "\n",
    "\r\n",
    " ",
    "\t",
    "=",
    ":",
    "key",
    "other",
    "value",
    "#",
    ";",
    "%",
    "%(",
    ")s",
    "%(key)s",
    "$",
    "${",
    "}",
    "\\",
    "\"",
    "\u{feff}",
    "\u{a0}",
    "\0",
    "é",
    "  continued",
    "\n ",
];

#[test]
fn ini_reader_never_panics_on_ini_like_text() {
    check("ini tokens", 3000, tokens(INI, 60), |text| {
        let _ = IniFile::parse_str(&text, "hostile.conf");
        Ok(())
    });
}

#[test]
fn ini_reader_never_panics_on_any_text_or_bytes() {
    check("ini text", 1000, any_text(200), |text| {
        let _ = IniFile::parse_str(&text, "hostile.conf");
        Ok(())
    });
    check("ini bytes", 1000, any_bytes(200), |bytes| {
        let _ = IniFile::parse_bytes(&bytes, "hostile.conf");
        Ok(())
    });
}
