//! The integration tests of fjord-servicegroup, one module per area (one test binary).

mod fault_pg_restart;
mod servicegroup_heartbeat;
mod servicegroup_pg_outage;
mod servicegroup_processes;
mod servicegroup_register;
mod servicegroup_service;
mod servicegroup_sqlite_first_start;
mod servicegroup_updown;
mod support;
