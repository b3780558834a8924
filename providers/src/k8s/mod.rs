//! The Kubernetes side: `kubernetes_manifest` (server-side apply of one object) and
//! `helm_release` (a chart installed, upgraded in place, uninstalled), both by running the
//! `kubectl` and `helm` executables found on PATH against a kubeconfig hdh writes for the
//! cluster. The kubeconfig authenticates with `hdh eks-token` (an exec credential), so neither
//! the `aws` CLI nor a kubeconfig of the user's is needed.
//!
//! Code map: `kubeconfig` writes the file, `tool` runs an executable with a deadline and
//! classifies its failures, `manifest` and `helm` implement the two types, `release_values`
//! compares a release's live user values with the applied ones and `live` a live object with
//! its manifest.
//!
//! Invariants:
//! - Secrets (sensitive Helm values) reach the tools only through their stdin; never through
//!   arguments, logs or files (a killed run leaves none behind). Kubeconfigs and plain values
//!   are 0600 files in a private temporary directory removed after the call.
//! - An adopted release (found after an interrupted install) carries every output an install
//!   gives, so its dependents never see a null where an install would have put a value.
//! - An unreachable cluster (just created, DNS not there yet) is waited out until the deadline;
//!   one that EKS says is gone or DELETING (`cluster_gone`) took its objects with it: reads find
//!   nothing and deletes succeed.

mod cluster_gone;
mod helm;
mod kubeconfig;
mod live;
mod manifest;
mod release_values;
mod tool;

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use hdh_engine::provider::{
    read_given_id, Candidate, CreateRequest, DeleteRequest, ImportRequest, ReadRequest,
    UpdateRequest,
};
use hdh_engine::{Observed, OpContext, Provider, ProviderError, ResourceType, ValueMap};

use crate::aws::AwsSettings;
use crate::declared;
use crate::kinds::Kinds;
use crate::poll::PollPolicy;
use crate::{Answer, Found};
use cluster_gone::ClusterProbe;

/// How the Kubernetes provider runs its tools.
#[derive(Debug, Clone)]
pub struct K8sSettings {
    /// The `hdh` executable the kubeconfig's exec credential runs (`hdh eks-token`).
    pub hdh_exe: PathBuf,
    pub kubectl: PathBuf,
    pub helm: PathBuf,
    /// How readiness waits poll (the load balancer's hostname).
    pub poll: PollPolicy,
    /// How to reach EKS, to ask whether an unreachable cluster still exists.
    pub aws: AwsSettings,
}

impl Default for K8sSettings {
    fn default() -> Self {
        K8sSettings {
            hdh_exe: std::env::current_exe().unwrap_or_else(|_| PathBuf::from("hdh")),
            kubectl: PathBuf::from("kubectl"),
            helm: PathBuf::from("helm"),
            poll: PollPolicy::default(),
            aws: AwsSettings::default(),
        }
    }
}

/// What every call of one operation is made with: the provider (its tools and settings) and
/// the operation (its stack, progress reports and cancellation). Passed by value.
#[derive(Clone, Copy)]
pub(crate) struct Cx<'a> {
    pub k8s: &'a K8sProvider,
    pub op: &'a OpContext,
}

/// The Kubernetes types' declarations (see [`crate::declared`]).
const DECLARATIONS: &str = include_str!("../../types/k8s.yaml");

/// One Kubernetes type's calls, run with the provider's tools (its declaration is in
/// `types/k8s.yaml`).
#[async_trait]
trait Kind: Send + Sync {
    async fn read(&self, cx: Cx<'_>, req: &ReadRequest) -> Found;

    /// Create and update alike: the object applied, the release installed or upgraded.
    async fn apply(&self, cx: Cx<'_>, address: &str, p: &ValueMap) -> Answer<Observed>;

    async fn delete(&self, cx: Cx<'_>, req: &DeleteRequest) -> Answer<()>;

    /// What an interrupted create made, found by the names in its properties.
    async fn find_created(&self, cx: Cx<'_>, req: &CreateRequest) -> Found;

    /// `hdh import` without an id: the one candidate its properties name.
    async fn candidates(&self, cx: Cx<'_>, req: &ImportRequest) -> Answer<Vec<Candidate>>;
}

/// Serves `kubernetes_manifest` and `helm_release`.
pub struct K8sProvider {
    settings: K8sSettings,
    probe: ClusterProbe,
    kinds: Kinds<dyn Kind>,
}

impl K8sProvider {
    pub fn new(settings: K8sSettings) -> Self {
        let kinds: Vec<(&str, Arc<dyn Kind>)> = vec![
            (manifest::TYPE, Arc::new(manifest::Manifest)),
            (helm::TYPE, Arc::new(helm::Release)),
        ];
        K8sProvider {
            probe: ClusterProbe::new(settings.aws.clone()),
            settings,
            kinds: Kinds::new(
                declared::built_in("types/k8s.yaml", DECLARATIONS, &[]),
                kinds,
            ),
        }
    }
}

#[async_trait]
impl Provider for K8sProvider {
    fn resource_types(&self) -> Vec<ResourceType> {
        self.kinds.schemas()
    }

    async fn read(&self, ctx: &OpContext, type_name: &str, requests: &[ReadRequest]) -> Vec<Found> {
        let kind = self.kinds.get(type_name);
        let reads = requests.iter().map(|r| async {
            match &kind {
                Ok(kind) => kind.read(Cx { k8s: self, op: ctx }, r).await,
                Err(_) => Err(crate::props::unsupported_type(type_name)),
            }
        });
        crate::poll::join_all(reads).await
    }

    async fn create(&self, ctx: &OpContext, req: &CreateRequest) -> Answer<Observed> {
        let kind = self.kinds.get(&req.type_name)?;
        kind.apply(Cx { k8s: self, op: ctx }, &req.address, &req.properties)
            .await
    }

    async fn update(&self, ctx: &OpContext, req: &UpdateRequest) -> Answer<Observed> {
        let kind = self.kinds.get(&req.type_name)?;
        kind.apply(Cx { k8s: self, op: ctx }, &req.address, &req.properties)
            .await
    }

    async fn delete(&self, ctx: &OpContext, req: &DeleteRequest) -> Answer<()> {
        self.kinds
            .get(&req.type_name)?
            .delete(Cx { k8s: self, op: ctx }, req)
            .await
    }

    async fn find_created(&self, ctx: &OpContext, req: &CreateRequest) -> Found {
        let kind = self.kinds.get(&req.type_name)?;
        kind.find_created(Cx { k8s: self, op: ctx }, req).await
    }

    /// `hdh import`: an object or release is named by its properties (kind, namespace and
    /// name; release and namespace), so the one candidate is read by that id.
    async fn find_existing(&self, ctx: &OpContext, req: &ImportRequest) -> Answer<Vec<Candidate>> {
        if !req.properties.contains_key("cluster_endpoint") {
            return Err(ProviderError::Unsupported {
                message: format!(
                    "cannot look for {}: its cluster was not matched",
                    req.address
                ),
            });
        }
        if let Some(id) = &req.id {
            return read_given_id(self, ctx, req, id).await;
        }
        let kind = self.kinds.get(&req.type_name)?;
        kind.candidates(Cx { k8s: self, op: ctx }, req).await
    }
}
