//! The integration tests of fjord-http, one module per area (one test binary).

mod hostile_input;
mod loader_build;
mod loader_corpus;
mod loader_karbor;
mod loader_nova;
mod middleware_catch_errors;
mod middleware_cors;
mod middleware_healthcheck;
mod middleware_logging;
mod middleware_proxy;
mod middleware_request_id;
mod middleware_sizelimit;
mod server_access_log;
mod server_bind_in_use;
mod server_graceful;
mod server_h2c;
mod server_http1;
mod server_limits;
mod server_pool;
mod server_timeout;
mod server_tls;
mod support;
