//! [`RequestContext`]: who is asking and for which request, as
//! oslo.context 6.5.0's `RequestContext` holds it.

use std::fmt;

use serde_json::{Map, Value};

use crate::error::ContextError;
use crate::secret::Secret;

/// A new request id as oslo.context's `generate_request_id()` makes it:
/// `req-` and a random (version 4) UUID in its hyphenated lowercase form.
///
/// # Examples
///
/// ```
/// let id = fjord_context::generate_request_id();
/// assert!(id.starts_with("req-") && id.len() == 40);
/// ```
pub fn generate_request_id() -> String {
    format!("req-{}", uuid::Uuid::new_v4())
}

/// The keys oslo.context 6.5.0's `to_dict()` writes, in its order.
pub const OSLO_DICT_KEYS: [&str; 17] = [
    "user",
    "project_id",
    "system_scope",
    "project",
    "domain",
    "user_domain",
    "project_domain",
    "is_admin",
    "read_only",
    "show_deleted",
    "auth_token",
    "request_id",
    "global_request_id",
    "resource_uuid",
    "roles",
    "user_identity",
    "is_admin_project",
];

/// The optional string fields fjord adds to `to_dict()` when they are set:
/// oslo.context's `from_dict` reads the five names but its `to_dict` drops
/// them; `user_id` is what nova's `from_dict` reads; the service identity
/// is what keystonemiddleware gives for an `X-Service-Token`.
const EXTENSION_KEYS: [&str; 14] = [
    "user_id",
    "user_name",
    "project_name",
    "domain_name",
    "user_domain_name",
    "project_domain_name",
    "service_user_id",
    "service_user_name",
    "service_user_domain_id",
    "service_user_domain_name",
    "service_project_id",
    "service_project_name",
    "service_project_domain_id",
    "service_project_domain_name",
];

/// The security context of a request, compatible with oslo.context 6.5.0's
/// `RequestContext`.
///
/// An API builds it from the headers keystonemiddleware sets
/// ([`RequestContext::from_environ`]); RPC carries it as the `_context_*`
/// keys of a message ([`RequestContext::to_dict`] and
/// [`RequestContext::from_dict`]; `fjord_messaging::Context` converts both
/// ways); policy checks read [`RequestContext::to_policy_values`].
///
/// The tokens are [`Secret`]s: `Debug` and `Display` never print them, and
/// `Debug` prints only the keys of [`RequestContext::extra`]. Keys that
/// fjord does not know (nova's `read_deleted`, `remote_address`,
/// `timestamp`, `service_catalog`, ...) are kept in `extra` as received and
/// sent on again, so a context round-trips through a fjord service.
///
/// Differences from Python, by design: the fields are typed, so a known key
/// of the wrong JSON type is an error ([`ContextError`]) and a `null`
/// `is_admin`, `read_only` or `show_deleted` reads as `false` (Python keeps
/// `None`, which it also treats as false).
///
/// # Examples
///
/// ```
/// use fjord_context::{RequestContext, Secret};
///
/// let mut ctx = RequestContext::new();
/// ctx.user_id = Some("u1".into());
/// ctx.project_id = Some("p1".into());
/// ctx.roles = vec!["member".into()];
/// ctx.auth_token = Some(Secret::new("gAAAAAB-secret"));
///
/// let dict = ctx.to_dict();
/// assert_eq!(dict["user"], "u1");                 // oslo's key for user_id
/// assert_eq!(dict["user_identity"], "u1 p1 - - -");
/// assert_eq!(dict["auth_token"], "gAAAAAB-secret"); // sent: the receiver needs it
/// assert!(!format!("{ctx:?} {ctx}").contains("gAAAAAB"));
///
/// let back = RequestContext::from_dict(&dict)?;
/// assert_eq!(back, ctx);
/// # Ok::<(), fjord_context::ContextError>(())
/// ```
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub struct RequestContext {
    /// This service's id for the request (`req-<uuid4>`, generated when
    /// none is given).
    pub request_id: String,
    /// The id of the request that started the chain across services, as
    /// received in `X-OpenStack-Request-ID`.
    pub global_request_id: Option<String>,
    /// The caller's Keystone token (`auth_token`; `X-Auth-Token`).
    pub auth_token: Option<Secret>,
    /// `user_id` (oslo's dict key `user`).
    pub user_id: Option<String>,
    /// `project_id` (also written as `project`).
    pub project_id: Option<String>,
    /// `domain_id` of a domain-scoped token (dict key `domain`).
    pub domain_id: Option<String>,
    /// `user_domain_id` (dict key `user_domain`).
    pub user_domain_id: Option<String>,
    /// `project_domain_id` (dict key `project_domain`).
    pub project_domain_id: Option<String>,
    /// `user_name`.
    pub user_name: Option<String>,
    /// `project_name`.
    pub project_name: Option<String>,
    /// `domain_name`.
    pub domain_name: Option<String>,
    /// `user_domain_name`.
    pub user_domain_name: Option<String>,
    /// `project_domain_name`.
    pub project_domain_name: Option<String>,
    /// The token's role names.
    pub roles: Vec<String>,
    /// `is_admin`. Default is false.
    pub is_admin: bool,
    /// Whether the project is the cloud's admin project. Default is true
    /// (oslo's default, so that old policies keep working).
    pub is_admin_project: bool,
    /// `read_only`. Default is false.
    pub read_only: bool,
    /// `show_deleted`. Default is false.
    pub show_deleted: bool,
    /// `resource_uuid`.
    pub resource_uuid: Option<String>,
    /// The system scope of a system-scoped token (`all`).
    pub system_scope: Option<String>,
    /// The service token (`X-Service-Token`). Never sent in `to_dict()`,
    /// as in oslo.context.
    pub service_token: Option<Secret>,
    /// `service_user_id`.
    pub service_user_id: Option<String>,
    /// `service_user_name`.
    pub service_user_name: Option<String>,
    /// `service_user_domain_id`.
    pub service_user_domain_id: Option<String>,
    /// `service_user_domain_name`.
    pub service_user_domain_name: Option<String>,
    /// `service_project_id`.
    pub service_project_id: Option<String>,
    /// `service_project_name`.
    pub service_project_name: Option<String>,
    /// `service_project_domain_id`.
    pub service_project_domain_id: Option<String>,
    /// `service_project_domain_name`.
    pub service_project_domain_name: Option<String>,
    /// The service token's role names.
    pub service_roles: Vec<String>,
    /// The keys of a received dict that are none of the above, as received
    /// (a nova context's `read_deleted`, `remote_address`, `timestamp`,
    /// `quota_class`, `service_catalog`, ...). `to_dict()` writes them
    /// after the known keys.
    pub extra: Map<String, Value>,
}

impl Default for RequestContext {
    fn default() -> Self {
        RequestContext::new()
    }
}

impl RequestContext {
    /// An anonymous context with a new [`generate_request_id`] and oslo's
    /// defaults (`is_admin_project` true, the other flags false).
    pub fn new() -> Self {
        RequestContext {
            request_id: generate_request_id(),
            global_request_id: None,
            auth_token: None,
            user_id: None,
            project_id: None,
            domain_id: None,
            user_domain_id: None,
            project_domain_id: None,
            user_name: None,
            project_name: None,
            domain_name: None,
            user_domain_name: None,
            project_domain_name: None,
            roles: Vec::new(),
            is_admin: false,
            is_admin_project: true,
            read_only: false,
            show_deleted: false,
            resource_uuid: None,
            system_scope: None,
            service_token: None,
            service_user_id: None,
            service_user_name: None,
            service_user_domain_id: None,
            service_user_domain_name: None,
            service_project_id: None,
            service_project_name: None,
            service_project_domain_id: None,
            service_project_domain_name: None,
            service_roles: Vec::new(),
            extra: Map::new(),
        }
    }

    /// An administrator context, as oslo.context's `get_admin_context()`:
    /// no user or project, `is_admin` true.
    pub fn admin(show_deleted: bool) -> Self {
        RequestContext {
            is_admin: true,
            show_deleted,
            ..RequestContext::new()
        }
    }

    /// `user_identity` as oslo.context computes it for `to_dict()` and the
    /// log lines: `"{user} {project} {domain} {user_domain} {project_domain}"`
    /// (ids), `-` for each one missing or empty.
    pub fn user_identity(&self) -> String {
        let p = |v: &Option<String>| match v.as_deref() {
            Some(s) if !s.is_empty() => s.to_owned(),
            _ => "-".to_owned(),
        };
        format!(
            "{} {} {} {} {}",
            p(&self.user_id),
            p(&self.project_id),
            p(&self.domain_id),
            p(&self.user_domain_id),
            p(&self.project_domain_id)
        )
    }

    /// The id to pass on to the next service: `global_request_id` if the
    /// request came with one (and it is not empty), else `request_id`
    /// (oslo's `global_id`).
    pub fn global_id(&self) -> &str {
        match self.global_request_id.as_deref() {
            Some(g) if !g.is_empty() => g,
            _ => &self.request_id,
        }
    }

    /// The context as a dict, the form RPC sends as `_context_*` keys.
    ///
    /// First oslo.context 6.5.0's `to_dict()`, key for key and value for
    /// value ([`OSLO_DICT_KEYS`]: `user`, `project_id`, `system_scope`,
    /// `project`, `domain`, `user_domain`, `project_domain`, `is_admin`,
    /// `read_only`, `show_deleted`, `auth_token`, `request_id`,
    /// `global_request_id`, `resource_uuid`, `roles`, `user_identity`,
    /// `is_admin_project`); then the fields oslo's `to_dict()` drops, each
    /// only when set, so that a fjord or nova receiver gets them back:
    /// `user_id` (nova's `from_dict` reads it), `user_name`, `project_name`,
    /// `domain_name`, `user_domain_name`, `project_domain_name` (oslo's
    /// `from_dict` reads them), the `service_user_*` / `service_project_*`
    /// ids and names and `service_roles`; then [`RequestContext::extra`].
    /// `service_token` is never written.
    pub fn to_dict(&self) -> Map<String, Value> {
        let s = |v: &Option<String>| v.clone().map_or(Value::Null, Value::String);
        let list = |v: &[String]| Value::Array(v.iter().cloned().map(Value::String).collect());
        let mut m = Map::new();
        m.insert("user".into(), s(&self.user_id));
        m.insert("project_id".into(), s(&self.project_id));
        m.insert("system_scope".into(), s(&self.system_scope));
        m.insert("project".into(), s(&self.project_id));
        m.insert("domain".into(), s(&self.domain_id));
        m.insert("user_domain".into(), s(&self.user_domain_id));
        m.insert("project_domain".into(), s(&self.project_domain_id));
        m.insert("is_admin".into(), Value::Bool(self.is_admin));
        m.insert("read_only".into(), Value::Bool(self.read_only));
        m.insert("show_deleted".into(), Value::Bool(self.show_deleted));
        m.insert(
            "auth_token".into(),
            self.auth_token
                .as_ref()
                .map_or(Value::Null, |t| Value::String(t.expose().to_owned())),
        );
        m.insert("request_id".into(), Value::String(self.request_id.clone()));
        m.insert("global_request_id".into(), s(&self.global_request_id));
        m.insert("resource_uuid".into(), s(&self.resource_uuid));
        m.insert("roles".into(), list(&self.roles));
        m.insert("user_identity".into(), Value::String(self.user_identity()));
        m.insert(
            "is_admin_project".into(),
            Value::Bool(self.is_admin_project),
        );
        for key in EXTENSION_KEYS {
            if let Some(v) = self.extension(key) {
                m.insert(key.into(), Value::String(v.to_owned()));
            }
        }
        if !self.service_roles.is_empty() {
            m.insert("service_roles".into(), list(&self.service_roles));
        }
        for (k, v) in &self.extra {
            if !m.contains_key(k) {
                m.insert(k.clone(), v.clone());
            }
        }
        m
    }

    fn extension(&self, key: &str) -> Option<&str> {
        match key {
            "user_id" => self.user_id.as_deref(),
            "user_name" => self.user_name.as_deref(),
            "project_name" => self.project_name.as_deref(),
            "domain_name" => self.domain_name.as_deref(),
            "user_domain_name" => self.user_domain_name.as_deref(),
            "project_domain_name" => self.project_domain_name.as_deref(),
            "service_user_id" => self.service_user_id.as_deref(),
            "service_user_name" => self.service_user_name.as_deref(),
            "service_user_domain_id" => self.service_user_domain_id.as_deref(),
            "service_user_domain_name" => self.service_user_domain_name.as_deref(),
            "service_project_id" => self.service_project_id.as_deref(),
            "service_project_name" => self.service_project_name.as_deref(),
            "service_project_domain_id" => self.service_project_domain_id.as_deref(),
            "service_project_domain_name" => self.service_project_domain_name.as_deref(),
            _ => None,
        }
    }

    /// Reads a context dict (a Python `RequestContext.to_dict()`, nova's,
    /// or [`RequestContext::to_dict`]) as oslo.context 6.5.0's `from_dict`
    /// does: `user` is the user id (nova's `user_id` when `user` is
    /// missing or null), `project_id`, `domain`, `user_domain`,
    /// `project_domain`, the flags (`is_admin`, `read_only`, `show_deleted`
    /// default to false, `is_admin_project` to true), `auth_token`,
    /// `request_id` (a new one when missing, null or empty),
    /// `global_request_id`, `resource_uuid`, `roles` (null is none),
    /// the five `*_name` keys and `system_scope`; fjord also reads the
    /// service identity keys its `to_dict` writes. The keys `project` and
    /// `user_identity` are derived ones and not kept; every other key goes
    /// to [`RequestContext::extra`].
    ///
    /// # Errors
    ///
    /// [`ContextError::WrongType`] when a known key holds another JSON type
    /// (a string key holding a number, `roles` not a list of strings, a
    /// flag not a boolean).
    pub fn from_dict(values: &Map<String, Value>) -> Result<Self, ContextError> {
        let d = Dict(values);
        let mut extra = Map::new();
        for (k, v) in values {
            let known = OSLO_DICT_KEYS.contains(&k.as_str())
                || EXTENSION_KEYS.contains(&k.as_str())
                || k == "service_roles";
            if !known {
                extra.insert(k.clone(), v.clone());
            }
        }
        let user_id = match d.string("user")? {
            Some(u) => Some(u),
            None => d.string("user_id")?,
        };
        let request_id = d
            .string("request_id")?
            .filter(|r| !r.is_empty())
            .unwrap_or_else(generate_request_id);
        Ok(RequestContext {
            request_id,
            global_request_id: d.string("global_request_id")?,
            auth_token: d.string("auth_token")?.map(Secret::from),
            user_id,
            project_id: d.string("project_id")?,
            domain_id: d.string("domain")?,
            user_domain_id: d.string("user_domain")?,
            project_domain_id: d.string("project_domain")?,
            user_name: d.string("user_name")?,
            project_name: d.string("project_name")?,
            domain_name: d.string("domain_name")?,
            user_domain_name: d.string("user_domain_name")?,
            project_domain_name: d.string("project_domain_name")?,
            roles: d.list("roles")?,
            is_admin: d.flag("is_admin", false)?,
            is_admin_project: d.flag("is_admin_project", true)?,
            read_only: d.flag("read_only", false)?,
            show_deleted: d.flag("show_deleted", false)?,
            resource_uuid: d.string("resource_uuid")?,
            system_scope: d.string("system_scope")?,
            service_token: None,
            service_user_id: d.string("service_user_id")?,
            service_user_name: d.string("service_user_name")?,
            service_user_domain_id: d.string("service_user_domain_id")?,
            service_user_domain_name: d.string("service_user_domain_name")?,
            service_project_id: d.string("service_project_id")?,
            service_project_name: d.string("service_project_name")?,
            service_project_domain_id: d.string("service_project_domain_id")?,
            service_project_domain_name: d.string("service_project_domain_name")?,
            service_roles: d.list("service_roles")?,
            extra,
        })
    }

    /// The credentials oslo.policy checks rules against, as oslo.context's
    /// `to_policy_values()`: `user_id`, `user_domain_id`, `system_scope`,
    /// `domain_id`, `project_id`, `project_domain_id`, `roles`,
    /// `is_admin_project`, `service_user_id`, `service_user_domain_id`,
    /// `service_project_id`, `service_project_domain_id`, `service_roles`.
    /// The map is the `creds` of `fjord_policy::Enforcer::enforce`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut ctx = fjord_context::RequestContext::new();
    /// ctx.roles = vec!["admin".into()];
    /// let creds = ctx.to_policy_values();
    /// assert_eq!(creds["roles"], serde_json::json!(["admin"]));
    /// assert_eq!(creds["is_admin_project"], true);
    /// assert!(!creds.contains_key("auth_token"));
    /// ```
    pub fn to_policy_values(&self) -> Map<String, Value> {
        let s = |v: &Option<String>| v.clone().map_or(Value::Null, Value::String);
        let list = |v: &[String]| Value::Array(v.iter().cloned().map(Value::String).collect());
        let mut m = Map::new();
        m.insert("user_id".into(), s(&self.user_id));
        m.insert("user_domain_id".into(), s(&self.user_domain_id));
        m.insert("system_scope".into(), s(&self.system_scope));
        m.insert("domain_id".into(), s(&self.domain_id));
        m.insert("project_id".into(), s(&self.project_id));
        m.insert("project_domain_id".into(), s(&self.project_domain_id));
        m.insert("roles".into(), list(&self.roles));
        m.insert(
            "is_admin_project".into(),
            Value::Bool(self.is_admin_project),
        );
        m.insert("service_user_id".into(), s(&self.service_user_id));
        m.insert(
            "service_user_domain_id".into(),
            s(&self.service_user_domain_id),
        );
        m.insert("service_project_id".into(), s(&self.service_project_id));
        m.insert(
            "service_project_domain_id".into(),
            s(&self.service_project_domain_id),
        );
        m.insert("service_roles".into(), list(&self.service_roles));
        m
    }

    /// The values a log line may show, as oslo.context's
    /// `get_logging_values()`: the five names, then [`to_dict`](Self::to_dict)
    /// with `auth_token` replaced by `"***"` (or null when there is no
    /// token). A `auth_token_info` key of `extra` is dropped, as oslo does.
    pub fn get_logging_values(&self) -> Map<String, Value> {
        let s = |v: &Option<String>| v.clone().map_or(Value::Null, Value::String);
        let mut m = Map::new();
        m.insert("user_name".into(), s(&self.user_name));
        m.insert("project_name".into(), s(&self.project_name));
        m.insert("domain_name".into(), s(&self.domain_name));
        m.insert("user_domain_name".into(), s(&self.user_domain_name));
        m.insert("project_domain_name".into(), s(&self.project_domain_name));
        m.extend(self.to_dict());
        let token = match &self.auth_token {
            Some(t) if !t.is_empty() => Value::String("***".into()),
            _ => Value::Null,
        };
        m.insert("auth_token".into(), token);
        m.remove("auth_token_info");
        m
    }
}

/// `Debug` lists the fields with the tokens as `***` and only the keys
/// of `extra` (a nova context's `service_catalog` or a subclass's
/// `auth_token_info` can hold secrets too).
impl fmt::Debug for RequestContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestContext")
            .field("request_id", &self.request_id)
            .field("global_request_id", &self.global_request_id)
            .field("auth_token", &self.auth_token)
            .field("user_id", &self.user_id)
            .field("project_id", &self.project_id)
            .field("domain_id", &self.domain_id)
            .field("user_domain_id", &self.user_domain_id)
            .field("project_domain_id", &self.project_domain_id)
            .field("user_name", &self.user_name)
            .field("project_name", &self.project_name)
            .field("domain_name", &self.domain_name)
            .field("user_domain_name", &self.user_domain_name)
            .field("project_domain_name", &self.project_domain_name)
            .field("roles", &self.roles)
            .field("is_admin", &self.is_admin)
            .field("is_admin_project", &self.is_admin_project)
            .field("read_only", &self.read_only)
            .field("show_deleted", &self.show_deleted)
            .field("resource_uuid", &self.resource_uuid)
            .field("system_scope", &self.system_scope)
            .field("service_token", &self.service_token)
            .field("service_user_id", &self.service_user_id)
            .field("service_user_name", &self.service_user_name)
            .field("service_user_domain_id", &self.service_user_domain_id)
            .field("service_user_domain_name", &self.service_user_domain_name)
            .field("service_project_id", &self.service_project_id)
            .field("service_project_name", &self.service_project_name)
            .field("service_project_domain_id", &self.service_project_domain_id)
            .field(
                "service_project_domain_name",
                &self.service_project_domain_name,
            )
            .field("service_roles", &self.service_roles)
            .field("extra_keys", &self.extra.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// `Display` is the part of oslo.log's default context format that names
/// the request: `"{global_request_id} {request_id} {user_identity}"`, `-`
/// for a missing global id (`- req-6c1e... u1 p1 - - -`).
impl fmt::Display for RequestContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {}",
            self.global_request_id.as_deref().unwrap_or("-"),
            self.request_id,
            self.user_identity()
        )
    }
}

/// Typed reads from a context dict.
struct Dict<'a>(&'a Map<String, Value>);

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

impl Dict<'_> {
    fn wrong(key: &str, expected: &'static str, v: &Value) -> ContextError {
        ContextError::WrongType {
            key: key.to_owned(),
            expected,
            got: type_name(v),
        }
    }

    fn string(&self, key: &str) -> Result<Option<String>, ContextError> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(v) => Err(Self::wrong(key, "a string or null", v)),
        }
    }

    fn flag(&self, key: &str, default: bool) -> Result<bool, ContextError> {
        match self.0.get(key) {
            None => Ok(default),
            Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(v) => Err(Self::wrong(key, "a boolean or null", v)),
        }
    }

    fn list(&self, key: &str) -> Result<Vec<String>, ContextError> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|i| match i {
                    Value::String(s) => Ok(s.clone()),
                    other => Err(Self::wrong(key, "a list of strings", other)),
                })
                .collect(),
            Some(v) => Err(Self::wrong(key, "a list of strings or null", v)),
        }
    }
}
