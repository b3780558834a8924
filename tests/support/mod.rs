//! Helpers for the emulator-backed CLI tests: the DaskHub runner, a TCP proxy that can cut the
//! line to S3, and a small JSON Schema validator for the plan document.
// Each test binary uses some of these.
#![allow(dead_code)]

pub mod crash;
pub mod hub;
pub mod killer;
pub mod proxy;
pub mod schema;
pub mod seed_hub;
