//! [`TokenInfo`]: a validated token as Keystone's v3 token body describes
//! it (keystoneauth's `AccessInfoV3`), and the identity headers
//! keystonemiddleware derives from it.

use std::sync::Arc;
use std::time::SystemTime;

use http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

/// A token Keystone confirmed: who, in which scope, with which roles,
/// until when. Put in the request extensions (in an `Arc`) by the
/// authtoken filter for a valid `X-Auth-Token`.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct TokenInfo {
    /// `token.user.id`.
    pub user_id: String,
    /// `token.user.name`.
    pub user_name: Option<String>,
    /// `token.user.domain.id`.
    pub user_domain_id: Option<String>,
    /// `token.user.domain.name`.
    pub user_domain_name: Option<String>,
    /// `token.project.id` (project-scoped tokens).
    pub project_id: Option<String>,
    /// `token.project.name`.
    pub project_name: Option<String>,
    /// `token.project.domain.id`.
    pub project_domain_id: Option<String>,
    /// `token.project.domain.name`.
    pub project_domain_name: Option<String>,
    /// `token.domain.id` (domain-scoped tokens).
    pub domain_id: Option<String>,
    /// `token.domain.name`.
    pub domain_name: Option<String>,
    /// Role names in Keystone's order (implied roles included).
    pub roles: Vec<String>,
    /// `token.is_admin_project`; true when Keystone leaves it out, as
    /// keystoneauth reads it.
    pub is_admin_project: bool,
    /// `Some("all")` for a system-scoped token (`token.system.all`).
    pub system_scope: Option<String>,
    /// `token.expires_at`.
    pub expires_at: SystemTime,
    /// `token.audit_ids`.
    pub audit_ids: Vec<String>,
    /// `token.catalog`, when Keystone sent it.
    pub catalog: Option<Value>,
}

/// Why a token body could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unexpected token body from Keystone: {0}")]
pub struct BodyError(String);

fn s(v: &Value, path: &[&str]) -> Option<String> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_str().map(str::to_owned)
}

/// Keystone's `expires_at` (`2026-12-06T13:02:55.000000Z`, RFC 3339).
pub(crate) fn parse_time(text: &str) -> Option<SystemTime> {
    let t =
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
    let nanos = t.unix_timestamp_nanos();
    let since = std::time::Duration::from_nanos(u64::try_from(nanos).ok()?);
    SystemTime::UNIX_EPOCH.checked_add(since)
}

impl TokenInfo {
    /// Reads a `{"token": {...}}` body of `GET`/`POST /v3/auth/tokens`.
    ///
    /// # Errors
    ///
    /// When the body has no `token.user.id` or no valid `expires_at`.
    pub fn from_body(body: &Value) -> Result<Self, BodyError> {
        let t = body
            .get("token")
            .ok_or_else(|| BodyError("no \"token\" key".into()))?;
        let user_id = s(t, &["user", "id"]).ok_or_else(|| BodyError("no token.user.id".into()))?;
        let expires_text =
            s(t, &["expires_at"]).ok_or_else(|| BodyError("no token.expires_at".into()))?;
        let expires_at = parse_time(&expires_text)
            .ok_or_else(|| BodyError(format!("token.expires_at {expires_text:?} is not a time")))?;
        let roles = t
            .get("roles")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|r| r.get("name").and_then(Value::as_str).map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let system_scope = t
            .get("system")
            .and_then(|sys| sys.get("all"))
            .and_then(Value::as_bool)
            .filter(|all| *all)
            .map(|_| "all".to_owned());
        Ok(TokenInfo {
            user_id,
            user_name: s(t, &["user", "name"]),
            user_domain_id: s(t, &["user", "domain", "id"]),
            user_domain_name: s(t, &["user", "domain", "name"]),
            project_id: s(t, &["project", "id"]),
            project_name: s(t, &["project", "name"]),
            project_domain_id: s(t, &["project", "domain", "id"]),
            project_domain_name: s(t, &["project", "domain", "name"]),
            domain_id: s(t, &["domain", "id"]),
            domain_name: s(t, &["domain", "name"]),
            roles,
            is_admin_project: t
                .get("is_admin_project")
                .and_then(Value::as_bool)
                .unwrap_or(true),
            system_scope,
            expires_at,
            audit_ids: t
                .get("audit_ids")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
            catalog: t.get("catalog").cloned(),
        })
    }

    /// Whether `role` is one of the token's roles.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }

    /// The catalog as keystonemiddleware puts it in `X-Service-Catalog`:
    /// v2 style, one entry per service with its endpoints grouped by region
    /// (`publicURL`, `internalURL`, `adminURL`), as Python's `json.dumps`
    /// writes it. `None` without a catalog.
    pub fn catalog_header(&self) -> Option<String> {
        let services = self.catalog.as_ref()?.as_array()?;
        let mut out = String::from("[");
        for (i, svc) in services.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            let mut fields: Vec<(String, String)> = Vec::new();
            fields.push((
                "type".into(),
                py_str(svc.get("type").and_then(Value::as_str).unwrap_or("")),
            ));
            if let Some(name) = svc.get("name").and_then(Value::as_str) {
                fields.push(("name".into(), py_str(name)));
            }
            // Endpoints of one region together, regions in first-seen order.
            let mut regions: Vec<(Option<String>, Fields)> = Vec::new();
            for ep in svc
                .get("endpoints")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let region = ep
                    .get("region")
                    .and_then(Value::as_str)
                    .filter(|r| !r.is_empty())
                    .map(str::to_owned);
                let Some(interface) = ep.get("interface").and_then(Value::as_str) else {
                    continue;
                };
                let url = ep.get("url").and_then(Value::as_str).unwrap_or("");
                let key = format!("{}URL", interface.to_lowercase());
                let slot = match regions.iter().position(|(r, _)| *r == region) {
                    Some(p) => p,
                    None => {
                        let mut fields = Vec::new();
                        if let Some(r) = &region {
                            fields.push(("region".to_owned(), py_str(r)));
                        }
                        regions.push((region.clone(), fields));
                        regions.len() - 1
                    }
                };
                let fields = &mut regions[slot].1;
                match fields.iter_mut().find(|(k, _)| *k == key) {
                    Some(f) => f.1 = py_str(url),
                    None => fields.push((key, py_str(url))),
                }
            }
            let endpoints: Vec<String> = regions.iter().map(|(_, f)| py_dict(f)).collect();
            fields.push(("endpoints".into(), format!("[{}]", endpoints.join(", "))));
            out.push_str(&py_dict(&fields));
        }
        out.push(']');
        Some(out)
    }
}

/// Encoded `(key, value)` pairs of one JSON object.
type Fields = Vec<(String, String)>;

/// A JSON string as Python's `json.dumps` writes it (non-ASCII escaped).
fn py_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `{"k": v, ...}` with Python's separators; values already encoded.
fn py_dict(fields: &[(String, String)]) -> String {
    let items: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{}: {v}", py_str(k)))
        .collect();
    format!("{{{}}}", items.join(", "))
}

/// Every header keystonemiddleware removes from an incoming request before
/// it sets its own (`_all_auth_headers`), plus `OpenStack-System-Scope`,
/// which it overwrites for a valid token: a client can set none of them.
pub fn identity_headers() -> Vec<HeaderName> {
    let mut names = vec![
        "x-service-catalog".to_owned(),
        "x-identity-status".to_owned(),
        "x-service-identity-status".to_owned(),
        "x-is-admin-project".to_owned(),
        "openstack-system-scope".to_owned(),
        "x-role".to_owned(),
        "x-user".to_owned(),
        "x-tenant-id".to_owned(),
        "x-tenant-name".to_owned(),
        "x-tenant".to_owned(),
    ];
    for prefix in ["", "-service"] {
        for tail in TEMPLATE_TAILS {
            names.push(format!("x{prefix}-{tail}"));
        }
        names.push(format!("x{prefix}-roles"));
    }
    names
        .into_iter()
        .map(|n| HeaderName::from_bytes(n.as_bytes()).expect("static header names are valid"))
        .collect()
}

/// keystonemiddleware's `_HEADER_TEMPLATE` tails (after `X` and the prefix).
const TEMPLATE_TAILS: [&str; 10] = [
    "domain-id",
    "domain-name",
    "project-id",
    "project-name",
    "project-domain-id",
    "project-domain-name",
    "user-id",
    "user-name",
    "user-domain-id",
    "user-domain-name",
];

/// The user headers of [`TEMPLATE_TAILS`], then `X-Roles`.
const USER_NAMES: [&str; 11] = [
    "x-domain-id",
    "x-domain-name",
    "x-project-id",
    "x-project-name",
    "x-project-domain-id",
    "x-project-domain-name",
    "x-user-id",
    "x-user-name",
    "x-user-domain-id",
    "x-user-domain-name",
    "x-roles",
];

/// The service headers of [`TEMPLATE_TAILS`], then `X-Service-Roles`.
const SERVICE_NAMES: [&str; 11] = [
    "x-service-domain-id",
    "x-service-domain-name",
    "x-service-project-id",
    "x-service-project-name",
    "x-service-project-domain-id",
    "x-service-project-domain-name",
    "x-service-user-id",
    "x-service-user-name",
    "x-service-user-domain-id",
    "x-service-user-domain-name",
    "x-service-roles",
];

/// Sets `name` (a static name: its clones copy nothing) to `value`.
fn put(headers: &mut HeaderMap, name: &'static str, value: Option<&str>) {
    let Some(value) = value else { return };
    // Keystone's names and ids are plain text; one that cannot be a header
    // value (a control character) is left out rather than mangled.
    if let Ok(v) = HeaderValue::from_str(value) {
        headers.insert(HeaderName::from_static(name), v);
    }
}

impl TokenInfo {
    fn set_common(&self, headers: &mut HeaderMap, names: &[&'static str; 11]) {
        let roles = self.roles.join(",");
        let fields: [Option<&str>; 11] = [
            self.domain_id.as_deref(),
            self.domain_name.as_deref(),
            self.project_id.as_deref(),
            self.project_name.as_deref(),
            self.project_domain_id.as_deref(),
            self.project_domain_name.as_deref(),
            Some(&self.user_id),
            self.user_name.as_deref(),
            self.user_domain_id.as_deref(),
            self.user_domain_name.as_deref(),
            Some(&roles),
        ];
        for (name, value) in names.iter().zip(fields) {
            put(headers, name, value);
        }
        put(
            headers,
            "openstack-system-scope",
            self.system_scope.as_deref(),
        );
    }

    /// Sets the user headers keystonemiddleware sets for a valid
    /// `X-Auth-Token` (`set_user_headers`): `X-User-*`, `X-Project-*`,
    /// `X-Domain-*`, `X-Roles`, `OpenStack-System-Scope`,
    /// `X-Is-Admin-Project` and the deprecated `X-Role`, `X-User`,
    /// `X-Tenant-Id`, `X-Tenant-Name`, `X-Tenant`. Headers whose value
    /// keystonemiddleware would set to `None` are left out.
    pub fn set_user_headers(&self, headers: &mut HeaderMap) {
        self.set_common(headers, &USER_NAMES);
        put(
            headers,
            "x-is-admin-project",
            Some(if self.is_admin_project {
                "True"
            } else {
                "False"
            }),
        );
        for (old, new) in [
            ("x-role", "x-roles"),
            ("x-user", "x-user-name"),
            ("x-tenant-id", "x-project-id"),
            ("x-tenant-name", "x-project-name"),
            ("x-tenant", "x-project-name"),
        ] {
            if let Some(v) = headers.get(new).cloned() {
                headers.insert(HeaderName::from_static(old), v);
            }
        }
    }

    /// Sets the `X-Service-*` headers for a valid `X-Service-Token`
    /// (`set_service_headers`).
    pub fn set_service_headers(&self, headers: &mut HeaderMap) {
        self.set_common(headers, &SERVICE_NAMES);
    }
}

/// Headers to set, in order.
pub(crate) type HeaderList = Vec<(HeaderName, HeaderValue)>;

/// A validated token with the headers it gives a request, built once when
/// Keystone answers (the cached path then only copies them).
#[derive(Debug)]
pub(crate) struct Checked {
    /// The token.
    pub(crate) info: Arc<TokenInfo>,
    /// For it as the user token: `X-Identity-Status: Confirmed`, the user
    /// headers and, when wanted, `X-Service-Catalog` (a map: a request's
    /// headers are added to a copy of it).
    pub(crate) user: HeaderMap,
    /// For it as a service token: the `X-Service-*` headers (without
    /// `OpenStack-System-Scope`: a service token does not change the user's
    /// scope).
    pub(crate) service: HeaderList,
}

impl Checked {
    /// `info` with its headers; `catalog`: include `X-Service-Catalog`.
    pub(crate) fn new(info: TokenInfo, catalog: bool) -> Self {
        // Room for a request's own headers: adding them to a copy of this
        // map then never rehashes the token's.
        let mut user = HeaderMap::with_capacity(64);
        user.insert("x-identity-status", HeaderValue::from_static("Confirmed"));
        info.set_user_headers(&mut user);
        if catalog
            && let Some(c) = info.catalog_header()
            && let Ok(v) = HeaderValue::from_str(&c)
        {
            user.insert("x-service-catalog", v);
        }
        let mut service = HeaderMap::new();
        info.set_service_headers(&mut service);
        service.remove("openstack-system-scope");
        Checked {
            user,
            service: service
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            info: Arc::new(info),
        }
    }
}

/// Whether `name` (lower case) is one of [`identity_headers`].
pub(crate) fn is_identity_header(name: &str) -> bool {
    match name.strip_prefix("x-") {
        Some(rest) => {
            let rest = rest.strip_prefix("service-").unwrap_or(rest);
            matches!(
                rest,
                "catalog"
                    | "identity-status"
                    | "is-admin-project"
                    | "role"
                    | "user"
                    | "tenant-id"
                    | "tenant-name"
                    | "tenant"
                    | "roles"
            ) || TEMPLATE_TAILS.contains(&rest)
        }
        None => name == "openstack-system-scope",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body() -> Value {
        json!({"token": {
            "methods": ["password"],
            "user": {"domain": {"id": "default", "name": "Default"}, "id": "u1", "name": "admin"},
            "audit_ids": ["a1"],
            "expires_at": "2026-12-06T13:02:55.000000Z",
            "project": {"domain": {"id": "default", "name": "Default"}, "id": "p1", "name": "admin"},
            "roles": [{"id": "r1", "name": "manager"}, {"id": "r2", "name": "member"}, {"id": "r3", "name": "admin"}],
            "catalog": [{"endpoints": [
                {"id": "e1", "interface": "public", "region_id": "RegionOne", "url": "http://k/v3/", "region": "RegionOne"},
                {"id": "e2", "interface": "internal", "region_id": "RegionOne", "url": "http://k/v3/", "region": "RegionOne"}],
              "id": "s1", "type": "identity", "name": "keystone"}]
        }})
    }

    #[test]
    fn reads_a_v3_token() {
        let t = TokenInfo::from_body(&body()).unwrap();
        assert_eq!(t.user_id, "u1");
        assert_eq!(t.project_name.as_deref(), Some("admin"));
        assert_eq!(t.roles, ["manager", "member", "admin"]);
        assert!(t.is_admin_project);
        assert_eq!(t.system_scope, None);
        let secs = t
            .expires_at
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert_eq!(secs, 1_796_562_175);
        assert!(TokenInfo::from_body(&json!({"token": {"user": {}}})).is_err());
        assert!(TokenInfo::from_body(&json!([])).is_err());
    }

    #[test]
    fn user_headers() {
        let t = TokenInfo::from_body(&body()).unwrap();
        let mut h = HeaderMap::new();
        t.set_user_headers(&mut h);
        assert_eq!(h["x-roles"], "manager,member,admin");
        assert_eq!(h["x-role"], "manager,member,admin");
        assert_eq!(h["x-user-id"], "u1");
        assert_eq!(h["x-user"], "admin");
        assert_eq!(h["x-tenant-id"], "p1");
        assert_eq!(h["x-project-domain-name"], "Default");
        assert_eq!(h["x-is-admin-project"], "True");
        assert!(!h.contains_key("x-domain-id"));
        assert!(!h.contains_key("openstack-system-scope"));
    }

    #[test]
    fn catalog_is_v2_style_python_json() {
        let t = TokenInfo::from_body(&body()).unwrap();
        assert_eq!(
            t.catalog_header().unwrap(),
            r#"[{"type": "identity", "name": "keystone", "endpoints": [{"region": "RegionOne", "publicURL": "http://k/v3/", "internalURL": "http://k/v3/"}]}]"#
        );
    }

    #[test]
    fn strip_list_covers_user_and_service_headers() {
        let names = identity_headers();
        for n in &names {
            assert!(is_identity_header(n.as_str()), "{n}");
        }
        for n in [
            "x-auth-token",
            "x-service-token",
            "x-openstack-request-id",
            "accept",
            "x-users",
        ] {
            assert!(!is_identity_header(n), "{n}");
        }
        for n in [
            "x-roles",
            "x-service-roles",
            "x-user-id",
            "x-service-project-id",
            "x-tenant",
            "x-identity-status",
        ] {
            assert!(names.iter().any(|h| h == n), "{n}");
        }
    }
}
