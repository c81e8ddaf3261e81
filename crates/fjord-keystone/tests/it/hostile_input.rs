//! Outside input on hostile values: Keystone's token bodies, the options,
//! and request headers reaching the filter. An answer or an error, never a
//! panic.

use std::convert::Infallible;

use fjord_http::loader::Conf;
use fjord_http::{App, Request, Response, full};
use fjord_keystone::{AuthTokenConfig, AuthTokenLayer, TokenInfo};
use fjord_test_support::hostile::{any_bytes, any_text, check, tokens};
use proptest::prelude::*;
use tower::{Layer, ServiceExt};

/// Pieces of a v3 token body.
const TOKEN_JSON: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\"token\"",
    "\"user\"",
    "\"id\"",
    "\"name\"",
    "\"domain\"",
    "\"project\"",
    "\"roles\"",
    "\"system\"",
    "\"all\"",
    "true",
    "false",
    "null",
    "0",
    "-1",
    "1e400",
    "\"expires_at\"",
    "\"2026-12-06T13:02:55.000000Z\"",
    "\"1969-01-01T00:00:00Z\"",
    "\"9999-12-31T23:59:59.999999999Z\"",
    "\"not a time\"",
    "\"catalog\"",
    "\"endpoints\"",
    "\"interface\"",
    "\"public\"",
    "\"url\"",
    "\"region\"",
    "\"type\"",
    "\"identity\"",
    "\"is_admin_project\"",
    "\"audit_ids\"",
    "\"\\u0000\"",
    "\"\\n\"",
    "\"é\"",
    "\"\\ud800\"",
];

fn exercise(body: &serde_json::Value) {
    if let Ok(info) = TokenInfo::from_body(body) {
        let _ = info.catalog_header();
        let mut h = http::HeaderMap::new();
        info.set_user_headers(&mut h);
        info.set_service_headers(&mut h);
    }
}

#[test]
fn token_bodies_never_panic() {
    check("token body pieces", 3000, tokens(TOKEN_JSON, 60), |text| {
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) {
            exercise(&v);
        }
        Ok(())
    });
    // Well-formed bodies with hostile leaves.
    let leaf = prop_oneof![
        any_text(20).prop_map(serde_json::Value::String),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<bool>().prop_map(serde_json::Value::Bool),
        Just(serde_json::Value::Null),
        Just(serde_json::json!("2026-12-06T13:02:55.000000Z")),
    ];
    let shape = (
        leaf.clone(),
        leaf.clone(),
        leaf.clone(),
        proptest::collection::vec(leaf.clone(), 0..4),
        leaf,
    );
    check(
        "token body shapes",
        1000,
        shape,
        |(id, name, expires, roles, url)| {
            let body = serde_json::json!({"token": {
                "user": {"id": id, "name": name, "domain": {"id": "default"}},
                "expires_at": expires,
                "roles": roles.iter().map(|r| serde_json::json!({"name": r})).collect::<Vec<_>>(),
                "catalog": [{"type": "identity", "endpoints": [{"interface": name, "url": url, "region": id}]}],
            }});
            exercise(&body);
            Ok(())
        },
    );
}

#[test]
fn options_never_panic() {
    const KEYS: &[&str] = &[
        "auth_url",
        "www_authenticate_uri",
        "auth_uri",
        "username",
        "password",
        "auth_type",
        "token_cache_time",
        "http_connect_timeout",
        "http_request_max_retries",
        "interface",
        "delay_auth_decision",
        "insecure",
        "service_token_roles",
        "cafile",
    ];
    let pairs = proptest::collection::vec((proptest::sample::select(KEYS), any_text(30)), 0..10);
    check("authtoken options", 3000, pairs, |pairs| {
        let mut conf = Conf::new();
        conf.insert("auth_url", "http://127.0.0.1:1/v3");
        conf.insert("username", "u");
        conf.insert("password", "p");
        for (k, v) in pairs {
            conf.insert(k, v);
        }
        if let Ok(cfg) = AuthTokenConfig::from_conf(&conf) {
            let _ = AuthTokenLayer::new(cfg);
        }
        Ok(())
    });
}

#[test]
fn request_headers_never_panic_the_filter() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut conf = Conf::new();
    // Nothing listens on port 1: every validation fails at once (503).
    conf.insert("auth_url", "http://127.0.0.1:1/v3");
    conf.insert("username", "u");
    conf.insert("password", "p");
    conf.insert("http_request_max_retries", "0");
    let layer = AuthTokenLayer::new(AuthTokenConfig::from_conf(&conf).unwrap()).unwrap();
    let app = App::new(layer.layer(tower::service_fn(|_req: Request| async {
        Ok::<_, Infallible>(Response::new(full("app")))
    })));
    const NAMES: &[&str] = &[
        "x-auth-token",
        "x-storage-token",
        "x-service-token",
        "accept",
        "x-roles",
        "openstack-system-scope",
    ];
    let headers = proptest::collection::vec((proptest::sample::select(NAMES), any_bytes(40)), 0..5);
    check("filter request headers", 500, headers, |headers| {
        let mut req = http::Request::new(fjord_http::Body::empty());
        for (name, value) in headers {
            if let Ok(v) = http::HeaderValue::from_bytes(&value) {
                req.headers_mut().append(name, v);
            }
        }
        let resp = rt.block_on(app.clone().oneshot(req)).unwrap();
        prop_assert!(
            [401, 503].contains(&resp.status().as_u16()),
            "{}",
            resp.status()
        );
        Ok(())
    });
}
