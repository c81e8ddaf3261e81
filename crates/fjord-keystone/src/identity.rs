//! [`IdentityServer`]: the HTTP conversation with Keystone — the service
//! user's login (v3 password) and the validation of tokens
//! (`GET /v3/auth/tokens`), bounded in time, retried on connection
//! failures, over hyper-util's client with rustls (ring).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

use crate::config::AuthTokenConfig;
use crate::token::{Checked, TokenInfo};

/// The `User-Agent` of requests to Keystone.
const USER_AGENT: &str = concat!("fjord-keystone/", env!("CARGO_PKG_VERSION"));

/// A service token this close to its expiry is renewed first
/// (keystoneauth's `STALE_TOKEN_DURATION`).
const STALE: Duration = Duration::from_secs(30);

/// The largest body read from Keystone (a token with a big catalog is a
/// few tens of KiB).
const MAX_BODY: usize = 4 << 20;

/// Why Keystone could not answer a question: the filter answers 503.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// No connection, or no answer within `http_connect_timeout`.
    #[error("[keystone_authtoken] identity server {url} unreachable: {reason}")]
    Unreachable {
        /// The URL asked.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// Keystone refused the service user's credentials.
    #[error(
        "[keystone_authtoken] Keystone at {url} refused the service user {user:?} ({status}): check username, password, user_domain_name/user_domain_id and project_name in [keystone_authtoken]"
    )]
    LoginRefused {
        /// The login URL.
        url: String,
        /// The service user.
        user: String,
        /// Keystone's status.
        status: u16,
    },
    /// Keystone answered with a status the middleware cannot act on (5xx,
    /// 403, ...), or a body it cannot read.
    #[error("[keystone_authtoken] identity server {url} answered {status}: {detail}")]
    Bad {
        /// The URL asked.
        url: String,
        /// The status (0: unreadable body).
        status: u16,
        /// Keystone's body or what could not be read.
        detail: String,
    },
    /// The TLS settings (`cafile`) could not be loaded.
    #[error("[keystone_authtoken] {0}")]
    Tls(String),
    /// An option cannot be used as it is (`www_authenticate_uri` that
    /// cannot be a header value).
    #[error("[keystone_authtoken] {0}")]
    Config(String),
}

/// The service user's token and the identity endpoint from its catalog.
#[derive(Clone, Debug)]
struct ServiceAuth {
    token: String,
    expires_at: SystemTime,
    endpoint: String,
}

/// What Keystone said about a token.
#[derive(Clone, Debug)]
pub(crate) enum Verdict {
    /// Valid: the token's data and headers.
    Valid(Arc<Checked>),
    /// Not found, expired or revoked.
    Invalid,
}

/// Talks to Keystone for the authtoken filter.
#[derive(Debug)]
pub(crate) struct IdentityServer {
    cfg: Arc<AuthTokenConfig>,
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    auth_url: String,
    service: tokio::sync::Mutex<Option<ServiceAuth>>,
}

/// `url` with a `/v3` version path (keystoneauth discovers the version;
/// fjord speaks v3 only, so an unversioned URL gets `/v3`).
fn v3(url: &str) -> String {
    let url = url.trim_end_matches('/');
    if url.ends_with("/v3") {
        url.to_owned()
    } else if let Some(base) = url.strip_suffix("/v2.0") {
        format!("{base}/v3")
    } else {
        format!("{url}/v3")
    }
}

mod insecure {
    //! `insecure = true`: a verifier that accepts any certificate (the
    //! signatures of the handshake are still checked).
    use rustls::DigitallySignedStruct;
    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
    use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

    #[derive(Debug)]
    pub(super) struct AcceptAny(pub(super) CryptoProvider);

    impl ServerCertVerifier for AcceptAny {
        fn verify_server_cert(
            &self,
            _end_entity: &CertificateDer<'_>,
            _intermediates: &[CertificateDer<'_>],
            _server_name: &ServerName<'_>,
            _ocsp_response: &[u8],
            _now: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            Ok(ServerCertVerified::assertion())
        }

        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            verify_tls12_signature(
                message,
                cert,
                dss,
                &self.0.signature_verification_algorithms,
            )
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            verify_tls13_signature(
                message,
                cert,
                dss,
                &self.0.signature_verification_algorithms,
            )
        }

        fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
            self.0.signature_verification_algorithms.supported_schemes()
        }
    }
}

/// The system's root certificates, read once per process.
fn native_roots() -> &'static [rustls_pki_types::CertificateDer<'static>] {
    static ROOTS: std::sync::OnceLock<Vec<rustls_pki_types::CertificateDer<'static>>> =
        std::sync::OnceLock::new();
    ROOTS.get_or_init(|| {
        let found = rustls_native_certs::load_native_certs();
        for e in &found.errors {
            tracing::warn!("[keystone_authtoken] reading the system's CA certificates: {e}");
        }
        found.certs
    })
}

fn tls_config(cfg: &AuthTokenConfig) -> Result<rustls::ClientConfig, IdentityError> {
    let provider = rustls::crypto::ring::default_provider();
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(provider.clone()))
        .with_safe_default_protocol_versions()
        .map_err(|e| IdentityError::Tls(format!("TLS setup: {e}")))?;
    if cfg.insecure {
        return Ok(builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(insecure::AcceptAny(provider)))
            .with_no_client_auth());
    }
    let mut roots = rustls::RootCertStore::empty();
    if let Some(path) = &cfg.cafile {
        use rustls_pki_types::pem::PemObject;
        let certs = rustls_pki_types::CertificateDer::pem_file_iter(path)
            .and_then(|it| it.collect::<Result<Vec<_>, _>>())
            .map_err(|e| IdentityError::Tls(format!("cafile {}: {e}", path.display())))?;
        let (added, _) = roots.add_parsable_certificates(certs);
        if added == 0 {
            return Err(IdentityError::Tls(format!(
                "cafile {}: no certificate in it",
                path.display()
            )));
        }
    } else {
        roots.add_parsable_certificates(native_roots().iter().cloned());
    }
    Ok(builder.with_root_certificates(roots).with_no_client_auth())
}

impl IdentityServer {
    /// A client for `cfg`'s Keystone. Nothing is sent yet.
    ///
    /// # Errors
    ///
    /// [`IdentityError::Tls`] when `cafile` cannot be read.
    pub(crate) fn new(cfg: Arc<AuthTokenConfig>) -> Result<Self, IdentityError> {
        let tls = tls_config(&cfg)?;
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(cfg.http_timeout()));
        http.set_nodelay(true);
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .build(https);
        Ok(IdentityServer {
            auth_url: v3(&cfg.auth_url),
            cfg,
            client,
            service: tokio::sync::Mutex::new(None),
        })
    }

    /// One request, its body read, within `http_timeout`; connection
    /// failures retried `http_request_max_retries` times with keystoneauth's
    /// backoff (0.5 s, doubling).
    async fn send(
        &self,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<Bytes>,
    ) -> Result<(StatusCode, http::HeaderMap, Bytes), IdentityError> {
        let unreachable = |reason: String| IdentityError::Unreachable {
            url: url.to_owned(),
            reason,
        };
        let mut delay = Duration::from_millis(500);
        let mut attempt = 0;
        loop {
            let mut req = Request::builder()
                .method(method.clone())
                .uri(url)
                .header(header::USER_AGENT, USER_AGENT)
                .header(header::ACCEPT, "application/json");
            for (k, v) in headers {
                req = req.header(*k, *v);
            }
            if body.is_some() {
                req = req.header(header::CONTENT_TYPE, "application/json");
            }
            let req = req
                .body(Full::new(body.clone().unwrap_or_default()))
                .map_err(|e| unreachable(format!("bad request: {e}")))?;
            let timeout = self.cfg.http_timeout();
            let result = tokio::time::timeout(timeout, async {
                let resp = self.client.request(req).await?;
                let (parts, body) = resp.into_parts();
                let body = http_body_util::Limited::new(body, MAX_BODY)
                    .collect()
                    .await
                    .map_err(|e| ReadError::Body(e.to_string()))?
                    .to_bytes();
                Ok::<_, ReadError>((parts.status, parts.headers, body))
            })
            .await;
            let retry_reason = match result {
                Ok(Ok(done)) => return Ok(done),
                Ok(Err(ReadError::Client(e))) if e.is_connect() => {
                    format!("cannot connect: {}", chain(&e))
                }
                Ok(Err(e)) => return Err(unreachable(chain(&e))),
                Err(_) => {
                    return Err(unreachable(format!(
                        "no answer within {:?} (http_connect_timeout)",
                        timeout
                    )));
                }
            };
            if attempt >= self.cfg.http_request_max_retries {
                return Err(unreachable(retry_reason));
            }
            attempt += 1;
            tracing::warn!(
                "[keystone_authtoken] {method} {url}: {retry_reason}; retry {attempt} of {} in {delay:?}",
                self.cfg.http_request_max_retries
            );
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(60));
        }
    }

    /// The service user's login body (keystoneauth's v3 `Password`).
    fn login_body(&self) -> Value {
        let c = &self.cfg;
        let domain = |id: &Option<String>, name: &Option<String>| match (id, name) {
            (Some(id), _) => Some(json!({ "id": id })),
            (None, Some(name)) => Some(json!({ "name": name })),
            (None, None) => None,
        };
        let mut user = serde_json::Map::new();
        if let Some(id) = &c.user_id {
            user.insert("id".into(), json!(id));
        }
        if let Some(name) = &c.username {
            user.insert("name".into(), json!(name));
        }
        if let Some(d) = domain(&c.user_domain_id, &c.user_domain_name) {
            user.insert("domain".into(), d);
        }
        user.insert("password".into(), json!(c.password.expose()));
        let mut auth = json!({
            "identity": { "methods": ["password"], "password": { "user": user } }
        });
        let project = match (&c.project_id, &c.project_name) {
            (Some(id), _) => Some(json!({ "id": id })),
            (None, Some(name)) => {
                let mut p = json!({ "name": name });
                if let Some(d) = domain(&c.project_domain_id, &c.project_domain_name) {
                    p["domain"] = d;
                }
                Some(p)
            }
            (None, None) => None,
        };
        if let Some(p) = project {
            auth["scope"] = json!({ "project": p });
        }
        json!({ "auth": auth })
    }

    /// The identity endpoint of `catalog` for `interface`/`region_name`.
    fn endpoint_from(&self, catalog: Option<&Value>) -> Option<String> {
        let services = catalog?.as_array()?;
        let identity = services
            .iter()
            .find(|s| s.get("type").and_then(Value::as_str) == Some("identity"))?;
        identity
            .get("endpoints")?
            .as_array()?
            .iter()
            .find(|e| {
                e.get("interface").and_then(Value::as_str) == Some(self.cfg.interface.as_str())
                    && self.cfg.region_name.as_deref().is_none_or(|r| {
                        e.get("region_id").and_then(Value::as_str) == Some(r)
                            || e.get("region").and_then(Value::as_str) == Some(r)
                    })
            })
            .and_then(|e| e.get("url").and_then(Value::as_str))
            .map(v3)
    }

    async fn login(&self) -> Result<ServiceAuth, IdentityError> {
        let url = format!("{}/auth/tokens", self.auth_url);
        let body = Bytes::from(self.login_body().to_string());
        let (status, headers, body) = self.send(Method::POST, &url, &[], Some(body)).await?;
        let user = self
            .cfg
            .username
            .clone()
            .or_else(|| self.cfg.user_id.clone())
            .unwrap_or_default();
        match status {
            StatusCode::CREATED | StatusCode::OK => {}
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN | StatusCode::NOT_FOUND => {
                return Err(IdentityError::LoginRefused {
                    url,
                    user,
                    status: status.as_u16(),
                });
            }
            other => {
                return Err(IdentityError::Bad {
                    url,
                    status: other.as_u16(),
                    detail: String::from_utf8_lossy(&body).into_owned(),
                });
            }
        }
        let bad = |detail: String| IdentityError::Bad {
            url: url.clone(),
            status: status.as_u16(),
            detail,
        };
        let token = headers
            .get("x-subject-token")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| bad("no X-Subject-Token in the login answer".into()))?
            .to_owned();
        let parsed: Value = serde_json::from_slice(&body).map_err(|e| bad(e.to_string()))?;
        let info = TokenInfo::from_body(&parsed).map_err(|e| bad(e.to_string()))?;
        let endpoint = match self.endpoint_from(info.catalog.as_ref()) {
            Some(e) => e,
            None => {
                tracing::warn!(
                    "[keystone_authtoken] no identity endpoint with interface {:?} and region_name {:?} in the service user's catalog; validating tokens at auth_url",
                    self.cfg.interface,
                    self.cfg.region_name
                );
                self.auth_url.clone()
            }
        };
        tracing::info!(
            "[keystone_authtoken] service user {user:?} authenticated to {}; validating tokens at {endpoint}",
            self.auth_url
        );
        Ok(ServiceAuth {
            token,
            expires_at: info.expires_at,
            endpoint,
        })
    }

    /// The service token, logging in first when there is none, it is
    /// about to expire, or `refused` is the token Keystone just refused.
    async fn service_auth(&self, refused: Option<&str>) -> Result<ServiceAuth, IdentityError> {
        let mut guard = self.service.lock().await;
        if let Some(auth) = guard.as_ref() {
            let fresh = auth
                .expires_at
                .duration_since(SystemTime::now())
                .is_ok_and(|left| left > STALE);
            if fresh && refused != Some(auth.token.as_str()) {
                return Ok(auth.clone());
            }
        }
        *guard = None;
        let auth = self.login().await?;
        *guard = Some(auth.clone());
        Ok(auth)
    }

    /// Asks Keystone about `token` (`GET /v3/auth/tokens`, with
    /// `?nocatalog` unless the catalog is wanted); the service token is
    /// renewed and the question asked again once if Keystone refuses it.
    pub(crate) async fn verify(&self, token: &str) -> Result<Verdict, IdentityError> {
        let mut refused: Option<String> = None;
        for _ in 0..2 {
            let auth = self.service_auth(refused.as_deref()).await?;
            let mut url = format!("{}/auth/tokens", auth.endpoint);
            if !self.cfg.include_service_catalog {
                url.push_str("?nocatalog");
            }
            let (status, _headers, body) = self
                .send(
                    Method::GET,
                    &url,
                    &[("x-auth-token", &auth.token), ("x-subject-token", token)],
                    None,
                )
                .await?;
            match status {
                StatusCode::OK => {
                    let bad = |detail: String| IdentityError::Bad {
                        url: url.clone(),
                        status: 200,
                        detail,
                    };
                    let parsed: Value =
                        serde_json::from_slice(&body).map_err(|e| bad(e.to_string()))?;
                    let info = TokenInfo::from_body(&parsed).map_err(|e| bad(e.to_string()))?;
                    if info.expires_at <= SystemTime::now() {
                        return Ok(Verdict::Invalid);
                    }
                    return Ok(Verdict::Valid(Arc::new(Checked::new(
                        info,
                        self.cfg.include_service_catalog,
                    ))));
                }
                StatusCode::NOT_FOUND => {
                    tracing::info!(
                        "[keystone_authtoken] token authorization failed: {}",
                        String::from_utf8_lossy(&body)
                    );
                    return Ok(Verdict::Invalid);
                }
                StatusCode::UNAUTHORIZED if refused.is_none() => {
                    tracing::info!(
                        "[keystone_authtoken] identity server rejected the service token; authenticating again"
                    );
                    refused = Some(auth.token);
                }
                other => {
                    tracing::error!(
                        "[keystone_authtoken] bad response code while validating token: {other}"
                    );
                    return Err(IdentityError::Bad {
                        url,
                        status: other.as_u16(),
                        detail: String::from_utf8_lossy(&body).into_owned(),
                    });
                }
            }
        }
        Err(IdentityError::Bad {
            url: self.auth_url.clone(),
            status: 401,
            detail: "identity server rejected authorization necessary to fetch token data".into(),
        })
    }
}

/// `e` and its sources, `: `-separated (hyper's errors keep the cause,
/// e.g. the certificate problem, in the source).
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        cur = s.source();
    }
    text
}

#[derive(Debug, thiserror::Error)]
enum ReadError {
    #[error("{0}")]
    Client(#[from] hyper_util::client::legacy::Error),
    #[error("reading the body: {0}")]
    Body(String),
}

#[cfg(test)]
mod tests {
    use super::v3;

    #[test]
    fn versioned_urls() {
        assert_eq!(v3("http://k:5000"), "http://k:5000/v3");
        assert_eq!(v3("http://k:5000/v3/"), "http://k:5000/v3");
        assert_eq!(v3("http://k/identity/v2.0"), "http://k/identity/v3");
        assert_eq!(v3("http://k/identity"), "http://k/identity/v3");
    }
}
