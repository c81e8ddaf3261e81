//! Middleware in the spirit of oslo.middleware, each usable as a paste filter.

use crate::loader::Loader;

/// Registers fjord's middleware under the paste names oslo.middleware uses.
pub(crate) fn register_native(_loader: &mut Loader) {}
