//! The keystonecontext filter: the app's `RequestContext`, from the
//! headers authtoken set, in the request extensions.

use std::convert::Infallible;

use fjord_http::{App, Request, Response, full};
use fjord_keystone::{KeystoneContextLayer, NO_USER_BODY, request_context};
use tower::{Layer, ServiceExt};

use crate::support::{Served, authtoken_section, keystone, seen, token};

#[tokio::test]
async fn without_a_user_it_is_webob_s_401_and_the_app_is_not_called() {
    let app = App::new(KeystoneContextLayer::new().layer(tower::service_fn(
        |_req: Request| async { Ok::<_, Infallible>(Response::new(full("app"))) },
    )));
    for headers in [vec![], vec![("x-roles", "admin"), ("x-project-id", "p")]] {
        let mut req = http::Request::new(fjord_http::Body::empty());
        for (k, v) in headers {
            req.headers_mut().insert(k, v.parse().unwrap());
        }
        let resp = app.clone().oneshot(req).await.unwrap();
        assert_eq!(resp.status(), 401);
        assert_eq!(resp.headers()["content-type"], "text/plain; charset=UTF-8");
        let body = http_body_util::BodyExt::collect(resp.into_body())
            .await
            .unwrap()
            .to_bytes();
        assert_eq!(body, NO_USER_BODY.as_bytes());
    }
}

#[tokio::test]
async fn the_context_is_what_from_environ_makes_of_the_headers() {
    let app = App::new(KeystoneContextLayer::new().layer(tower::service_fn(
        |req: Request| async move {
            let ctx = request_context(&req).expect("context");
            Ok::<_, Infallible>(Response::new(full(format!(
                "{:?} {:?} {}",
                ctx.user_id,
                ctx.project_id,
                ctx.roles.join("+")
            ))))
        },
    )));
    let req = http::Request::builder()
        .header("x-user", "legacy-user")
        .header("x-tenant-id", "p1")
        .header("x-roles", "member, reader")
        .body(fjord_http::Body::empty())
        .unwrap();
    let resp = app.oneshot(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    let body = http_body_util::BodyExt::collect(resp.into_body())
        .await
        .unwrap()
        .to_bytes();
    assert_eq!(
        &body[..],
        b"Some(\"legacy-user\") Some(\"p1\") member+reader"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_authtoken_the_app_gets_the_token_s_context_and_request_id() {
    let Some(ks) =
        keystone("context::behind_authtoken_the_app_gets_the_token_s_context_and_request_id")
    else {
        return;
    };
    let app = Served::start_pipeline(
        "request_id authtoken keystonecontext context",
        &authtoken_section(&ks, &ks.url(), &[]),
    )
    .await;
    let member = token(&ks, "MEMBER").await;
    let global = "req-0f3c2c4e-3f5a-4b7c-9d1e-2a3b4c5d6e7f";
    for _ in 0..2 {
        // Validated, then cached: the same context both times.
        let (status, headers, body) = app
            .get(
                "/",
                &[
                    ("x-auth-token", &member),
                    ("x-user-id", "evil"),
                    ("x-roles", "admin"),
                    ("x-openstack-request-id", global),
                ],
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let c = seen(&body);
        assert_eq!(c["user_id"], ks.get("KS_MEMBER_USER_ID").as_str(), "{body}");
        assert_eq!(c["user_name"], ks.get("KS_MEMBER_USER").as_str());
        assert_eq!(c["project_id"], ks.get("KS_MEMBER_PROJECT_ID").as_str());
        let mut roles: Vec<&str> = c["roles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap())
            .collect();
        roles.sort();
        assert_eq!(roles, ["member", "reader"]);
        assert_eq!(c["has_auth_token"], true);
        assert_eq!(
            c["request_id"],
            headers["x-openstack-request-id"].to_str().unwrap(),
            "the context's request id is the one request_id answers with"
        );
        assert_eq!(c["global_request_id"], global);
    }
    app.stop().await;

    // delay_auth_decision: authtoken passes an anonymous request on,
    // keystonecontext refuses it (as nova's does).
    let app = Served::start_pipeline(
        "request_id authtoken keystonecontext context",
        &authtoken_section(&ks, &ks.url(), &[("delay_auth_decision", "true")]),
    )
    .await;
    let (status, _, body) = app.get("/", &[("x-user-id", "evil")]).await;
    assert_eq!(status, 401);
    assert_eq!(body, NO_USER_BODY);
    app.stop().await;
}
