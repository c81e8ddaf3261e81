//! The command line: `--config-file`, `--config-dir` and options declared
//! with [`Opt::cli`](crate::Opt::cli), parsed with clap's builder API.

use std::path::PathBuf;

use clap::{Arg, ArgAction, ArgMatches, Command};

use super::resolve::CliValues;
use super::{ConfigOpts, ConfigSource};
use crate::error::Error;
use crate::opt::{Kind, Opt};

const CONFIG_FILE: &str = "config-file";
const CONFIG_DIR: &str = "config-dir";
/// [`crate::NAMESPACES_FLAG`] without its dashes.
const NAMESPACES: &str = "fjord-config-namespaces";

fn arg_id(group: &str, opt: &Opt) -> String {
    format!("{group}.{}", opt.dest)
}

fn help_line(opt: &Opt) -> String {
    let mut help = opt.help.trim().to_owned();
    if !help.is_empty() && !help.ends_with('.') {
        help.push('.');
    }
    let default = opt
        .sample_default
        .clone()
        .or_else(|| opt.default_value().map(|v| v.to_conf_string()));
    let mut extra = vec![opt.kind.label().to_owned()];
    if let Some(d) = default {
        extra.push(format!("default: {d}"));
    }
    if help.is_empty() {
        format!("({})", extra.join(", "))
    } else {
        format!("{help} ({})", extra.join(", "))
    }
}

impl ConfigOpts {
    /// The clap command for this program: `--config-file PATH` (repeatable),
    /// `--config-dir DIR` (repeatable) and every command-line option; the
    /// help text ends with a list of the options read from files. A hidden
    /// [`NAMESPACES_FLAG`](crate::NAMESPACES_FLAG) makes
    /// [`ConfigOpts::load_matches`] answer with the JSON of
    /// [`ConfigOpts::namespaces`] for `fjord-config --from-binary`.
    ///
    /// Applications may add their own arguments and subcommands to it and
    /// hand the matches to [`ConfigOpts::load_matches`].
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(self.prog.clone())
            .args_override_self(true)
            .arg(
                Arg::new(CONFIG_FILE)
                    .long(CONFIG_FILE)
                    .value_name("PATH")
                    .action(ArgAction::Append)
                    .value_parser(clap::value_parser!(PathBuf))
                    .help("Path to a config file to use. Multiple config files can be specified, with values in later files taking precedence."),
            )
            .arg(
                Arg::new(CONFIG_DIR)
                    .long(CONFIG_DIR)
                    .value_name("DIR")
                    .action(ArgAction::Append)
                    .value_parser(clap::value_parser!(PathBuf))
                    .help("Path to a config directory to pull `*.conf` files from, in sorted order, at this point of the --config-file order."),
            )
            .arg(
                Arg::new(NAMESPACES)
                    .long(NAMESPACES)
                    .action(ArgAction::SetTrue)
                    .hide(true)
                    .help("Print the option namespaces of this program as JSON and exit."),
            );
        if let Some(v) = &self.version {
            cmd = cmd.version(v.clone());
        }
        if let Some(a) = &self.about {
            cmd = cmd.about(a.clone());
        }
        let mut file_only = Vec::new();
        for (group, opt) in self.registry.iter() {
            if !opt.cli {
                let name = if group.is_default() {
                    opt.name.clone()
                } else {
                    format!("[{}] {}", group.name, opt.name)
                };
                file_only.push(format!("  {name}: {}", help_line(opt)));
                continue;
            }
            let id = arg_id(&group.name, opt);
            let long = opt.cli_name(&group.name);
            if matches!(opt.kind, Kind::Bool) && !opt.multi {
                let mut arg = Arg::new(id.clone())
                    .long(long.clone())
                    .action(ArgAction::SetTrue)
                    .help(help_line(opt));
                if let Some(c) = opt.short {
                    arg = arg.short(c);
                }
                cmd = cmd.arg(arg).arg(
                    Arg::new(format!("{id}.no"))
                        .long(format!("no{long}"))
                        .action(ArgAction::SetTrue)
                        .help(format!("The inverse of --{long}")),
                );
            } else {
                let metavar = opt
                    .metavar
                    .clone()
                    .unwrap_or_else(|| opt.dest.to_uppercase());
                let mut arg = Arg::new(id)
                    .long(long)
                    .value_name(metavar)
                    .action(ArgAction::Append)
                    .help(help_line(opt));
                if let Some(c) = opt.short {
                    arg = arg.short(c);
                }
                cmd = cmd.arg(arg);
            }
        }
        if !file_only.is_empty() {
            cmd = cmd.after_help(format!(
                "Options read from config files (and OS_<GROUP>__<OPTION> environment variables):\n{}",
                file_only.join("\n")
            ));
        }
        cmd
    }

    /// The `--help` text.
    pub fn help(&self) -> String {
        self.command().render_help().to_string()
    }

    /// Parses the command line (`args` starts with the program name) and
    /// loads every source.
    ///
    /// # Errors
    ///
    /// [`Error::Help`] for `--help` / `--version` and for the hidden
    /// [`NAMESPACES_FLAG`](crate::NAMESPACES_FLAG) (print it, exit 0),
    /// [`Error::Usage`] for bad arguments, else as [`ConfigOpts::load`].
    ///
    /// # Examples
    ///
    /// ```
    /// use fjord_config::{Catalog, ConfigOpts, Namespace, Opt, NAMESPACES_FLAG};
    ///
    /// let mut conf = ConfigOpts::new("demo");
    /// conf.register_namespace(&Namespace::new("demo").group("DEFAULT", vec![Opt::int("workers")]))?;
    /// let err = conf.parse_args(["demo", NAMESPACES_FLAG]).unwrap_err();
    /// assert_eq!(err.exit_code(), 0);
    /// let catalog = Catalog::from_json(&err.to_string())?;
    /// assert_eq!(catalog.names().collect::<Vec<_>>(), ["demo"]);
    /// # Ok::<(), fjord_config::Error>(())
    /// ```
    pub fn parse_args<I, T>(&mut self, args: I) -> Result<(), Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let matches = self.command().try_get_matches_from(args).map_err(|e| {
            let text = e.render().to_string();
            match e.kind() {
                clap::error::ErrorKind::DisplayHelp
                | clap::error::ErrorKind::DisplayVersion
                | clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                    Error::Help(text)
                }
                _ => Error::Usage(text),
            }
        })?;
        self.load_matches(&matches)
    }

    /// Loads every source given matches of [`ConfigOpts::command`].
    ///
    /// # Errors
    ///
    /// [`Error::Help`] with the JSON of [`ConfigOpts::namespaces`] if the
    /// hidden [`NAMESPACES_FLAG`](crate::NAMESPACES_FLAG) was given (nothing
    /// is loaded), else as [`ConfigOpts::load`].
    pub fn load_matches(&mut self, matches: &ArgMatches) -> Result<(), Error> {
        if matches.try_get_one::<bool>(NAMESPACES).ok().flatten() == Some(&true) {
            return Err(Error::Help(format!("{}\n", self.namespaces.to_json())));
        }
        let mut sources: Vec<(usize, ConfigSource)> = Vec::new();
        for (id, make) in [
            (
                CONFIG_FILE,
                ConfigSource::File as fn(PathBuf) -> ConfigSource,
            ),
            (CONFIG_DIR, ConfigSource::Dir as fn(PathBuf) -> ConfigSource),
        ] {
            if let (Some(values), Some(indices)) =
                (matches.get_many::<PathBuf>(id), matches.indices_of(id))
            {
                for (v, i) in values.zip(indices) {
                    sources.push((i, make(v.clone())));
                }
            }
        }
        sources.sort_by_key(|(i, _)| *i);
        let mut sources: Vec<ConfigSource> = sources.into_iter().map(|(_, s)| s).collect();
        if sources.is_empty()
            && let Some(project) = &self.project
        {
            sources = super::find_config_sources(
                &super::default_config_dirs(Some(project)),
                Some(project),
                &self.prog,
            );
        }
        if sources.is_empty()
            && let Some(builtin) = &self.default_config
        {
            sources.push(builtin.clone());
        }

        let mut cli = CliValues::new();
        for (group, opt) in self.registry.iter().filter(|(_, o)| o.cli) {
            let id = arg_id(&group.name, opt);
            let long = format!("--{}", opt.cli_name(&group.name));
            let mut found: Vec<(usize, String, String)> = Vec::new();
            if matches!(opt.kind, Kind::Bool) && !opt.multi {
                for (arg, value, flag) in [
                    (id.clone(), "true", long.clone()),
                    (format!("{id}.no"), "false", format!("--no{}", &long[2..])),
                ] {
                    if matches.get_flag(&arg)
                        && let Some(i) = matches.indices_of(&arg).and_then(|mut i| i.next_back())
                    {
                        found.push((i, value.to_owned(), flag));
                    }
                }
            } else if let (Some(values), Some(indices)) =
                (matches.get_many::<String>(&id), matches.indices_of(&id))
            {
                for (v, i) in values.zip(indices) {
                    found.push((i, v.clone(), long.clone()));
                }
            }
            if found.is_empty() {
                continue;
            }
            found.sort_by_key(|(i, _, _)| *i);
            cli.insert(
                (group.name.clone(), opt.dest.clone()),
                found.into_iter().map(|(_, v, f)| (v, f)).collect(),
            );
        }
        self.load_with_cli(sources, cli)
    }
}
