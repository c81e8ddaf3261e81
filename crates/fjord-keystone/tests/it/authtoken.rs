//! The authtoken filter in front of a fjord-http app, against the real
//! Keystone of `scripts/keystone.sh` (keystonemiddleware 13's behaviour as
//! ../shared/KEYSTONE.md measured it).

use std::time::{Duration, Instant};

use fjord_test_support::Logs;

use crate::support::{Proxy, Served, authtoken_section, keystone, revoke, seen, token};

const REFERENCE_401: &str = r#"{"error": {"code": 401, "title": "Unauthorized", "message": "The request you have made requires authentication."}}"#;

/// A region no catalog endpoint has: the filter then validates at its
/// `auth_url` (the proxy) instead of Keystone's catalog URL.
const VIA_AUTH_URL: (&str, &str) = ("region_name", "fjord-test-no-such-region");

fn assert_reference_401(
    status: http::StatusCode,
    headers: &http::HeaderMap,
    body: &str,
    uri: &str,
) {
    assert_eq!(status, 401, "{body}");
    assert_eq!(body, REFERENCE_401);
    let parsed: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(parsed["error"]["code"], 401);
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(
        headers["www-authenticate"],
        format!("Keystone uri=\"{uri}\"").as_str()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_or_bad_token_is_keystonemiddleware_s_401() {
    let Some(ks) = keystone("authtoken::no_or_bad_token_is_keystonemiddleware_s_401") else {
        return;
    };
    let app = Served::start(&authtoken_section(&ks, &ks.url(), &[])).await;
    let (status, headers, body) = app.get("/", &[]).await;
    assert_reference_401(status, &headers, &body, &ks.url());
    let (status, headers, body) = app.get("/", &[("x-auth-token", "garbage")]).await;
    assert_reference_401(status, &headers, &body, &ks.url());
    // A valid user token with an invalid service token: 401 too.
    let admin = token(&ks, "ADMIN").await;
    let (status, headers, body) = app
        .get(
            "/",
            &[("x-auth-token", &admin), ("x-service-token", "garbage")],
        )
        .await;
    assert_reference_401(status, &headers, &body, &ks.url());
    // The app's own 401 gets the header.
    let (status, headers, _) = app.get("/unauthorized", &[("x-auth-token", &admin)]).await;
    assert_eq!(status, 401);
    assert_eq!(
        headers["www-authenticate"],
        format!("Keystone uri=\"{}\"", ks.url()).as_str()
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_token_reaches_the_app_with_its_identity() {
    let Some(ks) = keystone("authtoken::admin_token_reaches_the_app_with_its_identity") else {
        return;
    };
    let app = Served::start(&authtoken_section(&ks, &ks.url(), &[])).await;
    let admin = token(&ks, "ADMIN").await;
    let (status, _, body) = app.get("/", &[("x-auth-token", &admin)]).await;
    assert_eq!(status, 200, "{body}");
    let h = seen(&body);
    let s = |k: &str| {
        h.get(k)
            .and_then(|v| v.as_str())
            .unwrap_or("<absent>")
            .to_owned()
    };
    assert_eq!(s("x-identity-status"), "Confirmed");
    assert_eq!(s("x-user-id"), ks.get("KS_ADMIN_USER_ID"));
    assert_eq!(s("x-user-name"), "admin");
    assert_eq!(s("x-user-domain-id"), "default");
    assert_eq!(s("x-user-domain-name"), "Default");
    assert_eq!(s("x-project-id"), ks.get("KS_ADMIN_PROJECT_ID"));
    assert_eq!(s("x-project-name"), "admin");
    assert_eq!(s("x-project-domain-id"), "default");
    assert_eq!(s("x-project-domain-name"), "Default");
    let mut roles: Vec<String> = s("x-roles").split(',').map(str::to_owned).collect();
    roles.sort();
    assert_eq!(roles, ["admin", "manager", "member", "reader"]);
    assert_eq!(s("x-is-admin-project"), "True");
    // Deprecated copies.
    assert_eq!(s("x-role"), s("x-roles"));
    assert_eq!(s("x-user"), "admin");
    assert_eq!(s("x-tenant-id"), ks.get("KS_ADMIN_PROJECT_ID"));
    assert_eq!(s("x-tenant-name"), "admin");
    assert_eq!(s("x-tenant"), "admin");
    // None for a project token: absent over HTTP.
    assert_eq!(s("x-domain-id"), "<absent>");
    assert_eq!(s("openstack-system-scope"), "<absent>");
    assert_eq!(s("x-auth-token"), admin, "the token is passed on unchanged");
    // include_service_catalog defaults to true: v2-style catalog.
    let catalog: serde_json::Value = serde_json::from_str(&s("x-service-catalog")).unwrap();
    assert_eq!(catalog[0]["type"], "identity");
    assert_eq!(catalog[0]["endpoints"][0]["region"], "RegionOne");
    assert_eq!(
        catalog[0]["endpoints"][0]["publicURL"],
        format!("{}/", ks.url())
    );
    assert_eq!(h["user_token_extension"], true);
    app.stop().await;

    let app = Served::start(&authtoken_section(
        &ks,
        &ks.url(),
        &[("include_service_catalog", "false")],
    ))
    .await;
    let (status, _, body) = app.get("/", &[("x-auth-token", &admin)]).await;
    assert_eq!(status, 200);
    assert!(!seen(&body).contains_key("x-service-catalog"), "{body}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_cannot_spoof_identity_headers() {
    let Some(ks) = keystone("authtoken::a_member_cannot_spoof_identity_headers") else {
        return;
    };
    let app = Served::start(&authtoken_section(&ks, &ks.url(), &[])).await;
    let member = token(&ks, "MEMBER").await;
    let spoofed = [
        ("x-auth-token", member.as_str()),
        ("x-roles", "admin"),
        ("x-role", "admin"),
        ("x-user-id", "evil"),
        ("x-project-id", "evil"),
        ("x-is-admin-project", "True"),
        ("x-service-roles", "service"),
        ("x-service-identity-status", "Confirmed"),
        ("openstack-system-scope", "all"),
    ];
    // First through a validation, then from the cache (the fast path).
    for _ in 0..2 {
        let (status, _, body) = app.get("/", &spoofed).await;
        assert_eq!(status, 200, "{body}");
        let h = seen(&body);
        let mut roles: Vec<&str> = h["x-roles"].as_str().unwrap().split(',').collect();
        roles.sort();
        assert_eq!(roles, ["member", "reader"], "{body}");
        assert_eq!(h["x-role"], h["x-roles"]);
        assert_eq!(h["x-user-id"], ks.get("KS_MEMBER_USER_ID").as_str());
        assert_eq!(h["x-project-id"], ks.get("KS_MEMBER_PROJECT_ID").as_str());
        for absent in [
            "x-service-roles",
            "x-service-identity-status",
            "openstack-system-scope",
        ] {
            assert!(!h.contains_key(absent), "{absent} survived: {body}");
        }
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delay_auth_decision_passes_invalid_requests_on_marked() {
    let Some(ks) = keystone("authtoken::delay_auth_decision_passes_invalid_requests_on_marked")
    else {
        return;
    };
    let app = Served::start(&authtoken_section(
        &ks,
        &ks.url(),
        &[("delay_auth_decision", "true")],
    ))
    .await;
    for headers in [
        vec![("x-roles", "admin")],
        vec![("x-auth-token", "garbage"), ("x-user-id", "evil")],
    ] {
        let (status, _, body) = app.get("/", &headers).await;
        assert_eq!(status, 200, "{body}");
        let h = seen(&body);
        assert_eq!(h["x-identity-status"], "Invalid");
        for absent in ["x-roles", "x-user-id", "x-project-id"] {
            assert!(!h.contains_key(absent), "{absent}: {body}");
        }
        assert_eq!(h["user_token_extension"], false);
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_tokens_need_a_service_role() {
    let Some(ks) = keystone("authtoken::service_tokens_need_a_service_role") else {
        return;
    };
    let app = Served::start(&authtoken_section(&ks, &ks.url(), &[])).await;
    let admin = token(&ks, "ADMIN").await;
    let service = token(&ks, "SERVICE").await;
    let member = token(&ks, "MEMBER").await;
    let (status, _, body) = app
        .get(
            "/",
            &[("x-auth-token", &admin), ("x-service-token", &service)],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let h = seen(&body);
    assert_eq!(h["x-service-identity-status"], "Confirmed");
    assert_eq!(h["x-service-roles"], "service");
    assert_eq!(
        h["x-service-user-id"],
        ks.get("KS_SERVICE_USER_ID").as_str()
    );
    assert_eq!(h["x-service-user-name"], ks.get("KS_SERVICE_USER").as_str());
    assert_eq!(
        h["x-service-project-id"],
        ks.get("KS_SERVICE_PROJECT_ID").as_str()
    );
    assert_eq!(h["x-user-id"], ks.get("KS_ADMIN_USER_ID").as_str());
    // A valid token without the service role is not a service token.
    let (status, _, body) = app
        .get(
            "/",
            &[("x-auth-token", &admin), ("x-service-token", &member)],
        )
        .await;
    assert_eq!(status, 401, "{body}");
    app.stop().await;

    let lax = Served::start(&authtoken_section(
        &ks,
        &ks.url(),
        &[("service_token_roles_required", "false")],
    ))
    .await;
    let (status, _, body) = lax
        .get(
            "/",
            &[("x-auth-token", &admin), ("x-service-token", &member)],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(seen(&body)["x-service-identity-status"], "Confirmed");
    lax.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_token_works_until_its_cache_entry_expires() {
    let Some(ks) = keystone("authtoken::a_revoked_token_works_until_its_cache_entry_expires")
    else {
        return;
    };
    let cached = Served::start(&authtoken_section(
        &ks,
        &ks.url(),
        &[("token_cache_time", "3")],
    ))
    .await;
    let victim = token(&ks, "MEMBER").await;
    let (status, _, body) = cached.get("/", &[("x-auth-token", &victim)]).await;
    assert_eq!(status, 200, "{body}");
    let validated = Instant::now();
    revoke(&ks, &victim).await;
    let (status, _, _) = cached.get("/", &[("x-auth-token", &victim)]).await;
    if validated.elapsed() < Duration::from_secs(3) {
        assert_eq!(status, 200, "cached: the revocation is not seen yet");
    }
    let deadline = validated + Duration::from_secs(3) + Duration::from_millis(200);
    tokio::time::sleep_until(deadline.into()).await;
    let (status, _, _) = cached.get("/", &[("x-auth-token", &victim)]).await;
    assert_eq!(
        status, 401,
        "the cache entry expired: Keystone says revoked"
    );
    cached.stop().await;

    for off in ["-1", "0"] {
        let uncached = Served::start(&authtoken_section(
            &ks,
            &ks.url(),
            &[("token_cache_time", off)],
        ))
        .await;
        let victim = token(&ks, "MEMBER").await;
        let (status, _, _) = uncached.get("/", &[("x-auth-token", &victim)]).await;
        assert_eq!(status, 200);
        revoke(&ks, &victim).await;
        let (status, _, _) = uncached.get("/", &[("x-auth-token", &victim)]).await;
        assert_eq!(
            status, 401,
            "token_cache_time = {off}: no cache, revoked at once"
        );
        uncached.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_service_password_is_a_clear_error_not_a_hang() {
    let Some(ks) = keystone("authtoken::a_wrong_service_password_is_a_clear_error_not_a_hang")
    else {
        return;
    };
    let logs = Logs::global();
    let section = authtoken_section(&ks, &ks.url(), &[("http_connect_timeout", "5")]).replace(
        &format!("password = {}\n", ks.get("KS_SERVICE_PASSWORD")),
        "password = not-the-password\n",
    );
    let app = Served::start(&section).await;
    let admin = token(&ks, "ADMIN").await;
    let started = Instant::now();
    let (status, headers, body) = app.get("/", &[("x-auth-token", &admin)]).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(status, 503, "{body}");
    assert_eq!(body, fjord_keystone::UNAVAILABLE_BODY);
    assert!(!headers.contains_key("www-authenticate"));
    let lines = logs.lines_with(&[
        "[keystone_authtoken]",
        "refused the service user",
        &ks.get("KS_SERVICE_USER"),
    ]);
    assert!(!lines.is_empty(), "no clear log line:\n{}", logs.text());
    assert!(
        !logs.text().contains("not-the-password"),
        "the password is never logged"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keystone_down_or_hung_is_503_within_the_timeout_then_recovers() {
    let Some(ks) =
        keystone("authtoken::keystone_down_or_hung_is_503_within_the_timeout_then_recovers")
    else {
        return;
    };
    let mut proxy = Proxy::start(ks.port()).await;
    let app = Served::start(&authtoken_section(
        &ks,
        &proxy.url(),
        &[
            VIA_AUTH_URL,
            ("http_connect_timeout", "2"),
            ("http_request_max_retries", "0"),
            ("token_cache_time", "-1"),
        ],
    ))
    .await;
    let admin = token(&ks, "ADMIN").await;
    let (status, _, body) = app.get("/", &[("x-auth-token", &admin)]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(proxy.validations(), 1, "validated through the proxy");

    // Stopped: nothing listens.
    proxy.stop_listening();
    let started = Instant::now();
    let (status, _, body) = app.get("/", &[("x-auth-token", &admin)]).await;
    assert_eq!(status, 503, "{body}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(body, fjord_keystone::UNAVAILABLE_BODY);
    // webob's JSON form for a client asking for JSON.
    let (status, headers, body) = app
        .get(
            "/",
            &[("x-auth-token", &admin), ("accept", "application/json")],
        )
        .await;
    assert_eq!(status, 503);
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(body, fjord_keystone::UNAVAILABLE_JSON);

    // Hung: accepts, never answers. 503 once http_connect_timeout passed.
    proxy.hang().await;
    let started = Instant::now();
    let (status, _, body) = app.get("/", &[("x-auth-token", &admin)]).await;
    let took = started.elapsed();
    assert_eq!(status, 503, "{body}");
    assert!(
        took >= Duration::from_millis(1900) && took < Duration::from_secs(4),
        "{took:?}"
    );

    // Back: served again.
    proxy.resume().await;
    let (status, _, body) = app.get("/", &[("x-auth-token", &admin)]).await;
    assert_eq!(status, 200, "{body}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_failures_are_retried_http_request_max_retries_times() {
    let Some(ks) =
        keystone("authtoken::connection_failures_are_retried_http_request_max_retries_times")
    else {
        return;
    };
    let logs = Logs::global();
    let mut proxy = Proxy::start(ks.port()).await;
    let port = proxy.port.to_string();
    let app = Served::start(&authtoken_section(
        &ks,
        &proxy.url(),
        &[
            VIA_AUTH_URL,
            ("http_connect_timeout", "2"),
            ("http_request_max_retries", "2"),
        ],
    ))
    .await;
    proxy.stop_listening();
    let admin = token(&ks, "ADMIN").await;
    let started = Instant::now();
    let (status, _, _) = app.get("/", &[("x-auth-token", &admin)]).await;
    assert_eq!(status, 503);
    // keystoneauth's backoff: 0.5 s, then 1 s.
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(1400) && took < Duration::from_secs(4),
        "{took:?}"
    );
    let retries = logs.lines_with(&["retry", &format!("127.0.0.1:{port}/v3/auth/tokens")]);
    assert_eq!(retries.len(), 2, "{retries:#?}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_requests_with_one_new_token_cause_one_validation() {
    let Some(ks) =
        keystone("authtoken::concurrent_requests_with_one_new_token_cause_one_validation")
    else {
        return;
    };
    let proxy = Proxy::start(ks.port()).await;
    let app = std::sync::Arc::new(
        Served::start(&authtoken_section(&ks, &proxy.url(), &[VIA_AUTH_URL])).await,
    );
    let fresh = token(&ks, "MEMBER").await;
    let mut tasks = Vec::new();
    for _ in 0..64 {
        let (app, fresh) = (app.clone(), fresh.clone());
        tasks.push(tokio::spawn(async move {
            app.get("/", &[("x-auth-token", &fresh)]).await.0
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 200);
    }
    assert_eq!(proxy.validations(), 1, "64 requests, one validation");
    // Cached: more requests, still one.
    let (status, _, _) = app.get("/", &[("x-auth-token", &fresh)]).await;
    assert_eq!(status, 200);
    assert_eq!(proxy.validations(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_user_logs_in_again_when_its_token_is_refused() {
    let Some(ks) = keystone("authtoken::the_service_user_logs_in_again_when_its_token_is_refused")
    else {
        return;
    };
    let logs = Logs::global();
    // A user of its own: changing its password revokes its tokens.
    let name = fjord_test_support::unique("fjord-relogin");
    let password = "relogin-secret";
    let user = crate::support::create_service_user(&ks, &name, password).await;
    let section = authtoken_section(&ks, &ks.url(), &[("token_cache_time", "-1")])
        .replace(
            &format!("username = {}\n", ks.get("KS_SERVICE_USER")),
            &format!("username = {name}\n"),
        )
        .replace(
            &format!("password = {}\n", ks.get("KS_SERVICE_PASSWORD")),
            &format!("password = {password}\n"),
        );
    let app = Served::start(&section).await;
    let member = token(&ks, "MEMBER").await;
    let (status, _, _) = app.get("/", &[("x-auth-token", &member)]).await;
    assert_eq!(status, 200);
    // A password change revokes the user's tokens, the filter's own
    // included (set back at once: the filter's password is the old one).
    let admin = token(&ks, "ADMIN").await;
    for pw in ["fjord-temporary-password", password] {
        let (status, _, body) = crate::support::send(
            "PATCH",
            &format!("{}/users/{user}", ks.url()),
            &[("x-auth-token", &admin)],
            Some(serde_json::json!({"user": {"password": pw}}).to_string()),
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }
    // Fernet tokens have a one-second resolution: a token issued in the
    // second of the revocation counts as revoked too.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, _, body) = app.get("/", &[("x-auth-token", &member)]).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        !logs
            .lines_with(&["rejected the service token; authenticating again"])
            .is_empty(),
        "{}",
        logs.text()
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_to_keystone_honours_cafile_and_insecure() {
    let Some(ks) = keystone("authtoken::https_to_keystone_honours_cafile_and_insecure") else {
        return;
    };
    let front = crate::support::TlsFront::start(ks.port()).await;
    let admin = token(&ks, "ADMIN").await;
    let ca = front.ca_file.display().to_string();
    let fast = [
        VIA_AUTH_URL,
        ("http_connect_timeout", "5"),
        ("http_request_max_retries", "0"),
    ];

    // The test CA in cafile: verified, served.
    let mut opts = fast.to_vec();
    opts.push(("cafile", &ca));
    let app = Served::start(&authtoken_section(&ks, &front.url(), &opts)).await;
    let (status, _, body) = app.get("/", &[("x-auth-token", &admin)]).await;
    assert_eq!(status, 200, "{body}");
    app.stop().await;

    // The system's roots do not know the test CA: the handshake fails, 503.
    let logs = Logs::global();
    let app = Served::start(&authtoken_section(&ks, &front.url(), &fast)).await;
    let (status, _, _) = app.get("/", &[("x-auth-token", &admin)]).await;
    assert_eq!(status, 503);
    let url = format!("127.0.0.1:{}", front.port);
    assert!(
        !logs.lines_with(&[&url, "certificate"]).is_empty(),
        "{}",
        logs.text()
    );
    app.stop().await;

    // insecure = true: not verified, served.
    let mut opts = fast.to_vec();
    opts.push(("insecure", "true"));
    let app = Served::start(&authtoken_section(&ks, &front.url(), &opts)).await;
    let (status, _, body) = app.get("/", &[("x-auth-token", &admin)]).await;
    assert_eq!(status, 200, "{body}");
    app.stop().await;
}
