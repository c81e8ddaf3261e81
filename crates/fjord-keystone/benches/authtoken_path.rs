//! What the authtoken filter costs a request on its cached path, measured
//! in process: the same app with and without the filter in front, in
//! turn, on the same runtime; prints a Markdown table.
//!
//! ```text
//! cargo bench -p fjord-keystone --bench authtoken_path      # or --profile dist
//! ```
//!
//! The filter validates against a stand-in Keystone on loopback (a hyper
//! server answering the login and the validation with the bodies Keystone
//! 30 sends), once: every timed request then takes the cached path. Each
//! sample times `OPS` requests; `SAMPLES` samples of each side alternate.
//! The end-to-end figures (HTTP, one worker, vs keystonemiddleware) are
//! bench/keystone_bench.py's.

#![allow(missing_docs)]

use std::convert::Infallible;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use fjord_http::loader::Conf;
use fjord_http::{App, Request, Response, full};
use fjord_keystone::{AuthTokenConfig, AuthTokenLayer};
use http_body_util::Full;
use tower::{Layer, Service, ServiceExt};

const OPS: u32 = 20_000;
const SAMPLES: usize = 11;
const TOKEN: &str = "gAAAAABrFU7vjFq0X3241ZFExsZ9PQxfBENCHBENCHBENCHBENCHBENCHBENCHBENCHBENCHBENCHBENCHBENCHBENCHBENCHBENCHBENCHBENCHBENCHBENCHBENCHBENCHBENCHBENCHBENCHBENCHBENCHBENCHBENCH";

fn token_body() -> String {
    let expires = time_text(SystemTime::now() + Duration::from_secs(3600));
    serde_json::json!({"token": {
        "methods": ["password"],
        "user": {"domain": {"id": "default", "name": "Default"},
                 "id": "6893a03cf04d4517847d79b1176bc226", "name": "admin", "password_expires_at": null},
        "audit_ids": ["aClqLcDjQBaBCclrgP8smw"],
        "expires_at": expires,
        "issued_at": "2026-12-06T12:02:55.000000Z",
        "project": {"domain": {"id": "default", "name": "Default"},
                    "id": "6dd1cb9fa7c24abc949a81de3b93602c", "name": "admin"},
        "is_domain": false,
        "roles": [{"id": "2f39", "name": "manager"}, {"id": "f256", "name": "member"},
                  {"id": "d87f", "name": "admin"}, {"id": "4ad2", "name": "reader"}],
        "catalog": [{"endpoints": [
            {"id": "c1", "interface": "public", "region_id": "RegionOne", "url": "http://127.0.0.1:5000/v3/", "region": "RegionOne"},
            {"id": "c2", "interface": "internal", "region_id": "RegionOne", "url": "http://127.0.0.1:5000/v3/", "region": "RegionOne"},
            {"id": "c3", "interface": "admin", "region_id": "RegionOne", "url": "http://127.0.0.1:5000/v3/", "region": "RegionOne"}],
            "id": "210a", "type": "identity", "name": "keystone"}]
    }})
    .to_string()
}

/// `2026-12-06T13:02:55.000000Z` for `t` (UTC, civil from days).
fn time_text(t: SystemTime) -> String {
    let secs = t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.000000Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// A stand-in Keystone: 201 + X-Subject-Token for a login, 200 + the
/// body for a validation. Returns its port.
async fn fake_keystone() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let body = Bytes::from(token_body());
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let body = body.clone();
            tokio::spawn(async move {
                let svc =
                    hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
                        let body = body.clone();
                        async move {
                            let mut resp = http::Response::new(Full::new(body));
                            if req.method() == http::Method::POST {
                                *resp.status_mut() = http::StatusCode::CREATED;
                                resp.headers_mut()
                                    .insert("x-subject-token", "service-token".parse().unwrap());
                            }
                            Ok::<_, Infallible>(resp)
                        }
                    });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(tcp), svc)
                    .await;
            });
        }
    });
    port
}

fn app() -> App {
    App::new(tower::service_fn(|req: Request| {
        let who = req
            .headers()
            .get("x-user-name")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("World")
            .to_owned();
        std::future::ready(Ok::<_, Infallible>(Response::new(full(format!(
            "Hello, {who}!"
        )))))
    }))
}

fn request() -> Request {
    http::Request::builder()
        .uri("/hello")
        .header("host", "127.0.0.1:8080")
        .header("user-agent", "wrk")
        .header("accept", "*/*")
        .header("x-auth-token", TOKEN)
        .body(fjord_http::Body::empty())
        .unwrap()
}

async fn time(app: &mut App) -> f64 {
    let started = Instant::now();
    for _ in 0..OPS {
        let resp = app.ready().await.unwrap().call(request()).await.unwrap();
        assert_eq!(resp.status(), 200);
        std::hint::black_box(resp);
    }
    started.elapsed().as_nanos() as f64 / f64::from(OPS)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let port = fake_keystone().await;
        let mut conf = Conf::new();
        conf.insert("auth_url", format!("http://127.0.0.1:{port}/v3"));
        conf.insert("username", "bench");
        conf.insert("password", "bench");
        conf.insert("region_name", "bench-no-such-region");
        let layer = AuthTokenLayer::new(AuthTokenConfig::from_conf(&conf).unwrap()).unwrap();
        let mut plain = app();
        let mut authed = App::new(layer.layer(app()));
        // The one validation; every timed request is then served from the cache.
        let body = authed.ready().await.unwrap().call(request()).await.unwrap();
        assert_eq!(body.status(), 200, "warm-up");
        time(&mut plain).await;
        time(&mut authed).await;
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for _ in 0..SAMPLES {
            a.push(time(&mut plain).await);
            b.push(time(&mut authed).await);
        }
        let (a, b) = (median(&mut a), median(&mut b));
        println!("| app (in process, {OPS} requests x {SAMPLES} samples, median) | ns/request |");
        println!("|---|---:|");
        println!("| the app alone | {a:.0} |");
        println!("| authtoken (cached token) + the app | {b:.0} |");
        println!("| the filter's cost | {:.0} |", b - a);
    });
}
