//! What the Keystone tests share: the throwaway Keystone started by
//! `scripts/keystone.sh` (found through its env file), a Keystone client
//! for tokens, an app served by fjord-http behind the filter, and a
//! counting loopback proxy that can play a stopped or hung Keystone.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use fjord_http::loader::{Loader, PasteConfig};
use fjord_http::server::{HttpService, ServerOptions};
use fjord_http::{App, Request, Response, full};
use fjord_service::Service;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The throwaway Keystone of `scripts/keystone.sh` (fjord-test-support).
pub(crate) use fjord_test_support::keystone::{Keystone as Ks, keystone};

pub(crate) type HttpClient = Client<HttpConnector, Full<Bytes>>;

pub(crate) fn client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build(HttpConnector::new())
}

/// A plain HTTP request; the answer's status, headers and body.
pub(crate) async fn send(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<String>,
) -> (http::StatusCode, http::HeaderMap, String) {
    let mut req = http::Request::builder().method(method).uri(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if body.is_some() {
        req = req.header("content-type", "application/json");
    }
    let req = req
        .body(Full::new(Bytes::from(body.unwrap_or_default())))
        .expect("request");
    let resp = tokio::time::timeout(Duration::from_secs(30), client().request(req))
        .await
        .unwrap_or_else(|_| panic!("{method} {url}: no answer in 30 s"))
        .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let (parts, body) = resp.into_parts();
    let body = body.collect().await.expect("body").to_bytes();
    (
        parts.status,
        parts.headers,
        String::from_utf8_lossy(&body).into_owned(),
    )
}

/// A project-scoped token for `who` (`ADMIN`, `MEMBER` or `SERVICE`).
pub(crate) async fn token(ks: &Ks, who: &str) -> String {
    let body = serde_json::json!({"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": ks.get(&format!("KS_{who}_USER")),
            "domain": {"id": "default"},
            "password": ks.get(&format!("KS_{who}_PASSWORD")),
        }}},
        "scope": {"project": {"name": ks.get(&format!("KS_{who}_PROJECT")), "domain": {"id": "default"}}}
    }});
    let (status, headers, text) = send(
        "POST",
        &format!("{}/auth/tokens", ks.url()),
        &[],
        Some(body.to_string()),
    )
    .await;
    assert_eq!(status, 201, "login of {who}: {text}");
    headers["x-subject-token"]
        .to_str()
        .expect("token")
        .to_owned()
}

/// Revokes `victim` with the admin's token.
pub(crate) async fn revoke(ks: &Ks, victim: &str) {
    let admin = token(ks, "ADMIN").await;
    let (status, _, text) = send(
        "DELETE",
        &format!("{}/auth/tokens", ks.url()),
        &[("x-auth-token", &admin), ("x-subject-token", victim)],
        None,
    )
    .await;
    assert_eq!(status, 204, "revoke: {text}");
}

/// `[keystone_authtoken]` for the test Keystone's service user, through
/// `auth_url` (the real Keystone or a proxy in front of it), plus `extra`.
pub(crate) fn authtoken_section(ks: &Ks, auth_url: &str, extra: &[(&str, &str)]) -> String {
    let mut s = format!(
        "[filter:authtoken]\n\
         paste.filter_factory = keystonemiddleware.auth_token:filter_factory\n\
         www_authenticate_uri = {www}\n\
         auth_type = password\n\
         auth_url = {auth_url}\n\
         username = {user}\n\
         password = {password}\n\
         project_name = {project}\n\
         user_domain_id = default\n\
         project_domain_id = default\n",
        www = ks.url(),
        user = ks.get("KS_SERVICE_USER"),
        password = ks.get("KS_SERVICE_PASSWORD"),
        project = ks.get("KS_SERVICE_PROJECT"),
    );
    for (k, v) in extra {
        s.push_str(&format!("{k} = {v}\n"));
    }
    s
}

/// The app behind the filter: answers 200 with the `X-*` and
/// `OpenStack-*` request headers it saw as a JSON object (names lower
/// case), and `"user_token_extension"`: whether the filter put a
/// `UserToken` in the extensions. `/unauthorized` answers 401.
pub(crate) fn echo_app() -> App {
    App::new(tower::service_fn(|req: Request| async move {
        if req.uri().path() == "/unauthorized" {
            let mut r = Response::new(full("no"));
            *r.status_mut() = http::StatusCode::UNAUTHORIZED;
            return Ok::<_, Infallible>(r);
        }
        let mut seen = serde_json::Map::new();
        for (k, v) in req.headers() {
            let k = k.as_str();
            if k.starts_with("x-") || k.starts_with("openstack-") {
                seen.insert(
                    k.to_owned(),
                    serde_json::Value::String(v.to_str().unwrap_or("?").to_owned()),
                );
            }
        }
        seen.insert(
            "user_token_extension".into(),
            serde_json::Value::Bool(
                req.extensions()
                    .get::<fjord_keystone::UserToken>()
                    .is_some(),
            ),
        );
        Ok(Response::new(full(
            serde_json::Value::Object(seen).to_string(),
        )))
    }))
}

/// The app that answers with the `RequestContext` the keystonecontext
/// filter gave it, as JSON (`"context": null` without one).
pub(crate) fn context_app() -> App {
    App::new(tower::service_fn(|req: Request| async move {
        let body = match fjord_keystone::request_context(&req) {
            Some(c) => serde_json::json!({
                "request_id": c.request_id,
                "global_request_id": c.global_request_id,
                "user_id": c.user_id,
                "user_name": c.user_name,
                "project_id": c.project_id,
                "roles": c.roles,
                "is_admin_project": c.is_admin_project,
                "system_scope": c.system_scope,
                "has_auth_token": c.auth_token.is_some(),
            }),
            None => serde_json::json!({"context": null}),
        };
        Ok::<_, Infallible>(Response::new(full(body.to_string())))
    }))
}

/// The app of `pipeline = authtoken echo` with `section` as the filter,
/// served on a loopback port.
pub(crate) struct Served {
    pub(crate) service: HttpService,
    pub(crate) url: String,
}

impl Served {
    pub(crate) async fn start(section: &str) -> Served {
        Served::start_pipeline("authtoken echo", section).await
    }

    /// `pipeline` (of `authtoken`, `keystonecontext`, `request_id` and the
    /// apps `echo` and `context`) with `section` as the authtoken filter.
    pub(crate) async fn start_pipeline(pipeline: &str, section: &str) -> Served {
        let ini = format!(
            "[pipeline:main]\npipeline = {pipeline}\n\n{section}\n\
             [filter:keystonecontext]\npaste.filter_factory = nova.api.auth:NovaKeystoneContext.factory\n\n\
             [filter:request_id]\npaste.filter_factory = oslo_middleware:RequestId.factory\n\n\
             [app:echo]\npaste.app_factory = tests:echo\n\n\
             [app:context]\npaste.app_factory = tests:context\n"
        );
        let paste = PasteConfig::parse(&ini, "api-paste.ini").expect("paste");
        let mut loader = Loader::new();
        fjord_keystone::register(&mut loader, Default::default());
        fjord_keystone::register_context(&mut loader);
        loader.register_app("tests:echo", |_, _| Ok(echo_app()));
        loader.register_app("tests:context", |_, _| Ok(context_app()));
        let app = loader.load_app(&paste, "main").expect("load the pipeline");
        let options = ServerOptions::new("keystone-test")
            .listen("127.0.0.1")
            .port(0);
        let service = HttpService::bind(options, app).expect("bind");
        service.start().await.expect("start");
        let url = format!("http://{}", service.local_addr());
        Served { service, url }
    }

    /// `GET path` with `headers`.
    pub(crate) async fn get(
        &self,
        path: &str,
        headers: &[(&str, &str)],
    ) -> (http::StatusCode, http::HeaderMap, String) {
        send("GET", &format!("{}{path}", self.url), headers, None).await
    }

    pub(crate) async fn stop(self) {
        self.service.stop(false).await;
    }
}

/// The JSON object the echo app answered.
pub(crate) fn seen(body: &str) -> serde_json::Map<String, serde_json::Value> {
    match serde_json::from_str(body) {
        Ok(serde_json::Value::Object(m)) => m,
        _ => panic!("not the echo app's answer: {body}"),
    }
}

const FORWARD: u8 = 0;
const HANG: u8 = 1;
const DOWN: u8 = 2;

/// A loopback TCP proxy in front of Keystone that counts the token
/// validations (`GET /v3/auth/tokens`) going through it, and can play a
/// Keystone that is stopped (nothing listens) or hung (accepts, never
/// answers).
pub(crate) struct Proxy {
    pub(crate) port: u16,
    target: u16,
    validations: Arc<AtomicUsize>,
    mode: Arc<AtomicU8>,
    listener: Option<tokio::task::JoinHandle<()>>,
    conns: Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Proxy {
    pub(crate) async fn start(target: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let port = listener.local_addr().expect("addr").port();
        let mut p = Proxy {
            port,
            target,
            validations: Arc::new(AtomicUsize::new(0)),
            mode: Arc::new(AtomicU8::new(FORWARD)),
            listener: None,
            conns: Default::default(),
        };
        p.listen(listener);
        p
    }

    /// `http://127.0.0.1:PORT/v3`.
    pub(crate) fn url(&self) -> String {
        format!("http://127.0.0.1:{}/v3", self.port)
    }

    pub(crate) fn validations(&self) -> usize {
        self.validations.load(Ordering::SeqCst)
    }

    fn listen(&mut self, listener: TcpListener) {
        let (target, validations, mode, conns) = (
            self.target,
            self.validations.clone(),
            self.mode.clone(),
            self.conns.clone(),
        );
        self.listener = Some(tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (validations, mode) = (validations.clone(), mode.clone());
                let task = tokio::spawn(async move {
                    if mode.load(Ordering::SeqCst) == HANG {
                        // Accept, read, never answer.
                        let mut client = client;
                        let mut buf = [0u8; 4096];
                        while let Ok(n) = client.read(&mut buf).await {
                            if n == 0 {
                                break;
                            }
                        }
                        return;
                    }
                    let Ok(server) =
                        TcpStream::connect(SocketAddr::from(([127, 0, 0, 1], target))).await
                    else {
                        return;
                    };
                    pipe(client, server, validations).await;
                });
                conns.lock().unwrap().push(task);
            }
        }));
    }

    /// Nothing listens on the port any more; open connections are cut.
    pub(crate) fn stop_listening(&mut self) {
        self.mode.store(DOWN, Ordering::SeqCst);
        if let Some(l) = self.listener.take() {
            l.abort();
        }
        for c in self.conns.lock().unwrap().drain(..) {
            c.abort();
        }
    }

    /// New connections are accepted and never answered.
    pub(crate) async fn hang(&mut self) {
        self.stop_listening();
        self.mode.store(HANG, Ordering::SeqCst);
        self.rebind().await;
    }

    /// Forwarding again, on the same port.
    pub(crate) async fn resume(&mut self) {
        self.stop_listening();
        self.mode.store(FORWARD, Ordering::SeqCst);
        self.rebind().await;
    }

    async fn rebind(&mut self) {
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let mut last = None;
        for _ in 0..50 {
            match TcpListener::bind(addr).await {
                Ok(l) => {
                    self.listen(l);
                    return;
                }
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("proxy: cannot bind {addr} again: {last:?}");
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop_listening();
    }
}

/// Copies both ways; counts `GET /v3/auth/tokens` request lines going to
/// Keystone.
async fn pipe(client: TcpStream, server: TcpStream, validations: Arc<AtomicUsize>) {
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let up = async move {
        let needle = b"GET /v3/auth/tokens";
        let mut tail: Vec<u8> = Vec::new();
        let mut buf = vec![0u8; 16384];
        loop {
            let n = match cr.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            tail.extend_from_slice(&buf[..n]);
            let count = tail.windows(needle.len()).filter(|w| w == needle).count();
            validations.fetch_add(count, Ordering::SeqCst);
            // Keep what could be the start of a request line cut in two.
            let keep = tail.len().min(needle.len() - 1);
            tail.drain(..tail.len() - keep);
            if sw.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        let _ = sw.shutdown().await;
    };
    let down = async move {
        let _ = tokio::io::copy(&mut sr, &mut cw).await;
        let _ = cw.shutdown().await;
    };
    tokio::join!(up, down);
}

/// A new user `name` with `password` and the `service` role in the
/// service project, for a test that changes its user (the shared service
/// user stays untouched); its id.
pub(crate) async fn create_service_user(ks: &Ks, name: &str, password: &str) -> String {
    let admin = token(ks, "ADMIN").await;
    let auth = [("x-auth-token", admin.as_str())];
    let body = serde_json::json!({"user": {
        "name": name, "domain_id": "default", "password": password,
        "default_project_id": ks.get("KS_SERVICE_PROJECT_ID"),
    }});
    let (status, _, text) = send(
        "POST",
        &format!("{}/users", ks.url()),
        &auth,
        Some(body.to_string()),
    )
    .await;
    assert_eq!(status, 201, "create user {name}: {text}");
    let user: serde_json::Value = serde_json::from_str(&text).expect("user");
    let user_id = user["user"]["id"].as_str().expect("user id").to_owned();
    let (status, _, text) = send(
        "GET",
        &format!("{}/roles?name=service", ks.url()),
        &auth,
        None,
    )
    .await;
    assert_eq!(status, 200, "{text}");
    let roles: serde_json::Value = serde_json::from_str(&text).expect("roles");
    let role = roles["roles"][0]["id"].as_str().expect("role id");
    let (status, _, text) = send(
        "PUT",
        &format!(
            "{}/projects/{}/users/{user_id}/roles/{role}",
            ks.url(),
            ks.get("KS_SERVICE_PROJECT_ID")
        ),
        &auth,
        None,
    )
    .await;
    assert_eq!(status, 204, "{text}");
    user_id
}

/// A TLS front for Keystone: a CA (`ca.pem` in `dir`), a server
/// certificate for 127.0.0.1 signed by it, and a loopback listener that
/// terminates TLS and forwards the plain bytes to Keystone.
pub(crate) struct TlsFront {
    pub(crate) port: u16,
    pub(crate) ca_file: PathBuf,
    pub(crate) dir: PathBuf,
    task: tokio::task::JoinHandle<()>,
}

impl TlsFront {
    pub(crate) async fn start(target: u16) -> TlsFront {
        use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
        use rustls_pki_types::pem::PemObject;
        use rustls_pki_types::{CertificateDer, PrivateKeyDer};
        let dir = fjord_test_support::temp_dir("keystone-tls");
        let ca_key = KeyPair::generate().expect("ca key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "fjord keystone test CA");
        let ca_cert = ca_params.self_signed(&ca_key).expect("ca cert");
        let issuer = Issuer::new(ca_params, ca_key);
        let server_key = KeyPair::generate().expect("server key");
        let server_cert = CertificateParams::new(vec!["127.0.0.1".to_owned()])
            .expect("server params")
            .signed_by(&server_key, &issuer)
            .expect("server cert");
        let ca_file = dir.join("ca.pem");
        std::fs::write(&ca_file, ca_cert.pem()).expect("write ca");
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from_pem_slice(server_cert.pem().as_bytes()).expect("cert")],
            PrivateKeyDer::from_pem_slice(server_key.serialize_pem().as_bytes()).expect("key"),
        )
        .expect("server config");
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind tls");
        let port = listener.local_addr().expect("addr").port();
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let Ok(mut plain) =
                        TcpStream::connect(SocketAddr::from(([127, 0, 0, 1], target))).await
                    else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                });
            }
        });
        TlsFront {
            port,
            ca_file,
            dir,
            task,
        }
    }

    /// `https://127.0.0.1:PORT/v3`.
    pub(crate) fn url(&self) -> String {
        format!("https://127.0.0.1:{}/v3", self.port)
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        self.task.abort();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
