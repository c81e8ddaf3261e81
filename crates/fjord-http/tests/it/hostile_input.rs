//! The paste-deploy reader on hostile input: parses or gives an error,
//! never a panic.

use fjord_http::loader::PasteConfig;
use fjord_test_support::hostile::{any_text, check, tokens};

const PASTE: &[&str] = &[
    "[",
    "]",
    "[composite:main]",
    "[pipeline:main]",
    "[app:hello]",
    "[filter:f]",
    "[app:",
    "[DEFAULT]",
    "\n",
    " ",
    "=",
    ":",
    "use",
    "egg:fjord#hello",
    "call:x:y",
    "config:other.ini",
    "pipeline",
    "f hello",
    "/",
    "/v1",
    "set ",
    "get ",
    "%(here)s",
    "%(",
    ")s",
    "#",
    "\\",
    "paste.app_factory",
    "\u{feff}",
];

#[test]
fn paste_reader_never_panics_on_paste_like_text() {
    check("paste tokens", 3000, tokens(PASTE, 60), |text| {
        let _ = PasteConfig::parse(&text, "/etc/api-paste.ini");
        Ok(())
    });
    check("paste text", 1000, any_text(200), |text| {
        let _ = PasteConfig::parse(&text, "/etc/api-paste.ini");
        Ok(())
    });
}
