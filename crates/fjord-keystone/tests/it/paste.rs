//! Loading the filter from paste files the way OpenStack's api-paste.ini
//! files name it, and its option errors (no Keystone needed: nothing is
//! sent before the first request).

use fjord_http::loader::{Conf, Loader, PasteConfig};
use fjord_test_support::Logs;

use crate::support::echo_app;

fn loader(base: Conf) -> Loader {
    let mut loader = Loader::new();
    fjord_keystone::register(&mut loader, base);
    fjord_keystone::register_context(&mut loader);
    loader.register_app("tests:echo", |_, _| Ok(echo_app()));
    loader
}

fn base() -> Conf {
    let mut c = Conf::new();
    c.insert("auth_url", "http://127.0.0.1:1/v3");
    c.insert("username", "svc");
    c.insert("password", "secret-in-base");
    c
}

fn ini(filter: &str) -> String {
    format!(
        "[pipeline:main]\npipeline = authtoken echo\n\n[filter:authtoken]\n{filter}\n\n[app:echo]\npaste.app_factory = tests:echo\n"
    )
}

#[test]
fn every_name_openstack_files_use_loads() {
    for filter in [
        "paste.filter_factory = keystonemiddleware.auth_token:filter_factory",
        "use = egg:keystonemiddleware#auth_token",
        "paste.filter_factory = keystonemiddleware.auth_token:filter_factory\ndelay_auth_decision = true",
    ] {
        let paste = PasteConfig::parse(&ini(filter), "api-paste.ini").unwrap();
        loader(base())
            .load_app(&paste, "main")
            .unwrap_or_else(|e| panic!("{filter}: {e}"));
    }
}

#[test]
fn the_corpus_pipelines_with_authtoken_find_it() {
    // Real pipelines name the filter this way (nova, cinder, neutron, ...).
    let Some(dir) = fjord_test_support::shared_dir(
        "paste::the_corpus_pipelines_with_authtoken_find_it",
        "openstack-configs",
        "README.md",
    ) else {
        return;
    };
    let (mut found, mut contexts) = (0, 0);
    for file in fjord_test_support::files_ending(&dir, "paste.ini") {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        if !text.contains("keystonemiddleware.auth_token:filter_factory")
            || !text.contains("[filter:authtoken]")
        {
            continue;
        }
        let Ok(paste) = PasteConfig::parse(&text, &file.display().to_string()) else {
            continue;
        };
        let l = loader(base());
        l.load_filter(&paste, "authtoken")
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        found += 1;
        if text.contains("[filter:keystonecontext]") {
            l.load_filter(&paste, "keystonecontext")
                .unwrap_or_else(|e| panic!("{}: keystonecontext: {e}", file.display()));
            contexts += 1;
        }
    }
    assert!(
        found > 0,
        "no api-paste.ini with authtoken under {}",
        dir.display()
    );
    assert!(
        contexts >= 5,
        "nova, neutron, cinder, manila, karbor: {contexts}"
    );
}

#[test]
fn a_missing_option_is_an_error_naming_the_section_and_option() {
    let paste = PasteConfig::parse(
        &ini("paste.filter_factory = keystonemiddleware.auth_token:filter_factory"),
        "api-paste.ini",
    )
    .unwrap();
    let mut no_url = base();
    no_url.remove("auth_url");
    let err = loader(no_url)
        .load_app(&paste, "main")
        .unwrap_err()
        .to_string();
    assert!(err.contains("authtoken"), "{err}");
    assert!(err.contains("[keystone_authtoken] auth_url"), "{err}");

    let paste = PasteConfig::parse(
        &ini("paste.filter_factory = keystonemiddleware.auth_token:filter_factory\ntoken_cache_time = soon"),
        "api-paste.ini",
    )
    .unwrap();
    let err = loader(base())
        .load_app(&paste, "main")
        .unwrap_err()
        .to_string();
    assert!(err.contains("token_cache_time"), "{err}");
    assert!(!err.contains("secret-in-base"), "{err}");
}

#[test]
fn unknown_options_are_warned_not_fatal() {
    let logs = Logs::global();
    let paste = PasteConfig::parse(
        &ini("paste.filter_factory = keystonemiddleware.auth_token:filter_factory\nfjord_no_such_option_xyz = 1\nmemcached_servers = 127.0.0.1:11211"),
        "api-paste.ini",
    )
    .unwrap();
    loader(base()).load_app(&paste, "main").unwrap();
    assert_eq!(
        logs.lines_with(&[
            "fjord_no_such_option_xyz",
            "not known to keystonemiddleware"
        ])
        .len(),
        1,
        "{}",
        logs.text()
    );
    assert!(
        !logs
            .lines_with(&["memcached_servers", "not used by fjord"])
            .is_empty()
    );
}

#[test]
fn the_config_file_group_is_the_base_and_the_password_is_secret() {
    let dir = fjord_test_support::temp_dir("keystone-conf");
    let file = dir.join("api.conf");
    std::fs::write(
        &file,
        "[keystone_authtoken]\nauth_url = http://127.0.0.1:1/v3\nusername = svc\npassword = file-secret\ndelay_auth_decision = true\n",
    )
    .unwrap();
    let mut conf = fjord_config::ConfigOpts::new("api");
    fjord_keystone::config::register_opts(&mut conf).unwrap();
    conf.parse_args(["api", "--config-file", file.to_str().unwrap()])
        .unwrap();
    let base = fjord_keystone::config::conf_from(&conf).unwrap();
    assert_eq!(base.get("password"), Some("file-secret"));
    let cfg =
        fjord_keystone::AuthTokenConfig::from_confs(&base, &Conf::new(), &Conf::new()).unwrap();
    assert!(cfg.delay_auth_decision);
    assert_eq!(cfg.token_cache_time, 300);
    assert!(!format!("{cfg:?}").contains("file-secret"));
    assert!(
        conf.option_lines()
            .iter()
            .all(|l| !l.contains("file-secret")),
        "the option log masks the password"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_unreadable_cafile_is_an_error_naming_it() {
    let paste = PasteConfig::parse(
        &ini("paste.filter_factory = keystonemiddleware.auth_token:filter_factory\ncafile = /nonexistent/fjord-ca.pem"),
        "api-paste.ini",
    )
    .unwrap();
    let err = loader(base())
        .load_app(&paste, "main")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("[keystone_authtoken] cafile /nonexistent/fjord-ca.pem"),
        "{err}"
    );
}
