//! hdh's providers: the code that creates, reads, updates and deletes real things on behalf of
//! the engine, through [`hdh_engine::Provider`] only. This crate knows the engine's provider
//! contract, not its internals, and never prints.
//!
//! Code map: `random_secret`, `given_secret` and `local_file` are the local providers; `aws/` is the AWS
//! provider (EC2 network, IAM, KMS, EKS, EFS, S3, Cognito, Route 53); `k8s/` runs `kubectl` and
//! `helm` for `kubernetes_manifest` and `helm_release`. `kinds` dispatches a type name to its kind;
//! `poll` is the waiting (deadline, backoff, progress) and `join_all` they share; `props` reads
//! typed inputs;
//! `atomic_write` replaces files.

mod atomic_write;
pub mod aws;
pub(crate) mod declared;
pub mod given_secret;
pub mod k8s;
mod kinds;
pub mod local;
pub mod local_file;
mod poll;
mod props;
pub mod random_secret;
mod yaml_json;

use std::path::PathBuf;
use std::sync::Arc;

use hdh_engine::{Observed, Provider, ProviderError, Providers};

/// What a provider's call answers.
pub(crate) type Answer<T> = Result<T, ProviderError>;

/// What a read answers for one resource (or the search after an interrupted create): the
/// resource, or `None` when there is none.
pub(crate) type Found = Answer<Option<Observed>>;

pub use aws::{AwsProvider, AwsSettings};
pub use given_secret::GivenSecretProvider;
pub use k8s::{K8sProvider, K8sSettings};
pub use local_file::LocalFileProvider;
pub use random_secret::RandomSecretProvider;

/// The providers that need no cloud: `random_secret`, `given_secret` and `local_file`.
/// Relative paths resolve against `base_dir` (the CLI passes the config file's directory).
pub fn local_providers(base_dir: PathBuf) -> Vec<Arc<dyn Provider>> {
    vec![
        Arc::new(RandomSecretProvider::new()),
        Arc::new(GivenSecretProvider::new(base_dir.clone())),
        Arc::new(LocalFileProvider::new(base_dir)),
    ]
}

/// Registers the AWS provider (standard credential chain, `AWS_ENDPOINT_URL` honoured). It
/// builds its clients at first use, so registering it makes no network call.
pub fn register_aws(providers: &mut Providers) {
    providers.register(Arc::new(AwsProvider::with_settings(AwsSettings {
        poll: aws::PollPolicy::from_env(),
        ..AwsSettings::default()
    })));
}

/// Registers [`local_providers`] into `providers`.
pub fn register_local(providers: &mut Providers, base_dir: PathBuf) {
    for p in local_providers(base_dir) {
        providers.register(p);
    }
}

/// Registers the Kubernetes provider (`kubectl` and `helm` from PATH; the kubeconfig's exec
/// credential runs this executable's `eks-token`). Nothing runs until the first call.
pub fn register_k8s(providers: &mut Providers) {
    providers.register(Arc::new(K8sProvider::new(K8sSettings {
        poll: aws::PollPolicy::from_env(),
        ..K8sSettings::default()
    })));
}
