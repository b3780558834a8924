//! Helpers for the emulator-backed CLI tests: the DaskHub runner, a TCP proxy that can cut the
//! line to S3, and the JSON Schema check of hdh's documents.
// Each test binary uses some of these.
#![allow(dead_code)]

pub mod crash;
pub mod hub;
pub mod json_schema;
pub mod killer;
pub mod proxy;
pub mod seed_hub;
