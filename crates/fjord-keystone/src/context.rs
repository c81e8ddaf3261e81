//! [`KeystoneContextLayer`]: the `keystonecontext` filter of OpenStack
//! pipelines (nova's `NovaKeystoneContext`, neutron's, cinder's, ...):
//! after `authtoken`, it builds the request's [`RequestContext`] from the
//! identity headers and hands it to the app in the request extensions.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use fjord_context::RequestContext;
use fjord_http::middleware::{GlobalRequestId, RequestId};
use fjord_http::{Request, Response};
use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Either, Ready};
use http::{HeaderValue, StatusCode, header};
use tower::{Layer, Service};

/// The paste names of the keystonecontext filters in OpenStack's
/// `api-paste.ini` files, and fjord's own.
pub const KEYSTONECONTEXT_NAMES: &[&str] = &[
    "fjord_keystone:KeystoneContext.factory",
    "nova.api.auth:NovaKeystoneContext.factory",
    "neutron.auth:NeutronKeystoneContext.factory",
    "cinder.api.middleware.auth:CinderKeystoneContext.factory",
    "manila.api.middleware.auth:ManilaKeystoneContext.factory",
    "karbor.api.middleware.auth:KarborKeystoneContext.factory",
];

/// The 401 for a request without a user (webob's plain-text
/// `HTTPUnauthorized()`, as nova's and neutron's filters answer it).
pub const NO_USER_BODY: &str = "401 Unauthorized\n\nThis server could not verify that you are authorized to access the document you requested. Either you supplied the wrong credentials (e.g., bad password), or your browser does not understand how to supply the credentials required.\n\n   ";

/// The context of this request, set by the keystonecontext filter.
///
/// # Examples
///
/// ```
/// async fn handler(req: fjord_http::Request) -> String {
///     match fjord_keystone::request_context(&req) {
///         Some(ctx) => format!("hello {:?} in {:?}", ctx.user_id, ctx.project_id),
///         None => "no context: is keystonecontext in the pipeline?".into(),
///     }
/// }
/// # drop(handler);
/// ```
pub fn request_context(req: &Request) -> Option<&RequestContext> {
    req.extensions()
        .get::<Arc<RequestContext>>()
        .map(|c| c.as_ref())
}

/// The keystonecontext layer.
///
/// Per request: without `X-User-Id` (or the legacy `X-User`), answers 401
/// ([`NO_USER_BODY`]) as nova's and neutron's filters do; otherwise
/// builds a [`RequestContext`] with [`RequestContext::from_environ`] from
/// the headers `authtoken` set, the request id of fjord-http's
/// `request_id` filter ([`RequestId`], [`GlobalRequestId`]) when it ran
/// before, and puts it in the request extensions as an
/// `Arc<RequestContext>` ([`request_context`] reads it).
///
/// Put it after `authtoken`, which strips identity headers clients send:
/// alone it would trust them.
///
/// # Examples
///
/// ```
/// use fjord_keystone::{KeystoneContextLayer, request_context};
/// use tower::{Layer, ServiceExt};
///
/// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
/// let app = KeystoneContextLayer::new().layer(tower::service_fn(|req: fjord_http::Request| async move {
///     let ctx = request_context(&req).expect("set by the filter");
///     Ok::<_, std::convert::Infallible>(http::Response::new(fjord_http::full(
///         ctx.roles.join(","),
///     )))
/// }));
/// let req = http::Request::builder()
///     .header("x-user-id", "u1")
///     .header("x-roles", "member,reader")
///     .body(fjord_http::Body::empty())?;
/// let resp = app.oneshot(req).await?;
/// assert_eq!(resp.status(), 200);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct KeystoneContextLayer {
    _priv: (),
}

impl KeystoneContextLayer {
    /// The layer.
    pub fn new() -> Self {
        Self::default()
    }
}

impl<S> Layer<S> for KeystoneContextLayer {
    type Service = KeystoneContext<S>;

    fn layer(&self, inner: S) -> KeystoneContext<S> {
        KeystoneContext { inner }
    }
}

/// The service [`KeystoneContextLayer`] makes.
#[derive(Clone, Debug)]
pub struct KeystoneContext<S> {
    inner: S,
}

fn no_user() -> Response {
    let mut resp = http::Response::new(fjord_http::full(NO_USER_BODY));
    *resp.status_mut() = StatusCode::UNAUTHORIZED;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=UTF-8"),
    );
    resp
}

impl<S> Service<Request> for KeystoneContext<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<
        BoxFuture<'static, Result<Response, Infallible>>,
        Ready<Result<Response, Infallible>>,
    >;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        let h = req.headers();
        if !h.contains_key("x-user-id") && !h.contains_key("x-user") {
            tracing::debug!("neither X-User-Id nor X-User found in the request");
            return Either::Right(futures_util::future::ready(Ok(no_user())));
        }
        let request_id = req.extensions().get::<RequestId>().map(|r| r.0.clone());
        let global = req
            .extensions()
            .get::<GlobalRequestId>()
            .map(|r| r.0.clone());
        let ctx = RequestContext::from_environ(h, request_id.as_deref(), global.as_deref());
        req.extensions_mut().insert(Arc::new(ctx));
        Either::Left(self.inner.call(req).boxed())
    }
}
