//! fjord-config: typed options with oslo.config semantics (work in progress).
#![forbid(unsafe_code)]
