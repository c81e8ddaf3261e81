//! The HTTP server: pre-fork listening socket, connection loop, limits, TLS.
