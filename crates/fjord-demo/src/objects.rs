//! The demo's versioned objects (oslo.versionedobjects' primitive form,
//! serial namespace `fjord_object`, project namespace `fjord`): what its
//! RPC API carries between demo-api and demo-worker.

use fjord::messaging::RemoteError;
use fjord_objects::serializer::to_remote_error;
use fjord_objects::{ObjectMeta, ObjectSerializer, Registry, Slot, VersionedObject};
use serde_json::Value;

/// One echo: the request body on the way to the worker, with the worker's
/// host and pid on the way back.
///
/// Version 1.0: `body` String (the JSON text of the request body: any
/// JSON value, which no stock field type holds), `host` String nullable,
/// `pid` Integer nullable. Version 1.1 adds what the worker saw of the
/// request context: `request_id`, `user_id`, `project_id` (String,
/// nullable) and `roles` (List of Strings); a 1.0 peer gets them dropped.
#[derive(Debug, Clone, VersionedObject)]
#[object(
    name = "DemoEcho",
    version = "1.1",
    serial_namespace = "fjord_object",
    project_namespace = "fjord"
)]
pub struct DemoEcho {
    /// The request body, as JSON text.
    #[field(String)]
    pub body: Slot<String>,
    /// The worker's host name (set by the worker).
    #[field(String, nullable)]
    pub host: Slot<String>,
    /// The worker's process id (set by the worker).
    #[field(Integer, nullable)]
    pub pid: Slot<i64>,
    /// The request id of the context the worker served it in (1.1).
    #[field(String, nullable, since = "1.1")]
    pub request_id: Slot<String>,
    /// The caller's user id, as the worker received it (1.1).
    #[field(String, nullable, since = "1.1")]
    pub user_id: Slot<String>,
    /// The caller's project id, as the worker received it (1.1).
    #[field(String, nullable, since = "1.1")]
    pub project_id: Slot<String>,
    /// The caller's roles, as the worker received them (1.1).
    #[field(List(String), since = "1.1")]
    pub roles: Slot<Vec<String>>,
    meta: ObjectMeta,
}

impl DemoEcho {
    /// An echo of `body`, not yet served.
    pub fn of(body: &Value) -> DemoEcho {
        let mut e = DemoEcho {
            body: Slot::Value(body.to_string()),
            ..DemoEcho::default()
        };
        e.meta.mark("body");
        e
    }

    /// Records the context the worker served the echo in (the 1.1 fields).
    pub fn served_for(&mut self, rctx: &fjord::context::RequestContext) {
        let opt = |v: &Option<String>| v.clone().map_or(Slot::Null, Slot::Value);
        self.request_id = Slot::Value(rctx.request_id.clone());
        self.user_id = opt(&rctx.user_id);
        self.project_id = opt(&rctx.project_id);
        self.roles = Slot::Value(rctx.roles.clone());
        for f in ["request_id", "user_id", "project_id", "roles"] {
            self.meta.mark(f);
        }
    }

    /// The context fields as the HTTP reply shows them.
    pub fn context_json(&self) -> Value {
        serde_json::json!({
            "request_id": self.request_id.value(),
            "user_id": self.user_id.value(),
            "project_id": self.project_id.value(),
            "roles": self.roles.value().cloned().unwrap_or_default(),
        })
    }

    /// The body as JSON (`null` when unset or not JSON).
    pub fn body_json(&self) -> Value {
        self.body
            .value()
            .and_then(|t| serde_json::from_str(t).ok())
            .unwrap_or(Value::Null)
    }

    /// Loads an echo from its primitive, as the RPC serializer would.
    ///
    /// # Errors
    ///
    /// Python's exception for a malformed primitive, as a remote error.
    pub fn from_wire(primitive: &Value) -> Result<DemoEcho, RemoteError> {
        DemoEcho::obj_from_primitive(primitive).map_err(|e| to_remote_error(&e))
    }
}

/// The demo's object registry.
pub fn registry() -> Registry {
    let mut reg = Registry::new("fjord_object", "fjord");
    reg.register::<DemoEcho>();
    reg
}

/// The RPC serializer of the demo's objects.
pub fn serializer() -> ObjectSerializer {
    ObjectSerializer::new(registry())
}
