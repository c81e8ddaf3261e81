//! The integration tests of fjord-demo, one module per area (one test binary).

mod demo_all;
mod demo_api_alone;
mod demo_auth;
mod demo_conf_sample;
mod demo_console;
mod demo_metrics;
mod demo_objects;
mod demo_rabbit_postgres;
mod demo_reload_values;
mod demo_service_up;
mod demo_status_page;
mod demo_tour;
mod support;
