//! Middleware in the spirit of oslo.middleware, each usable as a paste filter.
