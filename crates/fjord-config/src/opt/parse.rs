//! Parsing written values into typed [`Value`]s with oslo's rules.

use std::net::IpAddr;

use indexmap::IndexMap;

use super::{Kind, Opt};
use crate::value::Value;

fn fmt_bound(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        v.to_string()
    }
}

fn bounds_text(opt: &Opt) -> String {
    match (opt.min, opt.max) {
        (Some(a), Some(b)) => format!(" in {}..={}", fmt_bound(a), fmt_bound(b)),
        (Some(a), None) => format!(" >= {}", fmt_bound(a)),
        (None, Some(b)) => format!(" <= {}", fmt_bound(b)),
        (None, None) => String::new(),
    }
}

fn choices_text(opt: &Opt) -> String {
    opt.choices
        .iter()
        .map(|(c, _)| c.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn kind_expected(kind: &Kind) -> String {
    match kind {
        Kind::Str => "a string".to_owned(),
        Kind::Int => "an integer".to_owned(),
        Kind::Float => "a number".to_owned(),
        Kind::Bool => "a boolean (true/false, yes/no, on/off, 1/0)".to_owned(),
        Kind::List(item) => format!("a comma-separated list of {}", kind_expected(item)),
        Kind::Dict => "key:value pairs separated by commas".to_owned(),
        Kind::Port => "a port number in 0..=65535".to_owned(),
        Kind::Ip(Some(v)) => format!("an IPv{v} address"),
        Kind::Ip(None) => "an IP address".to_owned(),
        Kind::Uri(Some(schemes)) => format!("a URI with scheme {}", schemes.join(" or ")),
        Kind::Uri(None) => "a URI (scheme://authority/...)".to_owned(),
    }
}

pub(super) fn expected(opt: &Opt) -> String {
    if !opt.choices.is_empty() {
        return format!("one of: {}", choices_text(opt));
    }
    let mut text = kind_expected(&opt.kind);
    if matches!(opt.kind, Kind::Int | Kind::Float | Kind::Port) {
        text.push_str(&bounds_text(opt));
    }
    if let Some(len) = opt.max_length {
        text.push_str(&format!(" of at most {len} characters"));
    }
    text
}

fn check_bounds(opt: &Opt, n: f64, shown: &str) -> Result<(), String> {
    if let Some(min) = opt.min
        && n < min
    {
        return Err(format!(
            "{shown} is less than the minimum {}",
            fmt_bound(min)
        ));
    }
    if let Some(max) = opt.max
        && n > max
    {
        return Err(format!(
            "{shown} is greater than the maximum {}",
            fmt_bound(max)
        ));
    }
    Ok(())
}

fn check_choices(opt: &Opt, text: &str) -> Result<(), String> {
    if opt.choices.is_empty() {
        return Ok(());
    }
    let found = opt.choices.iter().any(|(c, _)| {
        if opt.ignore_case {
            c.to_lowercase() == text.to_lowercase()
        } else {
            c == text
        }
    });
    if found {
        Ok(())
    } else {
        Err(format!("{text:?} is not one of: {}", choices_text(opt)))
    }
}

fn parse_int(text: &str) -> Result<i64, String> {
    crate::parse::int(text).ok_or_else(|| format!("{text:?} is not an integer"))
}

/// Parses `text` as `kind` (the opt supplies bounds and choices).
pub(super) fn parse(opt: &Opt, kind: &Kind, text: &str) -> Result<Value, String> {
    let value = match kind {
        Kind::Str => {
            if let Some(len) = opt.max_length
                && text.chars().count() > len
            {
                return Err(format!("value is longer than {len} characters"));
            }
            check_choices(opt, text)?;
            Value::Str(text.to_owned())
        }
        Kind::Int | Kind::Port => {
            let n = parse_int(text)?;
            if matches!(kind, Kind::Port) && !(0..=65535).contains(&n) {
                return Err(format!("{n} is not a port number (0..=65535)"));
            }
            check_bounds(opt, n as f64, &n.to_string())?;
            check_choices(opt, &n.to_string())?;
            Value::Int(n)
        }
        Kind::Float => {
            let f = text
                .trim()
                .parse::<f64>()
                .map_err(|_| format!("{text:?} is not a number"))?;
            check_bounds(opt, f, &f.to_string())?;
            Value::Float(f)
        }
        Kind::Bool => match crate::parse::bool(text) {
            Some(b) => Value::Bool(b),
            None => return Err(format!("unexpected boolean value {text:?}")),
        },
        Kind::List(item) => {
            let trimmed = text.trim();
            if trimmed.is_empty() {
                Value::List(Vec::new())
            } else {
                let mut items = Vec::new();
                for part in trimmed.split(',') {
                    // Bounds and choices apply to the list's items.
                    items.push(parse(opt, item, part.trim())?);
                }
                Value::List(items)
            }
        }
        Kind::Dict => {
            let trimmed = text.trim();
            let mut map = IndexMap::new();
            if !trimmed.is_empty() {
                for part in trimmed.split(',') {
                    let Some((k, v)) = part.split_once(':') else {
                        return Err(format!("{part:?} is not in key:value format"));
                    };
                    map.insert(k.trim().to_owned(), v.trim().to_owned());
                }
            }
            Value::Dict(map)
        }
        Kind::Ip(version) => {
            let ip: IpAddr = text
                .trim()
                .parse()
                .map_err(|_| format!("{text:?} is not an IP address"))?;
            match (version, ip) {
                (Some(4), IpAddr::V6(_)) => return Err(format!("{ip} is not an IPv4 address")),
                (Some(6), IpAddr::V4(_)) => return Err(format!("{ip} is not an IPv6 address")),
                _ => Value::Ip(ip),
            }
        }
        Kind::Uri(schemes) => {
            let url =
                url::Url::parse(text.trim()).map_err(|e| format!("{text:?} is not a URI: {e}"))?;
            if !url.has_authority() {
                return Err(format!(
                    "{text:?} is not a URI with an authority (scheme://...)"
                ));
            }
            if let Some(schemes) = schemes
                && !schemes.iter().any(|s| s == url.scheme())
            {
                return Err(format!(
                    "URI scheme {:?} is not one of: {}",
                    url.scheme(),
                    schemes.join(", ")
                ));
            }
            if let Some(len) = opt.max_length
                && text.chars().count() > len
            {
                return Err(format!("value is longer than {len} characters"));
            }
            Value::Str(text.trim().to_owned())
        }
    };
    Ok(value)
}

/// Checks a typed value against the option's kind, bounds and choices.
pub(super) fn check_typed(opt: &Opt, value: &Value) -> Result<Value, String> {
    if opt.multi {
        let items: Vec<Value> = match value {
            Value::List(items) => items.clone(),
            other => vec![other.clone()],
        };
        let checked: Result<Vec<Value>, String> =
            items.iter().map(|v| check_one(opt, &opt.kind, v)).collect();
        return checked.map(Value::List);
    }
    check_one(opt, &opt.kind, value)
}

fn check_one(opt: &Opt, kind: &Kind, value: &Value) -> Result<Value, String> {
    match (kind, value) {
        (_, Value::Str(s)) => parse(opt, kind, s),
        (Kind::List(item), Value::List(items)) => items
            .iter()
            .map(|v| check_one(opt, item, v))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::List),
        (Kind::Int | Kind::Port | Kind::Float, Value::Int(_) | Value::Float(_))
        | (Kind::Bool, Value::Bool(_))
        | (Kind::Ip(_), Value::Ip(_))
        | (Kind::Dict, Value::Dict(_)) => {
            // Re-parse the written form so bounds, choices and ranges apply.
            let v = parse(opt, kind, &value.to_conf_string())?;
            Ok(match (kind, value) {
                (Kind::Float, Value::Int(i)) => Value::Float(*i as f64),
                _ => v,
            })
        }
        _ => Err(format!(
            "a {} is not {}",
            value.kind_name(),
            kind_expected(kind)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ints_bools_lists() {
        let o = Opt::int("w").min(1).max(10);
        assert_eq!(o.parse_value(" 5 "), Ok(Value::Int(5)));
        assert!(o.parse_value("0").unwrap_err().contains("minimum 1"));
        assert!(o.parse_value("x").is_err());
        assert_eq!(o.expected(), "an integer in 1..=10");
        let b = Opt::bool("d");
        assert_eq!(b.parse_value("Yes"), Ok(Value::Bool(true)));
        assert_eq!(b.parse_value("off"), Ok(Value::Bool(false)));
        assert!(b.parse_value("maybe").is_err());
        let l = Opt::list("l");
        assert_eq!(l.parse_value("a, b"), Ok(Value::from(vec!["a", "b"])));
        assert_eq!(l.parse_value(""), Ok(Value::List(vec![])));
    }

    #[test]
    fn ports_ips_uris_dicts_choices() {
        assert!(Opt::port("p").parse_value("65536").is_err());
        assert_eq!(Opt::port("p").parse_value("80"), Ok(Value::Int(80)));
        assert!(Opt::ip("i").ip_version(4).parse_value("::1").is_err());
        assert!(Opt::ip("i").parse_value("::1").is_ok());
        assert!(Opt::uri("u").parse_value("rabbit://h:5672/").is_ok());
        assert!(Opt::uri("u").parse_value("not a uri").is_err());
        assert!(
            Opt::uri("u")
                .schemes(&["http"])
                .parse_value("ftp://x/")
                .is_err()
        );
        let d = Opt::dict("d").parse_value("a:1, b:2").unwrap();
        assert_eq!(d.to_conf_string(), "a:1,b:2");
        assert!(Opt::dict("d").parse_value("a").is_err());
        let c = Opt::str("c").choices(&["x", "y"]);
        assert!(c.parse_value("z").is_err());
        assert!(c.parse_value("x").is_ok());
    }

    #[test]
    fn typed_defaults_are_checked() {
        let o = Opt::int("w").min(1);
        assert_eq!(o.check_value(&Value::Int(2)), Ok(Value::Int(2)));
        assert!(o.check_value(&Value::Int(0)).is_err());
        assert_eq!(o.check_value(&Value::from("3")), Ok(Value::Int(3)));
        assert!(o.check_value(&Value::Bool(true)).is_err());
    }
}
