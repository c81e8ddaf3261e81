//! Where things are: the workspace, the shared fixtures, the Python venv,
//! temporary directories.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::skip::need;

/// The workspace root (the directory of the top `Cargo.toml`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `../shared/<name>` beside the workspace (`FJORD_SHARED_DIR` overrides
/// the `../shared` part), when `marker` exists in it; otherwise
/// [`need`]'s skip and `None`.
pub fn shared_dir(test: &str, name: &str, marker: &str) -> Option<PathBuf> {
    let base = std::env::var_os("FJORD_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("../shared"));
    let dir = base.join(name);
    need(
        dir.join(marker).exists(),
        test,
        &format!(
            "{} not found (set FJORD_SHARED_DIR)",
            dir.join(marker).display()
        ),
    )
    .then_some(dir)
}

/// The Python interpreter of the oslo.messaging venv (`FJORD_OSLO_VENV`,
/// else `.venv` at the workspace root) when it imports `module`;
/// otherwise [`need`]'s skip and `None`.
pub fn venv_python(test: &str, module: &str) -> Option<PathBuf> {
    let venv = std::env::var_os("FJORD_OSLO_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".venv"));
    let py = venv.join("bin/python");
    let ok = py.is_file()
        && Command::new(&py)
            .args(["-c", &format!("import {module}")])
            .output()
            .is_ok_and(|o| o.status.success());
    need(
        ok,
        test,
        &format!(
            "no Python venv with {module} at {} (create it: scripts/setup-oslo-venv.sh)",
            venv.display()
        ),
    )
    .then_some(py)
}

/// A name unique to this test process and call (`prefix_<pid>_<n>_<nanos>`).
pub fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{prefix}_{}_{}_{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A new empty directory under the system's temporary directory, named
/// after `tag` and unique to this call. The test removes it when it wants.
pub fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(unique(&format!("fjord-{tag}")));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

/// Every file under `dir` (recursively) whose name ends with `suffix`,
/// sorted.
///
/// # Panics
///
/// When a directory cannot be read.
pub fn files_ending(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.to_string_lossy().ends_with(suffix) {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}
