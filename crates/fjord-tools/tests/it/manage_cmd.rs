//! `fjord-manage service list|disable|enable` against an SQLite file with
//! records written by the servicegroup layer.

use std::process::Command;
use std::time::Duration;

use fjord_servicegroup::ServiceRecords;

fn manage(conf: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_fjord-manage"))
        .args(args)
        .arg("--config-file")
        .arg(conf)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_disable_enable() {
    let dir = std::env::temp_dir().join(format!("fjord-manage-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("x.conf");
    std::fs::write(
        &conf,
        format!(
            "[DEFAULT]\nstate_path = {}\n\n[database]\nconnection = sqlite:///$state_path/x.sqlite\n",
            dir.display()
        ),
    )
    .unwrap();
    let url = format!("sqlite:///{}", dir.join("x.sqlite").display());
    let records = ServiceRecords::builder(&url)
        .service_down_time(Duration::from_secs(60))
        .connect()
        .await
        .unwrap();
    let r = records.register("h1", "demo-worker", "demo").await.unwrap();
    records.heartbeat(r.id).await.unwrap();
    records.register("h2", "demo-api", "api").await.unwrap();

    let (code, out, err) = manage(&conf, &["service", "list"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("demo-worker") && out.contains("h1") && out.contains("up"),
        "{out}"
    );
    assert!(out.contains("demo-api") && out.contains("h2"), "{out}");

    let (code, out, err) = manage(
        &conf,
        &[
            "service",
            "disable",
            "--host",
            "h1",
            "--binary",
            "demo-worker",
            "--reason",
            "maintenance",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("disabled"), "{out}");
    let (_, out, _) = manage(&conf, &["service", "list"]);
    assert!(
        out.contains("disabled") && out.contains("maintenance"),
        "{out}"
    );

    let (code, _, _) = manage(
        &conf,
        &[
            "service",
            "enable",
            "--host",
            "h1",
            "--binary",
            "demo-worker",
        ],
    );
    assert_eq!(code, 0);
    let (code, _, err) = manage(
        &conf,
        &[
            "service",
            "enable",
            "--host",
            "nope",
            "--binary",
            "demo-worker",
        ],
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("demo-worker") && err.contains("nope"), "{err}");

    // No connection configured: a clear error.
    let empty = dir.join("empty.conf");
    std::fs::write(&empty, "[DEFAULT]\n").unwrap();
    let (code, _, err) = manage(&empty, &["service", "list"]);
    assert_eq!(code, 1);
    assert!(err.contains("[database] connection"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
