//! karbor's real api-paste.ini (from the corpus) loads into a working app
//! once karbor's own factories are registered by name; fjord's native
//! urlmap and request-id middleware stand in for Paste's and
//! oslo.middleware's.

use crate::support::apps;

use apps::{header, named, request, send, tracer};
use fjord_http::loader::{Loader, pipeline_factory};

fn karbor_ini(test: &str) -> Option<std::path::PathBuf> {
    fjord_test_support::shared_dir(test, "openstack-configs", "paste/karbor-api-paste.ini")
        .map(|d| d.join("paste/karbor-api-paste.ini"))
}

fn loader(strategy: &str) -> Loader {
    let mut loader = Loader::new();
    loader.register_composite(
        "karbor.api.middleware.auth:pipeline_factory",
        pipeline_factory(strategy),
    );
    for (name, tag) in [
        (
            "karbor.api.middleware.fault:FaultWrapper.factory",
            "faultwrap",
        ),
        (
            "karbor.api.middleware.auth:NoAuthMiddleware.factory",
            "noauth",
        ),
        (
            "karbor.api.middleware.auth:KarborKeystoneContext.factory",
            "keystonecontext",
        ),
        ("keystonemiddleware.auth_token:filter_factory", "authtoken"),
    ] {
        loader.register_filter(name, move |_g, _l| Ok(tracer(tag.to_owned())));
    }
    loader.register_app("karbor.api.versions:Versions.factory", |_g, _l| {
        Ok(named("versions"))
    });
    loader.register_app("karbor.api.v1.router:APIRouter.factory", |_g, _l| {
        Ok(named("apiv1"))
    });
    loader
}

#[tokio::test]
async fn karbor_paste_file_routes_and_applies_middleware() {
    let Some(ini) = karbor_ini("karbor_paste_file_routes_and_applies_middleware") else {
        return;
    };
    let app = loader("noauth")
        .load_app_from_file(&ini, "osapi_karbor")
        .unwrap();

    // /v1/... goes to the v1 pipeline: request_id faultwrap noauth apiv1.
    let (parts, body) = send(&app, request("GET", "/v1/plans?limit=1")).await;
    assert_eq!(parts.status, 200);
    assert_eq!(body, "apiv1 /plans");
    assert_eq!(header(&parts, "x-script-name"), "/v1");
    // Inner filters run last-to-first on the way out: noauth, then faultwrap.
    assert_eq!(header(&parts, "x-trace"), "noauth,faultwrap");
    let id = header(&parts, "x-openstack-request-id");
    assert!(id.starts_with("req-") && id.len() == 40, "{id}");
    assert_eq!(
        header(&parts, "x-request-id"),
        id,
        "the app saw the same id in its extensions"
    );

    // Everything else goes to the versions app, without the v1 filters.
    let (parts, body) = send(&app, request("GET", "/")).await;
    assert_eq!(body, "versions /");
    assert_eq!(header(&parts, "x-trace"), "");
    assert_eq!(header(&parts, "x-openstack-request-id"), "");
    let (_, body) = send(&app, request("GET", "/v10")).await;
    assert_eq!(
        body, "versions /v10",
        "prefix matches only on a path segment boundary"
    );

    // The keystone strategy selects the other pipeline.
    let app = loader("keystone")
        .load_app_from_file(&ini, "osapi_karbor")
        .unwrap();
    let (parts, _) = send(&app, request("GET", "/v1")).await;
    assert_eq!(
        header(&parts, "x-trace"),
        "keystonecontext,authtoken,faultwrap"
    );
}

#[test]
fn karbor_without_registered_factories_names_what_is_missing() {
    let Some(ini) = karbor_ini("karbor_without_registered_factories_names_what_is_missing") else {
        return;
    };
    let err = Loader::new()
        .load_app_from_file(&ini, "osapi_karbor")
        .unwrap_err()
        .to_string();
    // urlmap loads "/" first: the versions app is the first thing missing.
    assert!(
        err.contains("no app factory registered as karbor.api.versions:Versions.factory"),
        "{err}"
    );
    assert!(err.contains("[app:apiversions]"), "{err}");
    assert!(err.contains("karbor-api-paste.ini"), "{err}");
}
