//! The wire format: the 2.0 envelope, requests, replies and the request
//! context (WIRE.md §4, §6).

use fjord_context::{ContextError, RequestContext};
use serde_json::{Map, Value};

use crate::error::{Error, RemoteError, Result};

/// The request context: a flat map carried as `_context_<key>` entries.
///
/// It usually holds an OpenStack `RequestContext.to_dict()` (user, project,
/// roles, `auth_token`, ...): [`RequestContext`] converts to it with
/// `Context::from(&request_context)` and back with
/// `RequestContext::try_from(&ctx)`. `Debug` prints keys only, never values, since
/// real deployments send tokens.
///
/// # Examples
///
/// ```
/// use fjord_messaging::Context;
/// let ctx = Context::new().with("user_id", "u1").with("auth_token", "secret");
/// assert_eq!(ctx.get("user_id").and_then(|v| v.as_str()), Some("u1"));
/// assert!(!format!("{ctx:?}").contains("secret"));
/// ```
#[derive(Clone, Default, PartialEq)]
pub struct Context {
    values: Map<String, Value>,
    client_timeout: Option<Value>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("keys", &self.values.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl From<Map<String, Value>> for Context {
    fn from(values: Map<String, Value>) -> Self {
        Context {
            values,
            client_timeout: None,
        }
    }
}

impl Context {
    /// An empty context.
    pub fn new() -> Self {
        Context::default()
    }
    /// Adds `key: value`.
    pub fn with(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.values.insert(key.into(), value.into());
        self
    }
    /// Sets `key: value`.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<Value>) {
        self.values.insert(key.into(), value.into());
    }
    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.values.get(key)
    }
    /// Every entry.
    pub fn values(&self) -> &Map<String, Value> {
        &self.values
    }
    /// Takes the entries out.
    pub fn into_values(self) -> Map<String, Value> {
        self.values
    }
    /// On the server side: the caller's `_timeout` (call-monitor timeout),
    /// which Python endpoints see as `ctxt["client_timeout"]`.
    pub fn client_timeout(&self) -> Option<&Value> {
        self.client_timeout.as_ref()
    }
}

/// A [`RequestContext`] as RPC sends it: its
/// [`to_dict`](RequestContext::to_dict) (oslo.context's keys, the names and
/// service identity when set, the unknown keys it was received with) as
/// the `_context_*` entries. A Python server's endpoint gets the dict and
/// rebuilds it with `RequestContext.from_dict(ctxt)`.
///
/// # Examples
///
/// ```
/// use fjord_messaging::{Context, RequestContext};
/// let mut rctx = RequestContext::new();
/// rctx.user_id = Some("u1".into());
/// let ctx = Context::from(&rctx);
/// assert_eq!(ctx.get("user").and_then(|v| v.as_str()), Some("u1"));
/// assert_eq!(ctx.get("request_id").and_then(|v| v.as_str()), Some(rctx.request_id.as_str()));
/// ```
impl From<&RequestContext> for Context {
    fn from(ctx: &RequestContext) -> Self {
        Context::from(ctx.to_dict())
    }
}

/// See `From<&RequestContext>`.
impl From<RequestContext> for Context {
    fn from(ctx: RequestContext) -> Self {
        Context::from(&ctx)
    }
}

/// The [`RequestContext`] of a received request, read with
/// [`RequestContext::from_dict`] as oslo.context's `from_dict` does (a
/// Python client's `RequestContext.to_dict()`, nova's, or fjord's); keys
/// it does not know are kept in [`RequestContext::extra`]. The call
/// monitor's `client_timeout` is not part of it.
///
/// # Errors
///
/// [`ContextError`] when a known key has the wrong JSON type (`roles` not
/// a list of strings, ...). In an endpoint, `?` turns it into a
/// `ValueError` remote error (`From<ContextError> for RemoteError`).
///
/// # Examples
///
/// ```
/// use fjord_messaging::{Context, RequestContext};
/// let ctx = Context::new().with("user", "u1").with("roles", serde_json::json!(["admin"]))
///     .with("read_deleted", "yes");
/// let rctx = RequestContext::try_from(&ctx)?;
/// assert_eq!(rctx.user_id.as_deref(), Some("u1"));
/// assert_eq!(rctx.roles, ["admin"]);
/// assert_eq!(rctx.extra["read_deleted"], "yes");
/// # Ok::<(), fjord_messaging::ContextError>(())
/// ```
impl TryFrom<&Context> for RequestContext {
    type Error = ContextError;
    fn try_from(ctx: &Context) -> std::result::Result<Self, ContextError> {
        RequestContext::from_dict(&ctx.values)
    }
}

/// See `TryFrom<&Context>`.
impl TryFrom<Context> for RequestContext {
    type Error = ContextError;
    fn try_from(ctx: Context) -> std::result::Result<Self, ContextError> {
        RequestContext::from_dict(&ctx.values)
    }
}

/// Serializes `inner` into the 2.0 envelope (`{"oslo.version": "2.0", "oslo.message": "<json>"}`).
pub fn encode_envelope(inner: &Map<String, Value>) -> Vec<u8> {
    let msg = Value::Object(inner.clone()).to_string();
    let mut env = Map::new();
    env.insert("oslo.version".into(), Value::String("2.0".into()));
    env.insert("oslo.message".into(), Value::String(msg));
    Value::Object(env).to_string().into_bytes()
}

/// Reads a message body as the Python receiver does (WIRE.md §4.1, §4.2):
/// requires `content_type` `application/json`, unwraps a 2.0 envelope
/// (major 2, minor 0), accepts a bare JSON object as a legacy message.
///
/// # Errors
///
/// [`ErrorKind::Decode`](crate::ErrorKind::Decode) for another content type, a body that is not a JSON
/// object, an incompatible `oslo.version` or an `oslo.message` that is not a
/// JSON object string. The receiver rejects such messages without reply.
pub fn decode_body(content_type: Option<&str>, body: &[u8]) -> Result<Map<String, Value>> {
    match content_type {
        Some(ct) if ct.eq_ignore_ascii_case("application/json") => {}
        other => {
            return Err(Error::decode(format!(
                "content type {other:?} is not application/json"
            )));
        }
    }
    let v: Value =
        serde_json::from_slice(body).map_err(|e| Error::decode_json("body is not JSON", e))?;
    let Value::Object(obj) = v else {
        return Err(Error::decode("body is not a JSON object"));
    };
    match (obj.get("oslo.version"), obj.get("oslo.message")) {
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
            let text = msg
                .as_str()
                .ok_or_else(|| Error::decode("oslo.message is not a string"))?;
            match serde_json::from_str(text) {
                Ok(Value::Object(inner)) => Ok(inner),
                Ok(_) => Err(Error::decode("oslo.message is not a JSON object")),
                Err(e) => Err(Error::decode_json("oslo.message is not JSON", e)),
            }
        }
        _ => Ok(obj),
    }
}

fn uuid_hex() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// A new `_unique_id` / `_msg_id`: uuid4 as 32 lowercase hex characters.
pub fn new_id() -> String {
    uuid_hex()
}

/// An RPC request (call or cast), the inner message of WIRE.md §4.3.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Request {
    /// The method name.
    pub method: String,
    /// Keyword arguments.
    pub args: Map<String, Value>,
    /// Target namespace; sent only when set.
    pub namespace: Option<String>,
    /// Target version; sent only when set (the server reads a missing one as `1.0`).
    pub version: Option<String>,
    /// Reply correlation id (calls only).
    pub msg_id: Option<String>,
    /// Reply queue name (calls only).
    pub reply_q: Option<String>,
    /// Call-monitor timeout in seconds (`_timeout`; calls only, may be null).
    pub timeout: Option<Value>,
    /// Whether this is a call (so `_timeout` is always written, possibly null).
    pub is_call: bool,
    /// Duplicate-detection id.
    pub unique_id: Option<String>,
    /// The request context.
    pub context: Map<String, Value>,
}

impl Request {
    /// A cast of `method` with `args` and a fresh `_unique_id`.
    pub fn cast(method: impl Into<String>, args: Map<String, Value>) -> Self {
        Request {
            method: method.into(),
            args,
            namespace: None,
            version: None,
            msg_id: None,
            reply_q: None,
            timeout: None,
            is_call: false,
            unique_id: Some(uuid_hex()),
            context: Map::new(),
        }
    }

    /// The inner message, keys in Python's order.
    pub fn to_inner(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("method".into(), Value::String(self.method.clone()));
        m.insert("args".into(), Value::Object(self.args.clone()));
        if let Some(n) = &self.namespace {
            m.insert("namespace".into(), Value::String(n.clone()));
        }
        if let Some(v) = &self.version {
            m.insert("version".into(), Value::String(v.clone()));
        }
        if self.is_call {
            m.insert(
                "_msg_id".into(),
                self.msg_id.clone().map_or(Value::Null, Value::String),
            );
            m.insert(
                "_reply_q".into(),
                self.reply_q.clone().map_or(Value::Null, Value::String),
            );
            m.insert(
                "_timeout".into(),
                self.timeout.clone().unwrap_or(Value::Null),
            );
        }
        if let Some(u) = &self.unique_id {
            m.insert("_unique_id".into(), Value::String(u.clone()));
        }
        for (k, v) in &self.context {
            m.insert(format!("_context_{k}"), v.clone());
        }
        m
    }

    /// The enveloped body.
    pub fn encode(&self) -> Vec<u8> {
        encode_envelope(&self.to_inner())
    }

    /// Reads a request from an inner message as the Python server does
    /// (WIRE.md §5.1): `_context_*` keys become the context.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Decode`](crate::ErrorKind::Decode) when `method` is missing or not a string, or `args`
    /// is not an object.
    pub fn from_inner(mut inner: Map<String, Value>) -> Result<Self> {
        let mut context = Map::new();
        let keys: Vec<String> = inner
            .keys()
            .filter(|k| k.starts_with("_context_"))
            .cloned()
            .collect();
        for k in keys {
            if let Some(v) = inner.remove(&k) {
                context.insert(k["_context_".len()..].to_string(), v);
            }
        }
        let method = match inner.remove("method") {
            Some(Value::String(m)) => m,
            _ => return Err(Error::decode("request has no method name")),
        };
        let args = match inner.remove("args") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(a)) => a,
            Some(_) => return Err(Error::decode("request args is not an object")),
        };
        let s = |v: Option<Value>| match v {
            Some(Value::String(s)) => Some(s),
            _ => None,
        };
        let is_call = inner.contains_key("_msg_id");
        Ok(Request {
            method,
            args,
            namespace: s(inner.remove("namespace")),
            version: s(inner.remove("version")),
            msg_id: s(inner.remove("_msg_id")).filter(|m| !m.is_empty()),
            reply_q: s(inner.remove("_reply_q")),
            timeout: inner.remove("_timeout").filter(|v| !v.is_null()),
            is_call,
            unique_id: s(inner.remove("_unique_id")),
            context,
        })
    }

    /// The context for an endpoint, with `client_timeout` set from `_timeout`.
    pub(crate) fn endpoint_context(&self) -> Context {
        Context {
            values: self.context.clone(),
            client_timeout: Some(self.timeout.clone().unwrap_or(Value::Null)),
        }
    }
}

/// A reply (WIRE.md §6.1): a result or a failure, or a heartbeat when
/// `ending` is false and both are null.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Reply {
    /// The result (null on failure).
    pub result: Value,
    /// The failure, if the call failed.
    pub failure: Option<RemoteError>,
    /// Whether this is the last message for the call.
    pub ending: bool,
    /// The request's `_msg_id`.
    pub msg_id: String,
    /// A fresh id (optional on receive).
    pub unique_id: Option<String>,
}

impl Reply {
    /// The final reply for `msg_id` carrying `outcome`.
    pub fn ending(msg_id: &str, outcome: std::result::Result<Value, RemoteError>) -> Self {
        let (result, failure) = match outcome {
            Ok(v) => (v, None),
            Err(e) => (Value::Null, Some(e)),
        };
        Reply {
            result,
            failure,
            ending: true,
            msg_id: msg_id.to_string(),
            unique_id: Some(uuid_hex()),
        }
    }

    /// A call-monitor heartbeat for `msg_id` (`ending: false`, null result).
    pub fn heartbeat(msg_id: &str) -> Self {
        Reply {
            result: Value::Null,
            failure: None,
            ending: false,
            msg_id: msg_id.to_string(),
            unique_id: Some(uuid_hex()),
        }
    }

    /// The inner message; `failure` is a JSON *string* as Python requires.
    pub fn to_inner(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("result".into(), self.result.clone());
        m.insert(
            "failure".into(),
            self.failure
                .as_ref()
                .map_or(Value::Null, |f| Value::String(f.to_failure_json())),
        );
        m.insert("ending".into(), Value::Bool(self.ending));
        m.insert("_msg_id".into(), Value::String(self.msg_id.clone()));
        if let Some(u) = &self.unique_id {
            m.insert("_unique_id".into(), Value::String(u.clone()));
        }
        m
    }

    /// The enveloped body.
    pub fn encode(&self) -> Vec<u8> {
        encode_envelope(&self.to_inner())
    }

    /// Reads a reply; `allowed` is the client's `allowed_remote_exmods`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Decode`](crate::ErrorKind::Decode) when `_msg_id` is missing or the failure is unreadable.
    pub fn from_inner(inner: &Map<String, Value>, allowed: &[String]) -> Result<Self> {
        let msg_id = inner
            .get("_msg_id")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::decode("reply has no _msg_id"))?
            .to_string();
        let failure = match inner.get("failure") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(RemoteError::from_failure_json(s, allowed)?),
            Some(v) => Some(RemoteError::from_failure_value(v, allowed)?),
        };
        Ok(Reply {
            result: inner.get("result").cloned().unwrap_or(Value::Null),
            failure,
            ending: inner
                .get("ending")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            msg_id,
            unique_id: inner
                .get("_unique_id")
                .and_then(Value::as_str)
                .map(str::to_string),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn envelope_round_trip() {
        let mut r = Request::cast(
            "echo",
            json!({"x": "h\u{e9}"}).as_object().cloned().unwrap(),
        );
        r.context.insert("user".into(), json!("u"));
        let body = r.encode();
        let inner = decode_body(Some("application/json"), &body).unwrap();
        assert_eq!(inner["_context_user"], json!("u"));
        let back = Request::from_inner(inner).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn decode_rejects_bad_input() {
        assert!(decode_body(None, b"{}").is_err());
        assert!(decode_body(Some("text/plain"), b"{}").is_err());
        assert!(decode_body(Some("application/json"), b"not json").is_err());
        assert!(decode_body(Some("application/json"), b"[1]").is_err());
        let env = br#"{"oslo.version": "2.1", "oslo.message": "{}"}"#;
        assert!(decode_body(Some("application/json"), env).is_err());
        let env = br#"{"oslo.version": "3.0", "oslo.message": "{}"}"#;
        assert!(decode_body(Some("application/json"), env).is_err());
        let env = br#"{"oslo.version": "2.0", "oslo.message": "[1]"}"#;
        assert!(decode_body(Some("application/json"), env).is_err());
        // Legacy un-enveloped message is accepted.
        let legacy = br#"{"method": "m", "args": {}}"#;
        let inner = decode_body(Some("application/json"), legacy).unwrap();
        assert!(Request::from_inner(inner).is_ok());
        assert!(Request::from_inner(Map::new()).is_err());
    }

    #[test]
    fn cast_has_no_call_keys_and_call_always_has_timeout() {
        let r = Request::cast("m", Map::new());
        let inner = r.to_inner();
        assert!(!inner.contains_key("_msg_id") && !inner.contains_key("_timeout"));
        assert!(!inner.contains_key("version") && !inner.contains_key("namespace"));
        let mut c = r.clone();
        c.is_call = true;
        c.msg_id = Some(new_id());
        c.reply_q = Some("reply_x".into());
        assert_eq!(c.to_inner()["_timeout"], Value::Null);
    }

    #[test]
    fn random_and_mutated_bodies_never_panic() {
        use rand::Rng;
        let mut rng = rand::rng();
        let mut good = Request::cast("m", json!({"a": [1, 2]}).as_object().cloned().unwrap());
        good.is_call = true;
        good.msg_id = Some(new_id());
        let body = good.encode();
        let reply = Reply::ending("x", Err(RemoteError::value_error("v"))).encode();
        for i in 0..3000 {
            let mut b = if i % 2 == 0 {
                body.clone()
            } else {
                reply.clone()
            };
            for _ in 0..rng.random_range(1..4) {
                let at = rng.random_range(0..b.len());
                b[at] = rng.random();
            }
            if i % 7 == 0 {
                b = (0..rng.random_range(0..64)).map(|_| rng.random()).collect();
            }
            if let Ok(inner) = decode_body(Some("application/json"), &b) {
                let _ = Request::from_inner(inner.clone());
                let _ = Reply::from_inner(&inner, &[]);
            }
        }
    }

    #[test]
    fn reply_failure_is_a_string() {
        let r = Reply::ending("abc", Err(RemoteError::value_error("boom")));
        let inner = r.to_inner();
        assert!(inner["failure"].is_string());
        let back = Reply::from_inner(&inner, &[]).unwrap();
        assert!(back.failure.unwrap().is("ValueError", "builtins"));
        assert_eq!(new_id().len(), 32);
    }
}
