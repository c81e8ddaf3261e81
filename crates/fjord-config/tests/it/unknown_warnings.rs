//! Unknown options and groups are warned about through `tracing` (once per
//! unknown group), deprecated names too, and loading still succeeds.

use crate::support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use fjord_config::{ConfigOpts, ConfigSource, EnvSource, Opt};

#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl Write for Buf {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn unknown_and_deprecated_keys_are_warned_not_fatal() {
    let dir = support::temp_dir("unknown");
    let file = dir.join("u.conf");
    std::fs::write(
        &file,
        "[DEFAULT]\nworkers = 2\ntypo = 1\nold_name = x\n[keystone_authtoken]\na = 1\nb = 2\n",
    )
    .unwrap();
    let mut c = ConfigOpts::new("u").env_source(EnvSource::Off);
    c.register(
        "DEFAULT",
        &[
            Opt::int("workers"),
            Opt::str("new_name").deprecated_name("old_name"),
        ],
    )
    .unwrap();

    let buf = Buf::default();
    let writer = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let result = tracing::subscriber::with_default(subscriber, || {
        c.load(vec![ConfigSource::File(file.clone())])
    });
    result.unwrap();
    assert_eq!(c.get::<String>("DEFAULT", "new_name").unwrap(), "x");
    let out = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    assert_eq!(
        out.matches("unknown option typo in group [DEFAULT]")
            .count(),
        1,
        "{out}"
    );
    assert_eq!(
        out.matches("group [keystone_authtoken] is not registered")
            .count(),
        1,
        "{out}"
    );
    assert!(out.contains("WARN"), "{out}");
    assert!(out.contains("\"old_name\" from group \"DEFAULT\""), "{out}");
}
