//! fjord's RequestContext against oslo.context 6.5.0 itself: the venv's
//! Python runs `from_dict` / `from_environ` on each case
//! (`tests/python/oslo_context_vectors.py`) and fjord must produce the same
//! `to_dict`, `to_policy_values`, `get_logging_values` and fields.

use std::io::Write;
use std::process::{Command, Stdio};

use fjord_context::{OSLO_DICT_KEYS, RequestContext};
use http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Map, Value, json};

/// Every field of `ctx` under oslo's attribute names, tokens exposed.
fn fields(ctx: &RequestContext) -> Value {
    let t = |s: &Option<fjord_context::Secret>| s.as_ref().map(|t| t.expose().to_owned());
    json!({
        "request_id": ctx.request_id,
        "global_request_id": ctx.global_request_id,
        "auth_token": t(&ctx.auth_token),
        "user_id": ctx.user_id,
        "project_id": ctx.project_id,
        "domain_id": ctx.domain_id,
        "user_domain_id": ctx.user_domain_id,
        "project_domain_id": ctx.project_domain_id,
        "user_name": ctx.user_name,
        "project_name": ctx.project_name,
        "domain_name": ctx.domain_name,
        "user_domain_name": ctx.user_domain_name,
        "project_domain_name": ctx.project_domain_name,
        "roles": ctx.roles,
        "is_admin": ctx.is_admin,
        "is_admin_project": ctx.is_admin_project,
        "read_only": ctx.read_only,
        "show_deleted": ctx.show_deleted,
        "resource_uuid": ctx.resource_uuid,
        "system_scope": ctx.system_scope,
        "service_token": t(&ctx.service_token),
        "service_user_id": ctx.service_user_id,
        "service_user_name": ctx.service_user_name,
        "service_user_domain_id": ctx.service_user_domain_id,
        "service_user_domain_name": ctx.service_user_domain_name,
        "service_project_id": ctx.service_project_id,
        "service_project_name": ctx.service_project_name,
        "service_project_domain_id": ctx.service_project_domain_id,
        "service_project_domain_name": ctx.service_project_domain_name,
        "service_roles": ctx.service_roles,
    })
}

fn full_python_dict() -> Value {
    json!({
        "user": "u1", "project_id": "p1", "system_scope": null, "project": "p1",
        "domain": "d1", "user_domain": "ud1", "project_domain": "pd1",
        "is_admin": true, "read_only": true, "show_deleted": true,
        "auth_token": "tok-1", "request_id": "req-7f6c7a1e-0000-4000-8000-000000000001",
        "global_request_id": "req-7f6c7a1e-0000-4000-8000-000000000002",
        "resource_uuid": "r1", "roles": ["admin", "member"],
        "user_identity": "u1 p1 d1 ud1 pd1", "is_admin_project": false,
        "user_name": "alice", "project_name": "demo", "domain_name": "Default",
        "user_domain_name": "Default", "project_domain_name": "Default"
    })
}

/// The cases: dicts for `from_dict`, header lists (+ environ keys) for
/// `from_environ`.
fn cases() -> Vec<Value> {
    let h =
        |pairs: &[(&str, &str)]| Value::Array(pairs.iter().map(|(k, v)| json!([k, v])).collect());
    vec![
        json!({"dict": {}}),
        json!({"dict": full_python_dict()}),
        // nova's to_dict: oslo's keys plus its own (kept by fjord as extra).
        json!({"dict": {
            "user": "u2", "user_id": "u2", "project_id": "p2", "project": "p2",
            "is_admin": false, "read_deleted": "yes", "remote_address": "127.0.0.1",
            "timestamp": "2026-12-06T18:00:00.000000", "quota_class": null,
            "service_catalog": [{"type": "image", "name": "glance"}],
            "user_name": "bob", "project_name": "proj", "roles": ["reader"],
            "request_id": "req-7f6c7a1e-0000-4000-8000-000000000003",
            "instance_lock_checked": false, "is_admin_project": true
        }}),
        // empty strings: "-" in user_identity, a new request id for "".
        json!({"dict": {"user": "", "project_id": "", "request_id": "", "auth_token": "",
                        "roles": null, "system_scope": "all"}}),
        // only the derived keys: not read back.
        json!({"dict": {"project": "p3", "user_identity": "x y z w v", "tenant": "t3"}}),
        json!({"headers": h(&[
            ("X-Auth-Token", "tok-2"), ("X-User-Id", "u3"), ("X-User-Name", "carol"),
            ("X-User-Domain-Id", "default"), ("X-User-Domain-Name", "Default"),
            ("X-Project-Id", "p3"), ("X-Project-Name", "proj3"),
            ("X-Project-Domain-Id", "default"), ("X-Project-Domain-Name", "Default"),
            ("X-Domain-Id", "d3"), ("X-Domain-Name", "Dom3"),
            ("X-Roles", "admin,member,reader"), ("X-Is-Admin-Project", "True"),
            ("X-Service-Token", "stok"), ("X-Service-User-Id", "su"),
            ("X-Service-User-Name", "nova"), ("X-Service-User-Domain-Id", "sud"),
            ("X-Service-User-Domain-Name", "SUD"), ("X-Service-Project-Id", "sp"),
            ("X-Service-Project-Name", "service"), ("X-Service-Project-Domain-Id", "spd"),
            ("X-Service-Project-Domain-Name", "SPD"), ("X-Service-Roles", "service, admin"),
            ("OpenStack-System-Scope", "all"),
        ]), "environ": {
            "openstack.request_id": "req-7f6c7a1e-0000-4000-8000-000000000004",
            "openstack.global_request_id": "req-7f6c7a1e-0000-4000-8000-000000000005"
        }}),
        // the legacy headers.
        json!({"headers": h(&[
            ("X-Storage-Token", "st"), ("X-User", "legacy-user"), ("X-Tenant", "legacy-t"),
            ("X-Tenant-Name", "legacy-tn"), ("X-Role", "r1, r2"),
        ])}),
        // the first header of a list wins; X-Tenant-Id before X-Tenant.
        json!({"headers": h(&[
            ("X-User", "old"), ("X-User-Id", "new"), ("X-Tenant", "t-old"),
            ("X-Tenant-Id", "t-new"), ("X-Auth-Token", "a"), ("X-Storage-Token", "b"),
        ]), "environ": {"openstack.request_id": "req-given"}}),
        // an empty X-Roles hides X-Role; an empty user id stays "".
        json!({"headers": h(&[("X-Roles", ""), ("X-Role", "r"), ("X-User-Id", "")])}),
        json!({"headers": h(&[("X-Is-Admin-Project", "False")])}),
        json!({"headers": h(&[("X-Is-Admin-Project", "TRUE")])}),
        json!({"headers": h(&[("X-Is-Admin-Project", "yes")])}),
        // items stripped, empty ones kept; repeated headers joined.
        json!({"headers": h(&[("X-Roles", " a , ,b,"), ("X-Service-Roles", "s1"),
                               ("X-Service-Roles", " s2")])}),
        json!({"headers": h(&[("X-Roles", "x"), ("X-Roles", "y")])}),
        // Latin-1 bytes, as a WSGI server decodes them.
        json!({"headers": h(&[("X-User-Name", "Jos\u{e9}"), ("X-Project-Name", "caf\u{e9} bar")])}),
        json!({"headers": h(&[]), "environ": {"openstack.request_id": ""}}),
    ]
}

fn build(case: &Value) -> RequestContext {
    if let Some(Value::Object(d)) = case.get("dict") {
        return RequestContext::from_dict(d).expect("from_dict");
    }
    let mut headers = HeaderMap::new();
    for pair in case["headers"].as_array().expect("headers") {
        let name = HeaderName::from_bytes(pair[0].as_str().expect("name").as_bytes())
            .expect("header name");
        // Each char of the test text is one Latin-1 byte.
        let bytes: Vec<u8> = pair[1]
            .as_str()
            .expect("value")
            .chars()
            .map(|c| u8::try_from(u32::from(c)).expect("latin-1"))
            .collect();
        headers.append(name, HeaderValue::from_bytes(&bytes).expect("header value"));
    }
    let env = |k: &str| {
        case.get("environ")
            .and_then(|e| e.get(k))
            .and_then(Value::as_str)
    };
    RequestContext::from_environ(
        &headers,
        env("openstack.request_id"),
        env("openstack.global_request_id"),
    )
}

fn run_python(cases: &[Value]) -> Option<Vec<Value>> {
    let py = fjord_test_support::venv_python("oslo_context_matches_python", "oslo_context")?;
    let script = format!(
        "{}/tests/python/oslo_context_vectors.py",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut child = Command::new(py)
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run python");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(Value::Array(cases.to_vec()).to_string().as_bytes())
        .expect("write cases");
    let out = child.wait_with_output().expect("python output");
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(serde_json::from_slice(&out.stdout).expect("python printed JSON"))
}

fn is_generated(id: &Value) -> bool {
    let s = id.as_str().unwrap_or("");
    s.len() == 40
        && s.starts_with("req-")
        && uuid::Uuid::parse_str(&s[4..]).is_ok_and(|u| u.get_version_num() == 4)
}

#[test]
fn oslo_context_matches_python() {
    let cases = cases();
    let Some(python) = run_python(&cases) else {
        return;
    };
    assert_eq!(python.len(), cases.len());
    for (case, py) in cases.iter().zip(&python) {
        let ctx = build(case);
        let mut py = py.clone();
        // A generated request id differs by nature: both must be req-<uuid4>.
        let py_id = py["fields"]["request_id"].clone();
        if is_generated(&py_id) && !case.to_string().contains(py_id.as_str().unwrap_or("")) {
            assert!(
                is_generated(&json!(ctx.request_id)),
                "{case}: {}",
                ctx.request_id
            );
            let id = json!(ctx.request_id);
            py["fields"]["request_id"] = id.clone();
            py["to_dict"]["request_id"] = id.clone();
            py["get_logging_values"]["request_id"] = id;
        }

        assert_eq!(fields(&ctx), py["fields"], "fields of {case}");
        assert_eq!(
            Value::Object(ctx.to_policy_values()),
            py["to_policy_values"],
            "to_policy_values of {case}"
        );

        // to_dict: oslo's keys exactly as Python; then only the fields
        // oslo drops (set ones) and the input's other keys, as received.
        let dict = ctx.to_dict();
        let py_dict = py["to_dict"].as_object().expect("to_dict");
        assert_eq!(
            py_dict.keys().collect::<Vec<_>>().len(),
            OSLO_DICT_KEYS.len()
        );
        for key in OSLO_DICT_KEYS {
            assert_eq!(dict.get(key), py_dict.get(key), "to_dict[{key}] of {case}");
        }
        let input = case.get("dict").and_then(Value::as_object);
        let f = fields(&ctx);
        for (k, v) in dict
            .iter()
            .filter(|(k, _)| !OSLO_DICT_KEYS.contains(&k.as_str()))
        {
            match f.get(k) {
                Some(field) => {
                    assert_eq!(v, field, "to_dict[{k}] of {case}");
                    assert!(!v.is_null(), "to_dict[{k}] of {case}: fields only when set");
                }
                None => assert_eq!(Some(v), input.and_then(|i| i.get(k)), "{k} of {case}"),
            }
            assert_ne!(k, "service_token");
        }
        if let Some(input) = input {
            for (k, v) in input {
                let null_field = f.get(k).is_some() && v.is_null();
                if !OSLO_DICT_KEYS.contains(&k.as_str()) && !null_field {
                    assert_eq!(dict.get(k), Some(v), "{k} of {case} is kept");
                }
            }
        }

        // get_logging_values: Python's keys and values, the token masked.
        let logging = ctx.get_logging_values();
        for (k, v) in py["get_logging_values"].as_object().expect("logging") {
            assert_eq!(logging.get(k), Some(v), "get_logging_values[{k}] of {case}");
        }

        // What fjord sends, fjord reads back to the same fields.
        // The service token is never sent, everything else comes back.
        let again = RequestContext::from_dict(&dict).expect("own to_dict");
        let mut sent = ctx.clone();
        sent.service_token = None;
        assert_eq!(again, sent, "round trip of {case}");
    }
}

/// What fjord's `to_dict` sends (names, nova's keys, extras), Python's
/// `from_dict` reads: the fields oslo reads come back equal.
#[test]
fn python_reads_fjord_to_dict() {
    let mut ctx = RequestContext::new();
    ctx.user_id = Some("u".into());
    ctx.project_id = Some("p".into());
    ctx.user_name = Some("alice".into());
    ctx.project_domain_name = Some("Default".into());
    ctx.roles = vec!["member".into()];
    ctx.auth_token = Some("tok".into());
    ctx.service_user_id = Some("su".into());
    ctx.extra.insert("read_deleted".into(), json!("only"));
    let cases = vec![json!({"dict": ctx.to_dict()})];
    let Some(python) = run_python(&cases) else {
        return;
    };
    let f = &python[0]["fields"];
    assert_eq!(f["user_id"], "u");
    assert_eq!(f["project_id"], "p");
    assert_eq!(f["user_name"], "alice");
    assert_eq!(f["project_domain_name"], "Default");
    assert_eq!(f["roles"], json!(["member"]));
    assert_eq!(f["auth_token"], "tok");
    assert_eq!(f["request_id"], json!(ctx.request_id));
    let d: &Map<String, Value> = python[0]["to_dict"].as_object().expect("dict");
    for key in OSLO_DICT_KEYS {
        assert_eq!(d.get(key), ctx.to_dict().get(key), "{key}");
    }
}
