//! The integration tests of fjord-messaging, one module per area (one test binary).

mod embedded_transport;
mod example_rpc_server_signals;
mod fault_broker_restart;
mod fault_node_loss;
mod fault_silent_broker;
mod hostile_input;
mod interop_context;
mod interop_objects;
mod interop_python;
mod notifications;
mod rabbit_bad_input;
mod rabbit_config_variants;
mod rabbit_publish_on_listener_connection;
mod rabbit_reconnect;
mod rabbit_rpc;
mod rabbit_tls;
mod rabbit_wire;
mod rpc_fake;
mod support;
mod transport_schemes;
mod wire_fixtures;
