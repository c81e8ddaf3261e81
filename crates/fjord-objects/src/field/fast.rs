//! The fast read path: JSON text straight into typed objects with serde,
//! no `serde_json::Value` in between. It handles the canonical forms a
//! Python sender writes; anything else (a value needing coercion, an
//! error) makes it give up with [`FALLBACK`], and the caller reads the
//! text again through the general path, which gives Python's result or
//! error.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::{Field, FieldData};
use crate::object::Slot;

/// The message of the error that sends a read to the general path.
pub const FALLBACK: &str = "fjord-objects: not on the fast path";

/// The error that sends a read to the general path.
pub fn fallback<E: serde::de::Error>() -> E {
    E::custom(FALLBACK)
}

/// Reads a `T` of `field` from a deserializer ([`FieldData::deserialize_fast`]).
pub struct FastSeed<'f, T> {
    field: &'f Field,
    _t: PhantomData<T>,
}

impl<T> fmt::Debug for FastSeed<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FastSeed")
    }
}

impl<'f, T> FastSeed<'f, T> {
    /// A seed for a value of `field`.
    pub fn new(field: &'f Field) -> Self {
        FastSeed {
            field,
            _t: PhantomData,
        }
    }
}

impl<'de, T: FieldData> DeserializeSeed<'de> for FastSeed<'_, T> {
    type Value = T;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<T, D::Error> {
        T::deserialize_fast(d, self.field)
    }
}

/// Reads a `Slot<T>` of `field`: `null` on a nullable field is `Null`.
pub struct SlotSeed<'f, T> {
    field: &'f Field,
    _t: PhantomData<T>,
}

impl<T> fmt::Debug for SlotSeed<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SlotSeed")
    }
}

impl<'f, T> SlotSeed<'f, T> {
    /// A seed for the slot of `field`.
    pub fn new(field: &'f Field) -> Self {
        SlotSeed {
            field,
            _t: PhantomData,
        }
    }
}

struct OptVisitor<'f, T> {
    field: &'f Field,
    _t: PhantomData<T>,
}

impl<'de, T: FieldData> Visitor<'de> for OptVisitor<'_, T> {
    type Value = Option<T>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field value or null")
    }
    fn visit_none<E: serde::de::Error>(self) -> Result<Option<T>, E> {
        if self.field.nullable {
            Ok(None)
        } else {
            Err(fallback())
        }
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<Option<T>, E> {
        self.visit_none()
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Option<T>, D::Error> {
        T::deserialize_fast(d, self.field).map(Some)
    }
}

/// `Option<T>` of a field that may be null.
pub(crate) fn deserialize_option<'de, D: Deserializer<'de>, T: FieldData>(
    d: D,
    field: &Field,
) -> Result<Option<T>, D::Error> {
    d.deserialize_option(OptVisitor {
        field,
        _t: PhantomData,
    })
}

impl<'de, T: FieldData> DeserializeSeed<'de> for SlotSeed<'_, T> {
    type Value = Slot<T>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Slot<T>, D::Error> {
        Ok(match deserialize_option::<D, T>(d, self.field)? {
            None => Slot::Null,
            Some(v) => Slot::Value(v),
        })
    }
}

/// A JSON array of `T`s of `elem`.
pub(crate) struct SeqVisitor<'f, T> {
    pub(crate) elem: &'f Field,
    pub(crate) _t: PhantomData<T>,
}

impl<'de, T: FieldData> Visitor<'de> for SeqVisitor<'_, T> {
    type Value = Vec<T>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(v) = seq.next_element_seed(FastSeed::<T>::new(self.elem))? {
            out.push(v);
        }
        Ok(out)
    }
}

/// A JSON object of `T`s of `elem`.
pub(crate) struct MapVisitor<'f, T> {
    pub(crate) elem: &'f Field,
    pub(crate) _t: PhantomData<T>,
}

impl<'de, T: FieldData> Visitor<'de> for MapVisitor<'_, T> {
    type Value = indexmap::IndexMap<String, T>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = indexmap::IndexMap::with_capacity(map.size_hint().unwrap_or(0));
        while let Some(k) = map.next_key::<String>()? {
            let v = map.next_value_seed(FastSeed::<T>::new(self.elem))?;
            out.insert(k, v);
        }
        Ok(out)
    }
}

/// A string, borrowed or not.
pub(crate) struct StrVisitor<F>(pub(crate) F);

impl<'de, R, F: FnOnce(&str) -> Option<R>> Visitor<'de> for StrVisitor<F> {
    type Value = R;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<R, E> {
        (self.0)(s).ok_or_else(fallback)
    }
}

/// A string read from any deserializer: borrowed from JSON text or from a
/// `&serde_json::Value`, moved out of an owned `Value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireStr<'de>(pub std::borrow::Cow<'de, str>);

impl std::ops::Deref for WireStr<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

struct WireStrVisitor;

impl<'de> Visitor<'de> for WireStrVisitor {
    type Value = WireStr<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_borrowed_str<E: serde::de::Error>(self, s: &'de str) -> Result<WireStr<'de>, E> {
        Ok(WireStr(std::borrow::Cow::Borrowed(s)))
    }
    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<WireStr<'de>, E> {
        Ok(WireStr(std::borrow::Cow::Owned(s.to_owned())))
    }
    fn visit_string<E: serde::de::Error>(self, s: String) -> Result<WireStr<'de>, E> {
        Ok(WireStr(std::borrow::Cow::Owned(s)))
    }
}

impl<'de> serde::Deserialize<'de> for WireStr<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(WireStrVisitor)
    }
}

/// A key of an object primitive (`S.name`, `S.namespace`, ...), as the
/// fast path reads it ([`EnvKeySeed`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvKey {
    /// `S.name`.
    Name,
    /// `S.namespace`.
    Namespace,
    /// `S.version`.
    Version,
    /// `S.data`.
    Data,
    /// `S.changes`.
    Changes,
    /// Any other key (ignored, as Python ignores it).
    Other,
}

/// Reads a key of an object primitive of the serial namespace `.0` with
/// no allocation, whatever the deserializer.
#[derive(Debug, Clone, Copy)]
pub struct EnvKeySeed(pub &'static str);

impl<'de> DeserializeSeed<'de> for EnvKeySeed {
    type Value = EnvKey;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<EnvKey, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for EnvKeySeed {
    type Value = EnvKey;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key of an object primitive")
    }
    fn visit_str<E: serde::de::Error>(self, k: &str) -> Result<EnvKey, E> {
        Ok(
            match k.strip_prefix(self.0).and_then(|k| k.strip_prefix('.')) {
                Some("name") => EnvKey::Name,
                Some("namespace") => EnvKey::Namespace,
                Some("version") => EnvKey::Version,
                Some("data") => EnvKey::Data,
                Some("changes") => EnvKey::Changes,
                _ => EnvKey::Other,
            },
        )
    }
}

/// Reads `S.changes`: the received names that are fields of `.0`, as
/// `obj_from_primitive` keeps them.
#[derive(Debug, Clone, Copy)]
pub struct ChangesSeed(pub &'static crate::Schema);

impl<'de> DeserializeSeed<'de> for ChangesSeed {
    type Value = std::collections::BTreeSet<&'static str>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ChangesSeed {
    type Value = std::collections::BTreeSet<&'static str>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of field names")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = std::collections::BTreeSet::new();
        while let Some(c) = seq.next_element::<WireStr<'de>>()? {
            if let Some(f) = self.0.field(&c) {
                out.insert(f.name);
            }
        }
        Ok(out)
    }
}
