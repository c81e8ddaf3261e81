//! The integration tests of fjord-config, one module per area (one test binary).

mod bad_values;
mod cli_help;
mod corpus_conf;
mod deprecated_names;
mod generator_sample;
mod hostile_input;
mod log_options;
mod parser_robustness;
mod reload_mutate;
mod sources_precedence;
mod support;
mod typed_getters;
mod unknown_warnings;
