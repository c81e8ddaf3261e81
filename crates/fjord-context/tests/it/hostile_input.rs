//! `from_dict` and `from_environ` on hostile input: a context or an
//! error, never a panic; whatever is read round-trips.

use fjord_context::RequestContext;
use fjord_test_support::hostile::{any_bytes, check, tokens};
use http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

const JSON: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\"user\"",
    "\"roles\"",
    "\"is_admin\"",
    "\"request_id\"",
    "\"service_roles\"",
    "\"auth_token\"",
    "\"project\"",
    "\"user_id\"",
    "\"x\"",
    "null",
    "true",
    "1",
    "-0.5",
    "\"\"",
    "\"a\"",
    "\"\\u00e9\"",
    " ",
];

const HEADERS: &[&str] = &[
    "x-user-id",
    "x-user",
    "x-roles",
    "x-role",
    "x-service-roles",
    "x-is-admin-project",
    "x-auth-token",
    "x-project-id",
    "x-tenant",
    "openstack-system-scope",
    "x-other",
];

#[test]
fn from_dict_never_panics() {
    check("context dict tokens", 3000, tokens(JSON, 30), |text| {
        if let Ok(Value::Object(m)) = serde_json::from_str::<Value>(&text)
            && let Ok(ctx) = RequestContext::from_dict(&m)
        {
            let again = RequestContext::from_dict(&ctx.to_dict()).expect("own dict");
            assert_eq!(again, ctx);
        }
        Ok(())
    });
}

#[test]
fn from_environ_never_panics() {
    check("context headers", 2000, any_bytes(120), |bytes| {
        let mut h = HeaderMap::new();
        for (i, chunk) in bytes.chunks(12).enumerate() {
            let name = HeaderName::from_static(HEADERS[i % HEADERS.len()]);
            if let Ok(v) = HeaderValue::from_bytes(chunk) {
                h.append(name, v);
            }
        }
        let ctx = RequestContext::from_environ(&h, None, None);
        let again = RequestContext::from_dict(&ctx.to_dict()).expect("own dict");
        assert_eq!(again.roles, ctx.roles);
        assert_eq!(again.user_id, ctx.user_id);
        Ok(())
    });
}
