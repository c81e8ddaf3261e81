//! The integration tests of fjord, one module per area (one test binary).

mod diagnostics_report;
mod http_enabled_apis;
mod http_hello_paths;
mod http_prefork;
mod http_replace_under_load;
mod http_socket_activation;
mod http_upgrade;
mod launcher_systemd;
mod support;
