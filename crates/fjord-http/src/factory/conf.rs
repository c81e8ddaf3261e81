//! [`Conf`]: an insertion-ordered string map, the shape of paste's
//! `global_conf` and `local_conf` dictionaries.

/// An insertion-ordered map of string keys to string values.
///
/// Keys keep their first-insertion position when overwritten, like a Python
/// `dict`. Used for `global_conf` and `local_conf` handed to factories.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Conf {
    entries: Vec<(String, String)>,
}

/// The `global_conf` handed to a factory: `[DEFAULT]`, `here`, `__file__`
/// and `set` overrides.
pub type GlobalConf = Conf;

/// The `local_conf` handed to a factory: the section's own keys.
pub type LocalConf = Conf;

impl Conf {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.entries.iter().any(|(k, _)| k == key)
    }

    /// Sets `key` to `value`; an existing key keeps its position.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) {
        let key = key.into();
        let value = value.into();
        match self.entries.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.entries.push((key, value)),
        }
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        let pos = self.entries.iter().position(|(k, _)| k == key)?;
        Some(self.entries.remove(pos).1)
    }

    /// Inserts every entry of `other` (Python's `dict.update`).
    pub fn update(&mut self, other: &Conf) {
        for (k, v) in other.iter() {
            self.insert(k, v);
        }
    }

    /// Entries in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Keys in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(k, _)| k.as_str())
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The map as a JSON object of strings.
    pub fn to_json(&self) -> serde_json::Value {
        let mut map = serde_json::Map::new();
        for (k, v) in self.iter() {
            map.insert(k.to_owned(), serde_json::Value::String(v.to_owned()));
        }
        serde_json::Value::Object(map)
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Conf {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut conf = Conf::new();
        for (k, v) in iter {
            conf.insert(k, v);
        }
        conf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_keeps_first_position_and_remove_works() {
        let mut c: Conf = [("a", "1"), ("b", "2")].into_iter().collect();
        c.insert("a", "3");
        assert_eq!(c.keys().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(c.get("a"), Some("3"));
        assert_eq!(c.remove("a").as_deref(), Some("3"));
        assert!(!c.contains_key("a"));
        assert_eq!(c.len(), 1);
    }
}
