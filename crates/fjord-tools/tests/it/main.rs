//! The integration tests of fjord-tools, one module per area (one test binary).

mod dump_corpus;
mod generate_cmd;
mod generate_from_binary;
mod generated_samples;
mod help_cmd;
mod manage_cmd;
mod paste_cmd;
mod policy_cmd;
mod support;
mod validate_cmd;
