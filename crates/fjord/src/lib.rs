//! fjord: write and run OpenStack-style control-plane services in Rust.
//!
//! This facade re-exports the layers, in the order a process uses them:
//! [`config`] -> [`service`] (launchers) -> [`http`] / [`messaging`] ->
//! [`rpc_service`] (a manager served over RPC); [`context`] is the request
//! context both HTTP and RPC carry, [`policy`] checks it against
//! oslo.policy rules.
//!
//! Cargo features:
//!
//! - `servicegroup` (off by default): `fjord::servicegroup`, service
//!   records and heartbeats over SQLite or PostgreSQL
//!   (the `fjord-servicegroup` crate), the one layer that builds a database
//!   driver.
//! - `keystone` (off by default): `fjord::keystone`, keystonemiddleware's
//!   `auth_token` and the `keystonecontext` filter (the `fjord-keystone`
//!   crate), which builds an HTTPS client.
#![forbid(unsafe_code)]

pub use fjord_config as config;
pub use fjord_context as context;
pub use fjord_http as http;
#[cfg(feature = "keystone")]
pub use fjord_keystone as keystone;
pub use fjord_messaging as messaging;
pub use fjord_policy as policy;
pub use fjord_rpc_service as rpc_service;
pub use fjord_service as service;
#[cfg(feature = "servicegroup")]
pub use fjord_servicegroup as servicegroup;
