//! Middleware in the spirit of oslo.middleware, each a tower [`Layer`]
//! and a paste filter.
//!
//! | middleware | layer | paste names (all native in [`Loader::new`]) | local options |
//! |---|---|---|---|
//! | request id | [`RequestIdLayer`] | `oslo_middleware:RequestId.factory`, `oslo_middleware.request_id:RequestId.factory`, `egg:oslo.middleware#request_id` | `compat_headers` |
//! | proxy headers | [`ProxyHeadersLayer`] | `oslo_middleware:HTTPProxyToWSGI.factory`, `oslo_middleware.http_proxy_to_wsgi:HTTPProxyToWSGI.factory`, `egg:oslo.middleware#http_proxy_to_wsgi` | `enable_proxy_headers_parsing` |
//! | healthcheck | [`HealthcheckLayer`] / [`healthcheck_app`] | `oslo_middleware:Healthcheck.factory` (filter), `oslo_middleware:Healthcheck.app_factory` (app), `oslo_middleware.healthcheck:...`, `egg:oslo.middleware#healthcheck` | `path`, `disable_by_file_path`, `backends` |
//! | body size limit | [`SizeLimitLayer`] | `oslo_middleware:RequestBodySizeLimiter.factory`, `oslo_middleware.sizelimit:RequestBodySizeLimiter.factory`, `egg:oslo.middleware#sizelimit` | `max_request_body_size` |
//! | CORS | [`CorsLayer`] | `oslo_middleware:CORS.factory`, `oslo_middleware.cors:filter_factory`, `oslo_middleware.cors:CORS.factory`, `egg:oslo.middleware#cors` | `allowed_origin`, `allow_credentials`, `expose_headers`, `max_age`, `allow_methods`, `allow_headers` |
//! | catch errors | [`CatchErrorsLayer`] | `oslo_middleware:CatchErrors.factory`, `oslo_middleware.catch_errors:CatchErrors.factory`, `egg:oslo.middleware#catch_errors` | — |
//!
//! Options are read like oslo's `ConfigurableMiddleware._conf_get`: the
//! section's `local_conf` first, then `global_conf` (`[DEFAULT]`), then
//! what the application set with [`Loader::set_middleware_option`] (where
//! oslo reads the service's config file), then the middleware's default. A bad value is a factory error naming the
//! option.
//!
//! ```
//! use fjord_http::middleware::{RequestIdLayer, CatchErrorsLayer};
//! use fjord_http::{full, App, Response};
//! use tower::Layer;
//!
//! let app = App::new(tower::service_fn(|_req| async {
//!     Ok::<_, std::convert::Infallible>(Response::new(full("hi")))
//! }));
//! let app = App::new(RequestIdLayer::new().layer(CatchErrorsLayer::new().layer(app)));
//! # let _ = app;
//! ```
//!
//! [`Layer`]: tower::Layer
//! [`Loader::new`]: crate::loader::Loader::new
//! [`Loader::set_middleware_option`]: crate::loader::Loader::set_middleware_option

mod catch_errors;
mod cors;
mod healthcheck;
mod proxy;
mod request_id;
mod sizelimit;

pub use catch_errors::{CatchErrors, CatchErrorsLayer};
pub use cors::{Cors, CorsConfig, CorsLayer};
pub use healthcheck::{Healthcheck, HealthcheckConfig, HealthcheckLayer, healthcheck_app};
pub use proxy::{Forwarded, ProxyHeaders, ProxyHeadersLayer};
pub use request_id::{
    GlobalRequestId, HEADER as REQUEST_ID_HEADER, RequestId, RequestIdLayer, RequestIdService,
};
pub use sizelimit::{BodyTooLarge, DEFAULT_MAX_REQUEST_BODY_SIZE, SizeLimit, SizeLimitLayer};

pub(crate) use crate::factory::{conf_get, parse_bool, parse_list, parse_u64};
