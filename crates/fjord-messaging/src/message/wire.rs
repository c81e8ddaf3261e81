//! The envelope's bytes (WIRE.md §4.2): written in one pass, read in one
//! pass per layer, without building a [`Value`] tree for the outer object
//! nor a [`Map`] for the inner message.
//!
//! * Writing: the inner message is serialized straight into the envelope's
//!   `oslo.message` string, escaped on the way ([`Escaped`]); keys come in
//!   the order a [`Map`] (sorted) gives them, so the bytes are those of
//!   `encode_envelope(&to_inner())`.
//! * Reading: [`Outer`] keeps the two envelope keys and drops any other;
//!   [`RequestIn`] and [`ReplyIn`] keep the keys a request or a reply is
//!   read from, as [`Value`]s, and drop the rest. A key seen twice keeps
//!   its last value, as in a [`Map`]; what a full parse rejects (bad
//!   UTF-8, nesting past serde_json's limit) is rejected in any key.

use std::fmt;
use std::io;

use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// Writes what is written to it into a JSON string's body: `"` and `\`
/// escaped, control characters as serde_json escapes them. The inner JSON
/// text serde_json writes has no raw control character (its strings
/// escape them), so in practice only `"` and `\` are escaped.
struct Escaped<'a>(&'a mut Vec<u8>);

impl io::Write for Escaped<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let out = &mut *self.0;
        let mut start = 0;
        for (i, &b) in buf.iter().enumerate() {
            let short: &[u8] = match b {
                b'"' => b"\\\"",
                b'\\' => b"\\\\",
                b'\x08' => b"\\b",
                b'\t' => b"\\t",
                b'\n' => b"\\n",
                b'\x0c' => b"\\f",
                b'\r' => b"\\r",
                0..=0x1f => b"",
                _ => continue,
            };
            out.extend_from_slice(&buf[start..i]);
            if short.is_empty() {
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 0xf)]);
            } else {
                out.extend_from_slice(short);
            }
            start = i + 1;
        }
        out.extend_from_slice(&buf[start..]);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The 2.0 envelope around `inner`:
/// `{"oslo.message":"<inner as escaped JSON>","oslo.version":"2.0"}`.
pub(super) fn envelope<T: Serialize + ?Sized>(inner: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(320);
    out.extend_from_slice(br#"{"oslo.message":""#);
    // Cannot fail: the writer is a Vec, and every map key fjord writes
    // is a string.
    let _ = serde_json::to_writer(Escaped(&mut out), inner);
    out.extend_from_slice(br#"","oslo.version":"2.0"}"#);
    out
}

/// A request context key on the wire: `_context_<key>`, written without
/// building the string.
pub(super) struct ContextKey<'a>(pub(super) &'a str);

impl Serialize for ContextKey<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("_context_{}", self.0))
    }
}

/// Writes the entries of a map in the order given.
pub(super) fn write_map<S: Serializer>(
    s: S,
    entries: impl FnOnce(&mut S::SerializeMap) -> std::result::Result<(), S::Error>,
) -> std::result::Result<S::Ok, S::Error> {
    let mut m = s.serialize_map(None)?;
    entries(&mut m)?;
    m.end()
}

/// What a body holds once its envelope is opened.
pub(super) enum Body<'a> {
    /// The text of a 2.0 envelope's `oslo.message`.
    Enveloped(String),
    /// A legacy ("1.0") message: the body itself is the inner message.
    Legacy(&'a [u8]),
}

/// Opens a body as the Python receiver does (WIRE.md §4.1, §4.2): checks
/// the content type, reads the outer object and, when it has both envelope
/// keys, checks the version and takes the `oslo.message` text.
pub(super) fn open<'a>(content_type: Option<&str>, body: &'a [u8]) -> Result<Body<'a>> {
    match content_type {
        Some(ct) if ct.eq_ignore_ascii_case("application/json") => {}
        other => {
            return Err(Error::decode(format!(
                "content type {other:?} is not application/json"
            )));
        }
    }
    let outer: Outer = serde_json::from_slice(body).map_err(|e| {
        if e.classify() == serde_json::error::Category::Data {
            Error::decode_json("body is not a JSON object", e)
        } else {
            Error::decode_json("body is not JSON", e)
        }
    })?;
    match (outer.version, outer.message) {
        (Some(ver), Some(msg)) => {
            let ver = ver.as_str().unwrap_or("");
            let ok = ver
                .split_once('.')
                .and_then(|(a, b)| Some((a.parse::<u64>().ok()?, b.parse::<u64>().ok()?)))
                .is_some_and(|(maj, min)| maj == 2 && min == 0);
            if !ok {
                return Err(Error::decode(format!(
                    "unsupported envelope version {ver:?}"
                )));
            }
            match msg {
                Value::String(text) => Ok(Body::Enveloped(text)),
                _ => Err(Error::decode("oslo.message is not a string")),
            }
        }
        _ => Ok(Body::Legacy(body)),
    }
}

/// Reads the inner message of `body` as a `T` (a JSON object).
pub(super) fn inner<T: for<'de> Deserialize<'de>>(body: Body<'_>) -> Result<T> {
    let parsed = match &body {
        Body::Enveloped(text) => serde_json::from_str(text),
        Body::Legacy(bytes) => serde_json::from_slice(bytes),
    };
    parsed.map_err(|e| match (e.classify(), &body) {
        // A value that is not an object is refused at its first byte.
        (serde_json::error::Category::Data, _) => {
            Error::decode_json("oslo.message is not a JSON object", e)
        }
        (_, Body::Enveloped(_)) => Error::decode_json("oslo.message is not JSON", e),
        (_, Body::Legacy(_)) => Error::decode_json("body is not JSON", e),
    })
}

/// A map key: one of `names` (its index), or any other.
struct Key<const N: usize> {
    index: Option<usize>,
    /// The key itself, kept only when it starts with `keep_prefix`.
    kept: Option<String>,
}

struct KeyVisitor<const N: usize> {
    names: [&'static str; N],
    keep_prefix: Option<&'static str>,
}

impl<'de, const N: usize> de::DeserializeSeed<'de> for KeyVisitor<N> {
    type Value = Key<N>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<Key<N>, D::Error> {
        d.deserialize_identifier(self)
    }
}

impl<const N: usize> Visitor<'_> for KeyVisitor<N> {
    type Value = Key<N>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string key")
    }
    fn visit_str<E: de::Error>(self, k: &str) -> std::result::Result<Key<N>, E> {
        let index = self.names.iter().position(|n| *n == k);
        let kept = match (index, self.keep_prefix) {
            (None, Some(p)) => k.strip_prefix(p).map(str::to_string),
            _ => None,
        };
        Ok(Key { index, kept })
    }
}

/// Reads every entry of a JSON object: `set(index, value)` for the keys
/// in `names`, `keep(suffix, value)` for those starting with
/// `keep_prefix`; other values are dropped.
fn read_object<'de, A: MapAccess<'de>, const N: usize>(
    mut map: A,
    names: [&'static str; N],
    keep_prefix: Option<&'static str>,
    mut set: impl FnMut(usize, Value),
    mut keep: impl FnMut(String, Value),
) -> std::result::Result<(), A::Error> {
    while let Some(key) = map.next_key_seed(KeyVisitor { names, keep_prefix })? {
        match (key.index, key.kept) {
            (Some(i), _) => set(i, map.next_value()?),
            (None, Some(k)) => keep(k, map.next_value()?),
            // Read (and dropped) as a value all the same: the checks of
            // a full parse (UTF-8, nesting depth) apply to every key.
            (None, None) => drop(map.next_value::<Value>()?),
        }
    }
    Ok(())
}

/// Implements `Deserialize` for a struct read by [`read_object`].
macro_rules! object {
    ($ty:ident, $what:literal, |$map:ident| $body:expr) => {
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = $ty;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($what)
                    }
                    fn visit_map<A: MapAccess<'de>>(
                        self,
                        $map: A,
                    ) -> std::result::Result<$ty, A::Error> {
                        $body
                    }
                }
                d.deserialize_map(V)
            }
        }
    };
}

/// The outer object of a body: its envelope keys, when present.
struct Outer {
    version: Option<Value>,
    message: Option<Value>,
}

object!(Outer, "a JSON object", |map| {
    let mut o = Outer {
        version: None,
        message: None,
    };
    read_object(
        map,
        ["oslo.version", "oslo.message"],
        None,
        |i, v| match i {
            0 => o.version = Some(v),
            _ => o.message = Some(v),
        },
        |_, _| {},
    )?;
    Ok(o)
});

/// The keys a request is read from (WIRE.md §4.3), each as found.
#[derive(Default)]
pub(super) struct RequestIn {
    pub(super) method: Option<Value>,
    pub(super) args: Option<Value>,
    pub(super) namespace: Option<Value>,
    pub(super) version: Option<Value>,
    pub(super) msg_id: Option<Value>,
    pub(super) reply_q: Option<Value>,
    pub(super) timeout: Option<Value>,
    pub(super) unique_id: Option<Value>,
    /// `_context_<k>` entries, by `k`.
    pub(super) context: Map<String, Value>,
}

pub(super) const CONTEXT_PREFIX: &str = "_context_";

const REQUEST_KEYS: [&str; 8] = [
    "method",
    "args",
    "namespace",
    "version",
    "_msg_id",
    "_reply_q",
    "_timeout",
    "_unique_id",
];

impl RequestIn {
    fn set(&mut self, i: usize, v: Value) {
        let slot = match i {
            0 => &mut self.method,
            1 => &mut self.args,
            2 => &mut self.namespace,
            3 => &mut self.version,
            4 => &mut self.msg_id,
            5 => &mut self.reply_q,
            6 => &mut self.timeout,
            _ => &mut self.unique_id,
        };
        *slot = Some(v);
    }

    /// The same keys taken out of an inner message already read as a map.
    pub(super) fn from_map(inner: Map<String, Value>) -> Self {
        let mut r = RequestIn::default();
        for (k, v) in inner {
            if let Some(i) = REQUEST_KEYS.iter().position(|n| *n == k) {
                r.set(i, v);
            } else if let Some(c) = k.strip_prefix(CONTEXT_PREFIX) {
                r.context.insert(c.to_string(), v);
            }
        }
        r
    }
}

object!(RequestIn, "a JSON object", |map| {
    let mut r = RequestIn::default();
    let mut context = Map::new();
    read_object(
        map,
        REQUEST_KEYS,
        Some(CONTEXT_PREFIX),
        |i, v| r.set(i, v),
        |k, v| {
            context.insert(k, v);
        },
    )?;
    r.context = context;
    Ok(r)
});

/// The keys a reply is read from (WIRE.md §6.1), each as found.
#[derive(Default)]
pub(super) struct ReplyIn {
    pub(super) result: Option<Value>,
    pub(super) failure: Option<Value>,
    pub(super) ending: Option<Value>,
    pub(super) msg_id: Option<Value>,
    pub(super) unique_id: Option<Value>,
}

const REPLY_KEYS: [&str; 5] = ["result", "failure", "ending", "_msg_id", "_unique_id"];

impl ReplyIn {
    fn set(&mut self, i: usize, v: Value) {
        let slot = match i {
            0 => &mut self.result,
            1 => &mut self.failure,
            2 => &mut self.ending,
            3 => &mut self.msg_id,
            _ => &mut self.unique_id,
        };
        *slot = Some(v);
    }

    /// The same keys copied from an inner message already read as a map.
    pub(super) fn from_map(inner: &Map<String, Value>) -> Self {
        let mut r = ReplyIn::default();
        for (i, k) in REPLY_KEYS.iter().enumerate() {
            if let Some(v) = inner.get(*k) {
                r.set(i, v.clone());
            }
        }
        r
    }
}

object!(ReplyIn, "a JSON object", |map| {
    let mut r = ReplyIn::default();
    read_object(map, REPLY_KEYS, None, |i, v| r.set(i, v), |_, _| {})?;
    Ok(r)
});

/// A request's inner message as [`super::Request::to_inner`] builds it,
/// written without building it.
pub(super) struct RequestOut<'a>(pub(super) &'a super::Request);

impl Serialize for RequestOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let r = self.0;
        // The keys in sorted order (a `Map`'s): `_context_*` sort before
        // `_msg_id`, `_` before letters.
        write_map(s, |m| {
            for (k, v) in &r.context {
                m.serialize_entry(&ContextKey(k), v)?;
            }
            if r.is_call {
                m.serialize_entry("_msg_id", &r.msg_id)?;
                m.serialize_entry("_reply_q", &r.reply_q)?;
                m.serialize_entry("_timeout", &r.timeout)?;
            }
            if let Some(u) = &r.unique_id {
                m.serialize_entry("_unique_id", u)?;
            }
            m.serialize_entry("args", &r.args)?;
            m.serialize_entry("method", &r.method)?;
            if let Some(n) = &r.namespace {
                m.serialize_entry("namespace", n)?;
            }
            if let Some(v) = &r.version {
                m.serialize_entry("version", v)?;
            }
            Ok(())
        })
    }
}

/// A reply's inner message as [`super::Reply::to_inner`] builds it,
/// written without building it.
pub(super) struct ReplyOut<'a>(pub(super) &'a super::Reply);

impl Serialize for ReplyOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let r = self.0;
        write_map(s, |m| {
            m.serialize_entry("_msg_id", &r.msg_id)?;
            if let Some(u) = &r.unique_id {
                m.serialize_entry("_unique_id", u)?;
            }
            m.serialize_entry("ending", &r.ending)?;
            // A JSON *string*, as Python requires.
            let failure = r.failure.as_ref().map(|f| f.to_failure_json());
            m.serialize_entry("failure", &failure)?;
            m.serialize_entry("result", &r.result)?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn escaping_writes_what_serde_json_writes_for_a_string() {
        let text: String = (0u8..=0x7f)
            .map(char::from)
            .chain("é😀\"\\".chars())
            .collect();
        let mut out = Vec::new();
        // In pieces, as serde_json writes.
        for piece in text.as_bytes().chunks(7) {
            Escaped(&mut out).write_all(piece).unwrap();
        }
        let want = serde_json::to_string(&text).unwrap();
        assert_eq!(format!("\"{}\"", String::from_utf8(out).unwrap()), want);
    }
}
