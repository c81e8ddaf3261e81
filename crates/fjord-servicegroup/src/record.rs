//! Service records as read from the database, and the up/down rule.

use std::time::{Duration, SystemTime};

use time::OffsetDateTime;

/// One row of the `services` table (nova's `Service` object, the fields
/// fjord keeps).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServiceRecord {
    /// Primary key; what [`super::ServiceRecords::heartbeat`] takes.
    pub id: i64,
    /// The host the service runs on (nova's `host` option, default the
    /// hostname).
    pub host: String,
    /// The program, e.g. `demo-worker` (nova `binary`).
    pub binary: String,
    /// The RPC topic it serves (API services use their API name).
    pub topic: String,
    /// How many heartbeats it has written.
    pub report_count: i64,
    /// Whether an operator disabled it (it still runs and reports).
    pub disabled: bool,
    /// The operator's reason, if disabled with one.
    pub disabled_reason: Option<String>,
    /// When the record was first created.
    pub created_at: SystemTime,
    /// When the record last changed.
    pub updated_at: Option<SystemTime>,
    /// When the service last wrote a heartbeat.
    pub last_seen_up: Option<SystemTime>,
}

impl ServiceRecord {
    /// The time the up/down rule looks at: the last heartbeat, or the
    /// creation time for a service that has not reported yet (as nova).
    pub fn last_heartbeat(&self) -> SystemTime {
        self.last_seen_up.unwrap_or(self.created_at)
    }
}

/// A record and whether its service is up.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServiceStatus {
    /// The record.
    pub record: ServiceRecord,
    /// Whether the last heartbeat is within `service_down_time` of now.
    pub up: bool,
}

impl ServiceStatus {
    /// `"up"` or `"down"` (nova's `State` column).
    pub fn state(&self) -> &'static str {
        if self.up { "up" } else { "down" }
    }

    /// `"enabled"` or `"disabled"` (nova's `Status` column).
    pub fn status(&self) -> &'static str {
        if self.record.disabled {
            "disabled"
        } else {
            "enabled"
        }
    }
}

/// nova's `DbDriver.is_up`: up while `|now - last_heartbeat| <=
/// service_down_time`. The absolute value means a heartbeat from a clock
/// ahead of ours still counts as recent.
///
/// # Examples
///
/// ```
/// use fjord_servicegroup::is_up;
/// use std::time::{Duration, SystemTime};
///
/// let now = SystemTime::now();
/// let down_time = Duration::from_secs(60);
/// assert!(is_up(now - Duration::from_secs(59), now, down_time));
/// assert!(!is_up(now - Duration::from_secs(61), now, down_time));
/// ```
pub fn is_up(last_heartbeat: SystemTime, now: SystemTime, service_down_time: Duration) -> bool {
    let elapsed = match now.duration_since(last_heartbeat) {
        Ok(d) => d,
        Err(e) => e.duration(),
    };
    elapsed <= service_down_time
}

/// A timestamp as nova prints it: UTC, `YYYY-MM-DDTHH:MM:SS.ffffff`.
///
/// # Examples
///
/// ```
/// use fjord_servicegroup::format_timestamp;
/// use std::time::{Duration, UNIX_EPOCH};
///
/// let t = UNIX_EPOCH + Duration::from_micros(1_700_000_000_123_456);
/// assert_eq!(format_timestamp(t), "2023-11-14T22:13:20.123456");
/// ```
pub fn format_timestamp(t: SystemTime) -> String {
    let t = OffsetDateTime::from(t);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.microsecond()
    )
}

/// The `service list` view as a text table (nova-manage's columns: Binary,
/// Host, Topic, State, Status, Updated At, Disabled Reason), one line per
/// record, columns padded to their widest cell.
///
/// # Examples
///
/// ```
/// use fjord_servicegroup::format_table;
///
/// let text = format_table(&[]);
/// assert!(text.starts_with("Binary"));
/// ```
pub fn format_table(services: &[ServiceStatus]) -> String {
    let header = [
        "Binary",
        "Host",
        "Topic",
        "State",
        "Status",
        "Updated At",
        "Disabled Reason",
    ];
    let rows: Vec<[String; 7]> = services
        .iter()
        .map(|s| {
            [
                s.record.binary.clone(),
                s.record.host.clone(),
                s.record.topic.clone(),
                s.state().to_string(),
                s.status().to_string(),
                s.record
                    .updated_at
                    .map(format_timestamp)
                    .unwrap_or_else(|| "-".to_string()),
                s.record.disabled_reason.clone().unwrap_or_default(),
            ]
        })
        .collect();
    let mut widths = header.map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut l = String::new();
        for (i, (cell, w)) in cells.zip(widths).enumerate() {
            if i > 0 {
                l.push_str("  ");
            }
            l.push_str(cell);
            l.extend(std::iter::repeat_n(' ', w - cell.chars().count()));
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(&mut header.iter().copied());
    for row in &rows {
        line(&mut row.iter().map(String::as_str));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_lines_up() {
        let rec = |host: &str, disabled: bool| ServiceStatus {
            record: ServiceRecord {
                id: 1,
                host: host.into(),
                binary: "demo-worker".into(),
                topic: "demo".into(),
                report_count: 3,
                disabled,
                disabled_reason: disabled.then(|| "maintenance".to_string()),
                created_at: SystemTime::UNIX_EPOCH,
                updated_at: Some(SystemTime::UNIX_EPOCH + Duration::from_secs(86_400)),
                last_seen_up: None,
            },
            up: !disabled,
        };
        let t = format_table(&[rec("h1", false), rec("a-longer-host", true)]);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(
            lines[0],
            "Binary       Host           Topic  State  Status    Updated At                  Disabled Reason"
        );
        assert_eq!(
            lines[1],
            "demo-worker  h1             demo   up     enabled   1970-01-02T00:00:00.000000"
        );
        assert_eq!(
            lines[2],
            "demo-worker  a-longer-host  demo   down   disabled  1970-01-02T00:00:00.000000  maintenance"
        );
    }

    #[test]
    fn up_down_rule() {
        let now = SystemTime::now();
        let d = Duration::from_secs(60);
        assert!(is_up(now, now, d));
        assert!(is_up(now - d, now, d));
        assert!(!is_up(now - d - Duration::from_millis(1), now, d));
        // a clock 30 s ahead still counts, 90 s ahead does not
        assert!(is_up(now + Duration::from_secs(30), now, d));
        assert!(!is_up(now + Duration::from_secs(90), now, d));
    }
}
