//! The `[oslo_policy]` options (oslo.policy 6.0.1's `opts.py`: same names,
//! defaults and help) and where relative policy paths are looked up.

use std::path::{Path, PathBuf};

use fjord_config::{ConfigOpts, ConfigSource, Namespace, Opt, OptGroup};

use crate::error::PolicyError;
use crate::rules::DEFAULT_RULE;

/// The option group: `[oslo_policy]`.
pub const GROUP: &str = "oslo_policy";

/// The options of `[oslo_policy]` as a namespace named `oslo.policy` (the
/// name of oslo.policy's `oslo.config.opts` entry point), for
/// [`ConfigOpts::register_namespace`] and the sample generator.
///
/// `enforce_scope` is not among them: oslo.policy 6.0.0 removed it (scope
/// is always enforced) and, as there, a config file that still sets it is
/// not an error. The `remote_*` options are registered for compatibility;
/// fjord does not evaluate `http:` checks.
///
/// # Examples
///
/// ```
/// use fjord_config::{ConfigOpts, EnvSource};
///
/// let mut conf = ConfigOpts::new("svc").env_source(EnvSource::Off);
/// conf.register_namespace(&fjord_policy::namespace())?;
/// conf.parse_args(["svc"])?;
/// assert_eq!(conf.get::<String>("oslo_policy", "policy_file")?, "policy.yaml");
/// assert_eq!(conf.get::<Vec<String>>("oslo_policy", "policy_dirs")?, ["policy.d"]);
/// # Ok::<(), fjord_config::Error>(())
/// ```
pub fn namespace() -> Namespace {
    Namespace::new("oslo.policy").group(
        OptGroup::new(GROUP),
        vec![
            Opt::bool("enforce_new_defaults").default(true).help(
                "This option controls whether or not to use old deprecated defaults when \
                 evaluating policies. If ``True``, the old deprecated defaults are not going to \
                 be evaluated. This means if any existing token is allowed for old defaults but \
                 is disallowed for new defaults, it will be disallowed. If ``False``, the \
                 deprecated policy check string is logically OR'd with the new policy check \
                 string, allowing for a graceful upgrade experience between releases with new \
                 policies, which is the default behavior.",
            ),
            Opt::str("policy_file").default("policy.yaml").help(
                "The relative or absolute path of a file that maps roles to permissions for a \
                 given service. Relative paths must be specified in relation to the \
                 configuration file setting this option.",
            ),
            Opt::str("policy_default_rule")
                .default(DEFAULT_RULE)
                .help("Default rule. Enforced when a requested rule is not found."),
            Opt::multi_str("policy_dirs")
                .default(vec!["policy.d".to_owned()])
                .help(
                    "Directories where policy configuration files are stored. They can be relative \
                 to any directory in the search path defined by the config_dir option, or \
                 absolute paths. The file defined by policy_file must exist for these \
                 directories to be searched.  Missing or empty directories are ignored.",
                ),
            Opt::str("remote_content_type")
                .choices(&["application/x-www-form-urlencoded", "application/json"])
                .default("application/x-www-form-urlencoded")
                .help("Content Type to send and receive data for REST based policy check"),
            Opt::bool("remote_ssl_verify_server_crt")
                .default(false)
                .help("server identity verification for REST based policy check"),
            Opt::str("remote_ssl_ca_crt_file")
                .help("Absolute path to ca cert file for REST based policy check"),
            Opt::str("remote_ssl_client_crt_file")
                .help("Absolute path to client cert for REST based policy check"),
            Opt::str("remote_ssl_client_key_file")
                .help("Absolute path client key file REST based policy check"),
            Opt::float("remote_timeout")
                .default(60.0)
                .min(0.0)
                .help("Timeout in seconds for REST based policy check"),
        ],
    )
}

/// Registers the `[oslo_policy]` options (oslo's `opts._register`).
///
/// # Errors
///
/// [`fjord_config::Error`] when options of the same names are already
/// registered differently.
pub fn register_opts(conf: &mut ConfigOpts) -> Result<(), fjord_config::Error> {
    conf.register_namespace(&namespace())
}

/// What an [`Enforcer`](crate::Enforcer) reads from `[oslo_policy]`, and
/// where it looks for relative paths.
///
/// # Examples
///
/// ```
/// use fjord_policy::PolicyOptions;
///
/// let opts = PolicyOptions::default();
/// assert_eq!(opts.policy_file, "policy.yaml");
/// assert_eq!(opts.policy_dirs, ["policy.d"]);
/// assert_eq!(opts.policy_default_rule.as_deref(), Some("default"));
/// assert!(opts.enforce_new_defaults);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PolicyOptions {
    /// `policy_file`. Default `policy.yaml`.
    pub policy_file: String,
    /// `policy_dirs`, in order. Default `[policy.d]`.
    pub policy_dirs: Vec<String>,
    /// `policy_default_rule`; `None` (or empty) for no fallback. Default
    /// `default`.
    pub policy_default_rule: Option<String>,
    /// `enforce_new_defaults`. Default true.
    pub enforce_new_defaults: bool,
    /// Where relative `policy_file` / `policy_dirs` are looked up, first
    /// match wins (oslo.config's `find_file`). Default: none, so relative
    /// paths are not found; [`PolicyOptions::from_conf`] fills it.
    pub search_dirs: Vec<PathBuf>,
}

impl Default for PolicyOptions {
    fn default() -> Self {
        PolicyOptions {
            policy_file: "policy.yaml".into(),
            policy_dirs: vec!["policy.d".into()],
            policy_default_rule: Some(DEFAULT_RULE.into()),
            enforce_new_defaults: true,
            search_dirs: Vec::new(),
        }
    }
}

impl PolicyOptions {
    /// The options of a loaded [`ConfigOpts`] on which
    /// [`register_opts`] was called.
    ///
    /// Relative paths are looked up as oslo.config's `find_file` does: in
    /// the last `--config-dir`, then in the directory of each
    /// `--config-file`, the last one first. (oslo.config then tries
    /// `~/.<project>/`, `~/`, `/etc/<project>/` and `/etc/`; add those to
    /// [`PolicyOptions::search_dirs`] to get that too.)
    ///
    /// # Errors
    ///
    /// [`PolicyError::ValueError`] when the options are not registered or
    /// a value is not of its type.
    pub fn from_conf(conf: &ConfigOpts) -> Result<Self, PolicyError> {
        let get_err = |e: fjord_config::Error| PolicyError::ValueError(e.to_string());
        let default_rule: String = conf.get(GROUP, "policy_default_rule").map_err(get_err)?;
        let mut search_dirs = Vec::new();
        let sources = conf.sources();
        if let Some(dir) = sources.iter().rev().find_map(|s| match s {
            ConfigSource::Dir(d) => Some(d.clone()),
            _ => None,
        }) {
            search_dirs.push(dir);
        }
        for s in sources.iter().rev() {
            if let ConfigSource::File(f) = s {
                let parent = f.parent().unwrap_or(Path::new(""));
                search_dirs.push(if parent.as_os_str().is_empty() {
                    PathBuf::from(".")
                } else {
                    parent.to_path_buf()
                });
            }
        }
        Ok(PolicyOptions {
            policy_file: conf.get(GROUP, "policy_file").map_err(get_err)?,
            policy_dirs: conf.get(GROUP, "policy_dirs").map_err(get_err)?,
            policy_default_rule: Some(default_rule).filter(|r| !r.is_empty()),
            enforce_new_defaults: conf.get(GROUP, "enforce_new_defaults").map_err(get_err)?,
            search_dirs,
        })
    }

    /// oslo.config's `find_file`: `name` joined to each search directory
    /// (an absolute `name` stays itself), the first that exists.
    pub fn find_file(&self, name: &str) -> Option<PathBuf> {
        let path = Path::new(name);
        if path.is_absolute() {
            return path.exists().then(|| path.to_path_buf());
        }
        self.search_dirs
            .iter()
            .map(|d| d.join(path))
            .find(|p| p.exists())
    }
}
