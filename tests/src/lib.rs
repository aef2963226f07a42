//! Shared helpers for corio's cross-crate tests.
