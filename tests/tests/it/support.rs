//! The shared fixtures, from the test kit's `scene` module.

pub use sealtar_tests::scene::*;
