//! fjord-policy's integration tests: one binary, one module per area.

mod enforcer_interop;
mod generator_interop;
mod hostile_input;
mod policy_files;
mod pyyaml_interop;
mod real_world;
mod rule_expressions;
mod sample_generator;
