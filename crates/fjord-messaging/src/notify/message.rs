//! The notification message.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::message::Context;

/// A notification priority. In the body it is upper-case (`INFO`); in the
/// routing key lower-case (`notifications.info`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Priority {
    /// `audit`
    Audit,
    /// `debug`
    Debug,
    /// `info`
    Info,
    /// `warn` (Python's `warning()` sends `WARN` too)
    Warn,
    /// `error`
    Error,
    /// `critical`
    Critical,
    /// `sample`
    Sample,
}

impl Priority {
    /// Every priority.
    pub const ALL: [Priority; 7] = [
        Priority::Audit,
        Priority::Debug,
        Priority::Info,
        Priority::Warn,
        Priority::Error,
        Priority::Critical,
        Priority::Sample,
    ];

    /// The lower-case name (routing key and endpoint method name).
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Audit => "audit",
            Priority::Debug => "debug",
            Priority::Info => "info",
            Priority::Warn => "warn",
            Priority::Error => "error",
            Priority::Critical => "critical",
            Priority::Sample => "sample",
        }
    }

    /// Parses a priority in any case (`WARNING` is read as `warn`).
    pub fn parse(s: &str) -> Option<Priority> {
        let l = s.to_ascii_lowercase();
        if l == "warning" {
            return Some(Priority::Warn);
        }
        Priority::ALL.into_iter().find(|p| p.as_str() == l)
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A received (or built) notification.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Notification {
    /// uuid4 with dashes.
    pub message_id: String,
    /// Who sent it (`compute.host1`).
    pub publisher_id: String,
    /// What happened (`compute.instance.create.end`).
    pub event_type: String,
    /// The priority.
    pub priority: Priority,
    /// The payload.
    pub payload: Value,
    /// Naive UTC, Python `str(datetime)`: `YYYY-MM-DD HH:MM:SS[.ffffff]`.
    pub timestamp: String,
    /// Duplicate-detection id.
    pub unique_id: Option<String>,
    /// The context from the `_context_*` keys.
    pub context: Context,
}

impl Notification {
    /// The inner message (`_context_*` keys appended).
    pub fn to_inner(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("message_id".into(), Value::String(self.message_id.clone()));
        m.insert(
            "publisher_id".into(),
            Value::String(self.publisher_id.clone()),
        );
        m.insert("event_type".into(), Value::String(self.event_type.clone()));
        m.insert(
            "priority".into(),
            Value::String(self.priority.as_str().to_ascii_uppercase()),
        );
        m.insert("payload".into(), self.payload.clone());
        m.insert("timestamp".into(), Value::String(self.timestamp.clone()));
        if let Some(u) = &self.unique_id {
            m.insert("_unique_id".into(), Value::String(u.clone()));
        }
        for (k, v) in self.context.values() {
            m.insert(format!("_context_{k}"), v.clone());
        }
        m
    }

    /// Reads a notification from its inner message.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Decode`](crate::ErrorKind::Decode) when the priority is missing or unknown.
    pub fn from_inner(mut inner: Map<String, Value>) -> Result<Self> {
        let mut ctx = Map::new();
        let keys: Vec<String> = inner
            .keys()
            .filter(|k| k.starts_with("_context_"))
            .cloned()
            .collect();
        for k in keys {
            if let Some(v) = inner.remove(&k) {
                ctx.insert(k["_context_".len()..].to_string(), v);
            }
        }
        let mut s = |k: &str| match inner.remove(k) {
            Some(Value::String(s)) => s,
            _ => String::new(),
        };
        let priority = s("priority");
        let priority = Priority::parse(&priority)
            .ok_or_else(|| Error::decode(format!("unknown notification priority {priority:?}")))?;
        Ok(Notification {
            message_id: s("message_id"),
            publisher_id: s("publisher_id"),
            event_type: s("event_type"),
            timestamp: s("timestamp"),
            unique_id: Some(s("_unique_id")).filter(|u| !u.is_empty()),
            priority,
            payload: inner.remove("payload").unwrap_or(Value::Null),
            context: Context::from(ctx),
        })
    }

    /// `{"message_id", "timestamp"}`, the `metadata` Python endpoints get.
    pub fn metadata(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("message_id".into(), Value::String(self.message_id.clone()));
        m.insert("timestamp".into(), Value::String(self.timestamp.clone()));
        m
    }
}

/// `t` as Python's `str(datetime.utcfromtimestamp(t))`:
/// `YYYY-MM-DD HH:MM:SS.ffffff`, without the fraction when it is zero.
///
/// # Examples
///
/// ```
/// use fjord_messaging::notify::python_timestamp;
/// use std::time::{Duration, UNIX_EPOCH};
/// assert_eq!(python_timestamp(UNIX_EPOCH + Duration::from_micros(1_795_322_653_225_550)),
///            "2026-11-22 04:44:13.225550");
/// assert_eq!(python_timestamp(UNIX_EPOCH), "1970-01-01 00:00:00");
/// ```
pub fn python_timestamp(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let micros = d.subsec_micros();
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let base = format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    );
    if micros == 0 {
        base
    } else {
        format!("{base}.{micros:06}")
    }
}
