//! fjord: write and run OpenStack-style control-plane services in Rust.
//!
//! This facade re-exports the layers, in the order a process uses them:
//! [`config`] -> [`service`] (launchers) -> [`http`] / [`messaging`] ->
//! [`rpc_service`] (a manager served over RPC); [`context`] is the request
//! context both HTTP and RPC carry.
//!
//! Cargo features:
//!
//! - `servicegroup` (off by default): `fjord::servicegroup`, service
//!   records and heartbeats over SQLite or PostgreSQL
//!   (the `fjord-servicegroup` crate), the one layer that builds a database
//!   driver.
#![forbid(unsafe_code)]

pub use fjord_config as config;
pub use fjord_context as context;
pub use fjord_http as http;
pub use fjord_messaging as messaging;
pub use fjord_rpc_service as rpc_service;
pub use fjord_service as service;
#[cfg(feature = "servicegroup")]
pub use fjord_servicegroup as servicegroup;
