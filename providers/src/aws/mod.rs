//! The AWS provider: network (EC2), identity (IAM), keys (KMS), EKS, storage (EFS, S3), login
//! (Cognito), DNS (Route 53), certificates (ACM) and read-only data lookups, through the AWS SDK for Rust.
//!
//! Code map: `client` builds the SDK clients (once, lazily), `errors` classifies SDK errors,
//! `wait` paces every wait, `tags` computes what a resource is tagged with and syncs it, `ec2/`
//! (each type an `ec2::kind::Ec2Type`, served generically), `iam/`, `kms`, `eks/`, `efs/`, `s3`,
//! `cognito/` (`cognito_existing`: a site's own pool, read as data), `route53`, `acm` and `data`
//! implement one resource type per [`Kind`], one file per type in the folders (`import` reads
//! what other tools made for `hdh import`, by each kind's identity; `s3_empty` empties a bucket
//! for a `--delete-retained` delete).
//!
//! Invariants:
//! - Constructing an [`AwsProvider`] never touches the network; clients are made at first use.
//! - `read` of one type makes one batched Describe per page where the service has one (EC2,
//!   IAM); services without a batch read (EKS, KMS) are read concurrently, one call per resource.
//! - Everything created carries the stack's tags plus `hdh:stack`, `hdh:address`, `hdh:token`.
//! - Values read back are settled against what state (or the request) said: a list in another
//!   order or a policy document spelled differently is reported in the user's form, so only
//!   real differences show as drift.

mod acm;
mod adopted;
pub mod client;
mod cognito;
mod cognito_existing;
mod data;
mod describe;
mod ec2;
mod efs;
pub(crate) mod eks;
pub mod eks_token;
pub(crate) mod errors;
mod iam;
mod import;
mod kms;
mod retries;
mod route53;
mod s3;
mod s3_empty;
mod tag_maps;
mod tags;
mod token;
pub(crate) mod wait;

use std::sync::Arc;

use crate::declared::{self, Hook};
use crate::kinds::Kinds;
use crate::{Answer, Found};
use async_trait::async_trait;
use hdh_engine::provider::{
    Candidate, CreateRequest, DeleteRequest, Finding, ImportRequest, ReadRequest, UpdateRequest,
};
use hdh_engine::resource_type::{AfterCreate, StepToward};
use hdh_engine::{Observed, OpContext, Provider, ProviderError, ResourceType, Value, ValueMap};
use tokio::sync::OnceCell;

pub(crate) use crate::poll::join_all;
pub(crate) use client::Cx;
pub use client::{AwsSettings, Clients, PollPolicy};

/// One AWS resource type's calls (its declaration is in `types/aws.yaml`).
#[async_trait]
pub(crate) trait Kind: Send + Sync {
    async fn read(&self, cx: Cx<'_>, requests: &[ReadRequest]) -> Vec<Found>;

    async fn create(&self, cx: Cx<'_>, req: &CreateRequest) -> Answer<Observed>;

    async fn update(&self, cx: Cx<'_>, req: &UpdateRequest) -> Answer<Observed>;

    async fn delete(&self, cx: Cx<'_>, req: &DeleteRequest) -> Answer<()>;

    /// After an interrupted create: what that create (its token) made, ready for dependents
    /// (waited for while still creating). `Ok(None)` when nothing was made.
    async fn find_created(&self, cx: Cx<'_>, req: &CreateRequest) -> Found;

    /// After a create was answered "already exists" (a name or a place taken): the resource
    /// there if this stack made it for this address (any earlier create's token), ready like
    /// [`Kind::find_created`]'s. Default `Ok(None)`: the conflict stands.
    async fn find_existing(&self, _cx: Cx<'_>, _req: &CreateRequest) -> Found {
        Ok(None)
    }

    /// `hdh import`: the id a resource of these properties has, for types named by their
    /// properties (a name, a parent plus a key). Default: none; [`Kind::candidates`] searches.
    fn natural_id(&self, _properties: &ValueMap) -> Answer<Option<String>> {
        Ok(None)
    }

    /// `hdh import`'s search among what other tools made: each candidate's id and what matched
    /// it. Default: this type cannot be searched for.
    async fn candidates(&self, _cx: Cx<'_>, req: &ImportRequest) -> Answer<Vec<(String, String)>> {
        Err(import::not_searchable(req))
    }
}

/// The AWS types' declarations (see [`crate::declared`]).
const DECLARATIONS: &str = include_str!("../../types/aws.yaml");

/// The code `types/aws.yaml` names.
const HOOKS: &[(&str, Hook)] = &[
    (
        "next_minor_version",
        Hook::Step(StepToward(eks::next_minor)),
    ),
    (
        "desired_size_is_the_autoscalers",
        Hook::AfterCreate(AfterCreate(eks::node_group::scaling_after_create)),
    ),
];

/// Serves every `aws_*` type.
pub struct AwsProvider {
    settings: AwsSettings,
    clients: OnceCell<Arc<Clients>>,
    kinds: Kinds<dyn Kind>,
    retries: Arc<retries::RetryLog>,
}

impl AwsProvider {
    /// A provider using the standard chain; no network until the first call.
    pub fn new() -> Self {
        Self::with_settings(AwsSettings::default())
    }

    pub fn with_settings(settings: AwsSettings) -> Self {
        let kinds: Vec<(&str, Arc<dyn Kind>)> = vec![
            ("aws_vpc", Arc::new(ec2::Ec2(ec2::vpc::Vpc))),
            (ec2::subnet::TYPE, Arc::new(ec2::Ec2(ec2::subnet::Subnet))),
            (
                "aws_internet_gateway",
                Arc::new(ec2::Ec2(ec2::internet_gateway::InternetGateway)),
            ),
            ("aws_eip", Arc::new(ec2::Ec2(ec2::eip::Eip))),
            (
                "aws_nat_gateway",
                Arc::new(ec2::Ec2(ec2::nat_gateway::NatGateway)),
            ),
            (
                "aws_route_table",
                Arc::new(ec2::Ec2(ec2::route_table::RouteTable)),
            ),
            (
                "aws_security_group",
                Arc::new(ec2::Ec2(ec2::security_group::SecurityGroup)),
            ),
            ("aws_iam_role", Arc::new(iam::Role)),
            (
                "aws_iam_openid_connect_provider",
                Arc::new(iam::OidcProvider),
            ),
            ("aws_kms_key", Arc::new(kms::Key)),
            (eks::cluster::TYPE, Arc::new(eks::cluster::Cluster)),
            (eks::node_group::TYPE, Arc::new(eks::node_group::NodeGroup)),
            ("aws_eks_addon", Arc::new(eks::addon::Addon)),
            (
                "aws_eks_access_entry",
                Arc::new(eks::access_entry::AccessEntry),
            ),
            (
                "aws_eks_access_policy_association",
                Arc::new(eks::access_policy::AccessPolicy),
            ),
            ("aws_efs_file_system", Arc::new(efs::FileSystem)),
            ("aws_efs_mount_target", Arc::new(efs::MountTarget)),
            (
                "aws_ebs_pvc_volumes",
                Arc::new(data::Looked(ec2::pvc_volumes::PvcVolumes)),
            ),
            ("aws_s3_bucket", Arc::new(s3::Bucket)),
            ("aws_cognito_user_pool", Arc::new(cognito::UserPool)),
            (
                "aws_cognito_existing_user_pool",
                Arc::new(cognito_existing::ExistingUserPool),
            ),
            ("aws_cognito_user_pool_domain", Arc::new(cognito::Domain)),
            ("aws_cognito_user_pool_client", Arc::new(cognito::Client)),
            ("aws_cognito_user", Arc::new(cognito::User)),
            ("aws_route53_record", Arc::new(route53::Record)),
            ("aws_acm_certificate", Arc::new(acm::Certificate)),
            (
                "aws_acm_certificate_validation",
                Arc::new(acm::CertificateValidation),
            ),
            (
                "aws_availability_zones",
                Arc::new(data::Looked(data::AvailabilityZones)),
            ),
            (
                "aws_caller_identity",
                Arc::new(data::Looked(data::CallerIdentity)),
            ),
        ];
        let kinds = Kinds::new(
            declared::built_in("types/aws.yaml", DECLARATIONS, HOOKS),
            kinds,
        );
        AwsProvider {
            settings,
            clients: OnceCell::new(),
            kinds,
            retries: Arc::default(),
        }
    }

    async fn clients(&self, ctx: &OpContext) -> Arc<Clients> {
        self.retries.report_to(ctx.progress.clone());
        self.clients
            .get_or_init(|| async {
                let report = retries::RetryReport(self.retries.clone());
                Arc::new(client::load_with(&self.settings, &ctx.region, report).await)
            })
            .await
            .clone()
    }

    /// How many failed attempts the SDK retried by itself (throttling, 5xx, timeouts) since
    /// this provider made its clients.
    pub fn retried(&self) -> u64 {
        self.retries.count()
    }
}

impl Default for AwsProvider {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl Provider for AwsProvider {
    fn resource_types(&self) -> Vec<ResourceType> {
        self.kinds.schemas()
    }

    async fn read(&self, ctx: &OpContext, type_name: &str, requests: &[ReadRequest]) -> Vec<Found> {
        let kind = match self.kinds.get(type_name) {
            Ok(k) => k,
            Err(e) => return requests.iter().map(|_| Err(e.clone_class())).collect(),
        };
        let aws = self.clients(ctx).await;
        let cx = Cx { aws: &aws, op: ctx };
        let results = kind.read(cx, requests).await;
        results
            .into_iter()
            .zip(requests)
            .map(|(r, req)| r.map(|o| o.map(|o| settle(&req.prior, o))))
            .collect()
    }

    async fn create(&self, ctx: &OpContext, req: &CreateRequest) -> Answer<Observed> {
        let (schema, kind) = self.kinds.declared(&req.type_name)?;
        let aws = self.clients(ctx).await;
        let cx = Cx { aws: &aws, op: ctx };
        match kind.create(cx, req).await {
            Err(ProviderError::Conflict { message }) => match kind.find_existing(cx, req).await? {
                Some(found) => {
                    ctx.report(
                        &req.address,
                        &format!(
                            "adopting {}, made by this stack before ({message})",
                            found.id
                        ),
                    );
                    adopted::converge(kind, schema, cx, req, found).await
                }
                None => Err(ProviderError::Conflict { message }),
            },
            r => Ok(settle(&req.properties, r?)),
        }
    }

    async fn update(&self, ctx: &OpContext, req: &UpdateRequest) -> Answer<Observed> {
        let kind = self.kinds.get(&req.type_name)?;
        let aws = self.clients(ctx).await;
        let cx = Cx { aws: &aws, op: ctx };
        let o = kind.update(cx, req).await?;
        Ok(settle(&req.properties, o))
    }

    async fn delete(&self, ctx: &OpContext, req: &DeleteRequest) -> Answer<()> {
        let kind = self.kinds.get(&req.type_name)?;
        let aws = self.clients(ctx).await;
        let cx = Cx { aws: &aws, op: ctx };
        errors::gone_is_ok(kind.delete(cx, req).await)
    }

    async fn find_created(&self, ctx: &OpContext, req: &CreateRequest) -> Found {
        let kind = self.kinds.get(&req.type_name)?;
        let aws = self.clients(ctx).await;
        let cx = Cx { aws: &aws, op: ctx };
        Ok(kind
            .find_created(cx, req)
            .await?
            .map(|o| settle(&req.properties, o)))
    }

    async fn find_existing(&self, ctx: &OpContext, req: &ImportRequest) -> Answer<Vec<Candidate>> {
        let kind = self.kinds.get(&req.type_name)?;
        let aws = self.clients(ctx).await;
        let cx = Cx { aws: &aws, op: ctx };
        let found = match &req.id {
            Some(id) => {
                let given = vec![(id.clone(), "id given".to_string())];
                import::read_ids(kind, cx, req, given).await?
            }
            None => import::find(kind, cx, req).await?,
        };
        Ok(found
            .into_iter()
            .map(|c| Candidate {
                observed: settle(&req.properties, c.observed),
                matched_by: c.matched_by,
            })
            .collect())
    }

    async fn preflight(
        &self,
        ctx: &OpContext,
        resources: &[(String, String, ValueMap)],
    ) -> Vec<Finding> {
        let mine: Vec<_> = resources
            .iter()
            .filter(|r| self.kinds.serves(&r.1))
            .cloned()
            .collect();
        if mine.is_empty() {
            return Vec::new();
        }
        let aws = self.clients(ctx).await;
        let mut findings = eks::preflight::node_group_instance_types(&aws, &mine).await;
        findings.extend(eks::preflight::cluster_changes(&aws, &mine).await);
        findings
    }
}

/// Error classes are plain data; this copies one for every request of a batch.
trait CloneClass {
    fn clone_class(&self) -> ProviderError;
}

impl CloneClass for ProviderError {
    fn clone_class(&self) -> ProviderError {
        let message = self.to_string();
        match self {
            ProviderError::InvalidInput { .. } => ProviderError::InvalidInput { message },
            ProviderError::NotFound { .. } => ProviderError::NotFound { message },
            ProviderError::DependencyViolation { .. } => {
                ProviderError::DependencyViolation { message }
            }
            ProviderError::Conflict { .. } => ProviderError::Conflict { message },
            ProviderError::Throttled { .. } => ProviderError::Throttled { message },
            ProviderError::Unavailable { .. } => ProviderError::Unavailable { message },
            ProviderError::Timeout { what, waited } => ProviderError::Timeout {
                what: what.clone(),
                waited: *waited,
            },
            ProviderError::Unsupported { message } => ProviderError::Unsupported {
                message: message.clone(),
            },
            ProviderError::Other { .. } => ProviderError::Other { message },
        }
    }
}

/// Reports observed values in the form `reference` had when they mean the same thing.
fn settle(reference: &ValueMap, mut observed: Observed) -> Observed {
    for (k, v) in observed.attributes.iter_mut() {
        if let Some(r) = reference.get(k) {
            let r = r.unmarked();
            if equivalent(&r, v) {
                *v = r;
            }
        }
    }
    observed
}

/// Same meaning: equal, equal as JSON documents, or lists holding the same items in another
/// order (a set such as subnet ids or rules).
pub(crate) fn equivalent(a: &Value, b: &Value) -> bool {
    if a == b {
        return true;
    }
    match (a, b) {
        (Value::String(x), Value::String(y)) => json_doc(x).is_some_and(|j| Some(j) == json_doc(y)),
        (Value::Map(_), Value::String(y)) | (Value::String(y), Value::Map(_)) => {
            let m = if let Value::Map(_) = a { a } else { b };
            json_doc(y).is_some_and(|j| equivalent(m, &j))
        }
        (Value::List(x), Value::List(y)) if x.len() == y.len() => {
            let mut used = vec![false; y.len()];
            x.iter().all(|xi| {
                let found = y
                    .iter()
                    .enumerate()
                    .find(|(j, yj)| !used[*j] && equivalent(xi, yj));
                match found {
                    Some((j, _)) => {
                        used[j] = true;
                        true
                    }
                    None => false,
                }
            })
        }
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, xv)| y.get(k).is_some_and(|yv| equivalent(xv, yv)))
        }
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => false,
    }
}

/// A string holding a JSON object or array, as a value.
fn json_doc(s: &str) -> Option<Value> {
    let t = s.trim_start();
    if !(t.starts_with('{') || t.starts_with('[')) {
        return None;
    }
    serde_json::from_str::<serde_json::Value>(s)
        .ok()
        .map(|j| Value::from(&j))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equivalence_ignores_order_and_json_spelling() {
        let a = Value::List(vec![Value::str("b"), Value::str("a")]);
        let b = Value::List(vec![Value::str("a"), Value::str("b")]);
        assert!(equivalent(&a, &b));
        let d1 = Value::str(r#"{"Version":"2012-10-17","Statement":[]}"#);
        let d2 = Value::str("{\n  \"Statement\": [], \"Version\": \"2012-10-17\"}");
        assert!(equivalent(&d1, &d2));
        assert!(!equivalent(&Value::str("a"), &Value::str("b")));
    }
}
