//! The integration tests of fjord-service, one module per area (one test binary).

mod diagnostics_console;
mod diagnostics_metrics;
mod launcher_forced;
mod launcher_graceful;
mod launcher_parent_death;
mod launcher_pid_file;
mod launcher_rate_limit;
mod launcher_reload;
mod launcher_reload_complete;
mod launcher_respawn;
mod launcher_scale;
mod launcher_second_signal;
mod launcher_single;
mod launcher_start_failure;
mod launcher_watchdog;
mod periodic_isolation;
mod periodic_schedule;
mod support;
