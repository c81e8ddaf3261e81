//! Sample config and Markdown reference generation (oslo-config-generator).
//!
//! [`sample_ini`] writes a commented `*.conf.sample`: `[DEFAULT]` first, then
//! the other groups in name order; in each, a `# From <namespace>` block per
//! namespace, and for every option its help, type, bounds, choices,
//! deprecations and mutability, then `#name = default`.
//! [`markdown`] writes the same as an option reference.

use indexmap::IndexMap;

use crate::conf::env_var_name;
use crate::namespace::Namespace;
use crate::opt::{Kind, Opt, OptGroup};

/// Options of one namespace in one group.
type PerNamespace<'a> = Vec<(&'a str, Vec<&'a Opt>)>;
/// Options of one group, per namespace, in output order.
type Grouped<'a> = Vec<(&'a OptGroup, PerNamespace<'a>)>;

fn grouped<'a>(namespaces: &[&'a Namespace]) -> Grouped<'a> {
    let mut map: IndexMap<&str, (&OptGroup, PerNamespace<'a>)> = IndexMap::new();
    for ns in namespaces {
        for (group, opts) in ns.groups() {
            let entry = map.entry(group.name()).or_insert((group, Vec::new()));
            if entry.0.help.is_none() && group.help.is_some() {
                entry.0 = group;
            }
            entry.1.push((ns.name(), opts.iter().collect()));
        }
    }
    let mut out: Grouped<'a> = map.into_values().collect();
    out.sort_by(|(a, _), (b, _)| (!a.is_default(), a.name()).cmp(&(!b.is_default(), b.name())));
    out
}

fn wrap(text: &str, width: usize, prefix: &str) -> Vec<String> {
    let mut lines = Vec::new();
    for para in text.split('\n') {
        let mut line = String::new();
        for word in para.split_whitespace() {
            if !line.is_empty() && prefix.len() + line.len() + 1 + word.len() > width {
                lines.push(format!("{prefix}{line}"));
                line.clear();
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        lines.push(format!("{prefix}{line}").trim_end().to_owned());
    }
    lines
}

fn fmt_num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        v.to_string()
    }
}

fn default_lines(opt: &Opt) -> Vec<String> {
    if let Some(s) = &opt.sample_default {
        return vec![s.clone()];
    }
    match opt.default_value() {
        None => vec!["<None>".to_owned()],
        Some(crate::Value::List(items)) if opt.multi => {
            if items.is_empty() {
                vec![String::new()]
            } else {
                items.iter().map(|v| v.to_conf_string()).collect()
            }
        }
        Some(v) => vec![v.to_conf_string()],
    }
}

fn type_label(opt: &Opt) -> String {
    if opt.multi {
        "multi valued".to_owned()
    } else {
        opt.kind.label().to_owned()
    }
}

fn notes(opt: &Opt, group: &OptGroup) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(min) = opt.min {
        out.push(format!("Minimum value: {}", fmt_num(min)));
    }
    if let Some(max) = opt.max {
        out.push(format!("Maximum value: {}", fmt_num(max)));
    }
    if let Kind::Uri(Some(schemes)) = &opt.kind {
        out.push(format!("Allowed schemes: {}", schemes.join(", ")));
    }
    if !opt.choices.is_empty() {
        out.push("Possible values:".to_owned());
        for (c, desc) in &opt.choices {
            match desc {
                Some(d) => out.push(format!("{c} - {d}")),
                None => out.push(c.clone()),
            }
        }
    }
    if opt.required {
        out.push("This option is required.".to_owned());
    }
    if opt.secret {
        out.push("This option is a secret: it is logged as ****.".to_owned());
    }
    for d in &opt.deprecated {
        let g = d.group.clone().unwrap_or_else(|| group.name().to_owned());
        let n = d.name.clone().unwrap_or_else(|| opt.name.clone());
        out.push(format!("Deprecated group/name - [{g}]/{n}"));
    }
    if opt.mutable {
        out.push("Note: This option can be changed without restarting.".to_owned());
    }
    if let Some(reason) = &opt.deprecated_for_removal {
        out.push("This option is deprecated for removal.".to_owned());
        out.push("Its value may be silently ignored in the future.".to_owned());
        out.push(format!("Reason: {reason}"));
    }
    out
}

/// A commented sample config file with every option of `namespaces`.
pub fn sample_ini(namespaces: &[&Namespace]) -> String {
    let mut out = String::new();
    let groups = grouped(namespaces);
    let has_default = groups.iter().any(|(g, _)| g.is_default());
    if !has_default {
        out.push_str("[DEFAULT]\n\n");
    }
    for (i, (group, per_ns)) in groups.iter().enumerate() {
        if i > 0 || !has_default {
            out.push('\n');
        }
        out.push_str(&format!("[{}]\n", group.name()));
        if let Some(help) = &group.help {
            out.push('\n');
            for line in wrap(help, 79, "# ") {
                out.push_str(&line);
                out.push('\n');
            }
        }
        for (ns, opts) in per_ns {
            out.push_str(&format!("\n#\n# From {ns}\n#\n"));
            for opt in opts {
                out.push('\n');
                let mut help = opt.help.trim().to_owned();
                help.push_str(&format!(" ({})", type_label(opt)));
                for line in wrap(help.trim(), 79, "# ") {
                    out.push_str(&line);
                    out.push('\n');
                }
                for note in notes(opt, group) {
                    out.push_str(&format!("# {note}\n"));
                }
                for d in default_lines(opt) {
                    if d.is_empty() {
                        out.push_str(&format!("#{} =\n", opt.name));
                    } else {
                        out.push_str(&format!("#{} = {d}\n", opt.name));
                    }
                }
            }
        }
    }
    out
}

/// A Markdown reference of every option of `namespaces`.
pub fn markdown(namespaces: &[&Namespace]) -> String {
    let mut out = String::from("# Configuration options\n");
    for (group, per_ns) in grouped(namespaces) {
        out.push_str(&format!("\n## [{}]\n", group.name()));
        if let Some(title) = &group.title {
            out.push_str(&format!("\n{title}\n"));
        }
        if let Some(help) = &group.help {
            out.push_str(&format!("\n{help}\n"));
        }
        for (ns, opts) in per_ns {
            out.push_str(&format!("\nFrom namespace `{ns}`.\n"));
            for opt in opts {
                out.push_str(&format!("\n### `{}`\n\n", opt.name));
                out.push_str(&format!("- Type: {}\n", type_label(opt)));
                let defaults = default_lines(opt);
                out.push_str(&format!("- Default: `{}`\n", defaults.join(", ")));
                out.push_str(&format!(
                    "- Environment: `{}`\n",
                    env_var_name(group.name(), &opt.dest)
                ));
                for note in notes(opt, group) {
                    out.push_str(&format!("- {note}\n"));
                }
                if !opt.help.trim().is_empty() {
                    out.push_str(&format!("\n{}\n", opt.help.trim()));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_lists_every_option() {
        let ns = Namespace::new("demo")
            .group("api", vec![Opt::port("port").default(80).help("Port.")])
            .group(
                "DEFAULT",
                vec![
                    Opt::int("workers").min(1).help("Workers.").mutable(),
                    Opt::multi_str("plugin").default(vec!["a", "b"]),
                ],
            );
        let text = sample_ini(&[&ns]);
        assert!(text.starts_with("[DEFAULT]\n"));
        let api = text.find("[api]").unwrap();
        assert!(text.find("#workers = <None>").unwrap() < api);
        assert!(text.contains("# Workers. (integer value)\n# Minimum value: 1\n"));
        assert!(text.contains("# Note: This option can be changed without restarting.\n"));
        assert!(text.contains("#plugin = a\n#plugin = b\n"));
        assert!(text.contains("# Port. (port value)\n#port = 80\n"));
        let md = markdown(&[&ns]);
        assert!(md.contains("### `port`") && md.contains("`OS_API__PORT`"));
    }
}
