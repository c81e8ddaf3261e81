//! [`AuthTokenLayer`] / [`AuthToken`]: keystonemiddleware's `auth_token`
//! as a tower layer.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use http::{HeaderName, HeaderValue, StatusCode, header};
use tower::{Layer, Service};

use fjord_http::{Request, Response};

use crate::cache::TokenCache;
use crate::config::AuthTokenConfig;
use crate::identity::{IdentityError, IdentityServer, Verdict};
use crate::token::{Checked, TokenInfo, identity_headers, is_identity_header};

/// keystonemiddleware's 401 body, byte for byte.
pub const UNAUTHORIZED_BODY: &str = r#"{"error": {"code": 401, "title": "Unauthorized", "message": "The request you have made requires authentication."}}"#;

/// The body of the 503 answered when Keystone cannot be asked, for a
/// client without an `Accept` header or one preferring neither HTML nor
/// JSON (webob's plain-text `HTTPServiceUnavailable` with
/// keystonemiddleware's detail, byte for byte as measured).
pub const UNAVAILABLE_BODY: &str = "503 Service Unavailable\n\nThe server is currently unavailable. Please try again at a later time.\n\n The Keystone service is temporarily unavailable.  ";

/// The 503 body for a client that prefers JSON (webob's JSON form).
pub const UNAVAILABLE_JSON: &str = r#"{"message": "The server is currently unavailable. Please try again at a later time.<br /><br />\nThe Keystone service is temporarily unavailable.\n\n", "code": "503 Service Unavailable", "title": "Service Unavailable"}"#;

/// The 503 body for a client that prefers HTML, or accepts anything
/// (`Accept: */*`, curl's default), as webob answers it.
pub const UNAVAILABLE_HTML: &str = "<html>\n <head>\n  <title>503 Service Unavailable</title>\n </head>\n <body>\n  <h1>503 Service Unavailable</h1>\n  The server is currently unavailable. Please try again at a later time.<br /><br />\nThe Keystone service is temporarily unavailable.\n\n\n </body>\n</html>";

/// The form webob picks for `accept`: the offer (`text/html`, then
/// `application/json`) with the highest quality under its most specific
/// matching media range; plain text when none is acceptable or there is
/// no header.
fn preferred(accept: Option<&str>) -> &'static str {
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return "text/plain";
    };
    let ranges: Vec<(String, f32)> = accept
        .split(',')
        .filter_map(|part| {
            let mut it = part.split(';');
            let range = it.next()?.trim().to_ascii_lowercase();
            let q = it
                .filter_map(|p| p.trim().strip_prefix("q=").map(str::to_owned))
                .next()
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            Some((range, q))
        })
        .collect();
    let quality = |offer: &str| -> f32 {
        let major = offer.split('/').next().unwrap_or("");
        let mut best: Option<(u8, f32)> = None;
        for (range, q) in &ranges {
            let specificity = if range == offer {
                3
            } else if range.strip_suffix("/*") == Some(major) {
                2
            } else if range == "*/*" {
                1
            } else {
                continue;
            };
            if best.is_none_or(|(s, _)| specificity > s) {
                best = Some((specificity, *q));
            }
        }
        best.map_or(0.0, |(_, q)| q)
    };
    let (html, json) = (quality("text/html"), quality("application/json"));
    if html <= 0.0 && json <= 0.0 {
        "text/plain"
    } else if json > html {
        "application/json"
    } else {
        "text/html"
    }
}

/// Request extension: the validated `X-Auth-Token` (keystonemiddleware's
/// `keystone.token_info` / `keystone.token_auth.user`).
#[derive(Clone, Debug)]
pub struct UserToken(pub Arc<TokenInfo>);

/// Request extension: the validated `X-Service-Token` (set only when it
/// passed the `service_token_roles` check, or that check is not required).
#[derive(Clone, Debug)]
pub struct ServiceToken(pub Arc<TokenInfo>);

struct Shared {
    cfg: Arc<AuthTokenConfig>,
    identity: Arc<IdentityServer>,
    cache: TokenCache,
    strip: Vec<HeaderName>,
    www_authenticate: HeaderValue,
}

/// The authtoken layer: validates `X-Auth-Token` (and `X-Service-Token`)
/// against Keystone before the wrapped app sees the request.
///
/// Per request, as keystonemiddleware 13 does:
///
/// * every identity header the client sent is removed (`X-Roles`,
///   `X-User-Id`, `X-Identity-Status`, `X-Service-*`, ...);
/// * the tokens are validated (cached answer, else one
///   `GET /v3/auth/tokens` per token however many requests carry it at
///   once);
/// * a missing or invalid user token, or an invalid service token, is
///   answered with keystonemiddleware's 401 and
///   `WWW-Authenticate: Keystone uri="<www_authenticate_uri>"`, or, with
///   `delay_auth_decision`, passed on with `X-Identity-Status: Invalid`;
/// * a valid one is passed on with `X-Identity-Status: Confirmed`, the
///   user headers ([`TokenInfo::set_user_headers`]), `X-Service-Catalog`
///   (with `include_service_catalog`), the `X-Service-*` headers of a
///   valid service token, and the [`UserToken`] / [`ServiceToken`]
///   extensions;
/// * Keystone unreachable, slow past `http_connect_timeout` or answering
///   5xx: 503 (webob's body as keystonemiddleware sends it: plain text
///   [`UNAVAILABLE_BODY`], [`UNAVAILABLE_JSON`] or [`UNAVAILABLE_HTML`] by
///   the client's `Accept`) and a log line; with
///   `delay_auth_decision` the token counts as invalid instead;
/// * a 401 from the app gets the `WWW-Authenticate` header too.
///
/// # Examples
///
/// ```
/// use fjord_keystone::{AuthTokenConfig, AuthTokenLayer};
/// use fjord_http::loader::Conf;
/// use tower::Layer;
///
/// let mut conf = Conf::new();
/// conf.insert("auth_url", "http://127.0.0.1:5000/v3");
/// conf.insert("username", "fjord-service");
/// conf.insert("password", "service-secret");
/// conf.insert("project_name", "service");
/// conf.insert("user_domain_id", "default");
/// conf.insert("project_domain_id", "default");
/// let layer = AuthTokenLayer::new(AuthTokenConfig::from_conf(&conf)?)?;
/// let app = tower::service_fn(|_req: fjord_http::Request| async {
///     Ok::<_, std::convert::Infallible>(http::Response::new(fjord_http::full("hi")))
/// });
/// let protected = fjord_http::App::new(layer.layer(app));
/// # drop(protected);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct AuthTokenLayer {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for AuthTokenLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthTokenLayer")
            .field("config", &self.shared.cfg)
            .finish_non_exhaustive()
    }
}

impl AuthTokenLayer {
    /// The layer for `cfg`. Nothing is sent to Keystone until the first
    /// request (the service user logs in then).
    ///
    /// # Errors
    ///
    /// When `cafile` cannot be read, or `www_authenticate_uri` cannot be a
    /// header value.
    pub fn new(cfg: AuthTokenConfig) -> Result<Self, IdentityError> {
        let cfg = Arc::new(cfg);
        let www_authenticate =
            HeaderValue::from_str(&format!("Keystone uri=\"{}\"", cfg.www_authenticate_uri()))
                .map_err(|_| {
                    IdentityError::Config(format!(
                        "www_authenticate_uri {:?} cannot be a header value",
                        cfg.www_authenticate_uri()
                    ))
                })?;
        Ok(AuthTokenLayer {
            shared: Arc::new(Shared {
                identity: Arc::new(IdentityServer::new(cfg.clone())?),
                cache: TokenCache::new(cfg.cache_time()),
                strip: identity_headers(),
                www_authenticate,
                cfg,
            }),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &AuthTokenConfig {
        &self.shared.cfg
    }
}

impl<S> Layer<S> for AuthTokenLayer {
    type Service = AuthToken<S>;

    fn layer(&self, inner: S) -> AuthToken<S> {
        AuthToken {
            inner,
            shared: self.shared.clone(),
        }
    }
}

/// The service [`AuthTokenLayer`] makes.
#[derive(Clone)]
pub struct AuthToken<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S> std::fmt::Debug for AuthToken<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthToken").finish_non_exhaustive()
    }
}

fn unauthorized(www_authenticate: &HeaderValue) -> Response {
    let mut resp = http::Response::new(fjord_http::full(UNAUTHORIZED_BODY));
    *resp.status_mut() = StatusCode::UNAUTHORIZED;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::WWW_AUTHENTICATE, www_authenticate.clone());
    resp
}

fn unavailable(req: &Request) -> Response {
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok());
    let (body, content_type) = match preferred(accept) {
        "application/json" => (UNAVAILABLE_JSON, "application/json"),
        "text/html" => (UNAVAILABLE_HTML, "text/html; charset=UTF-8"),
        _ => (UNAVAILABLE_BODY, "text/plain; charset=UTF-8"),
    };
    let mut resp = http::Response::new(fjord_http::full(body));
    *resp.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

fn status(valid: bool) -> HeaderValue {
    HeaderValue::from_static(if valid { "Confirmed" } else { "Invalid" })
}

impl Shared {
    /// The verdict on `token`: `Ok(None)` invalid, `Err` Keystone could
    /// not be asked.
    async fn check(&self, token: &str) -> Result<Option<Arc<Checked>>, Arc<IdentityError>> {
        if token.is_empty() {
            return Ok(None);
        }
        let identity = self.identity.clone();
        let verdict = self
            .cache
            .get(token, || {
                let owned = token.to_owned();
                async move { identity.verify(&owned).await }
            })
            .await?;
        Ok(match verdict {
            Verdict::Valid(checked) => Some(checked),
            Verdict::Invalid => None,
        })
    }

    /// `check`, with Keystone's unavailability turned into `Ok(None)` under
    /// `delay_auth_decision` (keystonemiddleware's behaviour) and logged.
    async fn check_or_defer(
        &self,
        token: Option<&HeaderValue>,
        what: &str,
    ) -> Result<Option<Arc<Checked>>, Arc<IdentityError>> {
        // A token that is not text cannot be valid.
        let Some(token) = token.and_then(|t| t.to_str().ok()) else {
            return Ok(None);
        };
        match self.check(token).await {
            Ok(v) => {
                if v.is_none() {
                    tracing::info!("[keystone_authtoken] invalid {what} token");
                }
                Ok(v)
            }
            Err(e) => {
                tracing::error!("[keystone_authtoken] unable to validate token: {e}");
                if self.cfg.delay_auth_decision {
                    Ok(None)
                } else {
                    Err(e)
                }
            }
        }
    }

    /// Removes the identity headers a client sent.
    fn strip(&self, req: &mut Request) {
        let headers = req.headers_mut();
        if headers.keys().any(|k| is_identity_header(k.as_str())) {
            for name in &self.strip {
                headers.remove(name);
            }
        }
    }

    /// Sets the headers and extension of a valid user token: the request's
    /// headers become a copy of the token's with the request's own added,
    /// minus any identity header the client sent (hashing the request's
    /// few headers, not the token's many).
    fn confirm(req: &mut Request, user: &Checked) {
        let sent = std::mem::replace(req.headers_mut(), user.user.clone());
        let headers = req.headers_mut();
        headers.reserve(sent.len());
        let mut name: Option<HeaderName> = None;
        for (n, value) in sent {
            if let Some(n) = n {
                name = Some(n);
            }
            if let Some(n) = &name
                && !is_identity_header(n.as_str())
            {
                headers.append(n.clone(), value);
            }
        }
        req.extensions_mut().insert(UserToken(user.info.clone()));
    }

    /// The common case answered without waiting: a cached valid user
    /// token and no service token; `true` when `req` is ready for the app.
    fn fast(&self, req: &mut Request) -> bool {
        let headers = req.headers();
        if headers.contains_key("x-service-token") {
            return false;
        }
        let token = headers
            .get("x-auth-token")
            .or_else(|| headers.get("x-storage-token"))
            .and_then(|t| t.to_str().ok());
        let Some(Verdict::Valid(user)) = token
            .filter(|t| !t.is_empty())
            .and_then(|t| self.cache.peek(t))
        else {
            return false;
        };
        Self::confirm(req, &user);
        true
    }

    async fn handle<S>(self: Arc<Self>, mut inner: S, mut req: Request) -> Response
    where
        S: Service<Request, Response = Response, Error = Infallible>,
    {
        self.strip(&mut req);
        let headers = req.headers();
        // Header values are reference counted: these clones copy no token.
        let user_token = headers
            .get("x-auth-token")
            .or_else(|| headers.get("x-storage-token"))
            .cloned();
        let service_token = headers.get("x-service-token").cloned();

        let mut service_valid = None;
        let mut service = None;
        if service_token.is_some() {
            let checked = match self.check_or_defer(service_token.as_ref(), "service").await {
                Ok(c) => c,
                Err(_) => return unavailable(&req),
            };
            let valid = match &checked {
                None => false,
                Some(c) => {
                    let passed = c
                        .info
                        .roles
                        .iter()
                        .any(|r| self.cfg.service_token_roles.contains(r));
                    if !passed && !self.cfg.service_token_roles_required {
                        tracing::warn!(
                            "[keystone_authtoken] a valid token was submitted as a service token, but it was not a valid service token (no role of service_token_roles)"
                        );
                    }
                    passed || !self.cfg.service_token_roles_required
                }
            };
            service_valid = Some(valid);
            if valid {
                service = checked;
            }
        }

        let user = if user_token.is_some() {
            match self.check_or_defer(user_token.as_ref(), "user").await {
                Ok(c) => c,
                Err(_) => return unavailable(&req),
            }
        } else {
            None
        };

        let authenticated = user.is_some() && service_valid != Some(false);
        if !authenticated && !self.cfg.delay_auth_decision {
            tracing::info!("[keystone_authtoken] rejecting request");
            return unauthorized(&self.www_authenticate);
        }

        match &user {
            Some(c) => Self::confirm(&mut req, c),
            None => {
                req.headers_mut().insert("x-identity-status", status(false));
            }
        }
        let headers = req.headers_mut();
        if let Some(valid) = service_valid {
            headers.insert("x-service-identity-status", status(valid));
        }
        if let Some(c) = &service {
            for (k, v) in &c.service {
                headers.insert(k.clone(), v.clone());
            }
        }
        if let Some(c) = service {
            req.extensions_mut().insert(ServiceToken(c.info.clone()));
        }

        let Ok(mut resp) = inner.call(req).await;
        if resp.status() == StatusCode::UNAUTHORIZED {
            resp.headers_mut()
                .append(header::WWW_AUTHENTICATE, self.www_authenticate.clone());
        }
        resp
    }
}

impl<S> Service<Request> for AuthToken<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        if self.shared.fast(&mut req) {
            // Cached: straight to the app, which was polled ready.
            let fut = self.inner.call(req);
            let challenge = self.shared.www_authenticate.clone();
            return async move {
                let Ok(mut resp) = fut.await;
                if resp.status() == StatusCode::UNAUTHORIZED {
                    resp.headers_mut()
                        .append(header::WWW_AUTHENTICATE, challenge);
                }
                Ok(resp)
            }
            .boxed();
        }
        // The clone that was polled ready serves this request.
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        let shared = self.shared.clone();
        async move { Ok(shared.handle(inner, req).await) }.boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::preferred;

    #[test]
    fn the_503_form_follows_accept_as_webob_picks_it() {
        assert_eq!(preferred(None), "text/plain");
        assert_eq!(preferred(Some("")), "text/plain");
        assert_eq!(preferred(Some("text/plain")), "text/plain");
        assert_eq!(preferred(Some("*/*")), "text/html");
        assert_eq!(preferred(Some("application/json")), "application/json");
        assert_eq!(preferred(Some("text/html")), "text/html");
        assert_eq!(
            preferred(Some("text/html;q=0.5, application/json")),
            "application/json"
        );
        assert_eq!(
            preferred(Some("application/*, text/plain")),
            "application/json"
        );
        assert_eq!(preferred(Some("*/*;q=0, text/plain")), "text/plain");
    }
}
