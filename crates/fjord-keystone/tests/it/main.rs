//! The integration tests of fjord-keystone, one module per area (one test
//! binary). They need the throwaway Keystone of `scripts/keystone.sh
//! start`; without it each test prints a `SKIPPED` line (and fails under
//! `FJORD_REQUIRE_SERVICES=1`).

mod authtoken;
mod context;
mod hostile_input;
mod paste;
mod support;
