//! The status page (B10): one self-contained HTML document
//! (`status.html`) whose script polls `/status.json` every second and
//! redraws in place (requests/s and RPC messages/s are differences between
//! two polls).

/// The page served at `GET /`.
pub(crate) const PAGE: &str = include_str!("status.html");
