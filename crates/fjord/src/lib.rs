//! fjord: write and run OpenStack-style control-plane services in Rust.
//!
//! This facade re-exports the layers, in the order a process uses them:
//! [`config`] -> [`service`] (launchers) -> [`http`] / [`messaging`].
#![forbid(unsafe_code)]

pub mod rpc_service;

pub use fjord_config as config;
pub use fjord_http as http;
pub use fjord_messaging as messaging;
pub use fjord_service as service;
