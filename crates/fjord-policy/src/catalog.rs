//! Policy namespaces: a program's registered defaults by namespace
//! (oslo.policy's `oslo.policy.policies` entry points), and how a program
//! hands them to `fjord-config policy ... --from-binary`.

use indexmap::IndexMap;
use serde_json::{Value, json};

use crate::default::RuleDefault;
use crate::error::PolicyError;

/// The hidden flag on which a program prints its [`PolicyCatalog`] as
/// JSON and exits 0 (see [`PolicyCatalog::answer_defaults_flag`]):
/// `fjord-config policy check|sample --from-binary PATH` runs
/// `PATH --fjord-policy-defaults`, the way `fjord-config generate
/// --from-binary` asks for option namespaces.
pub const DEFAULTS_FLAG: &str = "--fjord-policy-defaults";

/// The version of the JSON [`PolicyCatalog::to_json`] writes.
const FORMAT: u64 = 1;

/// Registered rule defaults by namespace, in the order added.
///
/// # Examples
///
/// ```
/// use fjord_policy::{PolicyCatalog, RuleDefault};
///
/// let catalog = PolicyCatalog::new()
///     .with("demo", vec![RuleDefault::new("demo:services:list", "role:admin")]);
/// let back = PolicyCatalog::from_json(&catalog.to_json())?;
/// assert_eq!(back, catalog);
/// assert_eq!(back.defaults().count(), 1);
/// # Ok::<(), fjord_policy::PolicyError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PolicyCatalog {
    namespaces: IndexMap<String, Vec<RuleDefault>>,
}

impl PolicyCatalog {
    /// No namespaces.
    pub fn new() -> Self {
        PolicyCatalog::default()
    }

    /// Adds (or replaces) namespace `name`.
    pub fn with(mut self, name: &str, defaults: Vec<RuleDefault>) -> Self {
        self.add(name, defaults);
        self
    }

    /// Adds (or replaces) namespace `name`.
    pub fn add(&mut self, name: &str, defaults: Vec<RuleDefault>) {
        self.namespaces.insert(name.to_owned(), defaults);
    }

    /// The defaults of namespace `name`.
    pub fn get(&self, name: &str) -> Option<&[RuleDefault]> {
        self.namespaces.get(name).map(Vec::as_slice)
    }

    /// The namespace names, in the order added.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.namespaces.keys().map(String::as_str)
    }

    /// Every default of every namespace, in order.
    pub fn defaults(&self) -> impl Iterator<Item = &RuleDefault> {
        self.namespaces.values().flatten()
    }

    /// The catalog as JSON: `{"format": 1, "namespaces": {name: [rule,
    /// ...]}}`, each rule as [`RuleDefault::to_json`].
    pub fn to_json(&self) -> String {
        let namespaces: serde_json::Map<String, Value> = self
            .namespaces
            .iter()
            .map(|(n, d)| {
                (
                    n.clone(),
                    Value::Array(d.iter().map(RuleDefault::to_json).collect()),
                )
            })
            .collect();
        json!({"format": FORMAT, "namespaces": namespaces}).to_string()
    }

    /// Reads what [`PolicyCatalog::to_json`] writes.
    ///
    /// # Errors
    ///
    /// [`PolicyError::ValueError`] for text that is not such JSON.
    pub fn from_json(text: &str) -> Result<Self, PolicyError> {
        let bad = |m: String| PolicyError::ValueError(format!("policy catalog: {m}"));
        let v: Value = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
        if v["format"].as_u64() != Some(FORMAT) {
            return Err(bad(format!("unsupported format {}", v["format"])));
        }
        let namespaces = v["namespaces"]
            .as_object()
            .ok_or_else(|| bad("no namespaces".into()))?;
        let mut out = PolicyCatalog::new();
        for (name, rules) in namespaces {
            let rules = rules
                .as_array()
                .ok_or_else(|| bad(format!("namespace {name} is not a list")))?;
            let defaults = rules
                .iter()
                .map(RuleDefault::from_json)
                .collect::<Result<Vec<_>, _>>()?;
            out.add(name, defaults);
        }
        Ok(out)
    }

    /// For a program's `main`: when `args` (without the program name)
    /// are exactly [`DEFAULTS_FLAG`], prints [`PolicyCatalog::to_json`] on
    /// stdout and answers true (the program then exits 0); otherwise
    /// answers false and prints nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// use fjord_policy::PolicyCatalog;
    ///
    /// let catalog = PolicyCatalog::new();
    /// assert!(!catalog.answer_defaults_flag(["--config-file", "x.conf"]));
    /// ```
    pub fn answer_defaults_flag<I, S>(&self, args: I) -> bool
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let args: Vec<S> = args.into_iter().collect();
        if args.len() == 1 && args[0].as_ref() == DEFAULTS_FLAG {
            println!("{}", self.to_json());
            return true;
        }
        false
    }
}
