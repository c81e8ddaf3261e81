//! fjord-policy's integration tests: one binary, one module per area.

mod hostile_input;
mod policy_files;
mod rule_expressions;
