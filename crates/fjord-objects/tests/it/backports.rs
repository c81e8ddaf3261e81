//! backports.json.
