//! RPC: client, server, dispatcher and serializer (SPEC M2-M7).

mod client;
mod dispatcher;
mod serializer;
mod server;

pub use client::RpcClient;
pub use dispatcher::{AccessPolicy, Dispatcher, Endpoint, FnEndpoint, FnEndpointBuilder};
pub use serializer::{NoOpSerializer, Serializer};
pub use server::{RpcServer, RpcServerBuilder};
