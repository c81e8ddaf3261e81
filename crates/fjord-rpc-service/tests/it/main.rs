//! The integration tests of fjord-rpc-service, one module per area (one test binary).

mod rpc_service;
mod serializer_hook;
