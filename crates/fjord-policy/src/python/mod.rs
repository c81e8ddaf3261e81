//! The bits of Python semantics the rule language leans on: `str()` and
//! `repr()` of values, `%`-formatting with a mapping, and
//! `ast.literal_eval` of a check's kind.

pub(crate) mod format;
pub(crate) mod literal;
pub(crate) mod value;
