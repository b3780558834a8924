//! Helpers for the emulator-backed CLI tests: a TCP proxy that can cut the line to S3, and a
//! small JSON Schema validator for the plan document.

pub mod proxy;
pub mod schema;
