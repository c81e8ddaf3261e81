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

mod catch_errors;
mod cors;
mod healthcheck;
mod proxy;
mod request_id;
mod sizelimit;

use std::sync::{Arc, RwLock};

use tower::Layer;

pub use catch_errors::{CatchErrors, CatchErrorsLayer};
pub use cors::{Cors, CorsConfig, CorsLayer};
pub use healthcheck::{Healthcheck, HealthcheckConfig, HealthcheckLayer, healthcheck_app};
pub use proxy::{Forwarded, ProxyHeaders, ProxyHeadersLayer};
pub use request_id::{
    GlobalRequestId, HEADER as REQUEST_ID_HEADER, RequestId, RequestIdLayer, RequestIdService,
};
pub use sizelimit::{BodyTooLarge, DEFAULT_MAX_REQUEST_BODY_SIZE, SizeLimit, SizeLimitLayer};

use crate::App;
use crate::loader::{Conf, FactoryError, Filter, Loader};

/// `_conf_get`: local, then global.
pub(crate) fn conf_get<'a>(global: &'a Conf, local: &'a Conf, key: &str) -> Option<&'a str> {
    local.get(key).or_else(|| global.get(key))
}

/// oslo.config's boolean parsing ([`fjord_config::parse::bool`]:
/// `true/1/yes/on`, `false/0/no/off`).
pub(crate) fn parse_bool(key: &str, value: &str) -> Result<bool, FactoryError> {
    fjord_config::parse::bool(value).ok_or_else(|| {
        FactoryError::new(format!(
            "option {key}: {:?} is not a boolean (true/false, yes/no, on/off, 1/0)",
            value.trim().to_ascii_lowercase()
        ))
    })
}

/// oslo.config's integer parsing ([`fjord_config::parse::int`]), >= 0.
pub(crate) fn parse_u64(key: &str, value: &str) -> Result<u64, FactoryError> {
    fjord_config::parse::int(value)
        .and_then(|n| u64::try_from(n).ok())
        .ok_or_else(|| {
            FactoryError::new(format!(
                "option {key}: {value:?} is not a non-negative integer"
            ))
        })
}

/// oslo.config's list parsing ([`fjord_config::parse::list`]):
/// comma-separated, items stripped, empty items dropped.
pub(crate) fn parse_list(value: &str) -> Vec<String> {
    fjord_config::parse::list(value)
}

fn filter_of<L>(layer: L) -> Filter
where
    L: Layer<App> + Send + Sync + 'static,
    L::Service: tower::Service<crate::Request, Response = crate::Response, Error = std::convert::Infallible>
        + Clone
        + Send
        + 'static,
    <L::Service as tower::Service<crate::Request>>::Future: Send + 'static,
{
    Arc::new(move |app: App| App::new(layer.layer(app)))
}

/// `global_conf` with the loader's middleware options underneath it.
fn with_defaults(defaults: &RwLock<Conf>, global: &Conf) -> Conf {
    let mut merged = match defaults.read() {
        Ok(c) => c.clone(),
        Err(poisoned) => poisoned.into_inner().clone(),
    };
    merged.update(global);
    merged
}

/// Registers fjord's middleware under the paste names oslo.middleware uses;
/// `defaults` are the loader's middleware options (see
/// [`Loader::set_middleware_option`]).
pub(crate) fn register_native(loader: &mut Loader, defaults: Arc<RwLock<Conf>>) {
    let names = |module: &str, class: &str, egg: &str| {
        vec![
            format!("oslo_middleware:{class}.factory"),
            format!("oslo_middleware.{module}:{class}.factory"),
            format!("egg:oslo.middleware#{egg}"),
        ]
    };
    for name in names("request_id", "RequestId", "request_id") {
        let d = defaults.clone();
        loader.register_filter(&name, move |g, l| {
            Ok(filter_of(RequestIdLayer::from_conf(
                &with_defaults(&d, g),
                l,
            )?))
        });
    }
    for name in names(
        "http_proxy_to_wsgi",
        "HTTPProxyToWSGI",
        "http_proxy_to_wsgi",
    ) {
        let d = defaults.clone();
        loader.register_filter(&name, move |g, l| {
            Ok(filter_of(ProxyHeadersLayer::from_conf(
                &with_defaults(&d, g),
                l,
            )?))
        });
    }
    for name in names("healthcheck", "Healthcheck", "healthcheck") {
        let d = defaults.clone();
        loader.register_filter(&name, move |g, l| {
            Ok(filter_of(HealthcheckLayer::new(
                HealthcheckConfig::from_conf(&with_defaults(&d, g), l)?,
            )))
        });
    }
    for name in [
        "oslo_middleware:Healthcheck.app_factory",
        "oslo_middleware.healthcheck:Healthcheck.app_factory",
        "egg:oslo.middleware#healthcheck",
    ] {
        let d = defaults.clone();
        loader.register_app(name, move |g, l| {
            Ok(healthcheck_app(HealthcheckConfig::from_conf(
                &with_defaults(&d, g),
                l,
            )?))
        });
    }
    for name in names("sizelimit", "RequestBodySizeLimiter", "sizelimit") {
        let d = defaults.clone();
        loader.register_filter(&name, move |g, l| {
            Ok(filter_of(SizeLimitLayer::from_conf(
                &with_defaults(&d, g),
                l,
            )?))
        });
    }
    let mut cors = names("cors", "CORS", "cors");
    cors.push("oslo_middleware.cors:filter_factory".into());
    for name in cors {
        let d = defaults.clone();
        loader.register_filter(&name, move |g, l| {
            Ok(filter_of(CorsLayer::new(CorsConfig::from_conf(
                &with_defaults(&d, g),
                l,
            )?)))
        });
    }
    for name in names("catch_errors", "CatchErrors", "catch_errors") {
        loader.register_filter(&name, |_g, _l| Ok(filter_of(CatchErrorsLayer::new())));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_parsing() {
        assert!(parse_bool("x", "Yes").unwrap());
        assert!(!parse_bool("x", "0").unwrap());
        assert!(
            parse_bool("x", "maybe")
                .unwrap_err()
                .message()
                .contains("option x")
        );
        assert_eq!(parse_u64("n", " 12 ").unwrap(), 12);
        assert!(parse_u64("n", "-1").is_err());
        assert_eq!(parse_list("a, b,,c "), ["a", "b", "c"]);
    }
}
