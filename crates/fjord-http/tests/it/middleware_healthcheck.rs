//! Healthcheck: `/healthcheck` answers 200 `OK`, 503 while the disable
//! file exists, HEAD without a body; other paths reach the app.

use crate::support::apps;

use apps::{header, named, request, send};
use fjord_http::App;
use fjord_http::loader::{Loader, PasteConfig};
use fjord_http::middleware::{HealthcheckConfig, HealthcheckLayer, healthcheck_app};
use tower::Layer;

#[tokio::test]
async fn answers_at_its_path_and_passes_the_rest() {
    let app = App::new(HealthcheckLayer::new(HealthcheckConfig::default()).layer(named("app")));
    let (parts, body) = send(&app, request("GET", "/healthcheck")).await;
    assert_eq!(parts.status, 200);
    assert_eq!(body, "OK");
    assert_eq!(header(&parts, "x-app"), "");
    let (parts, body) = send(&app, request("GET", "/servers")).await;
    assert_eq!(body, "app /servers");
    assert_eq!(header(&parts, "x-app"), "app");
    let (parts, body) = send(&app, request("HEAD", "/healthcheck")).await;
    assert_eq!(parts.status, 200);
    assert!(body.is_empty());
    assert_eq!(header(&parts, "content-length"), "2");
}

#[tokio::test]
async fn disable_by_file_gives_503_while_the_file_exists() {
    let dir = std::env::temp_dir().join(format!("fjord-hc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("disabled");
    let ini = format!(
        "[pipeline:main]\npipeline = hc app\n[filter:hc]\nuse = egg:oslo.middleware#healthcheck\nbackends = disable_by_file\ndisable_by_file_path = {}\npath = /health\n[app:app]\npaste.app_factory = t:app\n[app:hcapp]\npaste.app_factory = oslo_middleware:Healthcheck.app_factory\ndisable_by_file_path = {}\n",
        file.display(),
        file.display()
    );
    let mut overrides = Loader::new();
    overrides.register_app("t:app", |_g, _l| Ok(named("app")));
    // oslo.middleware 8 ships healthcheck as an app entry point only; the
    // filter spelling used by older files is added like the corpus does.
    overrides.eggs_mut().insert(
        "oslo.middleware",
        "paste.filter_factory",
        "healthcheck",
        "oslo_middleware:Healthcheck.factory",
    );
    let config = PasteConfig::parse(&ini, "t.ini").unwrap();
    let app = overrides.load_app(&config, "main").unwrap();
    let standalone = overrides.load_app(&config, "hcapp").unwrap();

    let (parts, body) = send(&app, request("GET", "/health")).await;
    assert_eq!((parts.status.as_u16(), &body[..]), (200, &b"OK"[..]));
    std::fs::write(&file, b"").unwrap();
    let (parts, body) = send(&app, request("GET", "/health")).await;
    assert_eq!(
        (parts.status.as_u16(), &body[..]),
        (503, &b"DISABLED BY FILE"[..])
    );
    let (parts, body) = send(&standalone, request("GET", "/anything")).await;
    assert_eq!(
        (parts.status.as_u16(), &body[..]),
        (503, &b"DISABLED BY FILE"[..])
    );
    let (parts, body) = send(&app, request("HEAD", "/health")).await;
    assert_eq!(parts.status, 503);
    assert!(body.is_empty());
    std::fs::remove_file(&file).unwrap();
    let (parts, _) = send(&app, request("GET", "/health")).await;
    assert_eq!(parts.status, 200);
    let (parts, _) = send(&app, request("GET", "/healthcheck")).await;
    assert_eq!(header(&parts, "x-app"), "app", "custom path only");
    std::fs::remove_dir_all(&dir).ok();

    let app = healthcheck_app(HealthcheckConfig::default());
    let (parts, body) = send(&app, request("GET", "/")).await;
    assert_eq!((parts.status.as_u16(), &body[..]), (200, &b"OK"[..]));
}

#[test]
fn unknown_backend_is_a_clear_error() {
    let ini = "[filter:hc]\npaste.filter_factory = oslo_middleware:Healthcheck.factory\nbackends = disable_by_files_ports\n";
    let err = Loader::new()
        .load_filter(&PasteConfig::parse(ini, "t.ini").unwrap(), "hc")
        .err()
        .unwrap();
    assert!(err.to_string().contains("disable_by_files_ports"), "{err}");
}
