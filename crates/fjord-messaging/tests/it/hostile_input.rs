//! Transport URLs and message bodies on hostile input: parse or give an
//! error, never a panic.

use fjord_messaging::TransportUrl;
use fjord_messaging::message::{Request, decode_body};
use fjord_test_support::hostile::{any_bytes, any_text, check, tokens};

const URL: &[&str] = &[
    "rabbit://",
    "kombu://",
    "amqp://",
    "embedded://",
    "fake://",
    "x://",
    "//",
    "/",
    ":",
    "@",
    ",",
    "?",
    "&",
    "=",
    "#",
    "%",
    "%2F",
    "%zz",
    "[",
    "]",
    "::1",
    "user",
    "pass",
    "host",
    "5672",
    "99999",
    "-1",
    "vhost",
    "ssl=1",
    "a=1",
    " ",
    "\u{0}",
    "é",
];

const JSON: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\"",
    "\\\"",
    "oslo.version",
    "oslo.message",
    "2.0",
    "1.0",
    "3.1",
    "method",
    "args",
    "_context_user",
    "_msg_id",
    "_reply_q",
    "version",
    "namespace",
    "null",
    "true",
    "1",
    "-1e999",
    "\"\\u00e9\"",
    "\"\\ud800\"",
    " ",
];

#[test]
fn transport_url_never_panics() {
    check("url tokens", 3000, tokens(URL, 30), |text| {
        let _ = TransportUrl::parse(&text);
        Ok(())
    });
    check("url text", 1000, any_text(100), |text| {
        let _ = TransportUrl::parse(&text);
        Ok(())
    });
}

#[test]
fn message_decoder_never_panics() {
    let decode = |body: &[u8]| {
        if let Ok(inner) = decode_body(Some("application/json"), body) {
            let _ = Request::from_inner(inner);
        }
    };
    check("body tokens", 3000, tokens(JSON, 40), |text| {
        decode(text.as_bytes());
        Ok(())
    });
    check("body bytes", 1000, any_bytes(200), |bytes| {
        decode(&bytes);
        Ok(())
    });
}
