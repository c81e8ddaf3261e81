//! The tokens never show in `Debug`, `Display` or the logging values.

use fjord_context::{RequestContext, Secret};
use http::HeaderMap;
use serde_json::json;

#[test]
fn tokens_never_printed() {
    let mut h = HeaderMap::new();
    h.insert("x-auth-token", "AUTH-TOKEN-VALUE".parse().unwrap());
    h.insert("x-service-token", "SERVICE-TOKEN-VALUE".parse().unwrap());
    h.insert("x-user-id", "u1".parse().unwrap());
    let mut ctx = RequestContext::from_environ(&h, None, None);
    ctx.extra
        .insert("auth_token_info".into(), json!({"token": "INFO-SECRET"}));

    let printed = format!(
        "{ctx:?} {ctx:#?} {ctx} {:?} {} {:?}",
        ctx.auth_token,
        ctx.auth_token.clone().unwrap(),
        Value::Object(ctx.get_logging_values())
    );
    for secret in ["AUTH-TOKEN-VALUE", "SERVICE-TOKEN-VALUE", "INFO-SECRET"] {
        assert!(!printed.contains(secret), "{secret} in {printed}");
    }
    assert!(printed.contains("u1"));
    assert!(printed.contains("auth_token_info"), "extra keys are listed");
    assert_eq!(ctx.get_logging_values()["auth_token"], "***");
    assert_eq!(
        ctx.auth_token.as_ref().map(Secret::expose),
        Some("AUTH-TOKEN-VALUE")
    );
    assert_eq!(ctx.to_dict()["auth_token"], "AUTH-TOKEN-VALUE");
}

use serde_json::Value;
