//! Option declarations: [`Opt`] (a typed option built with setters),
//! [`Kind`] (its type) and [`OptGroup`] (a `[section]`).

mod parse;

use std::fmt;

use crate::value::Value;

/// The type of an option, as oslo.config's `types` module has them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum Kind {
    /// Any string (oslo `StrOpt`).
    Str,
    /// A signed integer (oslo `IntOpt`), see [`Opt::min`] / [`Opt::max`].
    Int,
    /// A floating point number (oslo `FloatOpt`).
    Float,
    /// `true/1/on/yes` or `false/0/off/no`, any case (oslo `BoolOpt`).
    Bool,
    /// Comma-separated items of the inner kind (oslo `ListOpt`).
    List(Box<Kind>),
    /// `key:value,key2:value2` (oslo `DictOpt`).
    Dict,
    /// A TCP/UDP port, 0..=65535 (oslo `PortOpt`).
    Port,
    /// An IP address; `Some(4)` or `Some(6)` restricts the version (oslo `IPOpt`).
    Ip(Option<u8>),
    /// An absolute URI with a scheme and an authority (oslo `URIOpt`),
    /// optionally restricted to some schemes.
    Uri(Option<Vec<String>>),
}

impl Kind {
    /// oslo-config-generator's type label, e.g. `integer value`.
    pub fn label(&self) -> &'static str {
        match self {
            Kind::Str => "string value",
            Kind::Int => "integer value",
            Kind::Float => "floating point value",
            Kind::Bool => "boolean value",
            Kind::List(_) => "list value",
            Kind::Dict => "dict value",
            Kind::Port => "port value",
            Kind::Ip(_) => "IP address value",
            Kind::Uri(_) => "uri value",
        }
    }
}

/// An old name an option is still read under (oslo `DeprecatedOpt`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DeprecatedName {
    /// The old group; `None` means the option's own group.
    pub group: Option<String>,
    /// The old name; `None` means the option's own name.
    pub name: Option<String>,
}

/// A group of options, written as `[name]` in files (oslo `OptGroup`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OptGroup {
    pub(crate) name: String,
    pub(crate) title: Option<String>,
    pub(crate) help: Option<String>,
}

impl OptGroup {
    /// The group `name`; `DEFAULT` is the default group. Other names are
    /// normalized to lower case, as oslo.config looks them up.
    pub fn new(name: &str) -> Self {
        OptGroup {
            name: crate::ini::normalize_group_name(name),
            title: None,
            help: None,
        }
    }

    /// The default group, `[DEFAULT]`.
    pub fn default_group() -> Self {
        OptGroup::new("DEFAULT")
    }

    /// A title for the sample and reference. Default: none.
    pub fn title(mut self, title: &str) -> Self {
        self.title = Some(title.to_owned());
        self
    }

    /// Help text for the sample and reference. Default: none.
    pub fn help(mut self, help: &str) -> Self {
        self.help = Some(help.to_owned());
        self
    }

    /// The (normalized) group name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether this is `[DEFAULT]`.
    pub fn is_default(&self) -> bool {
        self.name == "DEFAULT"
    }
}

impl From<&str> for OptGroup {
    fn from(name: &str) -> Self {
        OptGroup::new(name)
    }
}

impl From<&OptGroup> for OptGroup {
    fn from(g: &OptGroup) -> Self {
        g.clone()
    }
}

/// The default of an option before it is checked at registration.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) enum DefaultSpec {
    None,
    Value(Value),
}

/// One declared option: name, type, default, help and flags.
///
/// Built with a constructor per type and setters, each stating its default:
///
/// ```
/// use fjord_config::Opt;
///
/// let workers = Opt::int("workers")
///     .min(1)
///     .default(4)
///     .help("Number of worker processes.");
/// assert_eq!(workers.name(), "workers");
/// let url = Opt::uri("transport_url").secret().help("Where the bus is.");
/// assert!(url.is_secret());
/// ```
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Opt {
    pub(crate) name: String,
    pub(crate) dest: String,
    pub(crate) kind: Kind,
    pub(crate) default: DefaultSpec,
    pub(crate) sample_default: Option<String>,
    pub(crate) help: String,
    pub(crate) required: bool,
    pub(crate) secret: bool,
    pub(crate) mutable: bool,
    pub(crate) multi: bool,
    pub(crate) cli: bool,
    pub(crate) short: Option<char>,
    pub(crate) metavar: Option<String>,
    pub(crate) min: Option<f64>,
    pub(crate) max: Option<f64>,
    pub(crate) choices: Vec<(String, Option<String>)>,
    pub(crate) ignore_case: bool,
    pub(crate) max_length: Option<usize>,
    pub(crate) deprecated: Vec<DeprecatedName>,
    pub(crate) deprecated_for_removal: Option<String>,
}

impl Opt {
    /// An option of `kind`. Prefer the per-type constructors.
    pub fn new(name: &str, kind: Kind) -> Self {
        Opt {
            name: name.to_owned(),
            dest: name.replace('-', "_"),
            kind,
            default: DefaultSpec::None,
            sample_default: None,
            help: String::new(),
            required: false,
            secret: false,
            mutable: false,
            multi: false,
            cli: false,
            short: None,
            metavar: None,
            min: None,
            max: None,
            choices: Vec::new(),
            ignore_case: false,
            max_length: None,
            deprecated: Vec::new(),
            deprecated_for_removal: None,
        }
    }

    /// A string option (oslo `StrOpt`).
    pub fn str(name: &str) -> Self {
        Opt::new(name, Kind::Str)
    }
    /// An integer option (oslo `IntOpt`).
    pub fn int(name: &str) -> Self {
        Opt::new(name, Kind::Int)
    }
    /// A float option (oslo `FloatOpt`).
    pub fn float(name: &str) -> Self {
        Opt::new(name, Kind::Float)
    }
    /// A boolean option (oslo `BoolOpt`); on the command line `--name` and `--noname`.
    pub fn bool(name: &str) -> Self {
        Opt::new(name, Kind::Bool)
    }
    /// A list-of-strings option (oslo `ListOpt`); see [`Opt::item_kind`].
    pub fn list(name: &str) -> Self {
        Opt::new(name, Kind::List(Box::new(Kind::Str)))
    }
    /// A dict option (oslo `DictOpt`).
    pub fn dict(name: &str) -> Self {
        Opt::new(name, Kind::Dict)
    }
    /// A port option, 0..=65535 (oslo `PortOpt`).
    pub fn port(name: &str) -> Self {
        Opt::new(name, Kind::Port)
    }
    /// An IP address option, v4 or v6 (oslo `IPOpt`); see [`Opt::ip_version`].
    pub fn ip(name: &str) -> Self {
        Opt::new(name, Kind::Ip(None))
    }
    /// A URI option (oslo `URIOpt`); see [`Opt::schemes`].
    pub fn uri(name: &str) -> Self {
        Opt::new(name, Kind::Uri(None))
    }
    /// A multi-valued string option (oslo `MultiStrOpt`): every `name = ...`
    /// line of every file counts, oldest first.
    pub fn multi_str(name: &str) -> Self {
        Opt::str(name).multi()
    }

    /// The default value. Default: none (the option reads as unset).
    /// A string is parsed as if written in a file (`Opt::int("x").default("5")`);
    /// string defaults of string options are `$var`-substituted like file values.
    pub fn default(mut self, value: impl Into<Value>) -> Self {
        self.default = DefaultSpec::Value(value.into());
        self
    }

    /// Text shown as the default in samples instead of the real default
    /// (e.g. `<hostname>`). Default: the default value.
    pub fn sample_default(mut self, text: &str) -> Self {
        self.sample_default = Some(text.to_owned());
        self
    }

    /// Help text. Default: empty.
    pub fn help(mut self, help: &str) -> Self {
        self.help = help.to_owned();
        self
    }

    /// Loading fails if the option has no value from any source. Default: not required.
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// The value is a secret: logged and dumped as `****`. Default: not secret.
    pub fn secret(mut self) -> Self {
        self.secret = true;
        self
    }

    /// The value may change on reload (SIGHUP) without a restart.
    /// Default: immutable (a change is logged as needing a restart).
    pub fn mutable(mut self) -> Self {
        self.mutable = true;
        self
    }

    /// Every value is kept (repeated keys, repeated `--flag`), read as a list.
    /// Default: single-valued, the last value wins.
    pub fn multi(mut self) -> Self {
        self.multi = true;
        self
    }

    /// Also settable on the command line (`--name` in `[DEFAULT]`,
    /// `--group-name` elsewhere). Default: files and environment only.
    pub fn cli(mut self) -> Self {
        self.cli = true;
        self
    }

    /// A one-letter command-line alias (implies [`Opt::cli`]). Default: none.
    pub fn short(mut self, c: char) -> Self {
        self.short = Some(c);
        self.cli = true;
        self
    }

    /// The placeholder in `--help`. Default: the upper-cased name.
    pub fn metavar(mut self, metavar: &str) -> Self {
        self.metavar = Some(metavar.to_owned());
        self
    }

    /// The attribute name looked up in files. Default: the name with `-` as `_`.
    pub fn dest(mut self, dest: &str) -> Self {
        self.dest = dest.to_owned();
        self
    }

    /// Smallest accepted value (integers, ports, floats). Default: unbounded.
    pub fn min(mut self, min: impl Into<f64>) -> Self {
        self.min = Some(min.into());
        self
    }

    /// Largest accepted value (integers, ports, floats). Default: unbounded.
    pub fn max(mut self, max: impl Into<f64>) -> Self {
        self.max = Some(max.into());
        self
    }

    /// Accepted values (strings, integers, ports). Default: any.
    pub fn choices(mut self, choices: &[&str]) -> Self {
        self.choices = choices.iter().map(|c| ((*c).to_owned(), None)).collect();
        self
    }

    /// Adds one accepted value with a description. Default: any value.
    pub fn choice(mut self, value: &str, description: &str) -> Self {
        self.choices
            .push((value.to_owned(), Some(description.to_owned())));
        self
    }

    /// Compare choices case-insensitively. Default: case-sensitive.
    pub fn ignore_case(mut self) -> Self {
        self.ignore_case = true;
        self
    }

    /// Longest accepted string, in characters. Default: unlimited.
    pub fn max_length(mut self, len: usize) -> Self {
        self.max_length = Some(len);
        self
    }

    /// The item kind of a list option. Default: [`Kind::Str`].
    pub fn item_kind(mut self, kind: Kind) -> Self {
        if let Kind::List(_) = self.kind {
            self.kind = Kind::List(Box::new(kind));
        }
        self
    }

    /// Restricts an IP option to version 4 or 6. Default: both.
    pub fn ip_version(mut self, version: u8) -> Self {
        if let Kind::Ip(_) = self.kind {
            self.kind = Kind::Ip(Some(version));
        }
        self
    }

    /// Restricts a URI option to these schemes. Default: any scheme.
    pub fn schemes(mut self, schemes: &[&str]) -> Self {
        if let Kind::Uri(_) = self.kind {
            self.kind = Kind::Uri(Some(schemes.iter().map(|s| (*s).to_owned()).collect()));
        }
        self
    }

    /// Also read under an old name in the same group (oslo `deprecated_name`).
    /// Default: no old names.
    pub fn deprecated_name(mut self, name: &str) -> Self {
        self.deprecated.push(DeprecatedName {
            group: None,
            name: Some(name.to_owned()),
        });
        self
    }

    /// Also read under the same name in an old group (oslo `deprecated_group`).
    /// Default: no old groups.
    pub fn deprecated_group(mut self, group: &str) -> Self {
        self.deprecated.push(DeprecatedName {
            group: Some(crate::ini::normalize_group_name(group)),
            name: None,
        });
        self
    }

    /// Also read as `[group] name` (oslo `DeprecatedOpt(name, group)`).
    /// Default: no old names.
    pub fn deprecated_opt(mut self, group: &str, name: &str) -> Self {
        self.deprecated.push(DeprecatedName {
            group: Some(crate::ini::normalize_group_name(group)),
            name: Some(name.to_owned()),
        });
        self
    }

    /// Marks the option as going away, with the reason. Default: not deprecated.
    pub fn deprecated_for_removal(mut self, reason: &str) -> Self {
        self.deprecated_for_removal = Some(reason.to_owned());
        self
    }

    /// The option's name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The attribute name (name with `-` as `_`).
    pub fn dest_name(&self) -> &str {
        &self.dest
    }
    /// The option's type.
    pub fn kind(&self) -> &Kind {
        &self.kind
    }
    /// The help text.
    pub fn help_text(&self) -> &str {
        &self.help
    }
    /// Whether the value is masked in logs and dumps.
    pub fn is_secret(&self) -> bool {
        self.secret
    }
    /// Whether the value may change on reload.
    pub fn is_mutable(&self) -> bool {
        self.mutable
    }
    /// Whether every value is kept.
    pub fn is_multi(&self) -> bool {
        self.multi
    }
    /// Whether a value is required.
    pub fn is_required(&self) -> bool {
        self.required
    }
    /// Whether there is a command-line flag.
    pub fn is_cli(&self) -> bool {
        self.cli
    }
    /// Old names the option is still read under.
    pub fn deprecated_names(&self) -> &[DeprecatedName] {
        &self.deprecated
    }

    /// The declared default, if any (as given, before checks).
    pub fn default_value(&self) -> Option<&Value> {
        match &self.default {
            DefaultSpec::None => None,
            DefaultSpec::Value(v) => Some(v),
        }
    }

    /// What a value must look like, for errors and docs
    /// (e.g. `an integer >= 1`, `one of: a, b`).
    pub fn expected(&self) -> String {
        parse::expected(self)
    }

    /// Parses one written value (file, environment or CLI; already
    /// substituted) into the option's type and checks bounds and choices.
    ///
    /// # Errors
    ///
    /// A description of what is wrong (the caller adds file and option).
    pub fn parse_value(&self, text: &str) -> Result<Value, String> {
        parse::parse(self, &self.kind, text)
    }

    /// Checks a typed value (e.g. a default) against bounds and choices;
    /// strings are parsed first.
    pub(crate) fn check_value(&self, value: &Value) -> Result<Value, String> {
        parse::check_typed(self, value)
    }

    /// `name` with `_` as `-`: the command-line spelling inside a group.
    pub(crate) fn cli_name(&self, group: &str) -> String {
        let base = self.name.replace('_', "-");
        if group == "DEFAULT" {
            base
        } else {
            format!("{}-{base}", group.replace('_', "-"))
        }
    }
}

impl fmt::Display for Opt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name, self.kind.label())
    }
}
