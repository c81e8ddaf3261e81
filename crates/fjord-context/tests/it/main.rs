//! The integration tests of fjord-context, one module per area (one test binary).

mod dict;
mod hostile_input;
mod oslo_vectors;
mod secret;
