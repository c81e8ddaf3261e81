//! TLS (H6): the rustls server configuration from the `[ssl]` options.
//!
//! Built synchronously when the service is built, so a missing or
//! unreadable file is an error in the master, before any worker starts.

use std::path::Path;
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig, SupportedProtocolVersion};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use super::error::Error;
use super::options::SslOptions;

/// Builds the server configuration; ALPN offers `h2` when `http2` is set.
pub(crate) fn server_config(ssl: &SslOptions, http2: bool) -> Result<Arc<ServerConfig>, Error> {
    let (cert_path, key_path) = match (&ssl.cert_file, &ssl.key_file) {
        (Some(c), Some(k)) => (c, k),
        (Some(c), None) => {
            return Err(Error::InvalidOption {
                option: "ssl.key_file",
                message: format!(
                    "cert_file {c:?} is set but key_file is not: both are needed to serve TLS"
                ),
            });
        }
        (None, Some(k)) => {
            return Err(Error::InvalidOption {
                option: "ssl.cert_file",
                message: format!(
                    "key_file {k:?} is set but cert_file is not: both are needed to serve TLS"
                ),
            });
        }
        (None, None) => {
            return Err(Error::InvalidOption {
                option: "ssl.cert_file",
                message: "TLS is enabled for this API but neither cert_file nor key_file is set"
                    .to_owned(),
            });
        }
    };
    let certs = read_certs("cert_file", cert_path)?;
    let key = read_key(key_path)?;

    let mut provider = rustls::crypto::ring::default_provider();
    if let Some(ciphers) = &ssl.ciphers {
        select_ciphers(&mut provider, ciphers)?;
    }
    let provider = Arc::new(provider);
    let versions = versions(ssl.version.as_deref())?;
    let builder =
        ServerConfig::builder_with_provider(provider.clone()).with_protocol_versions(versions)?;
    let builder = match &ssl.ca_file {
        Some(ca_path) => {
            let mut roots = RootCertStore::empty();
            for cert in read_certs("ca_file", ca_path)? {
                roots.add(cert).map_err(|e| Error::TlsContent {
                    option: "ca_file",
                    path: ca_path.clone(),
                    message: e.to_string(),
                })?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| Error::TlsContent {
                    option: "ca_file",
                    path: ca_path.clone(),
                    message: e.to_string(),
                })?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder
        .with_single_cert(certs, key)
        .map_err(|e| Error::TlsContent {
            option: "key_file",
            path: key_path.clone(),
            message: format!("does not go with cert_file {cert_path:?}: {e}"),
        })?;
    config.alpn_protocols = if http2 {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    } else {
        vec![b"http/1.1".to_vec()]
    };
    Ok(Arc::new(config))
}

fn read_file(option: &'static str, path: &Path) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|source| Error::TlsFile {
        option,
        path: path.to_owned(),
        source,
    })
}

fn read_certs(option: &'static str, path: &Path) -> Result<Vec<CertificateDer<'static>>, Error> {
    let pem = read_file(option, path)?;
    let content = |message: String| Error::TlsContent {
        option,
        path: path.to_owned(),
        message,
    };
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| content(e.to_string()))?;
    if certs.is_empty() {
        return Err(content("no PEM certificate found".to_owned()));
    }
    Ok(certs)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, Error> {
    let pem = read_file("key_file", path)?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|e| Error::TlsContent {
        option: "key_file",
        path: path.to_owned(),
        message: format!("no usable PEM private key: {e}"),
    })
}

fn versions(version: Option<&str>) -> Result<&'static [&'static SupportedProtocolVersion], Error> {
    static BOTH: &[&SupportedProtocolVersion] = &[&rustls::version::TLS13, &rustls::version::TLS12];
    static V12: &[&SupportedProtocolVersion] = &[&rustls::version::TLS12];
    static V13: &[&SupportedProtocolVersion] = &[&rustls::version::TLS13];
    match version.map(str::trim) {
        None | Some("") => Ok(BOTH),
        Some(v) => match v.to_ascii_uppercase().replace(['.', '-'], "_").as_str() {
            "SSLV23" | "TLS" | "PROTOCOL_TLS" | "PROTOCOL_SSLV23" | "TLS_SERVER" => Ok(BOTH),
            "TLSV1_2" | "PROTOCOL_TLSV1_2" => Ok(V12),
            "TLSV1_3" | "PROTOCOL_TLSV1_3" => Ok(V13),
            _ => Err(Error::InvalidOption {
                option: "ssl.version",
                message: format!(
                    "{v:?} is not supported (rustls speaks TLSv1_2 and TLSv1_3; use TLSv1_2, TLSv1_3 or SSLv23)"
                ),
            }),
        },
    }
}

/// OpenSSL names of the suites rustls implements.
const OPENSSL_NAMES: &[(&str, &str)] = &[
    ("TLS_AES_128_GCM_SHA256", "TLS13_AES_128_GCM_SHA256"),
    ("TLS_AES_256_GCM_SHA384", "TLS13_AES_256_GCM_SHA384"),
    (
        "TLS_CHACHA20_POLY1305_SHA256",
        "TLS13_CHACHA20_POLY1305_SHA256",
    ),
    (
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    ),
    (
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    ),
    (
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    ),
    (
        "ECDHE-RSA-AES128-GCM-SHA256",
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    ),
    (
        "ECDHE-RSA-AES256-GCM-SHA384",
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    ),
    (
        "ECDHE-RSA-CHACHA20-POLY1305",
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    ),
];

fn select_ciphers(provider: &mut CryptoProvider, ciphers: &str) -> Result<(), Error> {
    let name_of = |s: &rustls::SupportedCipherSuite| format!("{:?}", s.suite());
    let mut wanted = Vec::new();
    for item in ciphers.split([':', ',', ' ']).filter(|s| !s.is_empty()) {
        let name = OPENSSL_NAMES
            .iter()
            .find(|(openssl, _)| openssl.eq_ignore_ascii_case(item))
            .map_or(item.to_owned(), |(_, rustls)| (*rustls).to_owned());
        if !provider
            .cipher_suites
            .iter()
            .any(|s| name_of(s).eq_ignore_ascii_case(&name))
        {
            let known: Vec<String> = provider.cipher_suites.iter().map(name_of).collect();
            return Err(Error::InvalidOption {
                option: "ssl.ciphers",
                message: format!(
                    "unknown cipher suite {item:?}; rustls supports {}",
                    known.join(":")
                ),
            });
        }
        wanted.push(name);
    }
    if wanted.is_empty() {
        return Err(Error::InvalidOption {
            option: "ssl.ciphers",
            message: "no cipher suite listed".to_owned(),
        });
    }
    provider
        .cipher_suites
        .retain(|s| wanted.iter().any(|w| name_of(s).eq_ignore_ascii_case(w)));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_names() {
        assert_eq!(versions(None).unwrap().len(), 2);
        assert_eq!(versions(Some("SSLv23")).unwrap().len(), 2);
        assert_eq!(versions(Some("TLSv1_2")).unwrap().len(), 1);
        assert_eq!(versions(Some("TLSv1.3")).unwrap().len(), 1);
        let err = versions(Some("TLSv1")).unwrap_err().to_string();
        assert!(
            err.contains("ssl.version") && err.contains("TLSv1"),
            "{err}"
        );
    }

    #[test]
    fn cipher_names_rustls_and_openssl() {
        let mut p = rustls::crypto::ring::default_provider();
        select_ciphers(
            &mut p,
            "TLS13_AES_256_GCM_SHA384:ECDHE-RSA-AES128-GCM-SHA256",
        )
        .unwrap();
        assert_eq!(p.cipher_suites.len(), 2);
        let mut p = rustls::crypto::ring::default_provider();
        let err = select_ciphers(&mut p, "HIGH:!aNULL")
            .unwrap_err()
            .to_string();
        assert!(err.contains("\"HIGH\""), "{err}");
    }

    #[test]
    fn cert_without_key_is_an_error() {
        let ssl = SslOptions::default().cert_file("/nonexistent/cert.pem");
        let err = server_config(&ssl, false).unwrap_err().to_string();
        assert!(
            err.contains("key_file") && err.contains("cert.pem"),
            "{err}"
        );
    }
}
