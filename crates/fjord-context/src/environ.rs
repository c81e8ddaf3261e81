//! [`RequestContext::from_environ`]: the context of an API request, from
//! the headers keystonemiddleware's `auth_token` sets.

use http::HeaderMap;

use crate::context::RequestContext;
use crate::secret::Secret;

/// Which field each header fills, first header present wins, as
/// oslo.context's `_ENVIRON_HEADERS` (without the WSGI `HTTP_` prefix).
const HEADERS: [(&str, &[&str]); 21] = [
    ("auth_token", &["x-auth-token", "x-storage-token"]),
    ("user_id", &["x-user-id", "x-user"]),
    ("project_id", &["x-project-id", "x-tenant-id", "x-tenant"]),
    ("domain_id", &["x-domain-id"]),
    ("domain_name", &["x-domain-name"]),
    ("system_scope", &["openstack-system-scope"]),
    ("user_domain_id", &["x-user-domain-id"]),
    ("project_domain_id", &["x-project-domain-id"]),
    ("user_name", &["x-user-name"]),
    ("project_name", &["x-project-name", "x-tenant-name"]),
    ("user_domain_name", &["x-user-domain-name"]),
    ("project_domain_name", &["x-project-domain-name"]),
    ("service_token", &["x-service-token"]),
    ("service_user_id", &["x-service-user-id"]),
    ("service_user_name", &["x-service-user-name"]),
    ("service_user_domain_id", &["x-service-user-domain-id"]),
    ("service_user_domain_name", &["x-service-user-domain-name"]),
    ("service_project_id", &["x-service-project-id"]),
    ("service_project_name", &["x-service-project-name"]),
    (
        "service_project_domain_id",
        &["x-service-project-domain-id"],
    ),
    (
        "service_project_domain_name",
        &["x-service-project-domain-name"],
    ),
];

/// The value of header `name` as a WSGI server puts it in the environ:
/// bytes read as Latin-1 (PEP 3333), several fields joined with `,`.
fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    let mut values = headers.get_all(name).iter().peekable();
    values.peek()?;
    let parts: Vec<String> = values
        .map(|v| v.as_bytes().iter().map(|&b| char::from(b)).collect())
        .collect();
    Some(parts.join(","))
}

/// A comma-separated role list as oslo reads it: each item stripped of
/// white space, none for a missing or empty value.
fn roles(value: Option<String>) -> Vec<String> {
    match value {
        Some(v) if !v.is_empty() => v.split(',').map(|r| r.trim().to_owned()).collect(),
        _ => Vec::new(),
    }
}

impl RequestContext {
    /// The context of an API request, as oslo.context's `from_environ`
    /// builds it behind keystonemiddleware: from the `X-User-Id`,
    /// `X-Project-Id`, `X-Roles`, `X-Auth-Token`, `X-Domain-*`,
    /// `X-User-Domain-*`, `X-Project-Domain-*`, `X-Service-*`,
    /// `OpenStack-System-Scope` and `X-Is-Admin-Project` headers (with the
    /// same legacy fallbacks: `X-User`, `X-Tenant-Id`, `X-Tenant`,
    /// `X-Tenant-Name`, `X-Role`, `X-Storage-Token`).
    ///
    /// `request_id` and `global_request_id` are what Python finds in the
    /// WSGI environ under `openstack.request_id` and
    /// `openstack.global_request_id` (oslo.middleware's request id filter
    /// sets them; `fjord_http::middleware::RequestId` is fjord's); a new
    /// request id is generated when `request_id` is `None` or empty.
    ///
    /// A header present with an empty value gives `Some("")`, as in
    /// Python; `X-Is-Admin-Project` is true unless present and not `true`
    /// (any case). Only keystonemiddleware must set these headers: put
    /// this behind the `authtoken` filter, which strips them from clients.
    ///
    /// # Examples
    ///
    /// ```
    /// use http::HeaderMap;
    /// use fjord_context::RequestContext;
    ///
    /// let mut h = HeaderMap::new();
    /// h.insert("x-user-id", "u1".parse()?);
    /// h.insert("x-project-id", "p1".parse()?);
    /// h.insert("x-roles", "member, reader".parse()?);
    /// h.insert("x-auth-token", "tok".parse()?);
    /// let ctx = RequestContext::from_environ(&h, Some("req-1"), None);
    /// assert_eq!(ctx.user_id.as_deref(), Some("u1"));
    /// assert_eq!(ctx.roles, ["member", "reader"]);
    /// assert_eq!(ctx.request_id, "req-1");
    /// assert!(ctx.is_admin_project);
    /// # Ok::<(), http::header::InvalidHeaderValue>(())
    /// ```
    pub fn from_environ(
        headers: &HeaderMap,
        request_id: Option<&str>,
        global_request_id: Option<&str>,
    ) -> Self {
        let mut ctx = RequestContext::new();
        if let Some(id) = request_id.filter(|id| !id.is_empty()) {
            ctx.request_id = id.to_owned();
        }
        ctx.global_request_id = global_request_id.map(str::to_owned);
        for (field, names) in HEADERS {
            let Some(value) = names.iter().find_map(|n| header(headers, n)) else {
                continue;
            };
            let slot = match field {
                "auth_token" => {
                    ctx.auth_token = Some(Secret::from(value));
                    continue;
                }
                "service_token" => {
                    ctx.service_token = Some(Secret::from(value));
                    continue;
                }
                "user_id" => &mut ctx.user_id,
                "project_id" => &mut ctx.project_id,
                "domain_id" => &mut ctx.domain_id,
                "domain_name" => &mut ctx.domain_name,
                "system_scope" => &mut ctx.system_scope,
                "user_domain_id" => &mut ctx.user_domain_id,
                "project_domain_id" => &mut ctx.project_domain_id,
                "user_name" => &mut ctx.user_name,
                "project_name" => &mut ctx.project_name,
                "user_domain_name" => &mut ctx.user_domain_name,
                "project_domain_name" => &mut ctx.project_domain_name,
                "service_user_id" => &mut ctx.service_user_id,
                "service_user_name" => &mut ctx.service_user_name,
                "service_user_domain_id" => &mut ctx.service_user_domain_id,
                "service_user_domain_name" => &mut ctx.service_user_domain_name,
                "service_project_id" => &mut ctx.service_project_id,
                "service_project_name" => &mut ctx.service_project_name,
                "service_project_domain_id" => &mut ctx.service_project_domain_id,
                _ => &mut ctx.service_project_domain_name,
            };
            *slot = Some(value);
        }
        ctx.roles = roles(header(headers, "x-roles").or_else(|| header(headers, "x-role")));
        ctx.service_roles = roles(header(headers, "x-service-roles"));
        ctx.is_admin_project =
            header(headers, "x-is-admin-project").is_none_or(|v| v.to_lowercase() == "true");
        ctx
    }
}
