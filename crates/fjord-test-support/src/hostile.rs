//! Hostile input: a parser fed arbitrary text must answer with a value or
//! an error, never a panic.
//!
//! [`check`] runs a property over inputs drawn by a proptest strategy from
//! a fixed seed, so every run feeds the same corpus (and a failure is
//! reproduced by running the test again); proptest shrinks a failing input
//! to a small one before reporting it. [`tokens`] builds text from a
//! grammar's own pieces, which reaches deeper into a parser than random
//! characters do.

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};

/// Runs `property` on `cases` inputs from `strategy`, seeded the same way
/// every time.
///
/// # Panics
///
/// When the property fails or panics on an input: the message names
/// `name` and the smallest failing input proptest found.
pub fn check<S: Strategy>(
    name: &str,
    cases: u32,
    strategy: S,
    property: impl Fn(S::Value) -> Result<(), TestCaseError>,
) where
    S::Value: std::fmt::Debug,
{
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    if let Err(e) = runner.run(&strategy, property) {
        panic!("{name}: {e}");
    }
}

/// Text made of up to `max` pieces of `alphabet`, in any order.
pub fn tokens(alphabet: &'static [&'static str], max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::sample::select(alphabet), 0..max).prop_map(|v| v.concat())
}

/// Any text: printable or not, any Unicode.
pub fn any_text(max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(any::<char>(), 0..max).prop_map(|v| v.into_iter().collect())
}

/// Any bytes.
pub fn any_bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_on_some_input_fails_the_check_with_that_input() {
        let failed = std::panic::catch_unwind(|| {
            check("demo", 500, tokens(&["a", "b", "c"], 10), |text| {
                assert!(!text.contains("cb"), "boom");
                Ok(())
            });
        });
        let message = failed.expect_err("the check must fail");
        let text = message
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_default();
        assert!(text.contains("demo") && text.contains("\"cb\""), "{text}");
    }
}
