//! fjord-messaging: RPC and notifications, wire-compatible with oslo.messaging (work in progress).
#![forbid(unsafe_code)]
