//! `aws_eks_cluster`: the control plane. Version (one minor step at a time), endpoint access,
//! public CIDRs, logging, authentication mode (forward only: CONFIG_MAP → API_AND_CONFIG_MAP →
//! API, one step per update) and tags change in place, one EKS update at a time, each waited
//! for; subnets, security groups, role and secrets encryption are fixed at creation. A cluster
//! is created with `bootstrapClusterCreatorAdminPermissions`, so the identity that creates it
//! keeps cluster-admin access through its own access entry.

use async_trait::async_trait;
use aws_sdk_eks::operation::update_cluster_config::builders::UpdateClusterConfigFluentBuilder;
use aws_sdk_eks::types::builders::VpcConfigRequestBuilder;
use aws_sdk_eks::types::{
    AuthenticationMode, Cluster as SdkCluster, CreateAccessConfigRequest, EncryptionConfig,
    LogSetup, LogType, Logging, Provider as KeyProvider, UpdateAccessConfigRequest,
    VpcConfigRequest,
};
use hdh_engine::provider::{CreateRequest, DeleteRequest, UpdateRequest};
use hdh_engine::{Observed, OpContext, ProviderError, Value, ValueMap};

use super::kind::{self, EksType};
use super::{btree, check_version_step, hash_map, sync_tags};
use crate::aws::describe::{self, done};
use crate::aws::errors::eks as e;
use crate::aws::token::client_token;
use crate::aws::wait;
use crate::aws::{tags, Clients, Cx};
use crate::props;
use crate::Answer;

pub(crate) const TYPE: &str = "aws_eks_cluster";

pub(crate) struct Cluster;

/// The authentication modes in the only order EKS moves a cluster through them.
pub(crate) const AUTH_MODES: [&str; 3] = ["CONFIG_MAP", "API_AND_CONFIG_MAP", "API"];

/// The mode EKS reports; a cluster without an access config is in EKS's old default.
fn auth_mode(c: &SdkCluster) -> &str {
    c.access_config()
        .and_then(|a| a.authentication_mode())
        .map_or("CONFIG_MAP", |m| m.as_str())
}

/// The single steps from `from` to `to`, or why EKS would refuse the move.
pub(crate) fn auth_mode_steps(from: &str, to: &str) -> Answer<Vec<&'static str>> {
    let rank = |m: &str| AUTH_MODES.iter().position(|x| *x == m);
    match (rank(from), rank(to)) {
        (Some(a), Some(b)) if b >= a => Ok(AUTH_MODES[a + 1..=b].to_vec()),
        (Some(_), Some(_)) => Err(ProviderError::invalid(format!(
            "`authentication_mode` cannot go back from {from} to {to}: EKS moves a cluster only \
             forward (CONFIG_MAP → API_AND_CONFIG_MAP → API); set it to {from}"
        ))),
        _ => Err(ProviderError::invalid(format!(
            "`authentication_mode` must be one of {}, found {to:?}",
            AUTH_MODES.join(", ")
        ))),
    }
}

pub(crate) const ALL_LOG_TYPES: [&str; 5] = [
    "api",
    "audit",
    "authenticator",
    "controllerManager",
    "scheduler",
];

/// The cluster's status as EKS reports it (`ACTIVE`, `DELETING`…); `None` when there is no
/// such cluster. For the Kubernetes provider, to tell a cluster that is gone from one that is
/// only unreachable.
pub(crate) async fn cluster_status(aws: &Clients, name: &str) -> Answer<Option<String>> {
    Ok(EksType::describe(&Cluster, aws, name)
        .await?
        .map(|c| c.status().map_or("UNKNOWN", |s| s.as_str()).to_string()))
}

/// The endpoint settings `p` asks for.
fn endpoint_access(p: &ValueMap) -> Answer<VpcConfigRequestBuilder> {
    Ok(VpcConfigRequest::builder()
        .set_endpoint_public_access(props::boolean(p, "endpoint_public_access")?)
        .set_endpoint_private_access(props::boolean(p, "endpoint_private_access")?)
        .set_public_access_cidrs(
            props::get(p, "public_access_cidrs")
                .map(|_| props::string_list(p, "public_access_cidrs"))
                .transpose()?,
        ))
}

/// One UpdateClusterConfig step (`set` says what it changes), waited for until ACTIVE.
async fn configure(
    cx: Cx<'_>,
    req: &UpdateRequest,
    set: impl Fn(UpdateClusterConfigFluentBuilder) -> UpdateClusterConfigFluentBuilder,
) -> Answer<()> {
    let send = || {
        done(
            set(cx.aws.eks.update_cluster_config().name(&req.id)).send(),
            e("UpdateClusterConfig"),
        )
    };
    kind::change(&Cluster, cx, req, send).await
}

fn logging(types: &[String]) -> Logging {
    let (on, off): (Vec<&str>, Vec<&str>) = ALL_LOG_TYPES
        .iter()
        .partition(|t| types.iter().any(|x| x == *t));
    // One setup per state, for the types in it; EKS refuses a setup with no types.
    let setup = |types: Vec<&str>, enabled: bool| {
        (!types.is_empty()).then(|| {
            LogSetup::builder()
                .set_types(Some(types.into_iter().map(LogType::from).collect()))
                .enabled(enabled)
                .build()
        })
    };
    let setups = [setup(on, true), setup(off, false)]
        .into_iter()
        .flatten()
        .collect();
    Logging::builder().set_cluster_logging(Some(setups)).build()
}

fn check_log_types(types: &[String]) -> Answer<()> {
    match types.iter().find(|t| !ALL_LOG_TYPES.contains(&t.as_str())) {
        Some(t) => Err(ProviderError::invalid(format!(
            "enabled_cluster_log_types: unknown log type {t:?} (expected {})",
            ALL_LOG_TYPES.join(", ")
        ))),
        None => Ok(()),
    }
}

#[async_trait]
impl EksType for Cluster {
    type Item = SdkCluster;
    const NOUN: &'static str = "cluster";
    const NAME: &'static str = "name";
    const FAILED: &'static [&'static str] = &["FAILED"];

    async fn describe(&self, aws: &Clients, name: &str) -> Answer<Option<SdkCluster>> {
        let call = aws.eks.describe_cluster().name(name);
        let out = describe::found(call.send(), e("DescribeCluster")).await?;
        Ok(out.and_then(|o| o.cluster))
    }

    fn observe(&self, ctx: &OpContext, c: &SdkCluster, prior: &ValueMap) -> Observed {
        let name = c.name().unwrap_or_default().to_string();
        let mut a = ValueMap::new();
        let s = |v: Option<&str>| v.map_or(Value::Null, Value::str);
        a.insert("name".into(), Value::str(&name));
        a.insert("role_arn".into(), s(c.role_arn()));
        a.insert("version".into(), s(c.version()));
        if let Some(v) = c.resources_vpc_config() {
            a.insert("subnet_ids".into(), props::str_list(v.subnet_ids()));
            a.insert(
                "security_group_ids".into(),
                props::str_list(v.security_group_ids()),
            );
            a.insert(
                "endpoint_public_access".into(),
                Value::Bool(v.endpoint_public_access()),
            );
            a.insert(
                "endpoint_private_access".into(),
                Value::Bool(v.endpoint_private_access()),
            );
            if prior.contains_key("public_access_cidrs") || !v.public_access_cidrs().is_empty() {
                a.insert(
                    "public_access_cidrs".into(),
                    props::str_list(v.public_access_cidrs()),
                );
            }
            a.insert(
                "cluster_security_group_id".into(),
                s(v.cluster_security_group_id()),
            );
            a.insert("vpc_id".into(), s(v.vpc_id()));
        }
        let logs: Vec<&str> = c
            .logging()
            .map(|l| {
                l.cluster_logging()
                    .iter()
                    .filter(|x| x.enabled() == Some(true))
                    .flat_map(|x| x.types().iter().map(|t| t.as_str()))
                    .collect()
            })
            .unwrap_or_default();
        a.insert("enabled_cluster_log_types".into(), props::str_list(logs));
        let key = c
            .encryption_config()
            .iter()
            .find_map(|x| x.provider().and_then(|p| p.key_arn()));
        a.insert("encryption_key_arn".into(), s(key));
        a.insert("authentication_mode".into(), Value::str(auth_mode(c)));
        a.insert("tags".into(), tags::own_view(ctx, &btree(c.tags()), prior));
        a.insert("arn".into(), s(c.arn()));
        a.insert("endpoint".into(), s(c.endpoint()));
        a.insert(
            "certificate_authority".into(),
            s(c.certificate_authority().and_then(|x| x.data())),
        );
        a.insert(
            "oidc_issuer".into(),
            s(c.identity().and_then(|i| i.oidc()).and_then(|o| o.issuer())),
        );
        a.insert("platform_version".into(), s(c.platform_version()));
        Observed {
            id: name,
            attributes: a,
        }
    }

    /// `hdh import`: named by its name.
    fn natural_id(&self, p: &ValueMap) -> Answer<Option<String>> {
        props::string(p, "name")
    }

    /// A cluster whose tags were not written yet carries the create's request token.
    async fn also_ours(&self, _aws: &Clients, c: &SdkCluster, token: Option<&str>) -> Answer<bool> {
        Ok(token.is_some_and(|t| c.client_request_token() == Some(client_token(t).as_str())))
    }

    async fn create(&self, cx: Cx<'_>, req: &CreateRequest) -> Answer<Observed> {
        let p = &req.properties;
        let name = props::required_string(p, "name")?;
        let logs = props::string_list(p, "enabled_cluster_log_types")?;
        check_log_types(&logs)?;
        let mode =
            props::string(p, "authentication_mode")?.unwrap_or_else(|| "API_AND_CONFIG_MAP".into());
        auth_mode_steps("CONFIG_MAP", &mode)?;
        let tags = tags::for_create(cx.op, &req.address, &req.token, p)?;
        let vpc = endpoint_access(p)?
            .set_subnet_ids(Some(props::string_list(p, "subnet_ids")?))
            .set_security_group_ids(Some(props::string_list(p, "security_group_ids")?))
            .build();
        // `resources: [secrets]` is what EKS's API (and the emulator) still expect.
        #[allow(deprecated)]
        let encryption = props::string(p, "encryption_key_arn")?.map(|arn| {
            EncryptionConfig::builder()
                .resources("secrets")
                .provider(KeyProvider::builder().key_arn(arn).build())
                .build()
        });
        let call = cx
            .aws
            .eks
            .create_cluster()
            .name(&name)
            .role_arn(props::required_string(p, "role_arn")?)
            .set_version(props::string(p, "version")?)
            .resources_vpc_config(vpc)
            .logging(logging(&logs))
            .set_encryption_config(encryption.map(|x| vec![x]))
            .access_config(
                CreateAccessConfigRequest::builder()
                    .authentication_mode(AuthenticationMode::from(mode.as_str()))
                    .bootstrap_cluster_creator_admin_permissions(true)
                    .build(),
            )
            .set_tags(Some(hash_map(&tags)))
            .client_request_token(client_token(&req.token));
        done(call.send(), e("CreateCluster")).await?;
        kind::created(self, cx, req).await
    }

    async fn update(&self, cx: Cx<'_>, req: &UpdateRequest) -> Answer<Observed> {
        let p = &req.properties;
        let name = &req.id;
        let changed = |n: &str| req.changed.iter().any(|c| c == n);
        let to = props::string(p, "version")?.filter(|_| changed("version"));
        if let (Some(from), Some(to)) = (props::string(&req.prior, "version")?, to) {
            check_version_step(&from, &to)?;
            let call = cx.aws.eks.update_cluster_version().name(name).version(&to);
            let call = call.client_request_token(uuid_like(name, "version", &to));
            let send = || done(call.clone().send(), e("UpdateClusterVersion"));
            kind::change(self, cx, req, send).await?;
        }
        let endpoint = [
            "endpoint_public_access",
            "endpoint_private_access",
            "public_access_cidrs",
        ];
        if endpoint.iter().any(|n| changed(n)) {
            let vpc = endpoint_access(p)?.build();
            configure(cx, req, |c| c.resources_vpc_config(vpc.clone())).await?;
        }
        if changed("authentication_mode") {
            let to = props::string(p, "authentication_mode")?
                .unwrap_or_else(|| "API_AND_CONFIG_MAP".into());
            // From what EKS says now, not from state: an earlier step may have been applied.
            let from = EksType::describe(self, cx.aws, name)
                .await?
                .map_or_else(|| "CONFIG_MAP".into(), |c| auth_mode(&c).to_string());
            for step in auth_mode_steps(&from, &to)? {
                let access = UpdateAccessConfigRequest::builder()
                    .authentication_mode(AuthenticationMode::from(step))
                    .build();
                configure(cx, req, |c| c.access_config(access.clone())).await?;
            }
        }
        if changed("enabled_cluster_log_types") {
            let logs = props::string_list(p, "enabled_cluster_log_types")?;
            check_log_types(&logs)?;
            configure(cx, req, |c| c.logging(logging(&logs))).await?;
        }
        if changed("tags") {
            sync_tags(cx, &req.prior, tags::changes(cx.op, req)?).await?;
        }
        kind::updated(self, cx, req).await
    }

    async fn delete(&self, cx: Cx<'_>, req: &DeleteRequest) -> Answer<()> {
        // ResourceInUse while node groups or add-ons are still going away.
        let once = || {
            done(
                cx.aws.eks.delete_cluster().name(&req.id).send(),
                e("DeleteCluster"),
            )
        };
        kind::delete(self, cx, req, wait::dependency, once).await
    }
}

/// A request token for an update that is the same for the same change (so a retried call is
/// not applied twice).
fn uuid_like(name: &str, what: &str, to: &str) -> String {
    use sha2::{Digest, Sha256};
    let h = Sha256::digest(format!("{name}/{what}/{to}").as_bytes());
    hex::encode(&h[..16])
}
