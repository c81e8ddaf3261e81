//! Service records and heartbeats (nova servicegroup, DB driver). Work in progress.
