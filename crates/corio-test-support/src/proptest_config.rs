//! The property tests' configuration.

/// Proptest's default configuration (so `PROPTEST_CASES` is honoured),
/// without the regression file under Miri, whose isolation forbids
/// file-system access.
///
/// # Examples
///
/// ```
/// let config = corio_test_support::proptest_config();
/// assert_eq!(config.failure_persistence.is_some(), !cfg!(miri));
/// ```
pub fn proptest_config() -> proptest::test_runner::Config {
    let mut config = proptest::test_runner::Config::default();
    if cfg!(miri) {
        config.failure_persistence = None;
    }
    config
}
