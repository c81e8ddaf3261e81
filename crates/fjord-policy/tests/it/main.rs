//! fjord-policy's integration tests: one binary, one module per area.

mod rule_expressions;
