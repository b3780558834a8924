//! Telling a cluster that is gone from one that is only unreachable. Both make the tools say
//! "cluster unreachable"; an unreachable cluster (just created, DNS not there yet) is waited
//! out, but a cluster deleted behind hdh's back, or being deleted, never answers again — and its
//! Kubernetes objects went with it. EKS (DescribeCluster) tells which.

use std::sync::Arc;

use hdh_engine::{OpContext, ProviderError, ValueMap};
use tokio::sync::OnceCell;

use crate::aws::eks::cluster::cluster_status;
use crate::aws::{client, AwsSettings, Clients};
use crate::props;

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
    pub(crate) async fn gone(
        &self,
        ctx: &OpContext,
        p: &ValueMap,
    ) -> Result<Option<String>, ProviderError> {
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

/// What a delete tells the user when the cluster took the object with it.
pub(crate) fn report_gone(ctx: &OpContext, address: &str, cluster: &str) {
    ctx.report(
        address,
        &format!("cluster {cluster} is gone; its Kubernetes objects went with it"),
    );
}
