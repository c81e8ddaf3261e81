//! fjord's own middleware and Paste's urlmap registered in every
//! [`Loader`] under the paste names real `api-paste.ini` files use (the
//! loader knows the middleware; the middleware does not know the loader).

use std::sync::{Arc, RwLock};

use tower::Layer;

use super::builder::Loader;
use crate::App;
use crate::factory::{Conf, Filter};
use crate::middleware::{
    CatchErrorsLayer, CorsConfig, CorsLayer, HealthcheckConfig, HealthcheckLayer,
    ProxyHeadersLayer, RequestIdLayer, SizeLimitLayer, healthcheck_app,
};

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
