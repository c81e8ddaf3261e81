//! What an API sends back when a policy check refuses a request: the
//! status and the JSON body OpenStack APIs use. Pure functions; wiring
//! them into an HTTP stack is the HTTP layer's job.

use serde_json::{Value, json};

use crate::error::PolicyError;

/// The shape of an error body.
///
/// Default is [`FaultStyle::Keystone`]: `{"error": {"code", "title",
/// "message"}}` is what keystone, the service every deployment runs, sends
/// for every error and what keystoneauth and the OpenStack SDK parse first
/// for any service; [`FaultStyle::Nova`] is the `{"<fault>": {"code",
/// "message"}}` shape of nova's (and cinder's) WSGI fault wrapper, for a
/// service replacing one of those.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum FaultStyle {
    /// `{"error": {"code": 403, "title": "Forbidden", "message": ...}}`.
    #[default]
    Keystone,
    /// `{"forbidden": {"code": 403, "message": ...}}` (`computeFault` for
    /// a 500).
    Nova,
}

/// The HTTP answer to a failed policy check.
///
/// A denial ([`PolicyError::PolicyNotAuthorized`]) and a token of the wrong
/// scope ([`PolicyError::InvalidScope`]) are 403 with oslo.policy's message
/// `"<rule> is disallowed by policy"` (nova and keystone turn
/// `InvalidScope` into the same 403 so as not to tell the caller which
/// scope would work). Every other error is the service's fault (an
/// unregistered rule, a rule that fails to evaluate): 500 with a generic
/// message, the detail being for the log only.
///
/// # Examples
///
/// ```
/// use fjord_policy::{Denial, FaultStyle, PolicyError};
/// use serde_json::json;
///
/// let err = PolicyError::PolicyNotAuthorized { rule: "os_compute_api:servers:delete".into() };
/// let denial = Denial::from_error(&err, "os_compute_api:servers:delete");
/// assert_eq!(denial.status(), 403);
/// assert_eq!(denial.body(FaultStyle::Keystone), json!({"error": {
///     "code": 403, "title": "Forbidden",
///     "message": "os_compute_api:servers:delete is disallowed by policy"}}));
/// assert_eq!(denial.body(FaultStyle::Nova), json!({"forbidden": {
///     "code": 403,
///     "message": "os_compute_api:servers:delete is disallowed by policy"}}));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    status: u16,
    message: String,
}

/// The message of a 500 (keystone's `UnexpectedError` text).
const INTERNAL_MESSAGE: &str =
    "An unexpected error prevented the server from fulfilling your request.";

impl Denial {
    /// The answer for `err`, raised while authorizing `rule`.
    pub fn from_error(err: &PolicyError, rule: &str) -> Self {
        match err {
            PolicyError::PolicyNotAuthorized { rule } => Denial::forbidden(rule),
            PolicyError::InvalidScope { .. } => Denial::forbidden(rule),
            _ => Denial {
                status: 500,
                message: INTERNAL_MESSAGE.to_owned(),
            },
        }
    }

    /// A 403 for `rule`: `"<rule> is disallowed by policy"`.
    pub fn forbidden(rule: &str) -> Self {
        Denial {
            status: 403,
            message: PolicyError::PolicyNotAuthorized {
                rule: rule.to_owned(),
            }
            .to_string(),
        }
    }

    /// The HTTP status: 403 or 500.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The message the body carries.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The JSON body, in `style`.
    pub fn body(&self, style: FaultStyle) -> Value {
        let forbidden = self.status == 403;
        match style {
            FaultStyle::Keystone => json!({"error": {
                "code": self.status,
                "title": if forbidden { "Forbidden" } else { "Internal Server Error" },
                "message": self.message,
            }}),
            FaultStyle::Nova => {
                let key = if forbidden {
                    "forbidden"
                } else {
                    "computeFault"
                };
                json!({ key: {"code": self.status, "message": self.message} })
            }
        }
    }
}

/// The keystone-style 403 body for a denied `rule`:
/// `{"error": {"code": 403, "title": "Forbidden", "message": "<rule> is
/// disallowed by policy"}}`.
///
/// # Examples
///
/// ```
/// assert_eq!(
///     fjord_policy::forbidden_body("demo:services:list")["error"]["message"],
///     "demo:services:list is disallowed by policy"
/// );
/// ```
pub fn forbidden_body(rule: &str) -> Value {
    Denial::forbidden(rule).body(FaultStyle::Keystone)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_and_internal_errors() {
        let scope = PolicyError::InvalidScope {
            rule: "\"a\": \"@\"".into(),
            scope_types: vec!["system".into()],
            token_scope: "project".into(),
        };
        let d = Denial::from_error(&scope, "a");
        assert_eq!(
            (d.status(), d.message()),
            (403, "a is disallowed by policy")
        );

        let d = Denial::from_error(&PolicyError::PolicyNotRegistered("a".into()), "a");
        assert_eq!(d.status(), 500);
        assert!(!d.message().contains("registered"), "no detail leaks");
        assert_eq!(d.body(FaultStyle::Nova)["computeFault"]["code"], 500);
        assert_eq!(
            d.body(FaultStyle::Keystone)["error"]["title"],
            "Internal Server Error"
        );
    }
}
