//! The `#[corio::main]` and `#[corio::test]` attributes.
