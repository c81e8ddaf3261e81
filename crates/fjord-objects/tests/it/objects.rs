//! objects.json and object_definitions.json: obj_to_primitive (with
//! Python's key order), obj_from_primitive, round trips; both registries'
//! declarations match the fixture's definitions.
