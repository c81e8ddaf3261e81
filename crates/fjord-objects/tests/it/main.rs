#![allow(unreachable_pub)]

//! fjord-objects' integration tests: every case of the
//! oslo.versionedobjects 3.12.0 vectors in `../shared/versioned-objects-fixtures`.

mod backports;
mod defs;
mod field_types;
mod fingerprints;
mod hostile_input;
mod interop_python;
mod objects;
mod rpc_indirection;
mod serializer_entities;
mod support;
