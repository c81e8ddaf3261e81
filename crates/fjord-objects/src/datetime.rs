//! `DateTimeField` values: what `iso8601.parse_date` reads and the exact
//! string oslo.versionedobjects writes (VERSIONED_OBJECTS.md §3.1).

use std::fmt;

use crate::error::ObjectError;

/// A date and time with an optional UTC offset (None: naive, as Python's
/// naive datetimes and `DateTimeField(tzinfo_aware=False)` hold them).
///
/// The wire form ([`DateTime::to_primitive`], also `Display`) is
/// `YYYY-MM-DDTHH:MM:SS` with no fraction, then `Z` when the value is naive
/// or at offset zero, otherwise the offset as `±HH:MM`, as Python writes a
/// datetime read from the wire.
///
/// # Examples
///
/// ```
/// use fjord_objects::DateTime;
/// let dt = DateTime::parse("2024-02-29T13:45:30.5+02:00")?;
/// assert_eq!(dt.to_primitive(), "2024-02-29T13:45:30+02:00");
/// assert_eq!(DateTime::parse("2024-02-29")?.to_primitive(), "2024-02-29T00:00:00Z");
/// # Ok::<(), fjord_objects::ObjectError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DateTime {
    /// Year, 1 to 9999.
    pub year: i32,
    /// Month, 1 to 12.
    pub month: u8,
    /// Day of the month.
    pub day: u8,
    /// Hour, 0 to 23.
    pub hour: u8,
    /// Minute.
    pub minute: u8,
    /// Second, 0 to 59.
    pub second: u8,
    /// Microseconds; kept from the input, never written.
    pub microsecond: u32,
    /// Offset from UTC in seconds; None for a naive value.
    pub offset: Option<i32>,
}

fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ => {
            if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 {
                29
            } else {
                28
            }
        }
    }
}

struct Cursor<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn digits(&mut self, min: usize, max: usize) -> Option<u32> {
        let start = self.pos;
        while self.pos < self.s.len() && self.pos - start < max && self.s[self.pos].is_ascii_digit()
        {
            self.pos += 1;
        }
        if self.pos - start < min {
            self.pos = start;
            return None;
        }
        let mut n: u32 = 0;
        for b in &self.s[start..self.pos] {
            n = n * 10 + u32::from(b - b'0');
        }
        Some(n)
    }
    fn eat(&mut self, c: u8) -> bool {
        if self.s.get(self.pos) == Some(&c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }
    fn done(&self) -> bool {
        self.pos == self.s.len()
    }
}

impl DateTime {
    /// A naive value (no offset).
    pub fn naive(year: i32, month: u8, day: u8, hour: u8, minute: u8, second: u8) -> Self {
        DateTime {
            year,
            month,
            day,
            hour,
            minute,
            second,
            microsecond: 0,
            offset: None,
        }
    }

    /// The same wall-clock time at UTC (offset zero).
    pub fn utc(year: i32, month: u8, day: u8, hour: u8, minute: u8, second: u8) -> Self {
        DateTime {
            offset: Some(0),
            ..Self::naive(year, month, day, hour, minute, second)
        }
    }

    /// Parses what `iso8601.parse_date` accepts: `YYYY-MM-DD` or `YYYYMMDD`,
    /// optionally `T` or a space and `HH[:MM[:SS[.fraction]]]`, and a zone of
    /// `Z`, `±HH:MM`, `±HHMM` or `±HH`. A string with no zone is UTC.
    ///
    /// # Errors
    ///
    /// `ValueError("Unable to parse date string '...'")` as iso8601 raises.
    pub fn parse(text: &str) -> Result<DateTime, ObjectError> {
        Self::parse_inner(text)
            .ok_or_else(|| ObjectError::value(format!("Unable to parse date string '{text}'")))
    }

    /// The form Python and fjord write, `YYYY-MM-DDTHH:MM:SS` then `Z` or
    /// `±HH:MM`, read with no search (the general parser reads it the
    /// same); None for any other text.
    fn parse_canonical(b: &[u8]) -> Option<DateTime> {
        if !(b.len() == 20 || b.len() == 25)
            || b[4] != b'-'
            || b[7] != b'-'
            || b[10] != b'T'
            || b[13] != b':'
            || b[16] != b':'
        {
            return None;
        }
        let two = |i: usize| -> Option<u32> {
            let (h, l) = (b[i].wrapping_sub(b'0'), b[i + 1].wrapping_sub(b'0'));
            (h < 10 && l < 10).then(|| u32::from(h * 10 + l))
        };
        let offset = match (b.len(), b[19]) {
            (20, b'Z') => 0,
            (25, sign @ (b'+' | b'-')) if b[22] == b':' => {
                let o = (two(20)? * 3600 + two(23)? * 60) as i32;
                if sign == b'-' { -o } else { o }
            }
            _ => return None,
        };
        Self::checked(
            (two(0)? * 100 + two(2)?) as i32,
            two(5)?,
            two(8)?,
            [two(11)?, two(14)?, two(17)?, 0],
            Some(offset),
        )
    }

    /// The value if every part is in range.
    fn checked(
        year: i32,
        month: u32,
        day: u32,
        [hour, minute, second, micro]: [u32; 4],
        offset: Option<i32>,
    ) -> Option<DateTime> {
        if !(1..=12).contains(&month)
            || day == 0
            || day > u32::from(days_in_month(year, month as u8))
            || hour > 23
            || minute > 59
            || second > 59
            || year == 0
        {
            return None;
        }
        if let Some(o) = offset
            && o.abs() >= 24 * 3600
        {
            return None;
        }
        Some(DateTime {
            year,
            month: month as u8,
            day: day as u8,
            hour: hour as u8,
            minute: minute as u8,
            second: second as u8,
            microsecond: micro,
            offset,
        })
    }

    fn parse_inner(text: &str) -> Option<DateTime> {
        Self::parse_canonical(text.as_bytes()).or_else(|| Self::parse_general(text))
    }

    fn parse_general(text: &str) -> Option<DateTime> {
        let mut c = Cursor {
            s: text.as_bytes(),
            pos: 0,
        };
        let year = c.digits(4, 4)? as i32;
        let (mut month, mut day) = (1u32, 1u32);
        let (mut hour, mut minute, mut second, mut micro) = (0u32, 0u32, 0u32, 0u32);
        let mut offset = Some(0i32);
        if !c.done() {
            month = if c.eat(b'-') {
                c.digits(1, 2)?
            } else {
                let m = c.digits(2, 2)?;
                if c.done() {
                    return None; // YYYYMM is not allowed
                }
                m
            };
            if !c.done() {
                day = if c.eat(b'-') {
                    c.digits(1, 2)?
                } else {
                    c.digits(2, 2)?
                };
                if !c.done() {
                    if !(c.eat(b'T') || c.eat(b' ')) {
                        return None;
                    }
                    hour = c.digits(2, 2)?;
                    let save = c.pos;
                    c.eat(b':');
                    match c.digits(2, 2) {
                        Some(m) => {
                            minute = m;
                            let save = c.pos;
                            c.eat(b':');
                            match c.digits(1, 2) {
                                Some(s) => {
                                    second = s;
                                    if c.eat(b'.') || c.eat(b',') {
                                        let start = c.pos;
                                        while c.peek().is_some_and(|b| b.is_ascii_digit()) {
                                            c.pos += 1;
                                        }
                                        let frac = &text[start..c.pos];
                                        if frac.is_empty() {
                                            return None;
                                        }
                                        let mut us = 0u32;
                                        for (i, b) in frac.bytes().take(6).enumerate() {
                                            us += u32::from(b - b'0') * 10u32.pow(5 - i as u32);
                                        }
                                        micro = us;
                                    }
                                }
                                None => c.pos = save,
                            }
                        }
                        None => c.pos = save,
                    }
                    if !c.done() {
                        if c.eat(b'Z') {
                            offset = Some(0);
                        } else {
                            let sign = match c.peek()? {
                                b'+' => 1,
                                b'-' => -1,
                                _ => return None,
                            };
                            c.pos += 1;
                            let h = c.digits(2, 2)? as i32;
                            c.eat(b':');
                            let m = c.digits(2, 2).unwrap_or(0) as i32;
                            offset = Some(sign * (h * 3600 + m * 60));
                        }
                    }
                }
            }
        }
        if !c.done() {
            return None;
        }
        Self::checked(year, month, day, [hour, minute, second, micro], offset)
    }

    /// The wire form: `YYYY-MM-DDTHH:MM:SS` and `Z` or `±HH:MM`.
    pub fn to_primitive(&self) -> String {
        let mut s = format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        );
        match self.offset {
            None | Some(0) => s.push('Z'),
            Some(o) => s.push_str(&offset_text(o)),
        }
        s
    }

    /// Python's `str(datetime)`: `2024-02-29 13:45:30.123456+00:00` (what
    /// a `StringField` stores when given a datetime).
    pub fn py_str(&self) -> String {
        let mut s = format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        );
        if self.microsecond != 0 {
            s.push_str(&format!(".{:06}", self.microsecond));
        }
        if let Some(o) = self.offset {
            s.push_str(&offset_text(o));
        }
        s
    }

    /// Python's `isoformat()`: `2024-02-29T13:45:30.123456+00:00`.
    pub fn isoformat(&self) -> String {
        self.py_str().replacen(' ', "T", 1)
    }

    /// The value without its offset, wall clock unchanged (what a
    /// `DateTimeField(tzinfo_aware=False)` keeps).
    pub fn without_offset(mut self) -> Self {
        self.offset = None;
        self
    }
}

fn offset_text(o: i32) -> String {
    let sign = if o < 0 { '-' } else { '+' };
    let a = o.abs();
    format!("{sign}{:02}:{:02}", a / 3600, (a % 3600) / 60)
}

impl fmt::Display for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_primitive())
    }
}

impl serde::Serialize for DateTime {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_primitive())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whatever the canonical reader reads, the general parser reads the
    /// same (and what it refuses goes to the general parser).
    #[test]
    fn canonical_form_reads_as_the_general_parser_does() {
        let cases = [
            "2024-02-29T13:45:30Z",
            "2023-02-29T13:45:30Z",
            "2024-02-29T13:45:30+05:30",
            "2024-02-29T13:45:30-00:00",
            "2024-02-29T13:45:30-23:59",
            "2024-02-29T13:45:30+24:00",
            "2024-02-29T13:45:30+05:99",
            "0000-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
            "2024-13-01T00:00:00Z",
            "2024-00-01T00:00:00Z",
            "2024-01-00T00:00:00Z",
            "2024-01-01T24:00:00Z",
            "2024-01-01T00:60:00Z",
            "2024-01-01T00:00:60Z",
            "2024-01-01T00:00:00z",
            "2024-01-01 00:00:00Z",
            "2024-01-01T00:00:00+0530",
            "2024-01-01T00:00:00*05:30",
            "2024-01-01T00:00:0aZ",
            "2024-01-01T00:00:00.5Z",
            "20240101T000000Z",
            "2024-01-01",
            "2024-1-01T00:00:00Z0",
        ];
        for text in cases {
            if let Some(dt) = DateTime::parse_canonical(text.as_bytes()) {
                assert_eq!(Some(dt), DateTime::parse_general(text), "{text}");
            }
        }
        for y in [1, 1900, 2000, 2023, 2024] {
            for m in 0..=13 {
                for d in 0..=32 {
                    for (h, mi, sec) in
                        [(0, 0, 0), (23, 59, 59), (24, 0, 0), (0, 60, 0), (0, 0, 60)]
                    {
                        for zone in ["Z", "+00:00", "-05:30", "+23:59", "+24:00"] {
                            let text =
                                format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{sec:02}{zone}");
                            assert_eq!(
                                DateTime::parse_canonical(text.as_bytes()),
                                DateTime::parse_general(&text),
                                "{text}"
                            );
                        }
                    }
                }
            }
        }
        // Every canonical text in range is read by the canonical reader.
        assert!(DateTime::parse_canonical(b"2024-02-29T13:45:30Z").is_some());
        assert!(DateTime::parse_canonical(b"2024-02-29T13:45:30-23:59").is_some());
    }
}
