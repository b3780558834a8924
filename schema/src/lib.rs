//! hdh's config language: reads `hdh.yaml` into the engine's desired state, with every error
//! located.

pub mod diag;
pub mod suggest;
pub mod yaml;
