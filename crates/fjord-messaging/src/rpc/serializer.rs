//! The serializer hook (oslo `Serializer`): converts arguments, results and
//! the context on their way to and from the wire.

use serde_json::{Map, Value};

use crate::error::RemoteError;
use crate::message::Context;

/// Converts entities and contexts (WIRE.md §8, "Serializer hooks").
///
/// The client runs [`Serializer::serialize_entity`] on each argument,
/// [`Serializer::serialize_context`] on the context and
/// [`Serializer::deserialize_entity`] on the result; the server runs the
/// reverse. Every method defaults to passing values through.
pub trait Serializer: Send + Sync + std::fmt::Debug + 'static {
    /// Converts a value before it is sent.
    ///
    /// # Errors
    ///
    /// A failure the caller gets back (on the server: sent as the reply).
    fn serialize_entity(&self, _ctx: &Context, value: Value) -> Result<Value, RemoteError> {
        Ok(value)
    }
    /// Converts a value after it is received.
    ///
    /// # Errors
    ///
    /// As [`Serializer::serialize_entity`].
    fn deserialize_entity(&self, _ctx: &Context, value: Value) -> Result<Value, RemoteError> {
        Ok(value)
    }
    /// The context as the flat map sent as `_context_*` keys.
    fn serialize_context(&self, ctx: &Context) -> Map<String, Value> {
        ctx.values().clone()
    }
    /// The context rebuilt from the received `_context_*` keys.
    fn deserialize_context(&self, ctx: Context) -> Context {
        ctx
    }
}

/// The pass-through serializer (oslo `NoOpSerializer`).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoOpSerializer;

impl Serializer for NoOpSerializer {}
