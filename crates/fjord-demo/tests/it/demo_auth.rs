//! `[api] auth_strategy` end to end: noauth2 (the default) with the demo's
//! policy rules and a policy file over them, and keystone against the
//! throwaway Keystone of `scripts/keystone.sh`.
use crate::support;

use std::time::Duration;

use fjord_test_support::keystone::{Keystone, keystone};
use serde_json::{Value, json};
use support::{Demo, header, http_with_headers};

fn call(demo: &Demo, method: &str, path: &str, headers: &[(&str, &str)]) -> (u16, String, Value) {
    let body = (method == "POST").then_some(r#"{"ping": 1}"#);
    let (status, head, body) = http_with_headers(demo.port, method, path, headers, body);
    let json = serde_json::from_str(&body).unwrap_or(Value::String(body));
    (status, head, json)
}

fn stop(mut demo: Demo) {
    demo.signal(nix::sys::signal::Signal::SIGTERM);
    assert_eq!(demo.wait_exit(Duration::from_secs(30)), 0);
}

#[test]
fn noauth2_callers_and_the_policy_rules() {
    let demo = Demo::start("demo-all", &[]);
    demo.wait_http("/hello", 200, Duration::from_secs(30));

    // No header: admin:admin, as the README's tour calls it.
    let (status, _, body) = call(&demo, "GET", "/v1/services", &[]);
    assert_eq!(status, 200, "{body}");

    // A member is refused the admin-only route, with oslo.policy's message
    // in the {"error": ...} body.
    let alice = [("X-Auth-Token", "alice:p1")];
    let (status, _, body) = call(&demo, "GET", "/v1/services", &alice);
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        body,
        json!({"error": {"code": 403, "title": "Forbidden",
                         "message": "demo:services:list is disallowed by policy"}})
    );

    // ... and may echo; the worker saw alice's context.
    let (status, head, body) = call(&demo, "POST", "/v1/echo", &alice);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"], json!({"ping": 1}));
    assert_eq!(body["context"]["user_id"], "alice");
    assert_eq!(body["context"]["project_id"], "p1");
    assert_eq!(body["context"]["roles"], json!(["member", "reader"]));
    assert_eq!(
        body["context"]["request_id"].as_str(),
        header(&head, "x-openstack-request-id").as_deref()
    );

    // Identity headers from the client mean nothing under noauth2.
    let spoof = [("X-Auth-Token", "alice:p1"), ("X-Roles", "admin")];
    assert_eq!(call(&demo, "GET", "/v1/services", &spoof).0, 403);
    stop(demo);
}

#[test]
fn a_policy_file_overrides_the_registered_rule() {
    let dir = fjord_test_support::temp_dir("demo-policy");
    let policy = dir.join("policy.yaml");
    std::fs::write(&policy, "\"demo:services:list\": \"role:reader\"\n").unwrap();
    let policy = policy.to_string_lossy().into_owned();
    let demo = Demo::start("demo-all", &[("OS_OSLO_POLICY__POLICY_FILE", &policy)]);
    demo.wait_http("/hello", 200, Duration::from_secs(30));
    let alice = [("X-Auth-Token", "alice:p1")];
    let (status, _, body) = call(&demo, "GET", "/v1/services", &alice);
    assert_eq!(status, 200, "{body}");

    // The file is re-read when it changes, in the running workers.
    std::fs::write(&policy, "\"demo:services:list\": \"!\"\n").unwrap();
    fjord_test_support::wait_until(Duration::from_secs(10), || {
        call(&demo, "GET", "/v1/services", &[]).0 == 403
    });
    stop(demo);
}

/// A token for `user` (admin or member, as the env file names them).
fn token(ks: &Keystone, who: &str) -> String {
    let body = json!({"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": ks.get(&format!("KS_{who}_USER")),
            "domain": {"id": "default"},
            "password": ks.get(&format!("KS_{who}_PASSWORD")),
        }}},
        "scope": {"project": {
            "name": ks.get(&format!("KS_{who}_PROJECT")),
            "domain": {"id": "default"},
        }},
    }})
    .to_string();
    let (status, head, resp) =
        http_with_headers(ks.port(), "POST", "/v3/auth/tokens", &[], Some(&body));
    assert_eq!(status, 201, "token for {who}: {resp}");
    header(&head, "x-subject-token").expect("X-Subject-Token")
}

#[test]
fn keystone_strategy_end_to_end() {
    let Some(ks) = keystone("demo_auth::keystone_strategy_end_to_end") else {
        return;
    };
    let url = ks.url();
    let auth_url = url.trim_end_matches("/v3").to_owned();
    let user = ks.get("KS_SERVICE_USER");
    let password = ks.get("KS_SERVICE_PASSWORD");
    let project = ks.get("KS_SERVICE_PROJECT");
    let demo = Demo::start(
        "demo-all",
        &[
            ("OS_API__AUTH_STRATEGY", "keystone"),
            ("OS_KEYSTONE_AUTHTOKEN__WWW_AUTHENTICATE_URI", &auth_url),
            ("OS_KEYSTONE_AUTHTOKEN__AUTH_URL", &auth_url),
            ("OS_KEYSTONE_AUTHTOKEN__AUTH_TYPE", "password"),
            ("OS_KEYSTONE_AUTHTOKEN__USERNAME", &user),
            ("OS_KEYSTONE_AUTHTOKEN__PASSWORD", &password),
            ("OS_KEYSTONE_AUTHTOKEN__PROJECT_NAME", &project),
            ("OS_KEYSTONE_AUTHTOKEN__USER_DOMAIN_NAME", "Default"),
            ("OS_KEYSTONE_AUTHTOKEN__PROJECT_DOMAIN_NAME", "Default"),
        ],
    );
    demo.wait_http("/hello", 200, Duration::from_secs(30));

    // Public routes stay public.
    assert_eq!(call(&demo, "GET", "/", &[]).0, 200);
    assert_eq!(call(&demo, "GET", "/healthcheck", &[]).0, 200);

    // No token: keystonemiddleware's 401.
    let (status, head, body) = call(&demo, "GET", "/v1/services", &[]);
    assert_eq!(status, 401, "{body}");
    assert_eq!(
        header(&head, "www-authenticate").as_deref(),
        Some(format!("Keystone uri=\"{auth_url}\"").as_str())
    );
    assert_eq!(body["error"]["code"], 401);
    assert_eq!(call(&demo, "POST", "/v1/echo", &[]).0, 401);
    // A token Keystone does not know: 401 too.
    assert_eq!(
        call(
            &demo,
            "GET",
            "/v1/services",
            &[("X-Auth-Token", "not-a-token")]
        )
        .0,
        401
    );

    let admin = token(&ks, "ADMIN");
    let member = token(&ks, "MEMBER");

    let (status, _, body) = call(&demo, "GET", "/v1/services", &[("X-Auth-Token", &admin)]);
    assert_eq!(status, 200, "{body}");
    let (status, _, body) = call(&demo, "GET", "/v1/services", &[("X-Auth-Token", &member)]);
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        body["error"]["message"],
        "demo:services:list is disallowed by policy"
    );
    // A member claiming to be admin is still a member.
    let spoof = [("X-Auth-Token", member.as_str()), ("X-Roles", "admin")];
    assert_eq!(call(&demo, "GET", "/v1/services", &spoof).0, 403);

    // Echo: the worker got the member's identity in the RPC context.
    let (status, head, body) = call(&demo, "POST", "/v1/echo", &[("X-Auth-Token", &member)]);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["context"]["user_id"], ks.get("KS_MEMBER_USER_ID"));
    assert_eq!(
        body["context"]["project_id"],
        ks.get("KS_MEMBER_PROJECT_ID")
    );
    let roles: Vec<&str> = body["context"]["roles"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        roles.contains(&"member") && !roles.contains(&"admin"),
        "{roles:?}"
    );
    assert_eq!(
        body["context"]["request_id"].as_str(),
        header(&head, "x-openstack-request-id").as_deref()
    );
    stop(demo);
}
