//! fjord-messaging: RPC and notifications, wire-compatible with Python
//! oslo.messaging over RabbitMQ (see `docs/messaging.md` and WIRE.md).
//!
//! * [`TransportUrl`], [`MessagingOptions`], [`RabbitOptions`]: configuration
//!   with oslo's names and defaults (M1).
//! * [`Target`] (M2), [`RpcClient`] (M3), [`RpcServer`] with its
//!   [`Dispatcher`] and [`Endpoint`]s (M4, M5), [`Context`] and
//!   [`Serializer`] (M6), [`RemoteError`] (M7).
//! * [`RequestContext`] (re-exported from `fjord-context`): the typed
//!   oslo.context request context; [`Context`] converts to and from it.
//! * [`Transport`] over a [`Driver`]: RabbitMQ ([`transport::RabbitDriver`],
//!   M8), the embedded transport between the processes of one host
//!   ([`transport::EmbeddedDriver`], `embedded:///path`, M11) or the
//!   in-process fake ([`Transport::fake`], `fake://`, M12).
//! * [`notify`]: notifier and notification listener (M10).
//! * [`message`]: the oslo 2.0 envelope, requests and replies.
//!
//! # Example
//!
//! ```
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use fjord_messaging::{Context, FnEndpoint, RemoteError, RpcClient, RpcServer, Target, Transport};
//! use fjord_service::Service;
//! use serde_json::{json, Map, Value};
//!
//! // `Transport::new(&options)` with `rabbit://...` talks to RabbitMQ; the
//! // fake transport needs no broker.
//! let transport = Transport::fake();
//! let endpoint = FnEndpoint::builder()
//!     .method("add", |_ctx, args| async move {
//!         let n = |k: &str| args.get(k).and_then(Value::as_i64)
//!             .ok_or_else(|| RemoteError::type_error(format!("add() missing {k}")));
//!         Ok(json!(n("a")? + n("b")?))
//!     })
//!     .build();
//! let server = RpcServer::builder(&transport, Target::new("calc").with_server("s1"))
//!     .endpoint(endpoint)
//!     .build()?;
//! server.start().await?;
//!
//! let client = RpcClient::new(&transport, Target::new("calc"));
//! let args: Map<String, Value> = serde_json::from_value(json!({"a": 2, "b": 3}))?;
//! assert_eq!(client.call(&Context::new(), "add", args).await?, json!(5));
//!
//! server.stop(true).await;
//! # Ok(()) }
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
//! ```
#![forbid(unsafe_code)]
#![warn(
    missing_docs,
    missing_debug_implementations,
    rust_2018_idioms,
    unreachable_pub
)]

mod error;
pub mod message;
pub mod notify;
mod options;
pub mod rpc;
mod target;
pub mod transport;
mod url;

pub use async_trait::async_trait;
pub use error::{BUILTINS, Cause, DISPATCHER_MODULE, Error, ErrorKind, RemoteError, Result};
pub use fjord_context::{ContextError, RequestContext, Secret};
pub use message::Context;
pub use options::{MessagingOptions, RabbitOptions};
pub use rpc::{
    AccessPolicy, Dispatcher, Endpoint, FnEndpoint, FnEndpointBuilder, NoOpSerializer, RpcClient,
    RpcServer, RpcServerBuilder, Serializer,
};
pub use target::{Target, check_version, version_is_compatible};
pub use transport::{Driver, Transport, TransportUrl};
