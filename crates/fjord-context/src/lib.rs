//! fjord-context: the request context of an OpenStack API call, compatible
//! with oslo.context 6.5.0 (see `docs/context.md`).
//!
//! * [`RequestContext`]: request ids, the user, project and domain ids
//!   and names, roles, flags, the service token's identity, and the keys
//!   fjord does not know (kept and sent on).
//! * [`RequestContext::from_environ`]: from keystonemiddleware's headers
//!   (an [`http::HeaderMap`]), in the API.
//! * [`RequestContext::to_dict`] / [`RequestContext::from_dict`]: the dict
//!   RPC carries as `_context_*` keys (`fjord_messaging::Context` converts
//!   to and from a `RequestContext`).
//! * [`RequestContext::to_policy_values`]: the credentials oslo.policy
//!   rules are checked against.
//! * [`Secret`]: the tokens, never printed.
//!
//! # Example
//!
//! ```
//! use fjord_context::RequestContext;
//! use http::HeaderMap;
//!
//! // In the API, behind keystonemiddleware's auth_token filter:
//! let mut headers = HeaderMap::new();
//! headers.insert("x-user-id", "4b2e".parse()?);
//! headers.insert("x-project-id", "9f1c".parse()?);
//! headers.insert("x-roles", "reader,member".parse()?);
//! headers.insert("x-auth-token", "gAAAAAB".parse()?);
//! let ctx = RequestContext::from_environ(&headers, None, None);
//! assert!(ctx.request_id.starts_with("req-"));
//!
//! // On the wire (RPC), and back in the worker:
//! let dict = ctx.to_dict();
//! assert_eq!(dict["user"], "4b2e");
//! let received = RequestContext::from_dict(&dict)?;
//! assert_eq!(received.roles, ["reader", "member"]);
//! assert_eq!(received.request_id, ctx.request_id);
//!
//! // Never in a log line:
//! assert!(!format!("{received:?} {received}").contains("gAAAAAB"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![warn(
    missing_docs,
    missing_debug_implementations,
    rust_2018_idioms,
    unreachable_pub
)]

mod context;
mod environ;
mod error;
mod secret;

pub use context::{OSLO_DICT_KEYS, RequestContext, generate_request_id};
pub use error::ContextError;
pub use secret::Secret;
