//! Building tower services from paste files: pipelines, filter-with,
//! filter-app, `use`, url maps, errors, and `describe`.

use crate::support::apps;

use std::sync::{Arc, Mutex};

use apps::{header, named, request, send, tracer};
use fjord_http::loader::{
    Conf, FactoryError, Loader, LoaderError, OriginalUri, PasteConfig, describe_with,
};
use fjord_http::{App, Request, Response, full};

const INI: &str = "\
[DEFAULT]
region = north

[composite:main]
use = egg:Paste#urlmap
/ = root
/api = api
/api/v2 = v2
domain admin.example.com /api = admin

[pipeline:api]
pipeline = f1 f2 base

[filter:f1]
paste.filter_factory = test:tracer
tag = one

[filter:f2]
use = f1
tag = two

[app:base]
paste.app_factory = test:recorder
color = red

[app:v2]
use = base
color = blue
filter-with = f1

[filter-app:root]
use = f2
next = base

[app:admin]
paste.app_factory = test:named_admin

[app:nested]
use = egg:Paste#urlmap
/inner = deep

[composite:deep]
use = egg:Paste#urlmap
/x = base
";

type Seen = Arc<Mutex<Vec<(String, String)>>>;

fn loader(seen: Seen) -> Loader {
    let mut loader = Loader::new();
    loader.register_filter("test:tracer", |_g: &Conf, l: &Conf| {
        Ok(tracer(l.get("tag").unwrap_or("?").to_owned()))
    });
    loader.register_app("test:recorder", move |g: &Conf, l: &Conf| {
        seen.lock().unwrap().push((
            g.get("region").unwrap_or_default().to_owned(),
            l.get("color").unwrap_or_default().to_owned(),
        ));
        Ok(named("base"))
    });
    loader.register_app("test:named_admin", |_g, _l| Ok(named("admin")));
    loader
}

fn config() -> PasteConfig {
    PasteConfig::parse(INI, "/etc/test/api-paste.ini").unwrap()
}

#[tokio::test]
async fn pipeline_filters_wrap_in_order_first_outermost() {
    let seen = Seen::default();
    let app = loader(seen.clone()).load_app(&config(), "api").unwrap();
    let (parts, body) = send(&app, request("GET", "/things")).await;
    assert_eq!(body, "base /things");
    // f2 is inner (adds first on the way out), f1 outermost.
    assert_eq!(header(&parts, "x-trace"), "two,one");
    assert_eq!(
        *seen.lock().unwrap(),
        [("north".to_owned(), "red".to_owned())]
    );
}

#[tokio::test]
async fn filter_with_and_filter_app_and_use_merge_local_conf() {
    let seen = Seen::default();
    let l = loader(seen.clone());
    let app = l.load_app(&config(), "v2").unwrap();
    let (parts, _) = send(&app, request("GET", "/")).await;
    assert_eq!(header(&parts, "x-trace"), "one");
    let app = l.load_app(&config(), "root").unwrap();
    let (parts, _) = send(&app, request("GET", "/")).await;
    assert_eq!(header(&parts, "x-trace"), "two");
    assert_eq!(
        *seen.lock().unwrap(),
        [
            ("north".to_owned(), "blue".to_owned()),
            ("north".to_owned(), "red".to_owned())
        ]
    );
}

#[tokio::test]
async fn urlmap_longest_prefix_script_name_and_domains() {
    let app = loader(Seen::default()).load_app(&config(), "main").unwrap();
    let cases = [
        ("/", "base /", ""),
        ("/apix", "base /apix", ""),
        ("/api", "base /", "/api"),
        ("/api/", "base /", "/api"),
        ("/api/v1/x", "base /v1/x", "/api"),
        ("/api/v2/x", "base /x", "/api/v2"),
    ];
    for (path, want_body, want_script) in cases {
        let (parts, body) = send(&app, request("GET", path)).await;
        assert_eq!(body, want_body, "{path}");
        assert_eq!(header(&parts, "x-script-name"), want_script, "{path}");
    }
    // A domain entry wins over the plain path for that host only.
    let mut req = request("GET", "/api/z");
    req.headers_mut()
        .insert("host", "Admin.Example.com:80".parse().unwrap());
    let (parts, body) = send(&app, req).await;
    assert_eq!(body, "admin /z");
    assert_eq!(header(&parts, "x-app"), "admin");
}

#[tokio::test]
async fn nested_urlmaps_accumulate_script_name_and_keep_original_uri() {
    let app = loader(Seen::default())
        .load_app(&config(), "nested")
        .unwrap();
    let (parts, body) = send(&app, request("GET", "/inner/x/leaf?q=1")).await;
    assert_eq!(body, "base /leaf");
    assert_eq!(header(&parts, "x-script-name"), "/inner/x");
    let (parts, _) = send(&app, request("GET", "/elsewhere")).await;
    assert_eq!(parts.status, 404);

    // The inner app sees the query string and the original URI.
    let mut l = Loader::new();
    l.register_app("test:recorder", |_g, _l| {
        Ok(App::new(tower::service_fn(|req: Request| async move {
            let original = req
                .extensions()
                .get::<OriginalUri>()
                .map(|o| o.0.to_string())
                .unwrap_or_default();
            Ok::<_, std::convert::Infallible>(Response::new(full(format!(
                "{} {original}",
                req.uri()
            ))))
        })))
    });
    let app = l.load_app(&config(), "deep").unwrap();
    let (_, body) = send(&app, request("GET", "/x/y?q=1")).await;
    assert_eq!(body, "/y?q=1 /x/y?q=1");
}

fn err_of(ini: &str, name: &str, l: &Loader) -> LoaderError {
    let config = PasteConfig::parse(ini, "/etc/t/paste.ini").unwrap();
    match l.load_app(&config, name) {
        Ok(_) => panic!("loading {name} should fail"),
        Err(e) => e,
    }
}

#[test]
fn errors_name_the_section_and_file() {
    let l = loader(Seen::default());
    let e = err_of(INI, "nope", &l);
    assert!(matches!(e, LoaderError::Resolve { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(
        msg.contains("'nope'") && msg.contains("/etc/t/paste.ini"),
        "{msg}"
    );

    let e = err_of(
        "[app:main]\npaste.app_factory = my.mod:factory\n",
        "main",
        &l,
    );
    let msg = e.to_string();
    assert!(matches!(e, LoaderError::UnknownFactory { .. }), "{e:?}");
    assert!(
        msg.contains("my.mod:factory")
            && msg.contains("[app:main]")
            && msg.contains("/etc/t/paste.ini"),
        "{msg}"
    );

    let e = err_of("[app:a]\nuse = b\n[app:b]\nuse = a\n", "a", &l);
    let msg = e.to_string();
    assert!(
        msg.contains("RecursionError") && msg.contains("app:a -> ") && msg.contains("app:b"),
        "{msg}"
    );

    let e = err_of(
        "[composite:a]\nuse = egg:Paste#urlmap\n/x = b\n[composite:b]\nuse = egg:Paste#urlmap\n/y = a\n",
        "a",
        &l,
    );
    assert!(matches!(e, LoaderError::Loop { .. }), "{e:?}");
    assert!(
        e.to_string()
            .contains("composite:a -> composite:b -> composite:a"),
        "{e}"
    );

    let e = err_of(
        "[app:main]\nuse = egg:oslo.middleware#request_id\n",
        "main",
        &l,
    );
    assert!(
        e.to_string().contains("Entry point 'request_id' not found"),
        "{e}"
    );

    let e = err_of(
        "[pipeline:main]\npipeline = base\n[filter:base]\npaste.filter_factory = test:tracer\n",
        "main",
        &l,
    );
    assert!(e.to_string().contains("No section 'base'"), "{e}");

    let mut failing = Loader::new();
    failing.register_app("x:y", |_g, l| {
        Err(FactoryError::new(format!(
            "bad color {:?}",
            l.get("color").unwrap_or_default()
        )))
    });
    let e = err_of(
        "[app:main]\npaste.app_factory = x:y\ncolor = mauve\n",
        "main",
        &failing,
    );
    assert!(matches!(e, LoaderError::Factory { .. }), "{e:?}");
    assert!(
        e.to_string().contains("bad color \"mauve\"") && e.to_string().contains("[app:main]"),
        "{e}"
    );
}

#[test]
fn unreadable_files_are_clear_errors() {
    let dir = std::env::temp_dir().join(format!("fjord-loader-build-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("api-paste.ini");
    std::fs::write(
        &path,
        "[app:main]\npaste.app_factory = a:b\ncolor = 1\ncolor = 2\n",
    )
    .unwrap();
    let e = Loader::new().load_app_from_file(&path, "main").unwrap_err();
    match &e {
        LoaderError::Parse { source, .. } => {
            assert_eq!(source.line, 4);
            assert_eq!(source.kind.class(), "DuplicateOptionError");
        }
        other => panic!("{other:?}"),
    }
    assert!(e.to_string().contains("api-paste.ini"), "{e}");
    let e = Loader::new()
        .load_app_from_file(dir.join("missing.ini"), "main")
        .unwrap_err();
    assert!(
        matches!(e, LoaderError::Io { .. }) && e.to_string().contains("missing.ini"),
        "{e}"
    );

    // describe reports the same, as JSON.
    let d = describe_with(&path, &Loader::new());
    assert_eq!(d["ok"], false);
    assert_eq!(d["error"]["class"], "DuplicateOptionError");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn describe_marks_native_and_missing_factories() {
    let dir = std::env::temp_dir().join(format!("fjord-loader-describe-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("api-paste.ini");
    std::fs::write(
        &path,
        "[composite:main]\nuse = egg:Paste#urlmap\n/v1 = api\n\n[pipeline:api]\npipeline = request_id auth app\n\n\
         [filter:request_id]\npaste.filter_factory = oslo_middleware:RequestId.factory\n\n\
         [filter:auth]\npaste.filter_factory = my.auth:filter_factory\n\n[app:app]\npaste.app_factory = my.api:factory\n",
    )
    .unwrap();
    let mut l = Loader::new();
    l.register_app("my.api:factory", |_g, _l| Ok(named("x")));
    let d = describe_with(&path, &l);
    assert_eq!(d["ok"], true, "{d}");
    let sections = d["sections"].as_array().unwrap();
    let main = &sections[0];
    assert_eq!(main["type"], "composite");
    assert_eq!(main["context"]["factory"]["provider"], "fjord");
    assert_eq!(main["context"]["urlmap"]["/v1"], "api");
    let api = &sections[1];
    assert_eq!(
        api["context"]["chain"]["filters"],
        serde_json::json!(["filter:request_id", "filter:auth"])
    );
    assert_eq!(api["context"]["chain"]["app"], "app:app");
    let providers: Vec<(String, String)> = d["factories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["name"].as_str().unwrap().to_owned(),
                f["provider"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        providers.contains(&("oslo_middleware:RequestId.factory".into(), "fjord".into())),
        "{providers:?}"
    );
    assert!(
        providers.contains(&("my.auth:filter_factory".into(), "missing".into())),
        "{providers:?}"
    );
    assert!(
        providers.contains(&("my.api:factory".into(), "application".into())),
        "{providers:?}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn use_config_loads_from_another_file() {
    let dir = std::env::temp_dir().join(format!("fjord-loader-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("shared.ini"),
        "[DEFAULT]\nowner = shared\n[app:common]\npaste.app_factory = test:recorder\ncolor = %(owner)s-green\n",
    )
    .unwrap();
    let main = dir.join("api-paste.ini");
    std::fs::write(
        &main,
        "[DEFAULT]\nregion = south\n[app:main]\nuse = config:shared.ini#common\n",
    )
    .unwrap();
    let seen = Seen::default();
    let app = loader(seen.clone())
        .load_app_from_file(&main, "main")
        .unwrap();
    let (_, body) = send(&app, request("GET", "/a")).await;
    assert_eq!(body, "base /a");
    // The global conf of the referencing file reaches the other file's app.
    assert_eq!(
        *seen.lock().unwrap(),
        [("south".to_owned(), "shared-green".to_owned())]
    );

    std::fs::write(&main, "[app:main]\nuse = config:nowhere.ini#common\n").unwrap();
    let e = loader(Seen::default())
        .load_app_from_file(&main, "main")
        .unwrap_err();
    assert!(e.to_string().contains("nowhere.ini"), "{e}");
    std::fs::remove_dir_all(&dir).ok();
}
