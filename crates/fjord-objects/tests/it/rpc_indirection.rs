//! rpc_indirection.json: every scenario replayed in process over
//! fjord-messaging's fake transport with real RPC clients and servers:
//! object arguments and results through `ObjectSerializer`, backports
//! asked of a conductor (`ConductorClient` as the serializer's
//! indirection), and a fjord `ConductorEndpoint` answering
//! `object_backport_versions`, `object_class_action_versions` and
//! `object_action`. Every message the conductor receives and every reply
//! it sends is compared with the fixture's, as are the server-side
//! arguments and the caller's results and errors.

use std::sync::{Arc, Mutex};

use fjord_messaging::{
    Context, Endpoint, RemoteError, RpcClient, RpcServer, Target, Transport, async_trait,
};
use fjord_objects::indirection::{ConductorClient, ConductorEndpoint};
use fjord_objects::{DateTime, FieldValue, ObjectSerializer, Registry};
use fjord_service::Service;
use serde_json::{Map, Value, json};

use crate::defs;
use crate::support::{assert_same, fixture, new_registries, normalize, to_tagged};

fn registry(which: &str, serial: &str) -> Registry {
    let regs = if which == "old" {
        let (a, b) = defs::old_registry();
        vec![a, b]
    } else {
        new_registries()
    };
    regs.into_iter()
        .find(|r| r.serial_namespace() == serial)
        .expect("registry")
}

/// The serial namespace of a scenario's objects (its first object key).
fn serial_of(v: &Value) -> &'static str {
    let text = v.to_string();
    if text.contains("karbor_object.") {
        "karbor_object"
    } else {
        "nova_object"
    }
}

/// What a server endpoint saw: (method, arguments as Python holds them).
type Seen = Arc<Mutex<Vec<(String, Value)>>>;

/// The conductor's log: (method, arguments, reply).
type CallLog = Arc<Mutex<Vec<(String, Map<String, Value>, Result<Value, RemoteError>)>>>;

/// Records what the wrapped endpoint receives and sends.
#[derive(Debug)]
struct Recording<E> {
    inner: E,
    log: CallLog,
}

#[async_trait]
impl<E: Endpoint> Endpoint for Recording<E> {
    fn target(&self) -> Target {
        self.inner.target()
    }
    fn has_method(&self, m: &str) -> bool {
        self.inner.has_method(m)
    }
    async fn dispatch(
        &self,
        ctx: Context,
        m: &str,
        args: Map<String, Value>,
    ) -> Result<Value, RemoteError> {
        let r = self.inner.dispatch(ctx, m, args.clone()).await;
        self.log
            .lock()
            .expect("log")
            .push((m.to_string(), args, r.clone()));
        r
    }
}

/// The compute / protection service of the scenarios.
#[derive(Debug)]
struct Service_ {
    ser: ObjectSerializer,
    conductor: Option<ConductorClient>,
    seen: Seen,
    /// What the Python service returned (from `result_python`, or the
    /// reply loaded back into objects).
    result: Option<FieldValue>,
    /// The API version served.
    version: String,
}

#[async_trait]
impl Endpoint for Service_ {
    fn target(&self) -> Target {
        Target::endpoint(None, Some(&self.version))
    }
    fn has_method(&self, _m: &str) -> bool {
        true
    }
    async fn dispatch(
        &self,
        ctx: Context,
        m: &str,
        args: Map<String, Value>,
    ) -> Result<Value, RemoteError> {
        let received = self
            .ser
            .deserialize_value(&ctx, &Value::Object(args.clone()))?;
        self.seen
            .lock()
            .expect("seen")
            .push((m.to_string(), to_tagged(&received)));
        match m {
            // The old compute reports the version it could load.
            "build_and_run_instance" if self.conductor.is_some() => {
                let inst = self.ser.deserialize_object(&ctx, &args["instance"])?;
                Ok(json!(inst.obj_version()))
            }
            // Instance.get_by_uuid is remotable: the conductor runs it.
            "refresh_instance" => {
                let c = self.conductor.as_ref().expect("conductor");
                let manifest = self
                    .ser
                    .registry()
                    .tree_versions("Instance")
                    .map_err(|e| fjord_objects::serializer::to_remote_error(&e))?;
                c.class_action(
                    &ctx,
                    "Instance",
                    "get_by_uuid",
                    &manifest,
                    vec![args["instance_uuid"].clone()],
                    Map::new(),
                )
                .await
            }
            // instance.save() is remotable: object_action on the conductor.
            "reboot_instance" => {
                let c = self.conductor.as_ref().expect("conductor");
                let mut inst = self.ser.deserialize_object(&ctx, &args["instance"])?;
                inst.obj_set("task_state", FieldValue::Str("rebooting".into()))
                    .map_err(|e| fjord_objects::serializer::to_remote_error(&e))?;
                let mut kwargs = Map::new();
                kwargs.insert("expected_task_state".into(), json!(["rebooting"]));
                c.object_action(&ctx, inst.as_mut(), "save", vec![], kwargs)
                    .await?;
                Ok(inst.obj_to_primitive())
            }
            "echo_plan" => Ok(self.ser.serialize_value(&received.clone_dict_value("plan"))),
            _ => {
                let result = self.result.as_ref().expect("the scenario's result");
                Ok(self.ser.serialize_value(result))
            }
        }
    }
}

trait DictValue {
    fn clone_dict_value(&self, key: &str) -> FieldValue;
}
impl DictValue for FieldValue {
    fn clone_dict_value(&self, key: &str) -> FieldValue {
        match self {
            FieldValue::Dict(d) => d.get(key).cloned().unwrap_or(FieldValue::None),
            _ => FieldValue::None,
        }
    }
}

/// The conductor (new registry): the remotable methods of the fixture's
/// Instance, as its generator defined them.
fn conductor(instances: Vec<Value>) -> ConductorEndpoint {
    let reg = registry("new", "nova_object");
    let lookup = Arc::new(instances);
    let reg2 = reg.clone();
    ConductorEndpoint::new(reg.clone())
        .class_action("Instance", "get_by_uuid", move |_ctx, args, _kw| {
            let lookup = lookup.clone();
            let reg = reg2.clone();
            async move {
                let uuid = args
                    .first()
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                let found = lookup
                    .iter()
                    .find(|p| p["nova_object.data"]["uuid"] == json!(uuid))
                    .ok_or_else(|| RemoteError::value_error(format!("no instance {uuid}")))?;
                let mut obj = reg
                    .obj_from_primitive(found)
                    .map_err(|e| fjord_objects::serializer::to_remote_error(&e))?;
                obj.obj_reset_changes(None, true);
                Ok(FieldValue::Object(obj))
            }
        })
        .action("Instance", "save", |_ctx, mut obj, _args, _kw| async move {
            obj.obj_set("task_state", FieldValue::None)
                .map_err(|e| fjord_objects::serializer::to_remote_error(&e))?;
            obj.obj_set(
                "updated_at",
                FieldValue::DateTime(DateTime::utc(2024, 3, 2, 9, 30, 0)),
            )
            .map_err(|e| fjord_objects::serializer::to_remote_error(&e))?;
            obj.obj_reset_changes(None, false);
            Ok((obj, FieldValue::None))
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scenario() {
    let Some((doc, _)) = fixture("rpc_indirection::every_scenario", "rpc_indirection.json") else {
        return;
    };
    // Instances the conductor can look up: the 2.8 ones the fixture's
    // new services return.
    let mut instances = Vec::new();
    for sc in doc["scenarios"].as_array().expect("scenarios") {
        for m in sc["rpc_messages"].as_array().expect("messages") {
            if let Some(objs) = m["reply_result"]["nova_object.data"]["objects"].as_array() {
                instances.extend(objs.iter().cloned());
            }
        }
    }
    let scenarios = doc["scenarios"].as_array().expect("scenarios");
    for sc in scenarios {
        let id = sc["id"].as_str().expect("id");
        let msgs = sc["rpc_messages"].as_array().expect("messages");
        let top = &msgs[0];
        let transport = Transport::fake()
            .with_allowed_remote_exmods(vec!["oslo_versionedobjects.exception".into()]);
        let ctx = Context::new()
            .with("request_id", top["context"]["request_id"].clone())
            .with("user", top["context"]["user"].clone());
        let serial = serial_of(&top["message"]);

        // the conductor
        let clog = Arc::new(Mutex::new(Vec::new()));
        let cond = conductor(instances.clone());
        let cserver = RpcServer::builder(&transport, Target::new("conductor").with_server("c1"))
            .endpoint(Recording {
                inner: cond.clone(),
                log: clog.clone(),
            })
            .serializer(Arc::new(cond.serializer()))
            .build()
            .expect("conductor server");
        cserver.start().await.expect("conductor starts");

        // the service called
        let server_registry = top["server_registry"].as_str().expect("server registry");
        let mut ser = ObjectSerializer::new(registry(server_registry, serial));
        let conductor_client = (server_registry == "old" && serial == "nova_object")
            .then(|| ConductorClient::new(RpcClient::new(&transport, ConductorClient::target())));
        if let Some(c) = &conductor_client {
            ser = ser.with_indirection(Arc::new(c.clone()));
        }
        let seen: Seen = Arc::default();
        let result = match sc["server_side"]
            .as_array()
            .and_then(|s| s.iter().find_map(|x| x.get("result_python").cloned()))
        {
            Some(tagged) => Some(crate::support::from_tagged(
                &tagged,
                &[ser.registry().clone()],
            )),
            None => ObjectSerializer::new(registry(server_registry, serial))
                .deserialize_value(&ctx, &top["reply_result"])
                .ok(),
        };
        let topic = top["target"]["topic"].as_str().expect("topic");
        let sserver = RpcServer::builder(&transport, Target::new(topic).with_server("s1"))
            .endpoint(Service_ {
                ser: ser.clone(),
                conductor: conductor_client,
                seen: seen.clone(),
                result,
                version: top["target"]["version"]
                    .as_str()
                    .unwrap_or("1.0")
                    .to_string(),
            })
            .serializer(Arc::new(ser.clone()))
            .build()
            .expect("server");
        sserver.start().await.expect("server starts");

        // the caller
        let caller_ser = ObjectSerializer::new(registry(
            top["caller_registry"].as_str().expect("caller"),
            serial,
        ));
        let mut target = Target::new(topic);
        target.version = top["target"]["version"].as_str().map(String::from);
        let client =
            RpcClient::new(&transport, target).with_serializer(Arc::new(caller_ser.clone()));
        let args = top["message"]["args"].as_object().cloned().expect("args");
        let method = top["message"]["method"].as_str().expect("method");
        let outcome = client.call(&ctx, method, args).await;

        match sc.get("caller_error") {
            Some(err) => {
                let e = outcome.expect_err(id);
                let r = e.remote().unwrap_or_else(|| panic!("{id}: {e}"));
                assert_eq!(
                    format!("{}.{}", r.module(), r.class()),
                    err["exception"],
                    "{id}"
                );
                assert_eq!(r.message(), err["message"], "{id}");
                let decoded = &top["reply_failure_decoded"];
                assert_eq!(
                    r.args(),
                    decoded["args"].as_array().expect("args").as_slice(),
                    "{id}"
                );
                assert_eq!(
                    &Value::Object(r.kwargs().clone()),
                    &decoded["kwargs"],
                    "{id}"
                );
            }
            None => {
                let result = outcome.unwrap_or_else(|e| panic!("{id}: {e}"));
                assert_same(id, &result, &top["reply_result"]);
                let got = caller_ser
                    .deserialize_value(&ctx, &result)
                    .expect("caller loads the result");
                assert_same(id, &to_tagged(&got), &sc["caller_result_python"]);
            }
        }

        // What the service received, as Python held it.
        for side in sc["server_side"].as_array().expect("server side") {
            if let Some(want) = side.get("received_python") {
                let seen = seen.lock().expect("seen");
                let (_, got) = seen
                    .iter()
                    .find(|(m, _)| side["method"] == json!(m))
                    .expect("method seen");
                let got = if want.get("__object__").is_some() {
                    got["plan"].clone()
                } else {
                    // The fixture records the arguments the Python method
                    // names (a None argument it does not take is left out).
                    let mut g = got.as_object().cloned().expect("args");
                    g.retain(|k, v| want.get(k).is_some() || !v.is_null());
                    Value::Object(g)
                };
                assert_same(id, &got, want);
            }
        }

        // Every conductor message and reply.
        let clog = std::mem::take(&mut *clog.lock().expect("log"));
        let conductor_msgs: Vec<&Value> = msgs.iter().filter(|m| m["depth"] == json!(1)).collect();
        assert_eq!(clog.len(), conductor_msgs.len(), "{id}: conductor calls");
        // fjord's dispatcher deserializes arguments in name order (Python:
        // in message order), so the backports may come in another order:
        // each call is matched with the fixture message of the same
        // arguments.
        for (method, args, reply) in clog.iter() {
            let m = conductor_msgs
                .iter()
                .find(|m| {
                    m["message"]["method"] == json!(method)
                        && normalize(&m["message"]["args"])
                            == normalize(&Value::Object(args.clone()))
                })
                .unwrap_or_else(|| panic!("{id}: unexpected conductor call {method} {args:?}"));
            assert_eq!(m["target"]["topic"], json!("conductor"));
            assert_eq!(m["message"]["version"], json!("3.0"));
            let reply = reply.clone().unwrap_or_else(|e| panic!("{id}: {e}"));
            // object_action's obj_what_changed is a set: compare sorted.
            assert_eq!(
                normalize_updates(&reply),
                normalize_updates(&m["reply_result"]),
                "{id}: conductor reply"
            );
        }
        sserver.stop(true).await;
        cserver.stop(true).await;
    }
    assert_eq!(scenarios.len(), 8);
}

fn normalize_updates(v: &Value) -> Value {
    let mut v = normalize(v);
    if let Some(Value::Object(u)) = v.get_mut(0)
        && let Some(Value::Array(a)) = u.get_mut("obj_what_changed")
    {
        a.sort_by_key(|x| x.to_string());
    }
    v
}
