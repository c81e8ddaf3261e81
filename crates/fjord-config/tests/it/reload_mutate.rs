//! Reload (SIGHUP): mutable options change in place and hooks see the
//! changes; immutable changes are ignored and reported as needing a
//! restart; a broken file keeps every current value.

use crate::support;

use std::sync::{Arc, Mutex};

use fjord_config::{ConfigOpts, ConfigSource, EnvSource, Opt, Value};

/// (group, name, old, new) as a hook saw it.
type Seen = (String, String, Option<Value>, Option<Value>);

#[test]
fn mutable_changes_apply_immutable_changes_wait_for_restart() {
    let dir = support::temp_dir("reload");
    let file = dir.join("r.conf");
    std::fs::write(
        &file,
        "[DEFAULT]\ndebug = false\nworkers = 2\n[api]\nlimit = 10\n",
    )
    .unwrap();
    let mut c = ConfigOpts::new("r").env_source(EnvSource::Off);
    c.register(
        "DEFAULT",
        &[
            Opt::bool("debug").default(false).mutable(),
            Opt::int("workers").default(1),
        ],
    )
    .unwrap();
    c.register("api", &[Opt::int("limit").mutable().default(5)])
        .unwrap();
    c.load(vec![ConfigSource::File(file.clone())]).unwrap();
    let c = Arc::new(c);

    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let seen2 = seen.clone();
    c.on_mutate(move |conf, changes| {
        assert!(
            conf.get::<bool>("DEFAULT", "debug").unwrap(),
            "hooks see the new values"
        );
        for ch in changes.applied() {
            seen2.lock().unwrap().push((
                ch.group.clone(),
                ch.name.clone(),
                ch.old.clone(),
                ch.new.clone(),
            ));
        }
    });

    // Nothing changed: no hook call.
    assert!(c.reload().unwrap().is_empty());
    assert!(seen.lock().unwrap().is_empty());

    std::fs::write(&file, "[DEFAULT]\ndebug = true\nworkers = 8\n[api]\n").unwrap();
    let changes = c.reload().unwrap();
    assert!(c.get::<bool>("DEFAULT", "debug").unwrap());
    assert_eq!(
        c.get::<i64>("api", "limit").unwrap(),
        5,
        "removed from file: back to default"
    );
    assert_eq!(
        c.get::<i64>("DEFAULT", "workers").unwrap(),
        2,
        "immutable keeps its value"
    );
    assert_eq!(changes.restart_required().len(), 1);
    assert_eq!(changes.restart_required()[0].name, "workers");
    assert_eq!(changes.restart_required()[0].new, Some(Value::Int(8)));
    assert!(changes.get("DEFAULT", "debug").is_some());
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        vec![
            (
                "DEFAULT".into(),
                "debug".into(),
                Some(Value::Bool(false)),
                Some(Value::Bool(true))
            ),
            (
                "api".into(),
                "limit".into(),
                Some(Value::Int(10)),
                Some(Value::Int(5))
            ),
        ]
    );

    // reload_all applies immutable changes too.
    let all = c.reload_all().unwrap();
    assert_eq!(c.get::<i64>("DEFAULT", "workers").unwrap(), 8);
    assert_eq!(all.applied().len(), 1);
}

#[test]
fn broken_file_on_reload_keeps_current_values() {
    let dir = support::temp_dir("reload-bad");
    let file = dir.join("r.conf");
    std::fs::write(&file, "[DEFAULT]\nlimit = 3\n").unwrap();
    let mut c = ConfigOpts::new("r").env_source(EnvSource::Off);
    c.register("DEFAULT", &[Opt::int("limit").min(1).mutable()])
        .unwrap();
    c.load(vec![ConfigSource::File(file.clone())]).unwrap();

    std::fs::write(&file, "[DEFAULT]\nlimit = 0\n").unwrap();
    let err = c.reload().unwrap_err();
    assert_eq!(err.exit_code(), 2);
    assert_eq!(c.get::<i64>("DEFAULT", "limit").unwrap(), 3);

    std::fs::write(&file, "[DEFAULT\nlimit = 4\n").unwrap();
    assert!(c.reload().is_err());
    std::fs::remove_file(&file).unwrap();
    assert!(c.reload().is_err());
    assert_eq!(c.get::<i64>("DEFAULT", "limit").unwrap(), 3);

    std::fs::write(&file, "[DEFAULT]\nlimit = 4\n").unwrap();
    c.reload().unwrap();
    assert_eq!(c.get::<i64>("DEFAULT", "limit").unwrap(), 4);
}
