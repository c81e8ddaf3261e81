//! The access log (H7): one line per response in `wsgi_log_format`, logged
//! at INFO on the `fjord_http::access` tracing target once the response
//! body has been sent (or the client went away).
//!
//! The format is oslo's Python %-style: `%(name)s`, `%(name)d`,
//! `%(name).Nf`, and `%%`. Fields: `client_ip`, `request_line`,
//! `status_code`, `body_length`, `wall_seconds`, plus `method`, `path`,
//! `http_version`. An unknown field is an error when the service is built.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::time::Duration;

use super::error::Error;

/// The tracing target of access log lines.
pub const ACCESS_LOG_TARGET: &str = "fjord_http::access";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    ClientIp,
    RequestLine,
    StatusCode,
    BodyLength,
    WallSeconds,
    Method,
    Path,
    HttpVersion,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Text(String),
    Field(Field, Option<usize>),
}

/// A parsed `wsgi_log_format`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LogFormat {
    segments: Vec<Segment>,
}

/// What one access log line is made of.
#[derive(Debug)]
pub(crate) struct Entry<'a> {
    pub(crate) client_ip: IpAddr,
    pub(crate) method: &'a str,
    pub(crate) path: &'a str,
    pub(crate) version: &'a str,
    pub(crate) status: u16,
    pub(crate) body_length: u64,
    pub(crate) wall: Duration,
}

impl LogFormat {
    /// Parses `format`.
    pub(crate) fn parse(format: &str) -> Result<Self, Error> {
        let invalid = |message: String| Error::InvalidOption {
            option: "wsgi_log_format",
            message,
        };
        let mut segments = Vec::new();
        let mut text = String::new();
        let mut rest = format;
        while let Some(pos) = rest.find('%') {
            text.push_str(&rest[..pos]);
            rest = &rest[pos + 1..];
            if let Some(r) = rest.strip_prefix('%') {
                text.push('%');
                rest = r;
                continue;
            }
            let Some(r) = rest.strip_prefix('(') else {
                return Err(invalid(format!(
                    "'%' not followed by '(name)' in {format:?}"
                )));
            };
            let Some(close) = r.find(')') else {
                return Err(invalid(format!("unclosed '%(' in {format:?}")));
            };
            let name = &r[..close];
            let field = match name {
                "client_ip" => Field::ClientIp,
                "request_line" => Field::RequestLine,
                "status_code" => Field::StatusCode,
                "body_length" => Field::BodyLength,
                "wall_seconds" => Field::WallSeconds,
                "method" => Field::Method,
                "path" | "path_info" => Field::Path,
                "http_version" => Field::HttpVersion,
                _ => return Err(invalid(format!("unknown field %({name})"))),
            };
            let r = &r[close + 1..];
            // conversion: s, d, or [.N]f
            let (precision, r) = match r.strip_prefix('.') {
                Some(p) => {
                    let digits = p.bytes().take_while(u8::is_ascii_digit).count();
                    let n = p[..digits]
                        .parse::<usize>()
                        .map_err(|_| invalid(format!("bad precision after %({name})")))?;
                    (Some(n.min(12)), &p[digits..])
                }
                None => (None, r),
            };
            let Some(conv) = r.chars().next() else {
                return Err(invalid(format!("missing conversion after %({name})")));
            };
            if !matches!(conv, 's' | 'd' | 'f' | 'r') {
                return Err(invalid(format!("unsupported conversion %({name}){conv}")));
            }
            let precision = if conv == 'f' {
                precision.or(Some(6))
            } else {
                None
            };
            rest = &r[1..];
            if !text.is_empty() {
                segments.push(Segment::Text(std::mem::take(&mut text)));
            }
            segments.push(Segment::Field(field, precision));
        }
        text.push_str(rest);
        if !text.is_empty() {
            segments.push(Segment::Text(text));
        }
        Ok(LogFormat { segments })
    }

    /// Formats one line.
    pub(crate) fn format(&self, e: &Entry<'_>) -> String {
        let mut out = String::with_capacity(96);
        for seg in &self.segments {
            // Writing to a String cannot fail.
            let _ = match seg {
                Segment::Text(t) => {
                    out.push_str(t);
                    Ok(())
                }
                Segment::Field(f, precision) => match f {
                    Field::ClientIp => write!(out, "{}", e.client_ip),
                    Field::RequestLine => write!(out, "{} {} {}", e.method, e.path, e.version),
                    Field::Method => write!(out, "{}", e.method),
                    Field::Path => write!(out, "{}", e.path),
                    Field::HttpVersion => write!(out, "{}", e.version),
                    Field::StatusCode => write!(out, "{}", e.status),
                    Field::BodyLength => write!(out, "{}", e.body_length),
                    Field::WallSeconds => match precision {
                        Some(p) => write!(out, "{:.*}", p, e.wall.as_secs_f64()),
                        None => write!(out, "{}", e.wall.as_secs_f64()),
                    },
                },
            };
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::options::DEFAULT_LOG_FORMAT;

    fn entry() -> Entry<'static> {
        Entry {
            client_ip: "127.0.0.1".parse().unwrap(),
            method: "GET",
            path: "/v2.1/servers?limit=1",
            version: "HTTP/1.1",
            status: 200,
            body_length: 13,
            wall: Duration::from_micros(1234),
        }
    }

    #[test]
    fn oslo_default_format() {
        let f = LogFormat::parse(DEFAULT_LOG_FORMAT).unwrap();
        assert_eq!(
            f.format(&entry()),
            "127.0.0.1 \"GET /v2.1/servers?limit=1 HTTP/1.1\" status: 200 len: 13 time: 0.0012340"
        );
    }

    #[test]
    fn percent_escape_and_other_fields() {
        let f = LogFormat::parse("%(method)s %(status_code)d 100%% %(wall_seconds).2f").unwrap();
        assert_eq!(f.format(&entry()), "GET 200 100% 0.00");
    }

    #[test]
    fn unknown_field_is_an_error() {
        let err = LogFormat::parse("%(nope)s").unwrap_err().to_string();
        assert!(
            err.contains("wsgi_log_format") && err.contains("nope"),
            "{err}"
        );
        assert!(LogFormat::parse("%(client_ip)").is_err());
        assert!(LogFormat::parse("50% off").is_err());
    }
}
