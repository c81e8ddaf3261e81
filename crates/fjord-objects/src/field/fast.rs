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
