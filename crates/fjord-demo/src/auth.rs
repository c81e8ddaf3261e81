//! Who is calling, and what they may do: the demo API's authentication
//! filters and policy rules.
//!
//! `[api] auth_strategy` picks the pipeline of the `/v1` composite in
//! `etc/demo/api-paste.ini` (nova's `pipeline_factory_v21`):
//!
//! | strategy | pipeline ends with | the caller is |
//! |---|---|---|
//! | `noauth2` (default) | `noauth2 apiv1` | whoever `X-Auth-Token: user:project` names ([`noauth2`]) |
//! | `keystone` | `authtoken keystonecontext apiv1` | the owner of a token Keystone validated |
//!
//! Either way the app finds a [`RequestContext`] in the request extensions
//! ([`fjord::keystone::request_context`]), checks it against the demo's
//! rules ([`policy_defaults`], overridable by `[oslo_policy] policy_file`)
//! and sends it with its RPC calls.

use std::convert::Infallible;
use std::sync::Arc;

use fjord::context::RequestContext;
use fjord::http::loader::Filter;
use fjord::http::middleware::{GlobalRequestId, RequestId};
use fjord::http::{App, Request};
use fjord::policy::{
    Denial, Enforcer, FaultStyle, Operation, PolicyCatalog, PolicyError, PolicyOptions, RuleDefault,
};
use serde_json::{Value, json};

/// The paste name of the [`noauth2`] filter factory.
pub const NOAUTH2_FACTORY: &str = "fjord_demo.api:NoAuthMiddleware.factory";

/// The policy namespace of the demo's rules (`fjord-config policy sample
/// --from-binary demo-api` lists it).
pub const POLICY_NAMESPACE: &str = "fjord.demo";
/// The rule the others refer to for "an administrator".
pub const RULE_ADMIN: &str = "context_is_admin";
/// `GET /v1/services`.
pub const RULE_SERVICES_LIST: &str = "demo:services:list";
/// `POST /v1/echo`.
pub const RULE_ECHO: &str = "demo:echo";

/// The demo's registered policy rules, as a service declares its
/// `DocumentedRuleDefault`s: `GET /v1/services` for administrators
/// (`role:admin`), `POST /v1/echo` for any caller the pipeline let
/// through. A policy file overrides them by name.
pub fn policy_defaults() -> Vec<RuleDefault> {
    vec![
        RuleDefault::new(RULE_ADMIN, "role:admin")
            .with_description("Decides what is required for an administrator."),
        RuleDefault::documented(
            RULE_SERVICES_LIST,
            &format!("rule:{RULE_ADMIN}"),
            "List the service records and whether each service is up.",
            vec![Operation::new("GET", "/v1/services")],
        )
        .with_scope_types(&["project"]),
        RuleDefault::documented(
            RULE_ECHO,
            "",
            "Send a JSON body to a worker by RPC and get it back.",
            vec![Operation::new("POST", "/v1/echo")],
        )
        .with_scope_types(&["project"]),
    ]
}

/// The demo's rules by namespace, for the hidden
/// `--fjord-policy-defaults` flag the binaries answer.
pub fn policy_catalog() -> PolicyCatalog {
    PolicyCatalog::new().with(POLICY_NAMESPACE, policy_defaults())
}

/// The enforcer of one API worker: [`policy_defaults`] under
/// `[oslo_policy]`'s files (read when a rule is first checked and again
/// when they change).
///
/// # Errors
///
/// A default that does not register (a programming error).
pub fn enforcer(options: &PolicyOptions) -> Result<Enforcer, PolicyError> {
    let mut enforcer = Enforcer::from_options(options.clone());
    enforcer.register_defaults(policy_defaults())?;
    Ok(enforcer)
}

/// Checks `rule` for the caller of `rctx`, on a target of its own project
/// and user (oslo's convention for calls not about one resource).
///
/// # Errors
///
/// The answer to send instead: 403 with the `{"error": ...}` body for a
/// denial or a token of the wrong scope, 500 (logged) when the policy
/// itself is broken.
pub fn authorize(
    enforcer: &Enforcer,
    rule: &str,
    rctx: &RequestContext,
) -> Result<(), (http::StatusCode, Value)> {
    let target = json!({"project_id": rctx.project_id, "user_id": rctx.user_id});
    let creds = Value::Object(rctx.to_policy_values());
    enforcer.authorize(rule, &target, &creds).map_err(|e| {
        let denial = Denial::from_error(&e, rule);
        if denial.status() >= 500 {
            tracing::error!("policy check {rule}: {e}");
        } else {
            tracing::info!(
                "policy: {rule} denied to user {:?} in project {:?} (request {})",
                rctx.user_id,
                rctx.project_id,
                rctx.request_id
            );
        }
        let status = http::StatusCode::from_u16(denial.status())
            .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
        (status, denial.body(FaultStyle::Keystone))
    })
}

/// The context `noauth2` trusts from `X-Auth-Token: user[:project]`.
///
/// As nova's `NoAuthMiddleware`: the project defaults to the user, the
/// caller is an administrator when the user is `admin`. The demo's
/// differences, documented in docs/auth.md: without the header the caller
/// is `admin:admin` (nova answers 204 with that token for the client to
/// send again), and roles are set for policy rules to see (`admin`,
/// `member`, `reader` for an administrator; `member`, `reader` otherwise).
pub fn noauth2_context(req: &Request) -> RequestContext {
    let token = req
        .headers()
        .get("x-auth-token")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .unwrap_or("admin:admin");
    let (user, project) = match token.split_once(':') {
        Some((u, p)) if !p.is_empty() => (u, p),
        Some((u, _)) => (u, u),
        None => (token, token),
    };
    let admin = user == "admin";
    let mut rctx = anonymous_context(req);
    rctx.user_id = Some(user.to_owned());
    rctx.project_id = Some(project.to_owned());
    rctx.is_admin = admin;
    rctx.roles = if admin {
        vec!["admin".into(), "member".into(), "reader".into()]
    } else {
        vec!["member".into(), "reader".into()]
    };
    rctx
}

/// A context naming no one, with this request's ids: `request_id` the
/// `request_id` filter's (returned in `x-openstack-request-id`),
/// `global_request_id` the caller's well-formed `X-OpenStack-Request-ID`.
pub fn anonymous_context(req: &Request) -> RequestContext {
    let mut rctx = RequestContext::new();
    if let Some(RequestId(id)) = req.extensions().get::<RequestId>() {
        rctx.request_id = id.clone();
    }
    rctx.global_request_id = req
        .extensions()
        .get::<GlobalRequestId>()
        .map(|g| g.0.clone());
    rctx
}

/// The `noauth2` filter: puts [`noauth2_context`] in the request
/// extensions (as `Arc<RequestContext>`, where keystonecontext puts its
/// own) and passes the request on. Identity headers a client sends are
/// not read.
pub fn noauth2() -> Filter {
    Arc::new(|inner: App| {
        App::new(tower::service_fn(move |mut req: Request| {
            let mut inner = inner.clone();
            async move {
                let rctx = noauth2_context(&req);
                req.extensions_mut().insert(Arc::new(rctx));
                let resp = tower::ServiceExt::oneshot(&mut inner, req).await;
                Ok::<_, Infallible>(resp.unwrap_or_else(|e| match e {}))
            }
        }))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(token: Option<&str>) -> Request {
        let mut b = http::Request::builder().uri("/v1/echo");
        if let Some(t) = token {
            b = b.header("x-auth-token", t);
        }
        b.body(fjord::http::full("")).unwrap()
    }

    #[test]
    fn noauth2_reads_user_and_project() {
        let c = noauth2_context(&req(Some("alice:p1")));
        assert_eq!(c.user_id.as_deref(), Some("alice"));
        assert_eq!(c.project_id.as_deref(), Some("p1"));
        assert!(!c.is_admin);
        assert_eq!(c.roles, ["member", "reader"]);
        let c = noauth2_context(&req(Some("bob")));
        assert_eq!(c.project_id.as_deref(), Some("bob"));
        let c = noauth2_context(&req(None));
        assert_eq!(c.user_id.as_deref(), Some("admin"));
        assert!(c.is_admin);
        assert!(c.roles.contains(&"admin".to_owned()));
    }

    #[test]
    fn services_is_for_admins_and_echo_for_everyone() {
        let e = enforcer(&PolicyOptions::default()).unwrap();
        let admin = noauth2_context(&req(None));
        let member = noauth2_context(&req(Some("alice:p1")));
        assert!(authorize(&e, RULE_SERVICES_LIST, &admin).is_ok());
        let (status, body) = authorize(&e, RULE_SERVICES_LIST, &member).unwrap_err();
        assert_eq!(status, 403);
        assert_eq!(
            body["error"]["message"],
            "demo:services:list is disallowed by policy"
        );
        assert!(authorize(&e, RULE_ECHO, &member).is_ok());
    }
}
