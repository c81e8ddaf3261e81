//! `from_dict` / `to_dict` beyond what oslo.context itself shows: the
//! service identity and unknown keys round-trip, wrong types are errors.

use fjord_context::{ContextError, RequestContext};
use serde_json::{Map, Value, json};

fn map(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => panic!("not an object"),
    }
}

#[test]
fn service_identity_and_unknown_keys_round_trip() {
    let mut ctx = RequestContext::new();
    ctx.user_id = Some("u".into());
    ctx.service_user_id = Some("su".into());
    ctx.service_user_name = Some("nova".into());
    ctx.service_user_domain_id = Some("sud".into());
    ctx.service_user_domain_name = Some("SUD".into());
    ctx.service_project_id = Some("sp".into());
    ctx.service_project_name = Some("service".into());
    ctx.service_project_domain_id = Some("spd".into());
    ctx.service_project_domain_name = Some("SPD".into());
    ctx.service_roles = vec!["service".into()];
    ctx.service_token = Some("service-token".into());
    ctx.extra.insert("read_deleted".into(), json!("yes"));
    ctx.extra
        .insert("service_catalog".into(), json!([{"type": "compute"}]));

    let dict = ctx.to_dict();
    assert_eq!(dict["service_user_name"], "nova");
    assert_eq!(dict["service_roles"], json!(["service"]));
    assert_eq!(dict["read_deleted"], "yes");
    assert_eq!(dict["user_id"], "u");
    assert!(!dict.contains_key("service_token"));
    assert!(
        !Value::Object(dict.clone())
            .to_string()
            .contains("service-token")
    );

    let back = RequestContext::from_dict(&dict).unwrap();
    let mut expected = ctx.clone();
    expected.service_token = None;
    assert_eq!(back, expected);
    assert_eq!(back.to_dict(), dict);
}

#[test]
fn nova_user_id_is_read_when_user_is_missing() {
    let ctx = RequestContext::from_dict(&map(json!({"user_id": "nova-user"}))).unwrap();
    assert_eq!(ctx.user_id.as_deref(), Some("nova-user"));
    let ctx = RequestContext::from_dict(&map(json!({"user": "a", "user_id": "b"}))).unwrap();
    assert_eq!(ctx.user_id.as_deref(), Some("a"));
    assert!(ctx.extra.is_empty());
}

#[test]
fn a_changed_field_wins_over_what_was_received() {
    let mut ctx =
        RequestContext::from_dict(&map(json!({"user": "a", "user_id": "a", "user_name": "x"})))
            .unwrap();
    ctx.user_id = Some("b".into());
    ctx.user_name = None;
    let dict = ctx.to_dict();
    assert_eq!(dict["user"], "b");
    assert_eq!(dict["user_id"], "b");
    assert!(!dict.contains_key("user_name"));
}

#[test]
fn wrong_types_are_refused_with_the_key_named() {
    let cases = [
        (json!({"user": 5}), "user", "a string or null", "a number"),
        (
            json!({"roles": "admin"}),
            "roles",
            "a list of strings or null",
            "a string",
        ),
        (
            json!({"roles": ["a", 1]}),
            "roles",
            "a list of strings",
            "a number",
        ),
        (
            json!({"is_admin": "yes"}),
            "is_admin",
            "a boolean or null",
            "a string",
        ),
        (
            json!({"request_id": {}}),
            "request_id",
            "a string or null",
            "an object",
        ),
        (
            json!({"service_roles": true}),
            "service_roles",
            "a list of strings or null",
            "a boolean",
        ),
    ];
    for (input, key, expected, got) in cases {
        let err = RequestContext::from_dict(&map(input.clone())).unwrap_err();
        assert_eq!(
            err,
            ContextError::WrongType {
                key: key.into(),
                expected,
                got
            },
            "{input}"
        );
        assert!(err.to_string().contains(key), "{err}");
    }
}

#[test]
fn null_flags_read_as_false_and_defaults_are_olsos() {
    let ctx =
        RequestContext::from_dict(&map(json!({"is_admin": null, "read_only": null}))).unwrap();
    assert!(!ctx.is_admin && !ctx.read_only && !ctx.show_deleted);
    assert!(ctx.is_admin_project);
    let new = RequestContext::new();
    assert!(new.is_admin_project && !new.is_admin);
    assert_ne!(new.request_id, RequestContext::new().request_id);
    let admin = RequestContext::admin(true);
    assert!(admin.is_admin && admin.show_deleted && admin.user_id.is_none());
}

#[test]
fn global_id_and_display() {
    let mut ctx = RequestContext::new();
    ctx.request_id = "req-local".into();
    ctx.user_id = Some("u".into());
    assert_eq!(ctx.global_id(), "req-local");
    assert_eq!(ctx.to_string(), "- req-local u - - - -");
    ctx.global_request_id = Some("req-global".into());
    assert_eq!(ctx.global_id(), "req-global");
    assert_eq!(ctx.to_string(), "req-global req-local u - - - -");
}
