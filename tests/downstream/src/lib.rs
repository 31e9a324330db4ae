//! Nothing but the tests: see `tests/downstream.rs`.
