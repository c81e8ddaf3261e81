//! [`Target`]: where a message goes or what a server listens to (WIRE.md §1).

use std::fmt;

use crate::error::{Error, Result};

/// Where a message goes, or what a server or endpoint listens to.
///
/// # Examples
///
/// ```
/// use fjord_messaging::Target;
/// let t = Target::new("compute").with_server("host1").with_version("5.1");
/// assert_eq!(t.topic.as_deref(), Some("compute"));
/// assert_eq!(t.to_string(), "compute.host1 (version 5.1)");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Target {
    /// AMQP topic exchange; `None` means the transport's `control_exchange`.
    pub exchange: Option<String>,
    /// Service interface name (`compute`); required to send or listen.
    pub topic: Option<String>,
    /// Method group inside the topic; `None` is the null namespace.
    pub namespace: Option<String>,
    /// Client: lowest version the server must implement. Endpoint: the version it implements.
    pub version: Option<String>,
    /// Client: send to this server only. Server: its own name.
    pub server: Option<String>,
    /// Client cast only: deliver to every server on the topic.
    pub fanout: bool,
    /// Endpoint only: extra namespaces it also accepts.
    pub legacy_namespaces: Vec<String>,
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(e) = &self.exchange {
            write!(f, "{e}/")?;
        }
        f.write_str(self.topic.as_deref().unwrap_or("<no topic>"))?;
        if let Some(s) = &self.server {
            write!(f, ".{s}")?;
        }
        if self.fanout {
            f.write_str(" (fanout)")?;
        }
        if let Some(n) = &self.namespace {
            write!(f, " (namespace {n})")?;
        }
        if let Some(v) = &self.version {
            write!(f, " (version {v})")?;
        }
        Ok(())
    }
}

impl Target {
    /// A target on `topic`, everything else unset.
    pub fn new(topic: impl Into<String>) -> Self {
        Target {
            topic: Some(topic.into()),
            ..Default::default()
        }
    }

    /// An endpoint target (no topic): `namespace` and `version`.
    pub fn endpoint(namespace: Option<&str>, version: Option<&str>) -> Self {
        Target {
            namespace: namespace.map(str::to_string),
            version: version.map(str::to_string),
            ..Default::default()
        }
    }

    /// Sets the exchange. Default is `None` (the control exchange).
    pub fn with_exchange(mut self, exchange: impl Into<String>) -> Self {
        self.exchange = Some(exchange.into());
        self
    }
    /// Sets the server. Default is `None`.
    pub fn with_server(mut self, server: impl Into<String>) -> Self {
        self.server = Some(server.into());
        self
    }
    /// Sets the namespace. Default is `None`.
    pub fn with_namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = Some(namespace.into());
        self
    }
    /// Sets the version. Default is `None`.
    pub fn with_version(mut self, version: impl Into<String>) -> Self {
        self.version = Some(version.into());
        self
    }
    /// Sets fanout. Default is false.
    pub fn with_fanout(mut self, fanout: bool) -> Self {
        self.fanout = fanout;
        self
    }
    /// Adds a legacy namespace. Default is none.
    pub fn with_legacy_namespace(mut self, ns: impl Into<String>) -> Self {
        self.legacy_namespaces.push(ns.into());
        self
    }

    /// The topic, or an [`Error::InvalidTarget`] naming this target.
    ///
    /// # Errors
    ///
    /// When `topic` is unset or empty.
    pub fn require_topic(&self) -> Result<&str> {
        match self.topic.as_deref() {
            Some(t) if !t.is_empty() => Ok(t),
            _ => Err(Error::InvalidTarget {
                target: self.to_string(),
                reason: "a topic is required".into(),
            }),
        }
    }
}

/// A parsed `MAJ.MIN[.REV]` version.
fn parse_version(v: &str) -> Option<(u64, u64, u64)> {
    let mut it = v.split('.');
    let maj = it.next()?.trim().parse().ok()?;
    let min = it.next()?.trim().parse().ok()?;
    let rev = match it.next() {
        Some(r) => r.trim().parse().ok()?,
        None => 0,
    };
    if it.next().is_some() {
        return None;
    }
    Some((maj, min, rev))
}

/// Checks that `v` looks like `X.Y` or `X.Y.Z`.
///
/// # Errors
///
/// [`Error::InvalidVersion`] otherwise.
pub fn check_version(v: &str) -> Result<()> {
    parse_version(v)
        .map(|_| ())
        .ok_or_else(|| Error::InvalidVersion(v.to_string()))
}

/// oslo's `version_is_compatible(implemented, requested)` (WIRE.md §5.2):
/// same major, requested minor ≤ implemented minor, and when the minors are
/// equal requested revision ≤ implemented revision. `implemented = None` is
/// always compatible; `requested = None` never is. Unparsable versions are
/// incompatible.
///
/// # Examples
///
/// ```
/// use fjord_messaging::version_is_compatible;
/// assert!(version_is_compatible(Some("1.5"), Some("1.0")));
/// assert!(!version_is_compatible(Some("1.5"), Some("1.9")));
/// assert!(!version_is_compatible(Some("2.1"), Some("3.0")));
/// ```
pub fn version_is_compatible(implemented: Option<&str>, requested: Option<&str>) -> bool {
    let Some(imp) = implemented else { return true };
    let Some(req) = requested else { return false };
    let (Some(i), Some(r)) = (parse_version(imp), parse_version(req)) else {
        return false;
    };
    r.0 == i.0 && r.1 <= i.1 && (r.1 != i.1 || r.2 <= i.2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compat_table() {
        for (imp, req, ok) in [
            ("1.5", "1.0", true),
            ("1.5", "1.5", true),
            ("1.5", "1.9", false),
            ("1.5", "2.0", false),
            ("2.1", "2.0", true),
            ("2.1", "3.0", false),
            ("1.5.1", "1.5.2", false),
            ("1.5.2", "1.5.1", true),
            ("1.6.0", "1.5.9", true),
            ("1.0", "x", false),
        ] {
            assert_eq!(
                version_is_compatible(Some(imp), Some(req)),
                ok,
                "{imp} {req}"
            );
        }
        assert!(version_is_compatible(None, None));
        assert!(!version_is_compatible(Some("1.0"), None));
    }

    #[test]
    fn topic_required() {
        assert!(Target::default().require_topic().is_err());
        assert_eq!(Target::new("t").require_topic().unwrap(), "t");
        assert!(check_version("1.2.3").is_ok());
        assert!(check_version("1").is_err());
    }
}
