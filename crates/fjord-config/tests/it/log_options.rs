//! `log_options`: every option value logged once, secrets as `****`.

use std::io::Write;
use std::sync::{Arc, Mutex};

use fjord_config::{ConfigOpts, EnvSource, Opt};

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
fn every_option_is_logged_and_secrets_are_masked() {
    let env = EnvSource::Map(
        [
            ("OS_DATABASE__PASSWORD".to_owned(), "s3cret".to_owned()),
            ("OS_DEFAULT__WORKERS".to_owned(), "3".to_owned()),
        ]
        .into(),
    );
    let mut c = ConfigOpts::new("log").env_source(env);
    c.register(
        "DEFAULT",
        &[Opt::int("workers").default(1), Opt::str("unset")],
    )
    .unwrap();
    c.register(
        "database",
        &[Opt::str("password").secret(), Opt::str("token").secret()],
    )
    .unwrap();
    c.load(vec![]).unwrap();

    let lines = c.option_lines();
    assert!(lines.contains(&"workers = 3".to_owned()));
    assert!(lines.contains(&"unset = None".to_owned()));
    assert!(lines.contains(&"database.password = ****".to_owned()));
    assert!(lines.contains(&"database.token = None".to_owned()));
    assert!(lines.iter().all(|l| !l.contains("s3cret")));

    let buf = Buf::default();
    let writer = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::with_default(subscriber, || c.log_options());
    let out = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    assert_eq!(out.matches("database.password = ****").count(), 1, "{out}");
    assert_eq!(out.matches("workers = 3").count(), 1);
    assert!(!out.contains("s3cret"));
}
