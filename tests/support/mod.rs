//! What the integration tests share: the one way to run the hdh binary (`runner`), the `snap!`
//! snapshot macro (`snap`), the DaskHub scratch stack (`hub`) and the seed-built hub import reads
//! (`seed_hub`), the crash sweep (`crash`), a proxy that kills hdh at a chosen request
//! (`killer`), a TCP proxy that can cut the line to S3 (`proxy`), and the JSON Schema check of
//! hdh's documents (`json_schema`).
// Each test binary uses some of these.
#![allow(dead_code)]

pub mod crash;
pub mod hub;
pub mod json_schema;
pub mod killer;
pub mod proxy;
pub mod runner;
pub mod seed_hub;
pub mod snap;
