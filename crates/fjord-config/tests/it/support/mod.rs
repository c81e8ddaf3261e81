//! Shared helpers for fjord-config's integration tests.
#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};

/// The corpus `../shared/openstack-configs`, or `None` after the skip.
pub fn corpus(test: &str) -> Option<PathBuf> {
    fjord_test_support::shared_dir(test, "openstack-configs", "conf")
}

/// Every `*.expected.json` under `dir`, recursively, sorted.
pub fn expected_files(dir: &Path) -> Vec<PathBuf> {
    fjord_test_support::files_ending(dir, ".expected.json")
}

/// The inputs an expected file describes: the file itself, or for
/// `multifile/<case>.expected.json` every file of `multifile/<case>/` in name order.
pub fn inputs_for(expected: &Path) -> Vec<PathBuf> {
    let name = expected.to_string_lossy();
    let input = PathBuf::from(name.trim_end_matches(".expected.json"));
    if input.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&input)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        files
    } else {
        vec![input]
    }
}

pub use fjord_test_support::temp_dir;

/// JSON that keeps object keys in document order (serde_json's `Value`
/// sorts them), so tests can compare order as well as content.
#[derive(Debug, Clone, PartialEq)]
pub enum Ordered {
    Null,
    Bool(bool),
    Num(String),
    Str(String),
    Arr(Vec<Ordered>),
    Obj(Vec<(String, Ordered)>),
}

impl Ordered {
    pub fn get(&self, key: &str) -> Option<&Ordered> {
        match self {
            Ordered::Obj(items) => items.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn parse(text: &str) -> Ordered {
        serde_json::from_str(text).unwrap()
    }
}

impl<'de> serde::Deserialize<'de> for Ordered {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Ordered;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("JSON")
            }
            fn visit_unit<E>(self) -> Result<Ordered, E> {
                Ok(Ordered::Null)
            }
            fn visit_none<E>(self) -> Result<Ordered, E> {
                Ok(Ordered::Null)
            }
            fn visit_bool<E>(self, v: bool) -> Result<Ordered, E> {
                Ok(Ordered::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Ordered, E> {
                Ok(Ordered::Num(v.to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Ordered, E> {
                Ok(Ordered::Num(v.to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Ordered, E> {
                Ok(Ordered::Num(v.to_string()))
            }
            fn visit_str<E>(self, v: &str) -> Result<Ordered, E> {
                Ok(Ordered::Str(v.to_owned()))
            }
            fn visit_string<E>(self, v: String) -> Result<Ordered, E> {
                Ok(Ordered::Str(v))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<Ordered, A::Error> {
                let mut out = Vec::new();
                while let Some(v) = a.next_element()? {
                    out.push(v);
                }
                Ok(Ordered::Arr(out))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<Ordered, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = a.next_entry()? {
                    out.push((k, v));
                }
                Ok(Ordered::Obj(out))
            }
        }
        d.deserialize_any(V)
    }
}
