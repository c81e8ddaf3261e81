//! `[database] connection` URLs in oslo.db / SQLAlchemy form.

use std::path::PathBuf;
use std::str::FromStr;

use sqlx::postgres::PgConnectOptions;

use super::error::RecordsError;

/// Where the records live.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    /// `sqlite://`, `sqlite:///`, `sqlite:///:memory:`.
    SqliteMemory,
    /// `sqlite:///relative/path` or `sqlite:////absolute/path`.
    SqliteFile(PathBuf),
    /// `postgresql://...` (also `postgres://`, `postgresql+psycopg2://`).
    Postgres(Box<PgConnectOptions>),
}

/// The URL with the password of its user info replaced by `****`.
pub(crate) fn mask(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:****@{host}{tail}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

/// Parses a connection URL.
pub(crate) fn parse(url: &str) -> Result<Target, RecordsError> {
    let url = url.trim();
    let invalid = |reason: String| RecordsError::InvalidUrl {
        url: mask(url),
        reason,
    };
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(invalid(
            "expected <backend>://..., for example sqlite:///fjord.sqlite or \
             postgresql://user@127.0.0.1:5432/fjord"
                .into(),
        ));
    };
    let scheme = scheme.to_ascii_lowercase();
    // SQLAlchemy's `dialect+driver`: the Python driver means nothing here.
    let backend = scheme.split('+').next().unwrap_or_default();
    match backend {
        "sqlite" => {
            if rest.contains('?') {
                return Err(invalid(
                    "query parameters are not supported for sqlite".into(),
                ));
            }
            if rest.is_empty() {
                return Ok(Target::SqliteMemory);
            }
            let Some(path) = rest.strip_prefix('/') else {
                return Err(invalid(
                    "a sqlite URL has no host: use sqlite:///relative/path.db, \
                     sqlite:////absolute/path.db or sqlite:// (in memory)"
                        .into(),
                ));
            };
            if path.is_empty() || path == ":memory:" {
                Ok(Target::SqliteMemory)
            } else {
                Ok(Target::SqliteFile(PathBuf::from(path)))
            }
        }
        "postgresql" | "postgres" => {
            let normalized = format!("postgresql://{rest}");
            PgConnectOptions::from_str(&normalized)
                .map(|o| Target::Postgres(Box::new(o)))
                .map_err(|e| invalid(format!("not a valid postgresql URL: {e}")))
        }
        other => Err(invalid(format!(
            "unsupported database backend {other:?}: fjord stores service records \
             in sqlite or postgresql"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(url: &str) -> PathBuf {
        match parse(url) {
            Ok(Target::SqliteFile(p)) => p,
            other => panic!("{url}: {other:?}"),
        }
    }

    #[test]
    fn sqlite_forms() {
        assert_eq!(
            file("sqlite:///fjord.sqlite"),
            PathBuf::from("fjord.sqlite")
        );
        assert_eq!(file("sqlite:///var/x.db"), PathBuf::from("var/x.db"));
        assert_eq!(
            file("sqlite:////var/lib/x.db"),
            PathBuf::from("/var/lib/x.db")
        );
        assert_eq!(file("SQLITE+pysqlite:////x.db"), PathBuf::from("/x.db"));
        for m in [
            "sqlite://",
            "sqlite:///",
            "sqlite:///:memory:",
            " sqlite:// ",
        ] {
            assert!(matches!(parse(m), Ok(Target::SqliteMemory)), "{m}");
        }
    }

    #[test]
    fn postgres_forms() {
        for u in [
            "postgresql://user@127.0.0.1:5432/test",
            "postgres://user:pw@127.0.0.1/test",
            "postgresql+psycopg2://user:pw@127.0.0.1:5432/test",
        ] {
            match parse(u) {
                Ok(Target::Postgres(o)) => {
                    assert_eq!(o.get_host(), "127.0.0.1");
                    assert_eq!(o.get_database(), Some("test"));
                }
                other => panic!("{u}: {other:?}"),
            }
        }
    }

    #[test]
    fn bad_urls_are_clear_errors() {
        let cases = [
            ("fjord.sqlite", "expected <backend>://"),
            (
                "mysql+pymysql://u:secret@h/db",
                "unsupported database backend \"mysql\"",
            ),
            ("sqlite://host/x.db", "a sqlite URL has no host"),
            ("sqlite:///x.db?mode=ro", "query parameters"),
            (
                "postgresql://u@127.0.0.1:notaport/db",
                "not a valid postgresql URL",
            ),
        ];
        for (url, want) in cases {
            let e = parse(url).expect_err(url).to_string();
            assert!(e.contains(want), "{url}: {e}");
            assert!(!e.contains("secret"), "{e}");
        }
    }

    #[test]
    fn passwords_are_masked() {
        assert_eq!(
            mask("postgresql://fjord:s3cr@t@db:5432/fjord"),
            "postgresql://fjord:****@db:5432/fjord"
        );
        assert_eq!(mask("postgresql://fjord@db/x"), "postgresql://fjord@db/x");
        assert_eq!(mask("sqlite:////a/b.db"), "sqlite:////a/b.db");
    }
}
