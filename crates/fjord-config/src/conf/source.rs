//! Where values come from: files and directories, the environment, the
//! command line, defaults.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::ini::IniFile;

/// Where an option's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Location {
    /// The option's declared default.
    Default,
    /// A configuration file.
    File {
        /// The file as named on the command line.
        path: String,
        /// 1-based line of the `key = value` line.
        line: usize,
        /// The section as written.
        section: String,
    },
    /// An environment variable `OS_<GROUP>__<OPTION>`.
    Env {
        /// The variable's name.
        var: String,
    },
    /// A command-line flag.
    Cli {
        /// The flag, e.g. `--debug`.
        flag: String,
    },
    /// Set in code with [`crate::ConfigOpts::set_override`].
    Override,
    /// Not set anywhere.
    Unset,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Default => f.write_str("default"),
            Location::File {
                path,
                line,
                section,
            } => write!(f, "file {path}, line {line}, section [{section}]"),
            Location::Env { var } => write!(f, "environment variable {var}"),
            Location::Cli { flag } => write!(f, "command line {flag}"),
            Location::Override => f.write_str("override"),
            Location::Unset => f.write_str("unset"),
        }
    }
}

/// One `--config-file` or `--config-dir`, in command-line order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigSource {
    /// A file; later files win over earlier ones.
    File(PathBuf),
    /// Every `*.conf` file in the directory, in sorted name order.
    Dir(PathBuf),
    /// A configuration held in memory (an application's built-in
    /// defaults, see [`ConfigOpts::default_config`](crate::ConfigOpts::default_config)),
    /// read like a file named `name`.
    Text {
        /// What locations and logs call it, e.g. `<built-in demo.conf>`.
        name: String,
        /// The INI text.
        text: String,
    },
}

/// Where the environment variables come from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum EnvSource {
    /// The process environment, read at load and reload. The default.
    #[default]
    Process,
    /// A fixed set of variables (tests, tools).
    Map(HashMap<String, String>),
    /// No environment variables are read.
    Off,
}

impl EnvSource {
    pub(crate) fn snapshot(&self) -> HashMap<String, String> {
        match self {
            EnvSource::Process => std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .filter(|(k, _)| k.starts_with("OS_"))
                .collect(),
            EnvSource::Map(map) => map.clone(),
            EnvSource::Off => HashMap::new(),
        }
    }
}

/// oslo.config's environment variable name for an option:
/// `OS_<GROUP>__<DEST>`, upper-cased (`OS_DEFAULT__DEBUG`).
pub fn env_var_name(group: &str, dest: &str) -> String {
    format!("OS_{}__{}", group.to_uppercase(), dest.to_uppercase())
}

/// The `*.conf` files of `dir`, sorted by name.
///
/// # Errors
///
/// [`Error::ConfigDir`] if the directory cannot be listed.
pub fn config_dir_files(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let err = |e: std::io::Error| Error::ConfigDir {
        path: dir.display().to_string(),
        message: e.to_string(),
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(err)? {
        let path = entry.map_err(err)?.path();
        if path.extension().is_some_and(|e| e == "conf") && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Expands sources into the list of files on disk, in load order
/// ([`ConfigSource::Text`] has none).
///
/// # Errors
///
/// [`Error::ConfigDir`] for an unreadable directory.
pub fn expand_sources(sources: &[ConfigSource]) -> Result<Vec<PathBuf>, Error> {
    let mut files = Vec::new();
    for source in sources {
        match source {
            ConfigSource::File(f) => files.push(f.clone()),
            ConfigSource::Dir(d) => files.extend(config_dir_files(d)?),
            ConfigSource::Text { .. } => {}
        }
    }
    Ok(files)
}

/// Reads and parses every file and text of `sources`, oldest first.
///
/// # Errors
///
/// The first file that cannot be read or parsed.
pub fn read_sources(sources: &[ConfigSource]) -> Result<Vec<IniFile>, Error> {
    let mut files = Vec::new();
    for source in sources {
        match source {
            ConfigSource::Text { name, text } => files.push(IniFile::parse_str(text, name)?),
            other => {
                for path in expand_sources(std::slice::from_ref(other))? {
                    files.push(IniFile::read(&path)?);
                }
            }
        }
    }
    Ok(files)
}

/// oslo.config's search directories for `project`: `~/.<project>/`, `~/`,
/// `/etc/<project>/`, `/etc/`.
pub fn default_config_dirs(project: Option<&str>) -> Vec<PathBuf> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let mut dirs = Vec::new();
    if let (Some(home), Some(p)) = (&home, project) {
        dirs.push(home.join(format!(".{p}")));
    }
    if let Some(home) = home {
        dirs.push(home);
    }
    if let Some(p) = project {
        dirs.push(PathBuf::from("/etc").join(p));
    }
    dirs.push(PathBuf::from("/etc"));
    dirs
}

/// oslo.config's default sources when no `--config-file`/`--config-dir` is
/// given: the first `<project>.conf` and the first `<prog>.conf` found in
/// `dirs`, then the first `<project>.conf.d` and `<prog>.conf.d` directories.
pub fn find_config_sources(
    dirs: &[PathBuf],
    project: Option<&str>,
    prog: &str,
) -> Vec<ConfigSource> {
    let first = |name: &str, want_dir: bool| {
        dirs.iter()
            .map(|d| d.join(name))
            .find(|p| if want_dir { p.is_dir() } else { p.is_file() })
    };
    let mut names: Vec<&str> = project.into_iter().collect();
    if !names.contains(&prog) {
        names.push(prog);
    }
    let mut sources = Vec::new();
    for n in &names {
        if let Some(f) = first(&format!("{n}.conf"), false) {
            sources.push(ConfigSource::File(f));
        }
    }
    for n in &names {
        if let Some(d) = first(&format!("{n}.conf.d"), true) {
            sources.push(ConfigSource::Dir(d));
        }
    }
    sources
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_first_project_and_prog_files_then_dirs() {
        let base = std::env::temp_dir().join(format!("fjord-config-find-{}", std::process::id()));
        let (a, b) = (base.join("a"), base.join("b"));
        std::fs::create_dir_all(a.join("demo.conf.d")).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        std::fs::write(b.join("demo.conf"), "").unwrap();
        std::fs::write(a.join("demo-api.conf"), "").unwrap();
        std::fs::write(b.join("demo-api.conf"), "").unwrap();
        let found = find_config_sources(&[a.clone(), b.clone()], Some("demo"), "demo-api");
        assert_eq!(
            found,
            vec![
                ConfigSource::File(b.join("demo.conf")),
                ConfigSource::File(a.join("demo-api.conf")),
                ConfigSource::Dir(a.join("demo.conf.d")),
            ]
        );
        assert!(default_config_dirs(Some("demo")).contains(&PathBuf::from("/etc/demo")));
        let _ = std::fs::remove_dir_all(&base);
    }
}
