//! The manager's serializer is the RPC server's (`Manager::serializer`,
//! nova's `rpc.get_server(target, endpoints, NovaObjectSerializer())`): an
//! RpcService whose manager returns fjord-objects' `ObjectSerializer`
//! loads and checks the object arguments of every call, the base API's
//! included, before the endpoint runs.

use std::sync::Arc;

use fjord_messaging::{
    Context, Endpoint, FnEndpoint, RemoteError, RpcClient, Serializer, Target, Transport,
};
use fjord_objects::serializer::to_remote_error;
use fjord_objects::{Object, ObjectMeta, ObjectSerializer, Registry, Slot, VersionedObject};
use fjord_rpc_service::{Manager, RpcService};
use fjord_service::Service;
use serde_json::{Map, Value, json};

/// The test object.
#[derive(Debug, Clone, VersionedObject)]
#[object(
    name = "DemoWidget",
    version = "1.2",
    serial_namespace = "fjord_object",
    project_namespace = "fjord"
)]
struct DemoWidget {
    #[field(Integer)]
    id: Slot<i64>,
    #[field(String)]
    name: Slot<String>,
    #[field(List(String), since = "1.1")]
    tags: Slot<Vec<String>>,
    #[field(String, nullable, since = "1.2")]
    owner: Slot<String>,
    meta: ObjectMeta,
}

#[derive(Debug)]
struct Widgets {
    with_serializer: bool,
}

fn arg<'a>(args: &'a Map<String, Value>, name: &str) -> Result<&'a Value, RemoteError> {
    args.get(name)
        .ok_or_else(|| RemoteError::type_error(format!("missing argument {name}")))
}

impl Manager for Widgets {
    fn endpoints(&self) -> Vec<Arc<dyn Endpoint>> {
        vec![Arc::new(
            FnEndpoint::builder()
                .method("widget_rename", |_ctx, args| async move {
                    let mut w = DemoWidget::obj_from_primitive(arg(&args, "widget")?)
                        .map_err(|e| to_remote_error(&e))?;
                    w.obj_reset_changes(None, false);
                    let name = arg(&args, "name")?.as_str().unwrap_or_default();
                    w.set_name(name.to_owned())
                        .map_err(|e| to_remote_error(&e))?;
                    Ok::<_, RemoteError>(w.obj_to_primitive())
                })
                // The argument as the endpoint received it.
                .method("as_received", |_ctx, args| async move {
                    arg(&args, "widget").cloned()
                })
                .build(),
        )]
    }

    fn serializer(&self) -> Option<Arc<dyn Serializer>> {
        let mut registry = Registry::new("fjord_object", "fjord");
        registry.register::<DemoWidget>();
        self.with_serializer
            .then(|| Arc::new(ObjectSerializer::new(registry)) as Arc<dyn Serializer>)
    }
}

fn widget(version: &str) -> Value {
    json!({
        "fjord_object.name": "DemoWidget", "fjord_object.namespace": "fjord",
        "fjord_object.version": version,
        "fjord_object.data": {"id": 1, "name": "gear"},
    })
}

fn args(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

/// The widget service, started on a fake transport.
async fn started(manager: Widgets) -> (Transport, RpcService) {
    let transport = Transport::fake();
    let service =
        RpcService::create("widget-service", "widgets", "host1", &transport, manager).unwrap();
    service.start().await.unwrap();
    (transport, service)
}

#[tokio::test]
async fn the_managers_serializer_loads_object_arguments() {
    let (transport, service) = started(Widgets {
        with_serializer: true,
    })
    .await;
    let ctx = Context::new();
    let client = RpcClient::new(&transport, Target::new("widgets"));

    // A 1.0 widget is loaded, renamed and returned at its version.
    let got = client
        .call(
            &ctx,
            "widget_rename",
            args(json!({"widget": widget("1.0"), "name": "cog"})),
        )
        .await
        .unwrap();
    assert_eq!(got["fjord_object.version"], "1.0");
    assert_eq!(got["fjord_object.data"], json!({"id": 1, "name": "cog"}));
    assert_eq!(got["fjord_object.changes"], json!(["name"]));

    // The endpoint gets the argument as it came ...
    let got = client
        .call(&ctx, "as_received", args(json!({"widget": widget("1.1")})))
        .await
        .unwrap();
    assert_eq!(got, widget("1.1"));
    // ... or, loaded as X.Y, as the serializer loaded it.
    let got = client
        .call(
            &ctx,
            "as_received",
            args(json!({"widget": widget("1.2.5")})),
        )
        .await
        .unwrap();
    assert_eq!(got["fjord_object.version"], "1.2");

    // A newer widget is refused before the endpoint runs, with Python's
    // error, on the manager's API and on the base API.
    let newer = json!({"widget": widget("1.3")});
    let e = client
        .call(&ctx, "as_received", args(newer.clone()))
        .await
        .unwrap_err();
    let remote = e.remote().expect("a remote error");
    assert_eq!(remote.class(), "IncompatibleObjectVersion");
    assert_eq!(
        remote.message(),
        "Version 1.3 of DemoWidget is not supported, supported version is 1.2"
    );
    let base = RpcClient::new(&transport, Target::new("widgets"))
        .with_namespace("baseapi")
        .with_version("1.1")
        .unwrap();
    let e = base
        .call(&ctx, "ping", args(json!({"arg": newer["widget"]})))
        .await
        .unwrap_err();
    assert_eq!(
        e.remote().map(RemoteError::class),
        Some("IncompatibleObjectVersion")
    );
    service.stop(true).await;
    service.wait().await;
}

#[tokio::test]
async fn without_a_serializer_arguments_are_plain_json() {
    let (transport, service) = started(Widgets {
        with_serializer: false,
    })
    .await;
    let client = RpcClient::new(&transport, Target::new("widgets"));
    // Nothing loads the argument: the newer widget reaches the endpoint.
    let got = client
        .call(
            &Context::new(),
            "as_received",
            args(json!({"widget": widget("1.3")})),
        )
        .await
        .unwrap();
    assert_eq!(got, widget("1.3"));
    service.stop(true).await;
    service.wait().await;
}
