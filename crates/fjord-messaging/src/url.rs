//! Transport URL parsing (WIRE.md §2.1).

use std::fmt;

use percent_encoding::percent_decode_str;

use crate::error::{Error, Result};

/// A password that never shows in `Display` or `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// Wraps a password.
    pub fn new(p: impl Into<String>) -> Self {
        Password(p.into())
    }
    /// The secret itself, for the one place that needs it (the AMQP login).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

impl fmt::Display for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// One broker host of a transport URL.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TransportHost {
    /// Host name or address (IPv6 without brackets); `None` means `localhost`.
    pub hostname: Option<String>,
    /// Port; `None` means 5672.
    pub port: Option<u16>,
    /// Percent-decoded user name.
    pub username: Option<String>,
    /// Percent-decoded password.
    pub password: Option<Password>,
}

impl TransportHost {
    /// The host name to connect to (`localhost` when absent).
    pub fn host(&self) -> &str {
        self.hostname.as_deref().unwrap_or("localhost")
    }
    /// The port to connect to (5672 when absent).
    pub fn port_or_default(&self) -> u16 {
        self.port.unwrap_or(5672)
    }
    /// `host:port` for logs and errors (IPv6 in brackets); no credentials.
    pub fn address(&self) -> String {
        let h = self.host();
        if h.contains(':') {
            format!("[{h}]:{}", self.port_or_default())
        } else {
            format!("{h}:{}", self.port_or_default())
        }
    }
}

/// The transport kind a URL selects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Scheme {
    /// `rabbit://` (or `kombu://`): RabbitMQ.
    Rabbit,
    /// `fake://`: the in-process transport for tests.
    Fake,
    /// `embedded:///path/to/socket`: the brokerless transport between the
    /// processes of one host (see [`crate::transport::EmbeddedDriver`]).
    Embedded,
}

/// A parsed transport URL:
/// `rabbit://[user[:pass]@]host[:port][,...]/[vhost][?query]`.
///
/// `Display` and `Debug` show the password as `***`.
///
/// # Examples
///
/// ```
/// use fjord_messaging::TransportUrl;
/// let u = TransportUrl::parse("rabbit://u%40x:p%3Aw@h1:5673,u:p@[::1]/nova?ssl=true").unwrap();
/// assert_eq!(u.hosts().len(), 2);
/// assert_eq!(u.hosts()[0].username.as_deref(), Some("u@x"));
/// assert_eq!(u.hosts()[0].password.as_ref().unwrap().expose(), "p:w");
/// assert_eq!(u.hosts()[1].hostname.as_deref(), Some("::1"));
/// assert_eq!(u.virtual_host(), "nova");
/// assert_eq!(u.to_string(), "rabbit://u%40x:***@h1:5673,u:***@[::1]:5672/nova?ssl=true");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct TransportUrl {
    scheme: Scheme,
    hosts: Vec<TransportHost>,
    virtual_host: Option<String>,
    query: Vec<(String, String)>,
}

impl fmt::Debug for TransportUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TransportUrl({self})")
    }
}

const USERINFO: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

impl fmt::Display for TransportUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self.scheme {
            Scheme::Rabbit => "rabbit",
            Scheme::Fake => "fake",
            Scheme::Embedded => "embedded",
        };
        write!(f, "{scheme}://")?;
        for (i, h) in self.hosts.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            if let Some(u) = &h.username {
                write!(f, "{}", percent_encoding::utf8_percent_encode(u, USERINFO))?;
                if h.password.is_some() {
                    f.write_str(":***")?;
                }
                f.write_str("@")?;
            }
            if h.hostname.is_some() || h.port.is_some() {
                f.write_str(&h.address())?;
            }
        }
        f.write_str("/")?;
        if let Some(v) = &self.virtual_host {
            write!(f, "{}", percent_encoding::utf8_percent_encode(v, USERINFO))?;
        }
        for (i, (k, v)) in self.query.iter().enumerate() {
            write!(f, "{}{k}={v}", if i == 0 { "?" } else { "&" })?;
        }
        Ok(())
    }
}

fn decode(part: &str, what: &str, entry: usize) -> Result<String> {
    percent_decode_str(part)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| Error::InvalidUrl {
            reason: format!("{what} of host entry {entry} is not valid UTF-8 once percent-decoded"),
        })
}

fn parse_host(entry: &str, n: usize) -> Result<TransportHost> {
    let (creds, hostport) = match entry.rfind('@') {
        Some(i) => (Some(&entry[..i]), &entry[i + 1..]),
        None => (None, entry),
    };
    let (username, password) = match creds {
        None => (None, None),
        Some(c) => match c.split_once(':') {
            Some((u, p)) => (
                Some(decode(u, "user name", n)?),
                Some(Password(decode(p, "password", n)?)),
            ),
            None => (Some(decode(c, "user name", n)?), None),
        },
    };
    let bad_port = |p: &str| Error::InvalidUrl {
        reason: format!("invalid port {p:?} in host entry {n} ({hostport:?})"),
    };
    let (hostname, port) = if let Some(rest) = hostport.strip_prefix('[') {
        let end = rest.find(']').ok_or_else(|| Error::InvalidUrl {
            reason: format!("unclosed '[' in host entry {n} ({hostport:?})"),
        })?;
        let host = &rest[..end];
        let after = &rest[end + 1..];
        let port = match after.strip_prefix(':') {
            Some(p) if !p.is_empty() => Some(p.parse::<u16>().map_err(|_| bad_port(p))?),
            Some(_) => None,
            None if after.is_empty() => None,
            None => return Err(bad_port(after)),
        };
        (Some(host.to_string()), port)
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => {
                let port = if p.is_empty() {
                    None
                } else {
                    Some(p.parse::<u16>().map_err(|_| bad_port(p))?)
                };
                (Some(h.to_string()), port)
            }
            None => (Some(hostport.to_string()), None),
        }
    };
    let hostname = hostname.filter(|h| !h.is_empty());
    Ok(TransportHost {
        hostname,
        port,
        username,
        password,
    })
}

impl TransportUrl {
    /// Parses a transport URL as oslo.messaging does (WIRE.md §2.1).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidUrl`] for a missing or unsupported scheme, a bad port,
    /// an unclosed IPv6 bracket or undecodable percent-escapes. The message
    /// never contains the password.
    pub fn parse(url: &str) -> Result<Self> {
        let (scheme, rest) = url.split_once("://").ok_or_else(|| Error::InvalidUrl {
            reason: "missing \"<scheme>://\"".into(),
        })?;
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "rabbit" | "kombu" => Scheme::Rabbit,
            s if s.starts_with("kombu+") => Scheme::Rabbit,
            "fake" => Scheme::Fake,
            "embedded" => Scheme::Embedded,
            other => {
                return Err(Error::InvalidUrl {
                    reason: format!("unsupported transport scheme {other:?}"),
                });
            }
        };
        // Drop a fragment, then split off the query.
        let rest = rest.split_once('#').map_or(rest, |(a, _)| a);
        let (rest, query) = match rest.split_once('?') {
            Some((a, q)) => (a, Some(q)),
            None => (rest, None),
        };
        let (netloc, path) = match rest.find('/') {
            Some(i) => (&rest[..i], Some(&rest[i + 1..])),
            None => (rest, None),
        };
        let mut hosts = Vec::new();
        if !netloc.is_empty() {
            for (n, entry) in netloc.split(',').enumerate() {
                hosts.push(parse_host(entry, n + 1)?);
            }
        }
        let virtual_host = match path {
            Some(p) => Some(
                percent_decode_str(p)
                    .decode_utf8()
                    .map_err(|_| Error::InvalidUrl {
                        reason: "virtual host is not valid UTF-8 once percent-decoded".into(),
                    })?
                    .into_owned(),
            ),
            None => None,
        };
        let mut pairs: Vec<(String, String)> = Vec::new();
        for kv in query.unwrap_or("").split(['&', ';']) {
            if kv.is_empty() {
                continue;
            }
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            let dec = |s: &str| {
                percent_decode_str(&s.replace('+', " "))
                    .decode_utf8()
                    .map(|c| c.into_owned())
                    .map_err(|_| Error::InvalidUrl {
                        reason: "query is not valid UTF-8 once percent-decoded".into(),
                    })
            };
            let (k, v) = (dec(k)?, dec(v)?);
            if v.is_empty() {
                continue; // parse_qs drops blank values
            }
            match pairs.iter_mut().find(|(pk, _)| *pk == k) {
                Some((_, pv)) => {
                    pv.push(',');
                    pv.push_str(&v);
                }
                None => pairs.push((k, v)),
            }
        }
        Ok(TransportUrl {
            scheme,
            hosts,
            virtual_host,
            query: pairs,
        })
    }

    /// The transport kind.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The hosts, in URL order. Empty means `localhost:5672` with `guest`/`guest`.
    pub fn hosts(&self) -> &[TransportHost] {
        &self.hosts
    }

    /// The hosts to connect to, with credentials filled in as oslo does: no
    /// host at all gives `localhost:5672 guest/guest`; when no host carries
    /// credentials they all get `guest`/`guest`; when only some do, the
    /// others get empty credentials (and a warning is logged).
    pub fn effective_hosts(&self) -> Vec<TransportHost> {
        let guest = || TransportHost {
            hostname: Some("localhost".into()),
            port: Some(5672),
            username: Some("guest".into()),
            password: Some(Password::new("guest")),
        };
        if self.hosts.is_empty() {
            return vec![guest()];
        }
        let with = self.hosts.iter().filter(|h| h.username.is_some()).count();
        if with > 0 && with < self.hosts.len() {
            tracing::warn!(
                "some transport URL hosts have credentials and some do not; \
                 the ones without get empty credentials"
            );
        }
        self.hosts
            .iter()
            .map(|h| {
                let mut h = h.clone();
                if h.username.is_none() {
                    let (u, p) = if with == 0 {
                        ("guest", "guest")
                    } else {
                        ("", "")
                    };
                    h.username = Some(u.into());
                    h.password = Some(Password::new(p));
                } else if h.password.is_none() {
                    h.password = Some(Password::new(""));
                }
                h
            })
            .collect()
    }

    /// The virtual host exactly as in the URL (`None` when the URL has no path).
    pub fn raw_virtual_host(&self) -> Option<&str> {
        self.virtual_host.as_deref()
    }

    /// The virtual host to use: `/` when absent or empty.
    pub fn virtual_host(&self) -> &str {
        match self.virtual_host.as_deref() {
            None | Some("") => "/",
            Some(v) => v,
        }
    }

    /// The query pairs (repeated keys joined with `,`).
    pub fn query(&self) -> &[(String, String)] {
        &self.query
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vhost_rules() {
        let v = |u: &str| TransportUrl::parse(u).unwrap().virtual_host().to_string();
        assert_eq!(v("rabbit://h/"), "/");
        assert_eq!(v("rabbit://h//"), "/");
        assert_eq!(v("rabbit://h/%2F"), "/");
        assert_eq!(v("rabbit://h/nova"), "nova");
        assert_eq!(v("rabbit://h"), "/");
        assert_eq!(
            TransportUrl::parse("rabbit://h/")
                .unwrap()
                .raw_virtual_host(),
            Some("")
        );
    }

    #[test]
    fn embedded_scheme_keeps_the_socket_path() {
        let u = TransportUrl::parse("embedded:///run/fjord/broker.sock").unwrap();
        assert_eq!(u.scheme(), Scheme::Embedded);
        assert_eq!(u.raw_virtual_host(), Some("run/fjord/broker.sock"));
    }

    #[test]
    fn default_url_is_localhost_guest() {
        let u = TransportUrl::parse("rabbit://").unwrap();
        assert!(u.hosts().is_empty());
        let h = u.effective_hosts();
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].address(), "localhost:5672");
        assert_eq!(h[0].username.as_deref(), Some("guest"));
        assert_eq!(h[0].password.as_ref().map(Password::expose), Some("guest"));
    }

    #[test]
    fn credentials_before_last_at_and_first_colon() {
        let u = TransportUrl::parse("rabbit://us@er:pa:ss@w@host:1234/").unwrap();
        let h = &u.hosts()[0];
        assert_eq!(h.username.as_deref(), Some("us@er"));
        assert_eq!(h.password.as_ref().unwrap().expose(), "pa:ss@w");
        assert_eq!(h.hostname.as_deref(), Some("host"));
        assert_eq!(h.port, Some(1234));
    }

    #[test]
    fn several_hosts_and_mixed_credentials() {
        let u = TransportUrl::parse("kombu://a:b@h1,h2:5673/").unwrap();
        assert_eq!(u.scheme(), Scheme::Rabbit);
        let h = u.effective_hosts();
        assert_eq!(h[0].username.as_deref(), Some("a"));
        assert_eq!(h[1].username.as_deref(), Some(""));
        assert_eq!(h[1].address(), "h2:5673");
    }

    #[test]
    fn errors_never_show_password() {
        for bad in [
            "rabbit://user:Sup3rSecret@host:notaport/",
            "rabbit://user:Sup3rSecret@[::1/",
            "rabbit://user:Sup3rSecret%FF@host/",
            "http://user:Sup3rSecret@host/",
        ] {
            let e = TransportUrl::parse(bad).unwrap_err();
            let text = format!("{e} {e:?}");
            assert!(!text.contains("Sup3rSecret"), "{text}");
        }
        let u = TransportUrl::parse("rabbit://user:Sup3rSecret@host/").unwrap();
        let text = format!("{u} {u:?} {:?}", u.hosts());
        assert!(!text.contains("Sup3rSecret"), "{text}");
        assert!(text.contains("user:***@host:5672"), "{text}");
    }
}
