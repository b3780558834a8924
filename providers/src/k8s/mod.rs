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

use async_trait::async_trait;
use hdh_engine::provider::{
    read_given_id, Candidate, CreateRequest, DeleteRequest, ImportRequest, ReadRequest,
    UpdateRequest,
};
use hdh_engine::{Observed, OpContext, Provider, ProviderError, ResourceType};

use crate::aws::AwsSettings;
use crate::poll::PollPolicy;
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

/// Serves `kubernetes_manifest` and `helm_release`.
pub struct K8sProvider {
    settings: K8sSettings,
    probe: ClusterProbe,
}

impl K8sProvider {
    pub fn new(settings: K8sSettings) -> Self {
        K8sProvider {
            probe: ClusterProbe::new(settings.aws.clone()),
            settings,
        }
    }
}

#[async_trait]
impl Provider for K8sProvider {
    fn resource_types(&self) -> Vec<ResourceType> {
        vec![manifest::schema(), helm::schema()]
    }

    async fn read(
        &self,
        ctx: &OpContext,
        type_name: &str,
        requests: &[ReadRequest],
    ) -> Vec<Result<Option<Observed>, ProviderError>> {
        let (s, probe) = (&self.settings, &self.probe);
        let reads = requests.iter().map(|r| async move {
            match type_name {
                manifest::TYPE => manifest::read(s, probe, ctx, r).await,
                helm::TYPE => helm::read(s, probe, ctx, r).await,
                other => Err(crate::props::unsupported_type(other)),
            }
        });
        crate::poll::join_all(reads).await
    }

    async fn create(
        &self,
        ctx: &OpContext,
        req: &CreateRequest,
    ) -> Result<Observed, ProviderError> {
        match req.type_name.as_str() {
            manifest::TYPE => {
                manifest::apply(&self.settings, ctx, &req.address, &req.properties).await
            }
            helm::TYPE => helm::install(&self.settings, ctx, &req.address, &req.properties).await,
            other => Err(crate::props::unsupported_type(other)),
        }
    }

    async fn update(
        &self,
        ctx: &OpContext,
        req: &UpdateRequest,
    ) -> Result<Observed, ProviderError> {
        match req.type_name.as_str() {
            manifest::TYPE => {
                manifest::apply(&self.settings, ctx, &req.address, &req.properties).await
            }
            helm::TYPE => helm::install(&self.settings, ctx, &req.address, &req.properties).await,
            other => Err(crate::props::unsupported_type(other)),
        }
    }

    async fn delete(&self, ctx: &OpContext, req: &DeleteRequest) -> Result<(), ProviderError> {
        match req.type_name.as_str() {
            manifest::TYPE => manifest::delete(&self.settings, &self.probe, ctx, req).await,
            helm::TYPE => helm::uninstall(&self.settings, &self.probe, ctx, req).await,
            other => Err(crate::props::unsupported_type(other)),
        }
    }

    async fn find_created(
        &self,
        ctx: &OpContext,
        req: &CreateRequest,
    ) -> Result<Option<Observed>, ProviderError> {
        let (s, probe) = (&self.settings, &self.probe);
        match req.type_name.as_str() {
            manifest::TYPE => {
                let r = ReadRequest {
                    address: req.address.clone(),
                    id: manifest::id_of(&req.properties)?,
                    prior: req.properties.clone(),
                };
                manifest::read(s, probe, ctx, &r).await
            }
            helm::TYPE => helm::find_installed(s, probe, ctx, &req.address, &req.properties).await,
            other => Err(crate::props::unsupported_type(other)),
        }
    }

    /// `hdh import`: an object or release is named by its properties (kind, namespace and
    /// name; release and namespace), so the one candidate is read by that id.
    async fn find_existing(
        &self,
        ctx: &OpContext,
        req: &ImportRequest,
    ) -> Result<Vec<Candidate>, ProviderError> {
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
        let id = match req.type_name.as_str() {
            manifest::TYPE => manifest::id_of(&req.properties)?,
            // A release is read with what an install reports (its load balancer's hostname).
            helm::TYPE => {
                let (s, probe) = (&self.settings, &self.probe);
                let found =
                    helm::find_installed(s, probe, ctx, &req.address, &req.properties).await?;
                return Ok(found
                    .map(|observed| Candidate {
                        matched_by: format!("release {}", observed.id),
                        observed,
                    })
                    .into_iter()
                    .collect());
            }
            other => return Err(crate::props::unsupported_type(other)),
        };
        let mut found = read_given_id(self, ctx, req, &id).await?;
        for c in &mut found {
            c.matched_by = format!("name {id}");
        }
        Ok(found)
    }
}
