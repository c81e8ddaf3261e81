//! The fjord demo: a small karbor-like product built only on fjord's public
//! API. `demo-api` serves HTTP from N workers, `demo-worker` is an RPC
//! service with a periodic task, `demo-all` runs both under one master.
//!
//! It runs on a fresh machine with nothing installed: the embedded transport
//! and an SQLite file under `state_path`. With `transport_url =
//! rabbit://...` and `[database] connection = postgresql://...` the same
//! binaries run split across processes or hosts.
#![forbid(unsafe_code)]

pub mod api;
pub mod auth;
pub mod conf;
pub mod main_support;
pub mod objects;
pub mod records;
pub mod worker;
