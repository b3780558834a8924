//! Telling a cluster that is gone from one that is only unreachable. Both make the tools say
//! "cluster unreachable"; an unreachable cluster (just created, DNS not there yet) is waited
//! out, but a cluster deleted behind hdh's back, or being deleted, never answers again — and its
//! Kubernetes objects went with it. EKS (DescribeCluster) tells which.

use std::sync::Arc;

use hdh_engine::{OpContext, ProviderError, ValueMap};
use tokio::sync::OnceCell;

use super::tool::{self, Invocation, Ran};
use crate::aws::eks::cluster::cluster_status;
use crate::aws::{client, AwsSettings, Clients};
use crate::poll::PollPolicy;
use crate::props;
use crate::Answer;

/// Asks EKS about a cluster; the clients are made at the first question.
pub(crate) struct ClusterProbe {
    settings: AwsSettings,
    clients: OnceCell<Arc<Clients>>,
}

impl ClusterProbe {
    pub(crate) fn new(settings: AwsSettings) -> Self {
        ClusterProbe {
            settings,
            clients: OnceCell::new(),
        }
    }

    /// The cluster named by `cluster_name` in `p`, when EKS says it no longer exists or is
    /// being deleted; `None` when it is there.
    async fn gone(&self, ctx: &OpContext, p: &ValueMap) -> Answer<Option<String>> {
        let name = props::required_string(p, "cluster_name")?;
        let aws = self
            .clients
            .get_or_init(|| async { Arc::new(client::load(&self.settings, &ctx.region).await) })
            .await;
        Ok(match cluster_status(aws, &name).await?.as_deref() {
            None | Some("DELETING") => Some(name),
            Some(_) => None,
        })
    }
}

impl ClusterProbe {
    /// A read the tools could not make (`unreachable`, their "cluster unreachable"): `Ok` —
    /// the object is absent — when the cluster named in `p` is gone, else that error back.
    pub(crate) async fn absent_if_gone(
        &self,
        ctx: &OpContext,
        p: &ValueMap,
        unreachable: ProviderError,
    ) -> Answer<()> {
        match self.gone(ctx, p).await? {
            Some(_) => Ok(()),
            None => Err(unreachable),
        }
    }

    /// Runs a deleting tool call (`helm uninstall`, `kubectl delete`) for the object `p`
    /// describes: done when it succeeds, when the object is not found, or when its cluster is
    /// gone (the user is told the objects went with it). An unreachable cluster that still
    /// exists is waited out until the deadline.
    pub(crate) async fn delete_with(
        &self,
        ctx: &OpContext,
        address: &str,
        poll: PollPolicy,
        call: Invocation<'_>,
        p: &ValueMap,
    ) -> Answer<()> {
        let gone = || self.gone(ctx, p);
        match tool::run_unless_gone(ctx, address, poll, call, gone).await {
            Ok(Ran::Done(_)) | Err(ProviderError::NotFound { .. }) => Ok(()),
            Ok(Ran::ClusterGone(cluster)) => {
                ctx.report(
                    address,
                    &format!("cluster {cluster} is gone; its Kubernetes objects went with it"),
                );
                Ok(())
            }
            Err(e) => Err(e),
        }
    }
}
