//! The error type of the HTTP server.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// What went wrong while building or starting an [`crate::server::HttpService`].
///
/// Every variant names what it was about (address, file, option).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `<api>_listen` could not be resolved to an address.
    #[error("cannot resolve listen address {host:?}: {source}")]
    Resolve {
        /// The host as configured.
        host: String,
        /// The resolver's error.
        #[source]
        source: io::Error,
    },
    /// The address stayed in use for the whole bind timeout.
    #[error("could not bind to {addr} after trying for {} seconds: address already in use", waited.as_secs())]
    AddrInUse {
        /// The address.
        addr: SocketAddr,
        /// How long bind was retried.
        waited: Duration,
    },
    /// Creating, configuring or binding the listening socket failed.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A TLS file could not be read.
    #[error("cannot read ssl {option} {path:?}: {source}")]
    TlsFile {
        /// The option naming the file (`cert_file`, `key_file`, `ca_file`).
        option: &'static str,
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A TLS file was read but its content is unusable.
    #[error("invalid ssl {option} {path:?}: {message}")]
    TlsContent {
        /// The option naming the file.
        option: &'static str,
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// An option has a value the server cannot use.
    #[error("invalid option {option}: {message}")]
    InvalidOption {
        /// The option name (oslo's).
        option: &'static str,
        /// What is wrong.
        message: String,
    },
    /// rustls refused the TLS configuration.
    #[error("invalid TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
    /// Turning the listening socket into an async one failed (in `start`).
    #[error("cannot use listening socket {addr}: {source}")]
    Listener {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The timer for `client_socket_timeout` could not be made (in
    /// `start`; a `timerfd` on Linux: for example too many open files).
    #[error("cannot make the client_socket_timeout timer: {0}")]
    Timer(#[source] io::Error),
    /// A socket handed over for this API (systemd socket activation, a
    /// binary upgrade) cannot be used.
    #[error(transparent)]
    Inherited(fjord_service::Error),
    /// `start` was called after `close_listeners` closed the socket.
    #[error("the listening socket {0} was closed for good; the service cannot start again")]
    ListenerClosed(SocketAddr),
    /// `start` was called while the service runs.
    #[error("HTTP service {0} is already started")]
    AlreadyStarted(String),
}

impl From<Error> for fjord_service::Error {
    fn from(e: Error) -> Self {
        let kind = match e {
            Error::InvalidOption { .. } | Error::TlsContent { .. } | Error::Resolve { .. } => {
                fjord_service::ErrorKind::InvalidInput
            }
            _ => fjord_service::ErrorKind::Start,
        };
        fjord_service::Error::with_source(kind, "HTTP service", e)
    }
}
