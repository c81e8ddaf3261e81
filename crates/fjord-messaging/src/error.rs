//! The error type of this crate and the remote failure carried in replies.

use std::fmt;
use std::time::Duration;

use serde_json::{Map, Value};

/// What went wrong, in broad strokes: what a caller branches on. See
/// [`Error::kind`].
///
/// # Examples
///
/// ```
/// use fjord_messaging::{ErrorKind, TransportUrl};
/// let e = TransportUrl::parse("amqp://u:secret@h/").unwrap_err();
/// assert_eq!(e.kind(), ErrorKind::InvalidUrl);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The transport URL could not be parsed (oslo `InvalidTransportURL`).
    InvalidUrl,
    /// An option has a value fjord cannot use, or names a file that cannot
    /// be read.
    InvalidOption,
    /// A target cannot be used for this operation (oslo `InvalidTarget`).
    InvalidTarget,
    /// A version string is not `X.Y` or `X.Y.Z`.
    InvalidVersion,
    /// The client's `version_cap` forbids the target version (oslo
    /// `RPCVersionCapError`).
    VersionCap,
    /// No reply came in time (oslo `MessagingTimeout`).
    Timeout,
    /// The server answered with a failure (oslo `RemoteError` or a rebuilt
    /// exception).
    Remote,
    /// The broker could not be reached or the connection failed, and the
    /// retries ran out (oslo `MessageDeliveryFailure`).
    Connection,
    /// A mandatory publish was returned: nothing consumes the queue.
    Unroutable,
    /// A message could not be decoded (content type, JSON or envelope).
    Decode,
    /// A message could not be encoded.
    Encode,
    /// The transport, listener or server is closed.
    Closed,
    /// A server or listener was started twice.
    AlreadyStarted,
}

/// Everything that can go wrong in fjord-messaging.
///
/// Branch on [`Error::kind`]; the variants carry the detail (what failed,
/// on which option, target or host). The underlying error is kept as the
/// [`source`](std::error::Error::source): lapin's error for a broker
/// failure, [`serde_json::Error`] for a body that is not JSON,
/// [`std::io::Error`] for a file or socket. A displayed error ends with its
/// source's text, as [`fjord_service::Error`] does.
///
/// No variant ever carries a transport password: URL errors name the host
/// entry, connection errors name `host:port` only.
///
/// # Examples
///
/// ```
/// use fjord_messaging::{Error, ErrorKind, Target};
/// let e = Target::default().require_topic().unwrap_err();
/// assert_eq!(e.kind(), ErrorKind::InvalidTarget);
/// assert!(matches!(e, Error::InvalidTarget { .. }));
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The transport URL could not be parsed. Kind [`ErrorKind::InvalidUrl`].
    InvalidUrl {
        /// What is wrong; never contains credentials.
        reason: String,
    },
    /// An option has a value fjord cannot use. Kind [`ErrorKind::InvalidOption`].
    InvalidOption {
        /// The option name, oslo spelling (`rabbit_qos_prefetch_count`).
        option: String,
        /// What is wrong.
        reason: String,
    },
    /// An option names a file that cannot be read (`ssl_ca_file`); the
    /// source is the [`std::io::Error`]. Kind [`ErrorKind::InvalidOption`].
    #[non_exhaustive]
    OptionFile {
        /// The option name, oslo spelling.
        option: String,
        /// The file it names.
        path: String,
        /// Why it cannot be read.
        source: std::io::Error,
    },
    /// A target cannot be used for this operation. Kind [`ErrorKind::InvalidTarget`].
    InvalidTarget {
        /// The target, displayed.
        target: String,
        /// What is wrong.
        reason: String,
    },
    /// A version string is not `X.Y` or `X.Y.Z`. Kind [`ErrorKind::InvalidVersion`].
    InvalidVersion(String),
    /// The client's `version_cap` forbids the target version. Kind
    /// [`ErrorKind::VersionCap`].
    VersionCap {
        /// The target version (`None` shown as "none").
        version: String,
        /// The cap.
        cap: String,
    },
    /// No reply came in time. Kind [`ErrorKind::Timeout`].
    Timeout {
        /// The target called.
        target: String,
        /// The method called.
        method: String,
        /// The timeout that expired.
        timeout: Duration,
    },
    /// The server answered with a failure. Kind [`ErrorKind::Remote`].
    Remote(RemoteError),
    /// The broker could not be reached or the connection failed, and the
    /// retries ran out; the source is lapin's error (RabbitMQ) or the
    /// socket's (embedded transport) when there is one. Kind
    /// [`ErrorKind::Connection`].
    Connection(Cause),
    /// A mandatory publish was returned: nothing consumes the queue. Kind
    /// [`ErrorKind::Unroutable`].
    Unroutable(String),
    /// A message could not be decoded; the source is the JSON parser's
    /// error when that is the cause. Kind [`ErrorKind::Decode`].
    Decode(Cause),
    /// A message could not be encoded. Kind [`ErrorKind::Encode`].
    Encode(Cause),
    /// The transport, listener or server is closed. Kind [`ErrorKind::Closed`].
    Closed(String),
    /// A server or listener was started twice; names it. Kind
    /// [`ErrorKind::AlreadyStarted`].
    AlreadyStarted(String),
}

type Source = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What failed, and the underlying error if there is one: the detail of
/// [`Error::Connection`], [`Error::Decode`] and [`Error::Encode`].
///
/// Displays as the context followed by the source's text; the source is
/// also the [`source`](std::error::Error::source) of the [`Error`] that
/// holds this.
pub struct Cause {
    context: String,
    source: Option<Source>,
}

impl Cause {
    fn new(context: impl Into<String>, source: Option<Source>) -> Self {
        Cause {
            context: context.into(),
            source,
        }
    }

    /// What was being done (`cannot connect to RabbitMQ at host:5672`),
    /// without the source's text.
    pub fn context(&self) -> &str {
        &self.context
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.context)?;
        if let Some(source) = &self.source {
            write!(f, ": {source}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cause")
            .field("context", &self.context)
            .field("source", &self.source)
            .finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidUrl { reason } => write!(f, "invalid transport URL: {reason}"),
            Error::InvalidOption { option, reason } => {
                write!(f, "invalid option {option}: {reason}")
            }
            Error::OptionFile {
                option,
                path,
                source,
            } => write!(f, "invalid option {option}: cannot read {path}: {source}"),
            Error::InvalidTarget { target, reason } => {
                write!(f, "invalid target {target}: {reason}")
            }
            Error::InvalidVersion(v) => {
                write!(f, "invalid version {v:?}: expected \"X.Y\" or \"X.Y.Z\"")
            }
            Error::VersionCap { version, cap } => write!(
                f,
                "requested message version {version} is incompatible; it must be at most {cap}"
            ),
            Error::Timeout {
                target,
                method,
                timeout,
            } => write!(
                f,
                "timed out after {timeout:?} waiting for a reply to {method} on {target}"
            ),
            Error::Remote(r) => r.fmt(f),
            Error::Connection(c) => write!(f, "messaging connection failed: {c}"),
            Error::Unroutable(dest) => {
                write!(f, "message to {dest} could not be routed (no queue bound)")
            }
            Error::Decode(c) => write!(f, "cannot decode message: {c}"),
            Error::Encode(c) => write!(f, "cannot encode message: {c}"),
            Error::Closed(what) => f.write_str(what),
            Error::AlreadyStarted(what) => write!(f, "{what} is already started"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::OptionFile { source, .. } => Some(source),
            Error::Connection(c) | Error::Decode(c) | Error::Encode(c) => c
                .source
                .as_deref()
                .map(|s| s as &(dyn std::error::Error + 'static)),
            _ => None,
        }
    }
}

impl Error {
    /// What kind of error this is.
    ///
    /// # Examples
    ///
    /// ```
    /// use fjord_messaging::{ErrorKind, check_version};
    /// assert_eq!(check_version("1.x").unwrap_err().kind(), ErrorKind::InvalidVersion);
    /// ```
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::InvalidUrl { .. } => ErrorKind::InvalidUrl,
            Error::InvalidOption { .. } | Error::OptionFile { .. } => ErrorKind::InvalidOption,
            Error::InvalidTarget { .. } => ErrorKind::InvalidTarget,
            Error::InvalidVersion(_) => ErrorKind::InvalidVersion,
            Error::VersionCap { .. } => ErrorKind::VersionCap,
            Error::Timeout { .. } => ErrorKind::Timeout,
            Error::Remote(_) => ErrorKind::Remote,
            Error::Connection(_) => ErrorKind::Connection,
            Error::Unroutable(_) => ErrorKind::Unroutable,
            Error::Decode(_) => ErrorKind::Decode,
            Error::Encode(_) => ErrorKind::Encode,
            Error::Closed(_) => ErrorKind::Closed,
            Error::AlreadyStarted(_) => ErrorKind::AlreadyStarted,
        }
    }

    /// The server's failure, for [`ErrorKind::Remote`].
    pub fn remote(&self) -> Option<&RemoteError> {
        match self {
            Error::Remote(r) => Some(r),
            _ => None,
        }
    }

    pub(crate) fn option_file(option: &str, path: &str, source: std::io::Error) -> Self {
        Error::OptionFile {
            option: option.into(),
            path: path.into(),
            source,
        }
    }

    /// A broker failure caused by lapin's `source`.
    pub(crate) fn broker(context: impl Into<String>, source: lapin::Error) -> Self {
        Error::Connection(Cause::new(context, Some(Box::new(source))))
    }

    /// A connection failure with no underlying error.
    pub(crate) fn connection(context: impl Into<String>) -> Self {
        Error::Connection(Cause::new(context, None))
    }

    /// A connection failure caused by a socket or file.
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Connection(Cause::new(context, Some(Box::new(source))))
    }

    pub(crate) fn decode(context: impl Into<String>) -> Self {
        Error::Decode(Cause::new(context, None))
    }

    pub(crate) fn decode_json(context: impl Into<String>, source: serde_json::Error) -> Self {
        Error::Decode(Cause::new(context, Some(Box::new(source))))
    }

    pub(crate) fn encode(context: impl Into<String>) -> Self {
        Error::Encode(Cause::new(context, None))
    }
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

/// A request context with a known key of the wrong type (see
/// [`RequestContext::try_from`](fjord_context::RequestContext)) answers
/// the caller with a `ValueError` naming the key, so an endpoint can write
/// `let rctx = RequestContext::try_from(&ctx)?;`.
impl From<fjord_context::ContextError> for RemoteError {
    fn from(e: fjord_context::ContextError) -> Self {
        RemoteError::value_error(e.to_string())
    }
}

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
    /// [`ErrorKind::Decode`] when the text is not a JSON object.
    pub fn from_failure_json(text: &str, allowed: &[String]) -> Result<Self> {
        let v: Value =
            serde_json::from_str(text).map_err(|e| Error::decode_json("failure is not JSON", e))?;
        Self::from_failure_value(&v, allowed)
    }

    pub(crate) fn from_failure_value(v: &Value, allowed: &[String]) -> Result<Self> {
        let obj = v
            .as_object()
            .ok_or_else(|| Error::decode("failure is not a JSON object"))?;
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

#[cfg(test)]
mod tests {
    use std::error::Error as _;
    use std::time::Duration;

    use serde_json::{Map, json};

    use super::*;
    use crate::transport::{Destination, Driver, EmbeddedDriver, OutgoingMessage};
    use crate::{
        Context, MessagingOptions, RabbitOptions, RpcClient, RpcServer, Target, Transport,
        TransportUrl, check_version, message::decode_body,
    };

    const PASSWORD: &str = "Secr3tPw";

    fn assert_no_password(e: &Error) {
        let mut text = format!("{e} {e:?}");
        let mut source = e.source();
        while let Some(s) = source {
            text.push_str(&format!(" {s} {s:?}"));
            source = s.source();
        }
        assert!(!text.contains(PASSWORD), "{text}");
    }

    fn rabbit(url: &str) -> Result<Transport> {
        Transport::new(&MessagingOptions {
            transport_url: Some(url.into()),
            ..Default::default()
        })
    }

    #[test]
    fn url_errors_are_invalid_url_and_never_show_the_password() {
        for url in [
            "amqp://u:Secr3tPw@h/",
            "rabbit://u:Secr3tPw@h:99999/",
            "rabbit://u:Secr3tPw@[::1/",
            "rabbit://u:Secr3tPw@h:5672,u:Secr3tPw@h2:x/",
            "rabbit://u:Secr3tPw%ff@h/",
            "embedded://u:Secr3tPw@",
            "no scheme Secr3tPw",
        ] {
            let e = rabbit(url).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidUrl, "{url}: {e}");
            assert_no_password(&e);
        }
        let e = TransportUrl::parse("rabbit://u:Secr3tPw@h:99999/").unwrap_err();
        assert!(e.to_string().contains("host entry 1"), "{e}");
    }

    #[test]
    fn option_errors_are_invalid_option() {
        let e = rabbit("rabbit://u:Secr3tPw@h/?nope=1").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidOption);
        assert_no_password(&e);
        let e = RabbitOptions::default()
            .set("heartbeat_rate", "x")
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidOption);

        let io = std::fs::read("/nonexistent/fjord/ca.pem").unwrap_err();
        let e = Error::option_file("ssl_ca_file", "/nonexistent/fjord/ca.pem", io);
        assert_eq!(e.kind(), ErrorKind::InvalidOption);
        let text = e.to_string();
        assert!(
            text.starts_with("invalid option ssl_ca_file: cannot read /nonexistent/fjord/ca.pem: "),
            "{text}"
        );
        let source = e.source().and_then(|s| s.downcast_ref::<std::io::Error>());
        assert_eq!(
            source.map(std::io::Error::kind),
            Some(std::io::ErrorKind::NotFound)
        );
    }

    #[test]
    fn target_and_version_errors() {
        let e = Target::default().require_topic().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidTarget);
        let e = check_version("1.x").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidVersion);
        assert!(e.source().is_none());
    }

    #[test]
    fn decode_errors_keep_the_json_error() {
        let e = decode_body(Some("text/plain"), b"{}").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Decode);
        assert!(e.source().is_none());

        let e = decode_body(Some("application/json"), b"{not json").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Decode);
        assert!(matches!(&e, Error::Decode(c) if c.context() == "body is not JSON"));
        let json = e
            .source()
            .and_then(|s| s.downcast_ref::<serde_json::Error>());
        let json = json.expect("the serde_json error is the source");
        assert_eq!(
            e.to_string(),
            format!("cannot decode message: body is not JSON: {json}")
        );

        let envelope = json!({"oslo.version": "2.0", "oslo.message": "[1"}).to_string();
        let e = decode_body(Some("application/json"), envelope.as_bytes()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Decode);
        assert!(e.source().is_some_and(|s| s.is::<serde_json::Error>()));

        let e = RemoteError::from_failure_json("nope", &[]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Decode);
        assert!(e.source().is_some_and(|s| s.is::<serde_json::Error>()));
    }

    #[test]
    fn remote_errors() {
        let e = Error::from(RemoteError::value_error("bad"));
        assert_eq!(e.kind(), ErrorKind::Remote);
        assert!(e.remote().is_some_and(|r| r.is("ValueError", BUILTINS)));
        assert_eq!(e.to_string(), "Remote error: builtins.ValueError bad");
    }

    #[tokio::test]
    async fn client_errors_on_the_fake_transport() {
        let t = Transport::fake();
        let e = RpcClient::new(&t, Target::new("calc").with_version("2.0"))
            .with_version_cap("1.5")
            .cast(&Context::new(), "m", Map::new())
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::VersionCap);

        let e = RpcClient::new(&t, Target::new("nobody_home"))
            .with_timeout(Duration::from_millis(50))
            .call(&Context::new(), "ping_me", Map::new())
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Timeout);
        let text = e.to_string();
        assert!(
            text.contains("timed out") && text.contains("nobody_home") && text.contains("ping_me")
        );

        let e = RpcClient::new(&t, Target::new("calc").with_fanout(true))
            .call(&Context::new(), "m", Map::new())
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidTarget);

        let mut msg = OutgoingMessage::new(b"{}".to_vec());
        msg.mandatory = true;
        let dest = Destination::Reply {
            queue: "reply_nobody".into(),
        };
        let e = t.driver().send(&dest, msg).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unroutable);

        t.close().await;
        let e = t
            .driver()
            .send(&dest, OutgoingMessage::new(b"{}".to_vec()))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Closed);
    }

    #[tokio::test]
    async fn a_server_started_twice() {
        use fjord_service::Service;
        let t = Transport::fake();
        let s = RpcServer::builder(&t, Target::new("calc").with_server("s1"))
            .build()
            .unwrap();
        s.start_listening().await.unwrap();
        let e = s.start_listening().await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AlreadyStarted);
        assert_eq!(e.to_string(), "RPC server calc.s1 is already started");
        s.stop(true).await;

        let e = RpcServer::builder(&t, Target::new("calc"))
            .build()
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidTarget);
        let e = RpcServer::builder(&t, Target::new("calc").with_server("s1"))
            .executor_pool_size(0)
            .build()
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidOption);
    }

    #[tokio::test]
    async fn embedded_transport_errors() {
        let d = EmbeddedDriver::new("/nonexistent/fjord/broker.sock");
        let dest = Destination::Reply { queue: "q".into() };
        let e = d
            .send(&dest, OutgoingMessage::new(vec![0xff, 0xfe]))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Encode);

        // The directory cannot be created: the io::Error is the source.
        let d = EmbeddedDriver::new("/proc/fjord-test/broker.sock");
        let mut msg = OutgoingMessage::new(b"{}".to_vec());
        msg.retry = Some(0);
        let e = d.send(&dest, msg).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Connection, "{e}");
        assert!(
            e.source().is_some_and(|s| s.is::<std::io::Error>()),
            "{e:?}"
        );
        assert!(
            e.to_string().contains("/proc/fjord-test/broker.sock"),
            "{e}"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_unreachable_broker_keeps_lapins_error_and_hides_the_password() {
        // Port 1 on loopback: nothing listens.
        let t = rabbit("rabbit://guest:Secr3tPw@127.0.0.1:1/").unwrap();
        let e = RpcClient::new(&t, Target::new("x"))
            .with_retry(Some(0))
            .cast(&Context::new(), "m", Map::new())
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Connection, "{e}");
        assert!(matches!(&e, Error::Connection(c)
            if c.context() == "cannot connect to RabbitMQ at 127.0.0.1:1"));
        let lapin = e.source().and_then(|s| s.downcast_ref::<lapin::Error>());
        let lapin = lapin.expect("lapin's error is the source");
        assert!(lapin.is_io_error(), "{lapin:?}");
        assert!(
            e.source().and_then(|s| s.source()).is_some(),
            "lapin's own source (the io::Error) is reachable: {e:?}"
        );
        assert_eq!(
            e.to_string(),
            format!(
                "messaging connection failed: cannot connect to RabbitMQ at 127.0.0.1:1: {lapin}"
            )
        );
        assert_no_password(&e);

        let s = RpcServer::builder(&t, Target::new("x").with_server("s"))
            .build()
            .unwrap();
        let e = s.start_listening().await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Connection);
        assert_no_password(&e);
        t.close().await;
    }
}
