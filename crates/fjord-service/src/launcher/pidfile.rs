//! The PID file: written once the launcher runs, removed when it exits.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::{Error, ErrorKind, Result};

/// A PID file this process wrote; dropping it removes the file if it still
/// holds this process's PID (a forked worker leaves through
/// `process::exit` and never drops the master's copy).
#[derive(Debug)]
pub(crate) struct PidFile {
    path: PathBuf,
    pid: u32,
}

impl PidFile {
    /// Writes this process's PID and a newline to `path`, replacing what
    /// was there: to a temporary file in the same directory, renamed over
    /// `path`, so a reader never sees a partial PID.
    pub(crate) fn create(path: &Path) -> Result<PidFile> {
        let pid = std::process::id();
        let fail = |e: std::io::Error| {
            Error::with_source(
                ErrorKind::Os,
                format!("cannot write the pid file {}", path.display()),
                e,
            )
        };
        let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
        tmp_name.push(format!(".{pid}.tmp"));
        let tmp = path.with_file_name(tmp_name);
        let written = std::fs::File::create(&tmp)
            .and_then(|mut f| f.write_all(format!("{pid}\n").as_bytes()))
            .and_then(|()| std::fs::rename(&tmp, path));
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(fail(e));
        }
        tracing::info!("pid {pid} written to {}", path.display());
        Ok(PidFile {
            path: path.to_owned(),
            pid,
        })
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        if std::process::id() != self.pid {
            return;
        }
        let ours = std::fs::read_to_string(&self.path)
            .is_ok_and(|text| text.trim() == self.pid.to_string());
        if ours && let Err(e) = std::fs::remove_file(&self.path) {
            tracing::warn!("cannot remove the pid file {}: {e}", self.path.display());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("fjord-pidfile-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn written_then_removed() {
        let dir = temp_dir("ok");
        let path = dir.join("svc.pid");
        std::fs::write(&path, "1\n").unwrap();
        let f = PidFile::create(&path).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            format!("{}\n", std::process::id())
        );
        drop(f);
        assert!(!path.exists());
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            0,
            "no temporary left"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn another_process_pid_is_left_alone() {
        let dir = temp_dir("other");
        let path = dir.join("svc.pid");
        let f = PidFile::create(&path).unwrap();
        std::fs::write(&path, "1\n").unwrap();
        drop(f);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "1\n");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_missing_directory_is_a_clear_error() {
        let path = temp_dir("missing").join("no/such/dir/svc.pid");
        let err = PidFile::create(&path).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Os);
        let text = err.to_string();
        assert!(
            text.contains("cannot write the pid file") && text.contains("no/such/dir/svc.pid"),
            "{text}"
        );
    }
}
