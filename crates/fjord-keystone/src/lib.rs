//! fjord-keystone: Keystone token authentication for fjord-http apps —
//! keystonemiddleware's `auth_token` filter (`authtoken` in every
//! OpenStack `api-paste.ini`) in Rust.
//!
//! ```text
//! client --X-Auth-Token--> authtoken --------------------------> app
//!                             |  strip X-Roles, X-User-Id, ...     sees X-Identity-Status,
//!                             |  cached? else one GET /v3/auth/     X-User-Id, X-Roles, ...
//!                             v  tokens per token (single flight)   and UserToken
//!                          Keystone (service user: v3 password login)
//! ```
//!
//! * [`config`]: `[keystone_authtoken]`, keystonemiddleware's option names
//!   and defaults ([`AuthTokenConfig`]).
//! * [`AuthTokenLayer`]: the tower layer; its docs list the behaviour
//!   request by request.
//! * [`register`]: the paste names (`keystonemiddleware.auth_token:filter_factory`,
//!   `egg:keystonemiddleware#auth_token`) in a fjord-http [`Loader`], so
//!   an OpenStack `api-paste.ini` loads the filter natively.
//! * [`TokenInfo`]: a validated token, in the request extensions as
//!   [`UserToken`] (and [`ServiceToken`]).
//! * [`KeystoneContextLayer`]: the `keystonecontext` filter after
//!   `authtoken`: the request's `fjord_context::RequestContext` (user,
//!   project, roles, request id) for the app, read with
//!   [`request_context`]; [`register_context`] registers it under the
//!   names OpenStack paste files use.
//!
//! The HTTP client is hyper-util's on rustls (ring); `cafile` and
//! `insecure` are honoured. docs/keystone.md maps keystonemiddleware to
//! fjord and says how to run the tests' Keystone (`scripts/keystone.sh`).
//!
//! # Example
//!
//! A service reads `[keystone_authtoken]` from its config file and lets
//! its paste file put `authtoken` in the pipeline:
//!
//! ```
//! use fjord_config::ConfigOpts;
//! use fjord_http::loader::{Loader, PasteConfig};
//!
//! let dir = std::env::temp_dir().join(format!("fjord-keystone-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! let conf_file = dir.join("api.conf");
//! std::fs::write(&conf_file, "[keystone_authtoken]\n\
//!     auth_url = http://127.0.0.1:5000/v3\nusername = fjord-service\n\
//!     password = service-secret\nproject_name = service\n\
//!     user_domain_name = Default\nproject_domain_name = Default\n")?;
//! let mut conf = ConfigOpts::new("api");
//! fjord_keystone::config::register_opts(&mut conf)?;
//! conf.parse_args(["api", "--config-file", conf_file.to_str().unwrap()])?;
//!
//! let mut loader = Loader::new();
//! fjord_keystone::register(&mut loader, fjord_keystone::config::conf_from(&conf)?);
//! loader.register_app("myapi:app_factory", |_, _| {
//!     Ok(fjord_http::App::new(tower::service_fn(|_req: fjord_http::Request| async {
//!         Ok::<_, std::convert::Infallible>(http::Response::new(fjord_http::full("hi")))
//!     })))
//! });
//! let paste = PasteConfig::parse(
//!     "[pipeline:main]\npipeline = authtoken api\n\n\
//!      [filter:authtoken]\npaste.filter_factory = keystonemiddleware.auth_token:filter_factory\n\n\
//!      [app:api]\npaste.app_factory = myapi:app_factory\n",
//!     "api-paste.ini",
//! )?;
//! let app = loader.load_app(&paste, "main")?;
//! # drop(app);
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![warn(
    missing_docs,
    missing_debug_implementations,
    rust_2018_idioms,
    unreachable_pub
)]

mod cache;
pub mod config;
mod context;
mod filter;
mod identity;
mod token;

use std::sync::Arc;

use fjord_http::App;
use fjord_http::loader::{Conf, FactoryError, Loader};
use tower::Layer;

pub use config::{AuthTokenConfig, ConfigError, Secret};
pub use context::{
    KEYSTONECONTEXT_NAMES, KeystoneContext, KeystoneContextLayer, NO_USER_BODY, request_context,
};
pub use filter::{
    AuthToken, AuthTokenLayer, ServiceToken, UNAUTHORIZED_BODY, UNAVAILABLE_BODY, UNAVAILABLE_HTML,
    UNAVAILABLE_JSON, UserToken,
};
pub use identity::IdentityError;
pub use token::{BodyError, TokenInfo, identity_headers};

/// The paste names of keystonemiddleware's `auth_token` filter factory.
pub const AUTHTOKEN_NAMES: &[&str] = &[
    "keystonemiddleware.auth_token:filter_factory",
    "egg:keystonemiddleware#auth_token",
];

/// Registers the authtoken filter in `loader` under keystonemiddleware's
/// paste names ([`AUTHTOKEN_NAMES`]; the egg entry point is added to the
/// loader's egg registry). `base` is the service's `[keystone_authtoken]`
/// ([`config::conf_from`]); the paste file's `[DEFAULT]` and the filter
/// section's keys override it, as with keystonemiddleware.
///
/// Each filter built gets its own token cache and service token (one per
/// worker process, as keystonemiddleware's in-process cache).
///
/// # Errors
///
/// None here; loading a pipeline fails with the filter section named when
/// the options are incomplete or wrong ([`AuthTokenConfig::from_confs`]).
pub fn register(loader: &mut Loader, base: Conf) {
    loader.eggs_mut().insert(
        "keystonemiddleware",
        "paste.filter_factory",
        "auth_token",
        "keystonemiddleware.auth_token:filter_factory",
    );
    let base = Arc::new(base);
    for name in AUTHTOKEN_NAMES {
        let base = base.clone();
        loader.register_filter(name, move |global, local| {
            let cfg = AuthTokenConfig::from_confs(&base, global, local)
                .map_err(|e| FactoryError::new(e.to_string()))?;
            let layer = AuthTokenLayer::new(cfg).map_err(|e| FactoryError::new(e.to_string()))?;
            Ok(Arc::new(move |app: App| App::new(layer.layer(app))))
        });
    }
}

/// Registers the keystonecontext filter ([`KeystoneContextLayer`]) in
/// `loader` under [`KEYSTONECONTEXT_NAMES`]: fjord's own
/// (`fjord_keystone:KeystoneContext.factory`) and the ones nova, neutron,
/// cinder, manila and karbor paste files use, so those pipelines load
/// natively. The filter takes no options.
pub fn register_context(loader: &mut Loader) {
    for name in KEYSTONECONTEXT_NAMES {
        loader.register_filter(name, |_global, _local| {
            let layer = KeystoneContextLayer::new();
            Ok(Arc::new(move |app: App| App::new(layer.layer(app))))
        });
    }
}
