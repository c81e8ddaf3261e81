//! The error type of this crate and the remote failure carried in replies.

use std::time::Duration;

use serde_json::{Map, Value};

/// Everything that can go wrong in fjord-messaging.
///
/// No variant ever carries a transport password: URL errors name the host
/// entry, connection errors name `host:port` only.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The transport URL could not be parsed (oslo `InvalidTransportURL`).
    #[error("invalid transport URL: {reason}")]
    InvalidUrl {
        /// What is wrong; never contains credentials.
        reason: String,
    },
    /// An option has a value fjord cannot use.
    #[error("invalid option {option}: {reason}")]
    InvalidOption {
        /// The option name, oslo spelling (`rabbit_qos_prefetch_count`).
        option: String,
        /// What is wrong.
        reason: String,
    },
    /// A target cannot be used for this operation (oslo `InvalidTarget`).
    #[error("invalid target {target}: {reason}")]
    InvalidTarget {
        /// The target, displayed.
        target: String,
        /// What is wrong.
        reason: String,
    },
    /// A version string is not `X.Y` or `X.Y.Z`.
    #[error("invalid version {0:?}: expected \"X.Y\" or \"X.Y.Z\"")]
    InvalidVersion(String),
    /// The client's `version_cap` forbids the target version (oslo `RPCVersionCapError`).
    #[error("requested message version {version} is incompatible; it must be at most {cap}")]
    VersionCap {
        /// The target version (`None` shown as "none").
        version: String,
        /// The cap.
        cap: String,
    },
    /// No reply came in time (oslo `MessagingTimeout`).
    #[error("timed out after {timeout:?} waiting for a reply to {method} on {target}")]
    Timeout {
        /// The target called.
        target: String,
        /// The method called.
        method: String,
        /// The timeout that expired.
        timeout: Duration,
    },
    /// The server answered with a failure (oslo `RemoteError` or a rebuilt exception).
    #[error(transparent)]
    Remote(RemoteError),
    /// The broker could not be reached or the connection failed, and the
    /// retries ran out (oslo `MessageDeliveryFailure`).
    #[error("messaging connection failed: {0}")]
    Connection(String),
    /// A publish with `mandatory` set was returned: nothing consumes the queue.
    #[error("message to {0} could not be routed (no queue bound)")]
    Unroutable(String),
    /// A message could not be decoded (bad content type, JSON or envelope).
    #[error("cannot decode message: {0}")]
    Decode(String),
    /// A value could not be encoded as JSON.
    #[error("cannot encode message: {0}")]
    Encode(String),
    /// The transport or server is closed or not started.
    #[error("{0}")]
    Closed(String),
}

impl From<RemoteError> for Error {
    fn from(e: RemoteError) -> Self {
        Error::Remote(e)
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A failure raised by a remote endpoint, serialized as oslo does
/// (WIRE.md §7): class, module, message, traceback lines, args and kwargs.
///
/// A Rust endpoint returns one of these to fail a call; a Rust client gets
/// one back inside [`Error::Remote`].
///
/// # Examples
///
/// ```
/// use fjord_messaging::RemoteError;
/// let e = RemoteError::value_error("bad value");
/// assert!(e.is("ValueError", "builtins"));
/// assert_eq!(e.args(), &[serde_json::json!("bad value")]);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteError {
    inner: Box<Inner>,
}

#[derive(Debug, Clone, PartialEq)]
struct Inner {
    class: String,
    module: String,
    message: String,
    tb: Vec<String>,
    args: Vec<Value>,
    kwargs: Map<String, Value>,
    trusted: bool,
}

impl std::fmt::Display for RemoteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Remote error: {}.{} {}",
            self.inner.module, self.inner.class, self.inner.message
        )
    }
}

impl std::error::Error for RemoteError {}

/// The module Python gives its builtin exceptions.
pub const BUILTINS: &str = "builtins";
/// The module of the dispatcher's `NoSuchMethod` and `UnsupportedVersion`.
pub const DISPATCHER_MODULE: &str = "oslo_messaging.rpc.dispatcher";

impl RemoteError {
    /// A failure of `class` from `module` with `message`; `args` default to
    /// `[message]`, `kwargs` to `{}`, the traceback to one line
    /// `"<module>.<class>: <message>\n"` (just `<class>` for builtins), as
    /// the last line of a Python traceback.
    pub fn new(
        class: impl Into<String>,
        module: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        let class = class.into();
        let message = message.into();
        let module = module.into();
        let qualified = if module == BUILTINS {
            class.clone()
        } else {
            format!("{module}.{class}")
        };
        RemoteError {
            inner: Box::new(Inner {
                tb: vec![format!("{qualified}: {message}\n")],
                args: vec![Value::String(message.clone())],
                class,
                module,
                message,
                kwargs: Map::new(),
                trusted: true,
            }),
        }
    }

    /// A Python builtin `ValueError(message)`: a Python caller gets a real ValueError.
    pub fn value_error(message: impl Into<String>) -> Self {
        RemoteError::new("ValueError", BUILTINS, message)
    }

    /// A Python builtin `TypeError(message)` (what Python sends for bad arguments).
    pub fn type_error(message: impl Into<String>) -> Self {
        RemoteError::new("TypeError", BUILTINS, message)
    }

    /// A Python builtin `RuntimeError(message)`.
    pub fn runtime_error(message: impl Into<String>) -> Self {
        RemoteError::new("RuntimeError", BUILTINS, message)
    }

    /// The dispatcher's `NoSuchMethod` for `method`, worded as the Python server words it.
    pub fn no_such_method(method: &str) -> Self {
        RemoteError::new(
            "NoSuchMethod",
            DISPATCHER_MODULE,
            format!("Endpoint does not support RPC method {method}"),
        )
    }

    /// The dispatcher's `UnsupportedVersion`, worded as the Python server words it.
    pub fn unsupported_version(version: &str, method: &str) -> Self {
        let mut e = RemoteError::new(
            "UnsupportedVersion",
            DISPATCHER_MODULE,
            format!("Endpoint does not support RPC version {version}. Attempted method: {method}"),
        );
        e.inner.args = vec![Value::String(e.inner.message.clone())];
        e
    }

    /// Replaces the positional args (Python `exc.args`). Default is `[message]`.
    pub fn with_args(mut self, args: Vec<Value>) -> Self {
        self.inner.args = args;
        self
    }

    /// Replaces the keyword args (Python `exc.kwargs`). Default is `{}`.
    pub fn with_kwargs(mut self, kwargs: Map<String, Value>) -> Self {
        self.inner.kwargs = kwargs;
        self
    }

    /// Replaces the traceback lines (each should end with `\n`).
    pub fn with_traceback(mut self, tb: Vec<String>) -> Self {
        self.inner.tb = tb;
        self
    }

    /// The exception class name (Python `RemoteError.exc_type`).
    pub fn class(&self) -> &str {
        &self.inner.class
    }
    /// The exception module (`builtins` for Python builtins).
    pub fn module(&self) -> &str {
        &self.inner.module
    }
    /// `str(exc)` on the remote side.
    pub fn message(&self) -> &str {
        &self.inner.message
    }
    /// The remote traceback lines.
    pub fn traceback(&self) -> &[String] {
        &self.inner.tb
    }
    /// `exc.args`.
    pub fn args(&self) -> &[Value] {
        &self.inner.args
    }
    /// `exc.kwargs`.
    pub fn kwargs(&self) -> &Map<String, Value> {
        &self.inner.kwargs
    }
    /// Whether the module is `builtins` or listed in the client's
    /// `allowed_remote_exmods`. A Python client would rebuild the exception
    /// only when this holds and raise `RemoteError` otherwise.
    pub fn is_trusted(&self) -> bool {
        self.inner.trusted
    }
    /// Whether this failure is `class` from `module`.
    pub fn is(&self, class: &str, module: &str) -> bool {
        self.inner.class == class && self.inner.module == module
    }

    /// The `failure` string of a reply (WIRE.md §7.1). A `_Remote` suffix
    /// on both class and module is removed first.
    pub fn to_failure_json(&self) -> String {
        let (mut class, mut module) = (self.inner.class.as_str(), self.inner.module.as_str());
        if class.ends_with("_Remote") && module.ends_with("_Remote") {
            class = &class[..class.len() - "_Remote".len()];
            module = &module[..module.len() - "_Remote".len()];
        }
        serde_json::json!({
            "class": class,
            "module": module,
            "message": self.inner.message,
            "tb": self.inner.tb,
            "args": self.inner.args,
            "kwargs": self.inner.kwargs,
        })
        .to_string()
    }

    /// Parses a reply's `failure` string (WIRE.md §7.2). Module `exceptions`
    /// is normalized to `builtins`; `allowed` is the client's
    /// `allowed_remote_exmods` and sets [`RemoteError::is_trusted`].
    ///
    /// # Errors
    ///
    /// [`Error::Decode`] when the text is not a JSON object.
    pub fn from_failure_json(text: &str, allowed: &[String]) -> Result<Self> {
        let v: Value = serde_json::from_str(text)
            .map_err(|e| Error::Decode(format!("failure is not JSON: {e}")))?;
        Self::from_failure_value(&v, allowed)
    }

    pub(crate) fn from_failure_value(v: &Value, allowed: &[String]) -> Result<Self> {
        let obj = v
            .as_object()
            .ok_or_else(|| Error::Decode("failure is not a JSON object".into()))?;
        let s = |k: &str| obj.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let mut module = s("module");
        if module == "exceptions" {
            module = BUILTINS.to_string();
        }
        let tb = match obj.get("tb") {
            Some(Value::Array(a)) => a
                .iter()
                .map(|l| {
                    l.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| l.to_string())
                })
                .collect(),
            Some(Value::String(s)) => vec![s.clone()],
            _ => Vec::new(),
        };
        let trusted = module == BUILTINS || allowed.contains(&module);
        Ok(RemoteError {
            inner: Box::new(Inner {
                class: s("class"),
                message: s("message"),
                module,
                tb,
                args: obj
                    .get("args")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default(),
                kwargs: obj
                    .get("kwargs")
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default(),
                trusted,
            }),
        })
    }
}
