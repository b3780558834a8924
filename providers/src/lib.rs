//! hdh's providers: the code that creates, reads, updates and deletes real things on behalf of
//! the engine, through [`hdh_engine::Provider`] only. This crate knows the engine's provider
//! contract, not its internals, and never prints.
//!
//! Code map: `random_secret` and `local_file` are the local providers; AWS will live in
//! `aws/`, Kubernetes in `k8s/`. `props` reads typed inputs; `atomic_write` replaces files.

mod atomic_write;
pub mod local_file;
mod props;
pub mod random_secret;

use std::path::PathBuf;
use std::sync::Arc;

use hdh_engine::{Provider, Providers};

pub use local_file::LocalFileProvider;
pub use random_secret::RandomSecretProvider;

/// The providers that need no cloud: `random_secret` and `local_file`. Relative `local_file`
/// paths resolve against `base_dir` (the CLI passes the config file's directory).
pub fn local_providers(base_dir: PathBuf) -> Vec<Arc<dyn Provider>> {
    vec![
        Arc::new(RandomSecretProvider::new()),
        Arc::new(LocalFileProvider::new(base_dir)),
    ]
}

/// Registers [`local_providers`] into `providers`.
pub fn register_local(providers: &mut Providers, base_dir: PathBuf) {
    for p in local_providers(base_dir) {
        providers.register(p);
    }
}
