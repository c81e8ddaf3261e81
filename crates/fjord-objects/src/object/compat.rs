//! Backports: `obj_make_compatible` with sub-objects lowered through a
//! version manifest or `obj_relationships` (VERSIONED_OBJECTS.md §7), and
//! `obj_tree_get_versions`.

use serde_json::{Map, Value};

use super::{Manifest, Schema};
use crate::error::{ObjectError, Result};
use crate::version::Version;

/// What the relationship walk decided for one sub-object field.
enum Walk {
    /// The child did not exist at the target: drop the field.
    Drop,
    /// Backport the child(ren) to this version.
    To(String),
    /// Newer than every pair: leave it.
    Keep,
}

fn walk(target: &Version, relationships: &[(String, String)]) -> Result<Walk> {
    for (i, (parent, child)) in relationships.iter().enumerate() {
        let parent = Version::parse(parent)?;
        if *target < parent {
            if i == 0 {
                return Ok(Walk::Drop);
            }
            return Ok(Walk::To(relationships[i - 1].1.clone()));
        } else if *target == parent {
            return Ok(Walk::To(child.clone()));
        }
    }
    Ok(Walk::Keep)
}

/// Lowers one nested primitive (in place) to `to`: the child's
/// `obj_make_compatible` on its `data`, then its `S.version` set to `to`.
fn backport_child(
    child: &Schema,
    value: &mut Value,
    to: &str,
    manifest: Option<&Manifest>,
) -> Result<()> {
    let Value::Object(prim) = value else {
        return Ok(()); // None stays None
    };
    let to_version = Version::parse(to)?;
    if let Some(Value::Object(data)) = prim.get_mut(&child.key("data")) {
        make_compatible(child, data, &to_version, manifest)?;
    }
    prim.insert(child.key("version"), Value::from(to));
    Ok(())
}

fn apply(
    child: &Schema,
    data: &mut Map<String, Value>,
    field: &str,
    decision: Walk,
    manifest: Option<&Manifest>,
) -> Result<()> {
    match decision {
        Walk::Drop => {
            data.remove(field);
        }
        Walk::Keep => {}
        Walk::To(to) => match data.get_mut(field) {
            Some(Value::Array(items)) => {
                for item in items {
                    backport_child(child, item, &to, manifest)?;
                }
            }
            Some(v) => backport_child(child, v, &to, manifest)?,
            None => {}
        },
    }
    Ok(())
}

fn owned(rel: &[(&str, &str)]) -> Vec<(String, String)> {
    rel.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

/// `obj_make_compatible_from_manifest(data, target, manifest)` for an
/// object of class `schema`: lowers sub-objects (the library's base
/// class, or `ObjectListBase`'s rules for lists), drops the fields added
/// after `target` (their `since`), then runs the class's own hook.
///
/// # Errors
///
/// `ObjectActionError("No rule for <field>")` for a set sub-object with
/// neither a manifest entry nor `obj_relationships`; the class hook's
/// errors; a bad version string.
pub fn make_compatible(
    schema: &Schema,
    data: &mut Map<String, Value>,
    target: &Version,
    manifest: Option<&Manifest>,
) -> Result<()> {
    if schema.is_list {
        if let Some(spec) = schema.field("objects")
            && let Some(child_ref) = spec.field.ty.object_ref()
        {
            let child = (child_ref.schema)();
            let relationships = if !schema.child_versions.is_empty() {
                owned(&schema.child_versions)
            } else if let Some(v) = manifest.and_then(|m| m.get(child_ref.name)) {
                vec![(target.to_string(), v.clone())]
            } else {
                schema
                    .relationship("objects")
                    .map(owned)
                    .unwrap_or_default()
            };
            let decision = if relationships.is_empty() {
                Walk::To("1.0".to_string())
            } else {
                walk(target, &relationships)?
            };
            apply(child, data, "objects", decision, manifest)?;
        }
    } else {
        for spec in &schema.fields {
            let Some(child_ref) = spec.field.ty.object_ref() else {
                continue;
            };
            if !data.contains_key(spec.name) {
                continue;
            }
            let relationships = match manifest {
                Some(m) if !m.is_empty() => match m.get(child_ref.name) {
                    Some(v) => vec![(target.to_string(), v.clone())],
                    None => continue,
                },
                _ => match schema.relationship(spec.name) {
                    Some(r) => owned(r),
                    None => {
                        return Err(ObjectError::action(
                            "obj_make_compatible",
                            format!("No rule for {}", spec.name),
                        ));
                    }
                },
            };
            if relationships.is_empty() {
                continue;
            }
            let decision = walk(target, &relationships)?;
            apply((child_ref.schema)(), data, spec.name, decision, manifest)?;
        }
    }
    for spec in &schema.fields {
        if let Some(since) = spec.since
            && *target < Version::parse(since)?
        {
            data.remove(spec.name);
        }
    }
    if let Some(hook) = schema.make_compatible {
        hook(data, target)?;
    }
    Ok(())
}

/// `obj_tree_get_versions(name)`: `{name: VERSION}` for the class and
/// every object reachable through its object and list-of-object fields.
pub fn obj_tree_get_versions(schema: &Schema) -> Manifest {
    let mut out = Manifest::new();
    fn visit(s: &Schema, out: &mut Manifest) {
        if out.contains_key(s.name) {
            return;
        }
        out.insert(s.name.to_string(), s.version.to_string());
        for f in &s.fields {
            if let Some(r) = f.field.ty.object_ref() {
                visit((r.schema)(), out);
            }
        }
    }
    visit(schema, &mut out);
    out
}
