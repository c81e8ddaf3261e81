//! nova's real api-paste.ini (from the corpus) loads into a working app:
//! nova's url map runs on fjord's native one (with nova's `/+` wildcard),
//! `pipeline_factory_v21` on [`pipeline_factory`], and oslo.middleware's
//! cors, http_proxy_to_wsgi and sizelimit on fjord's own middleware; the
//! nova-specific filters and apps are small test stand-ins.

use crate::support::apps;

use apps::{header, named, request, send, tracer};
use fjord_http::loader::{Loader, pipeline_factory, urlmap_factory};

#[tokio::test]
async fn nova_paste_file_routes_versions_and_the_v21_api() {
    let Some(dir) = fjord_test_support::shared_dir(
        "nova_paste_file_routes_versions_and_the_v21_api",
        "openstack-configs",
        "paste/nova-api-paste.ini",
    ) else {
        return;
    };
    let ini = dir.join("paste/nova-api-paste.ini");
    let mut loader = Loader::new();
    loader
        .register_composite("nova.api.openstack.urlmap:urlmap_factory", urlmap_factory)
        .register_composite(
            "nova.api.auth:pipeline_factory_v21",
            pipeline_factory("keystone"),
        );
    for (name, tag) in [
        (
            "nova.api.compute_req_id:ComputeReqIdMiddleware.factory",
            "req_id",
        ),
        ("nova.api.openstack:FaultWrapper.factory", "fault"),
        ("nova.api.openstack.requestlog:RequestLog.factory", "log"),
        ("nova.profiler:WsgiMiddleware.factory", "prof"),
        ("keystonemiddleware.auth_token:filter_factory", "auth"),
        ("nova.api.auth:NovaKeystoneContext.factory", "ctx"),
        (
            "nova.api.openstack:LegacyV2CompatibleWrapper.factory",
            "legacy",
        ),
    ] {
        loader.register_filter(name, move |_g, _l| Ok(tracer(tag.to_owned())));
    }
    for (name, app) in [
        ("nova.api.openstack.compute:APIRouterV21.factory", "router"),
        (
            "nova.api.openstack.compute.versions:Versions.factory",
            "versions",
        ),
        (
            "nova.api.openstack.compute.versions:VersionsV2.factory",
            "versions_v2",
        ),
        (
            "nova.api.metadata.handler:MetadataRequestHandler.factory",
            "metadata",
        ),
    ] {
        loader.register_app(name, move |_g, _l| Ok(named(app)));
    }
    let app = loader.load_app_from_file(&ini, "osapi_compute").unwrap();

    let cases = [
        ("/", "versions /", "", "log,fault"),
        ("/v2.1", "versions_v2 /", "/v2.1", "log,fault,req_id"),
        ("/v2.1/", "versions_v2 /", "/v2.1", "log,fault,req_id"),
        (
            "/v2.1/servers/detail",
            "router /servers/detail",
            "/v2.1",
            "ctx,auth,prof,log,fault,req_id",
        ),
        ("/v2", "versions_v2 /", "/v2", "legacy,log,fault,req_id"),
        (
            "/v2/servers",
            "router /servers",
            "/v2",
            "legacy,ctx,auth,prof,log,fault,req_id",
        ),
    ];
    for (path, want_body, want_script, want_trace) in cases {
        let (parts, body) = send(&app, request("GET", path)).await;
        assert_eq!(parts.status, 200, "{path}");
        assert_eq!(body, want_body, "{path}");
        assert_eq!(header(&parts, "x-script-name"), want_script, "{path}");
        assert_eq!(header(&parts, "x-trace"), want_trace, "{path}");
    }

    // fjord's sizelimit stands in for oslo's in the v2.1 pipeline.
    let big = http::Request::builder()
        .method("POST")
        .uri("/v2.1/servers")
        .header("content-length", "114689")
        .body(fjord_http::full(vec![b'x'; 114_689]))
        .unwrap();
    let (parts, _) = send(&app, big).await;
    assert_eq!(parts.status, 413);

    let metadata = loader.load_app_from_file(&ini, "metadata").unwrap();
    let (_, body) = send(&metadata, request("GET", "/openstack/latest")).await;
    assert_eq!(body, "metadata /openstack/latest");
}
