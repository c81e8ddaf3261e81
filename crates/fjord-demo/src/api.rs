//! The demo API: app factories for `etc/demo/api-paste.ini` and the HTTP
//! service that serves them.
//!
//! | route | answer |
//! |---|---|
//! | `GET /` | the OpenStack-style version document |
//! | `GET /healthcheck` | `OK` (oslo.middleware's healthcheck, native in fjord) |
//! | `GET /hello` | `Hello, World!` (13 bytes, text/plain; no RPC: the benchmark route) |
//! | `POST /v1/echo` | the JSON body, sent by RPC call to a worker and returned with its host and pid and the request context the worker received |
//! | `GET /v1/services` | service records with up/down |

use std::convert::Infallible;
use std::sync::Arc;

use fjord::http::loader::{Loader, PasteConfig};
use fjord::http::server::HttpService;
use fjord::http::{App, Request, Response, full};
use fjord::messaging::{Context, Error as RpcError, RequestContext, RpcClient, Target, Transport};
use fjord::policy::Enforcer;
use fjord::service::{Service, TaskGroup, async_trait};
use fjord::servicegroup::Heartbeat;
use fjord_objects::Object;
use http::{Method, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};

use crate::auth;
use crate::conf::DemoConf;
use crate::objects::{self, DemoEcho};
use crate::records::Records;

/// The RPC topic of the demo worker.
pub const TOPIC: &str = "demo";

/// What the API's apps share in a worker.
#[derive(Debug, Clone)]
pub struct ApiContext {
    conf: Arc<DemoConf>,
    transport: Transport,
    records: Records,
    enforcer: Arc<Enforcer>,
}

impl ApiContext {
    /// The context of one API worker (its policy enforcer included).
    pub fn new(conf: Arc<DemoConf>, transport: Transport, records: Records) -> Self {
        let enforcer = auth::enforcer(&conf.policy).unwrap_or_else(|e| {
            // Not reached with the demo's own defaults; every check then
            // fails as an unregistered rule (500), never open.
            tracing::error!("policy defaults: {e}");
            Enforcer::from_options(conf.policy.clone())
        });
        ApiContext {
            conf,
            transport,
            records,
            enforcer: Arc::new(enforcer),
        }
    }
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    http::Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(full(body.to_string()))
        .unwrap_or_else(|_| http::Response::new(full("")))
}

/// The demo's JSON error: `{"error": {"code", "title", "message"}}`.
pub fn error_response(status: StatusCode, message: impl Into<String>) -> Response {
    json_response(
        status,
        &json!({"error": {
            "code": status.as_u16(),
            "title": status.canonical_reason().unwrap_or("Error"),
            "message": message.into(),
        }}),
    )
}

fn app<F, Fut>(f: F) -> App
where
    F: Fn(Request) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Response> + Send + 'static,
{
    App::new(tower::service_fn(move |req: Request| {
        let f = f.clone();
        async move { Ok::<_, Infallible>(f(req).await) }
    }))
}

/// `GET /`: the version document.
fn versions(ctx: ApiContext) -> App {
    app(move |req: Request| {
        let ctx = ctx.clone();
        async move {
            let path = req.uri().path();
            if !(path.is_empty() || path == "/") {
                return error_response(StatusCode::NOT_FOUND, format!("no such resource: {path}"));
            }
            let host = req
                .headers()
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .map(str::to_owned)
                .unwrap_or_else(|| format!("{}:{}", ctx.conf.server.listen, ctx.conf.server.port));
            json_response(
                StatusCode::OK,
                &json!({"versions": [{
                    "id": "v1.0",
                    "status": "CURRENT",
                    "version": "",
                    "min_version": "",
                    "updated": "2026-11-22T00:00:00Z",
                    "links": [{"rel": "self", "href": format!("http://{host}/v1/")}],
                }]}),
            )
        }
    })
}

/// `GET /hello`: 200 `Hello, World!`, text/plain.
fn hello() -> App {
    app(|_req: Request| async {
        http::Response::builder()
            .header(header::CONTENT_TYPE, "text/plain")
            .body(full("Hello, World!"))
            .unwrap_or_else(|_| http::Response::new(full("")))
    })
}

/// `/v1`: echo through a worker, and service records.
fn v1(ctx: ApiContext) -> App {
    app(move |req: Request| {
        let ctx = ctx.clone();
        async move {
            let path = req.uri().path().trim_end_matches('/').to_owned();
            let rctx = caller(&req);
            // The refusal to send when `rule` does not allow the caller.
            let denied = |rule: &str| {
                auth::authorize(&ctx.enforcer, rule, &rctx)
                    .err()
                    .map(|(status, body)| json_response(status, &body))
            };
            match (req.method().clone(), path.as_str()) {
                (Method::POST, "/echo") => match denied(auth::RULE_ECHO) {
                    None => echo(&ctx, &rctx, req).await,
                    Some(refusal) => refusal,
                },
                (Method::GET, "/services") => match denied(auth::RULE_SERVICES_LIST) {
                    None => services(&ctx).await,
                    Some(refusal) => refusal,
                },
                (_, "/echo" | "/services") => {
                    error_response(StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
                }
                _ => error_response(
                    StatusCode::NOT_FOUND,
                    format!("no such resource: /v1{path}"),
                ),
            }
        }
    })
}

/// The caller's [`RequestContext`], as the pipeline's `noauth2` or
/// `keystonecontext` filter left it in the request extensions. A pipeline
/// with neither (a paste file of one's own) gives an anonymous context
/// with this request's ids, which policy rules needing a role refuse.
fn caller(req: &Request) -> RequestContext {
    fjord::keystone::request_context(req)
        .cloned()
        .unwrap_or_else(|| auth::anonymous_context(req))
}

/// `POST /v1/echo`: the body goes to a worker by RPC call with the
/// caller's [`RequestContext`]: its user, project and roles, `request_id`
/// this request's id (the one the `request_id` filter returns in
/// `x-openstack-request-id`) and `global_request_id` the caller's
/// well-formed `X-OpenStack-Request-ID`.
async fn echo(ctx: &ApiContext, rctx: &RequestContext, req: Request) -> Response {
    let bytes = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                format!("cannot read the body: {e}"),
            );
        }
    };
    let body: Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                format!("the body is not JSON: {e}"),
            );
        }
    };
    let client = match RpcClient::new(&ctx.transport, Target::new(TOPIC)).with_version("1.1") {
        Ok(c) => c
            .with_timeout(ctx.conf.rpc_response_timeout)
            .with_serializer(Arc::new(objects::serializer())),
        Err(e) => {
            tracing::error!("echo: {e}");
            return error_response(StatusCode::INTERNAL_SERVER_ERROR, "bad RPC target");
        }
    };
    let rpc_ctx = Context::from(rctx);
    let mut args = serde_json::Map::new();
    args.insert("echo".into(), DemoEcho::of(&body).obj_to_primitive());
    match client.call(&rpc_ctx, "echo_object", args).await {
        Ok(v) => match DemoEcho::from_wire(&v) {
            // The HTTP reply keeps the shape of the plain `echo` method's.
            Ok(echo) => json_response(
                StatusCode::OK,
                &json!({
                    "result": echo.body_json(),
                    "served_by": {"host": echo.host.value(), "pid": echo.pid.value()},
                    "context": echo.context_json(),
                }),
            ),
            Err(e) => {
                tracing::error!("echo: the worker's reply is not a DemoEcho: {e}");
                error_response(StatusCode::INTERNAL_SERVER_ERROR, "the worker failed")
            }
        },
        Err(RpcError::Timeout { timeout, .. }) => error_response(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("no demo worker answered within {} s", timeout.as_secs()),
        ),
        Err(RpcError::Remote(e)) => {
            tracing::error!("echo failed in the worker: {e}");
            error_response(StatusCode::INTERNAL_SERVER_ERROR, "the worker failed")
        }
        Err(e) => {
            tracing::error!("echo: {e}");
            error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                "the messaging transport is unavailable",
            )
        }
    }
}

async fn services(ctx: &ApiContext) -> Response {
    match ctx.records.list().await {
        Ok(list) => json_response(StatusCode::OK, &json!({ "services": list })),
        Err(e) => {
            tracing::error!("listing services: {e}");
            error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                "the service records are unavailable",
            )
        }
    }
}

/// A paste loader with the demo's app factories registered under the names
/// `etc/demo/api-paste.ini` uses (fjord's native middleware and urlmap are
/// there already).
pub fn loader(ctx: ApiContext) -> Loader {
    let mut loader = Loader::new();
    let c = ctx.clone();
    loader.register_app("fjord_demo.api:versions_factory", move |_, _| {
        Ok(versions(c.clone()))
    });
    loader.register_app("fjord_demo.api:hello_factory", |_, _| Ok(hello()));
    // nova's pipeline_factory_v21: `[api] auth_strategy` names the
    // pipeline of the /v1 composite.
    loader.register_composite(
        "fjord_demo.api:pipeline_factory",
        fjord::http::loader::pipeline_factory(ctx.conf.auth_strategy.as_str()),
    );
    loader.register_filter(auth::NOAUTH2_FACTORY, |_, _| Ok(auth::noauth2()));
    fjord::keystone::register(&mut loader, ctx.conf.keystone_authtoken.clone());
    fjord::keystone::register_context(&mut loader);
    loader.register_app("fjord_demo.api:v1_factory", move |_, _| Ok(v1(ctx.clone())));
    loader
}

/// Loads the `demo` app from the paste ini.
///
/// # Errors
///
/// A missing or malformed file, a missing section or an unknown factory.
pub fn load_app(ctx: ApiContext) -> anyhow::Result<App> {
    let (paste, name) = match &ctx.conf.api_paste_config {
        Some(path) => (PasteConfig::from_file(path), path.display().to_string()),
        None => (
            PasteConfig::parse(crate::conf::BUILTIN_PASTE, crate::conf::BUILTIN_PASTE_NAME),
            crate::conf::BUILTIN_PASTE_NAME.to_owned(),
        ),
    };
    let paste = paste.map_err(|e| anyhow::anyhow!("api_paste_config {name}: {e}"))?;
    loader(ctx)
        .load_app(&paste, "demo")
        .map_err(|e| anyhow::anyhow!("api_paste_config {name}: {e}"))
}

/// The API service: the HTTP server and the API's service record (S4).
#[derive(Debug)]
pub struct ApiService {
    http: HttpService,
    heartbeat: Heartbeat,
    tg: TaskGroup,
}

impl ApiService {
    /// The URL the API listens on.
    pub fn url(&self) -> String {
        self.http.url()
    }
}

#[async_trait]
impl Service for ApiService {
    fn name(&self) -> &str {
        "demo-api"
    }

    async fn start(&self) -> fjord::service::Result<()> {
        self.http.start().await?;
        self.heartbeat.start(&self.tg);
        Ok(())
    }

    async fn stop(&self, graceful: bool) {
        self.http.stop(graceful).await;
        self.tg.stop(graceful).await;
    }

    async fn wait(&self) {
        self.http.wait().await;
        self.tg.wait().await;
    }

    fn close_listeners(&self) {
        self.http.close_listeners();
    }

    fn listeners(&self) -> Vec<(String, std::os::fd::RawFd)> {
        self.http.listeners()
    }

    fn stops_first(&self) -> bool {
        true
    }

    async fn reset(&self) -> fjord::service::Result<()> {
        self.http.reset().await?;
        self.tg.reset();
        Ok(())
    }
}

/// Binds the API's socket (in the master, before fork) and checks the paste
/// pipeline loads; each worker loads its own app after fork.
///
/// # Errors
///
/// A bad paste file, or a socket that cannot be bound.
pub fn build(
    conf: Arc<DemoConf>,
    make_ctx: impl Fn() -> ApiContext + Send + Sync + 'static,
) -> anyhow::Result<ApiService> {
    let heartbeat = crate::records::heartbeat(&conf, "demo-api", "api");
    // Fail at start, not in every worker: the pipeline must load.
    load_app(make_ctx())?;
    let options = conf.server.clone().name("demo-api");
    let service = HttpService::bind_with(options, move || match load_app(make_ctx()) {
        Ok(app) => app,
        Err(e) => {
            tracing::error!("{e}");
            app(|_req: Request| async {
                error_response(StatusCode::INTERNAL_SERVER_ERROR, "the API failed to load")
            })
        }
    })?;
    Ok(ApiService {
        http: service,
        heartbeat,
        tg: TaskGroup::default(),
    })
}
