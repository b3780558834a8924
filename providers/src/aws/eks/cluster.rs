//! `aws_eks_cluster`: the control plane. Version (one minor step at a time), endpoint access,
//! public CIDRs, logging, authentication mode (forward only: CONFIG_MAP → API_AND_CONFIG_MAP →
//! API, one step per update) and tags change in place, one EKS update at a time, each waited
//! for; subnets, security groups, role and secrets encryption are fixed at creation. A cluster
//! is created with `bootstrapClusterCreatorAdminPermissions`, so the identity that creates it
//! keeps cluster-admin access through its own access entry.

use async_trait::async_trait;
use aws_sdk_eks::types::{
    AuthenticationMode, Cluster as SdkCluster, ClusterStatus, CreateAccessConfigRequest,
    EncryptionConfig, LogSetup, LogType, Logging, Provider as KeyProvider,
    UpdateAccessConfigRequest, VpcConfigRequest,
};
use hdh_engine::provider::{CreateRequest, DeleteRequest, ReadRequest, UpdateRequest};
use hdh_engine::{
    AttributeSpec, Observed, OpContext, ProviderError, ResourceType, Value, ValueMap, ValueType,
};
use std::time::Duration;

use super::{btree, check_version_step, hash_map, request_token, sync_tags};
use crate::aws::errors::{absent_if_not_found, eks as e};
use crate::aws::wait::{self, Poll, Wait};
use crate::aws::{join_all, tags, Clients, Kind};
use crate::props;
use crate::{Answer, Found};

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

fn observe(ctx: &OpContext, c: &SdkCluster, prior: &ValueMap) -> Observed {
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

/// The cluster in whatever state it is, DELETING included.
async fn describe_any(aws: &Clients, name: &str) -> Answer<Option<SdkCluster>> {
    let out = absent_if_not_found(
        aws.eks
            .describe_cluster()
            .name(name)
            .send()
            .await
            .map_err(e("DescribeCluster")),
    )?;
    Ok(out.and_then(|o| o.cluster))
}

/// The cluster unless it is gone or going.
async fn describe(aws: &Clients, name: &str) -> Answer<Option<SdkCluster>> {
    Ok(describe_any(aws, name)
        .await?
        .filter(|c| c.status() != Some(&ClusterStatus::Deleting)))
}

/// The cluster's status as EKS reports it (`ACTIVE`, `DELETING`…); `None` when there is no
/// such cluster. For the Kubernetes provider, to tell a cluster that is gone from one that is
/// only unreachable.
pub(crate) async fn cluster_status(aws: &Clients, name: &str) -> Answer<Option<String>> {
    Ok(describe_any(aws, name)
        .await?
        .map(|c| c.status().map_or("UNKNOWN", |s| s.as_str()).to_string()))
}

/// Waits for the cluster to be ACTIVE (after a create or an update).
async fn wait_active(
    aws: &Clients,
    ctx: &OpContext,
    address: &str,
    name: &str,
    verb: &str,
    prior: &ValueMap,
) -> Answer<Observed> {
    let w = Wait {
        ctx,
        address,
        verb,
        what: format!("cluster {name} to be ACTIVE"),
        policy: aws.poll,
    };
    w.until(|| async {
        Ok(match describe(aws, name).await? {
            Some(c) if c.status() == Some(&ClusterStatus::Active) => {
                Poll::Ready(observe(ctx, &c, prior))
            }
            Some(c) if c.status() == Some(&ClusterStatus::Failed) => {
                return Err(ProviderError::other(format!("cluster {name} is FAILED")))
            }
            Some(c) => Poll::Pending(c.status().map_or("unknown", |s| s.as_str()).to_string()),
            None => Poll::Pending("not yet visible".into()),
        })
    })
    .await
}

fn logging(types: &[String]) -> Logging {
    let (on, off): (Vec<&str>, Vec<&str>) = ALL_LOG_TYPES
        .iter()
        .partition(|t| types.iter().any(|x| x == *t));
    let mut setups = Vec::new();
    if !on.is_empty() {
        setups.push(
            LogSetup::builder()
                .set_types(Some(on.into_iter().map(LogType::from).collect()))
                .enabled(true)
                .build(),
        );
    }
    if !off.is_empty() {
        setups.push(
            LogSetup::builder()
                .set_types(Some(off.into_iter().map(LogType::from).collect()))
                .enabled(false)
                .build(),
        );
    }
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
impl Kind for Cluster {
    fn schema(&self) -> ResourceType {
        let strings = || ValueType::List(Box::new(ValueType::String));
        ResourceType::new(
            TYPE,
            "An EKS cluster (control plane).",
            vec![
                AttributeSpec::required("name", ValueType::String).force_new(),
                AttributeSpec::required("role_arn", ValueType::String).force_new(),
                AttributeSpec::optional("version", ValueType::String, None)
                    .stepped(super::next_minor)
                    .describe(
                        "Kubernetes version, e.g. \"1.31\"; EKS upgrades one minor version at a \
                         time, so a version further ahead is planned and applied in steps.",
                    ),
                AttributeSpec::required("subnet_ids", strings()).force_new(),
                AttributeSpec::optional("security_group_ids", strings(), Some(Value::List(vec![])))
                    .force_new(),
                AttributeSpec::optional(
                    "endpoint_public_access",
                    ValueType::Bool,
                    Some(Value::Bool(true)),
                ),
                AttributeSpec::optional(
                    "endpoint_private_access",
                    ValueType::Bool,
                    Some(Value::Bool(false)),
                ),
                AttributeSpec::optional("public_access_cidrs", strings(), None),
                AttributeSpec::optional(
                    "enabled_cluster_log_types",
                    strings(),
                    Some(Value::List(vec![])),
                ),
                AttributeSpec::optional("encryption_key_arn", ValueType::String, None)
                    .force_new()
                    .describe("KMS key ARN for Kubernetes secrets encryption (fixed at creation)."),
                AttributeSpec::optional(
                    "authentication_mode",
                    ValueType::String,
                    Some(Value::str("API_AND_CONFIG_MAP")),
                )
                .describe(
                    "API_AND_CONFIG_MAP (access entries and the aws-auth ConfigMap), API or \
                     CONFIG_MAP; EKS changes it only forward, CONFIG_MAP → API_AND_CONFIG_MAP → API.",
                ),
                AttributeSpec::optional("tags", ValueType::Map(Box::new(ValueType::String)), None),
                AttributeSpec::computed("arn", ValueType::String),
                AttributeSpec::computed("endpoint", ValueType::String),
                AttributeSpec::computed("certificate_authority", ValueType::String),
                AttributeSpec::computed("oidc_issuer", ValueType::String),
                AttributeSpec::computed("cluster_security_group_id", ValueType::String),
                AttributeSpec::computed("vpc_id", ValueType::String),
                AttributeSpec::computed("platform_version", ValueType::String)
                    .changes_with(&["version"]),
            ],
        )
        // typical durations (create ~10m, version upgrade ~10m, delete ~5m)
        .typically(
            Some(Duration::from_secs(600)),
            Some(Duration::from_secs(600)),
            Some(Duration::from_secs(300)),
        )
    }

    async fn read(&self, aws: &Clients, ctx: &OpContext, requests: &[ReadRequest]) -> Vec<Found> {
        join_all(requests.iter().map(|r| async move {
            Ok(describe(aws, &r.id)
                .await?
                .map(|c| observe(ctx, &c, &r.prior)))
        }))
        .await
    }

    async fn create(
        &self,
        aws: &Clients,
        ctx: &OpContext,
        req: &CreateRequest,
    ) -> Answer<Observed> {
        let p = &req.properties;
        let name = props::required_string(p, "name")?;
        let logs = props::string_list(p, "enabled_cluster_log_types")?;
        check_log_types(&logs)?;
        let mode =
            props::string(p, "authentication_mode")?.unwrap_or_else(|| "API_AND_CONFIG_MAP".into());
        auth_mode_steps("CONFIG_MAP", &mode)?;
        let tags = tags::for_create(ctx, &req.address, &req.token, p)?;
        let vpc = VpcConfigRequest::builder()
            .set_subnet_ids(Some(props::string_list(p, "subnet_ids")?))
            .set_security_group_ids(Some(props::string_list(p, "security_group_ids")?))
            .set_endpoint_public_access(props::boolean(p, "endpoint_public_access")?)
            .set_endpoint_private_access(props::boolean(p, "endpoint_private_access")?)
            .set_public_access_cidrs(
                props::get(p, "public_access_cidrs")
                    .map(|_| props::string_list(p, "public_access_cidrs"))
                    .transpose()?,
            )
            .build();
        // `resources: [secrets]` is what EKS's API (and the emulator) still expect.
        #[allow(deprecated)]
        let encryption = props::string(p, "encryption_key_arn")?.map(|arn| {
            EncryptionConfig::builder()
                .resources("secrets")
                .provider(KeyProvider::builder().key_arn(arn).build())
                .build()
        });
        aws.eks
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
            .client_request_token(request_token(&req.token))
            .send()
            .await
            .map_err(e("CreateCluster"))?;
        wait_active(aws, ctx, &req.address, &name, "creating", p).await
    }

    async fn update(
        &self,
        aws: &Clients,
        ctx: &OpContext,
        req: &UpdateRequest,
    ) -> Answer<Observed> {
        let p = &req.properties;
        let name = &req.id;
        let changed = |n: &str| req.changed.iter().any(|c| c == n);
        let w = Wait {
            ctx,
            address: &req.address,
            verb: "updating",
            what: format!("cluster {name} to accept an update"),
            policy: aws.poll,
        };
        if changed("version") {
            if let (Some(from), Some(to)) = (
                props::string(&req.prior, "version")?,
                props::string(p, "version")?,
            ) {
                check_version_step(&from, &to)?;
                w.retrying(wait::dependency, || async {
                    aws.eks
                        .update_cluster_version()
                        .name(name)
                        .version(&to)
                        .client_request_token(uuid_like(name, "version", &to))
                        .send()
                        .await
                        .map(drop)
                        .map_err(e("UpdateClusterVersion"))
                })
                .await?;
                wait_active(aws, ctx, &req.address, name, "updating", p).await?;
            }
        }
        if [
            "endpoint_public_access",
            "endpoint_private_access",
            "public_access_cidrs",
        ]
        .iter()
        .any(|n| changed(n))
        {
            let vpc = VpcConfigRequest::builder()
                .set_endpoint_public_access(props::boolean(p, "endpoint_public_access")?)
                .set_endpoint_private_access(props::boolean(p, "endpoint_private_access")?)
                .set_public_access_cidrs(
                    props::get(p, "public_access_cidrs")
                        .map(|_| props::string_list(p, "public_access_cidrs"))
                        .transpose()?,
                )
                .build();
            w.retrying(wait::dependency, || async {
                aws.eks
                    .update_cluster_config()
                    .name(name)
                    .resources_vpc_config(vpc.clone())
                    .send()
                    .await
                    .map(drop)
                    .map_err(e("UpdateClusterConfig"))
            })
            .await?;
            wait_active(aws, ctx, &req.address, name, "updating", p).await?;
        }
        if changed("authentication_mode") {
            let to = props::string(p, "authentication_mode")?
                .unwrap_or_else(|| "API_AND_CONFIG_MAP".into());
            // From what EKS says now, not from state: an earlier step may have been applied.
            let from = describe(aws, name)
                .await?
                .map(|c| auth_mode(&c).to_string())
                .unwrap_or_else(|| "CONFIG_MAP".into());
            for step in auth_mode_steps(&from, &to)? {
                w.retrying(wait::dependency, || async {
                    aws.eks
                        .update_cluster_config()
                        .name(name)
                        .access_config(
                            UpdateAccessConfigRequest::builder()
                                .authentication_mode(AuthenticationMode::from(step))
                                .build(),
                        )
                        .send()
                        .await
                        .map(drop)
                        .map_err(e("UpdateClusterConfig"))
                })
                .await?;
                wait_active(aws, ctx, &req.address, name, "updating", p).await?;
            }
        }
        if changed("enabled_cluster_log_types") {
            let logs = props::string_list(p, "enabled_cluster_log_types")?;
            check_log_types(&logs)?;
            w.retrying(wait::dependency, || async {
                aws.eks
                    .update_cluster_config()
                    .name(name)
                    .logging(logging(&logs))
                    .send()
                    .await
                    .map(drop)
                    .map_err(e("UpdateClusterConfig"))
            })
            .await?;
            wait_active(aws, ctx, &req.address, name, "updating", p).await?;
        }
        if changed("tags") {
            let arn = props::required_string(&req.prior, "arn")?;
            sync_tags(aws, &arn, tags::changes(ctx, req)?).await?;
        }
        wait_active(aws, ctx, &req.address, name, "updating", p).await
    }

    async fn delete(&self, aws: &Clients, ctx: &OpContext, req: &DeleteRequest) -> Answer<()> {
        let name = &req.id;
        let w = Wait {
            ctx,
            address: &req.address,
            verb: "deleting",
            what: format!("cluster {name} to be deleted"),
            policy: aws.poll,
        };
        // ResourceInUse while node groups or add-ons are still going away.
        w.retrying(wait::dependency, || async {
            crate::aws::errors::gone_is_ok(
                aws.eks
                    .delete_cluster()
                    .name(name)
                    .send()
                    .await
                    .map(drop)
                    .map_err(e("DeleteCluster")),
            )
        })
        .await?;
        w.until(|| async {
            let out = absent_if_not_found(
                aws.eks
                    .describe_cluster()
                    .name(name)
                    .send()
                    .await
                    .map_err(e("DescribeCluster")),
            )?;
            Ok(match out.and_then(|o| o.cluster) {
                None => Poll::Ready(()),
                Some(c) => Poll::Pending(c.status().map_or("unknown", |s| s.as_str()).to_string()),
            })
        })
        .await
    }

    async fn find_created(&self, aws: &Clients, ctx: &OpContext, req: &CreateRequest) -> Found {
        lookup(aws, ctx, req, Some(&req.token)).await
    }

    async fn find_existing(&self, aws: &Clients, ctx: &OpContext, req: &CreateRequest) -> Found {
        lookup(aws, ctx, req, None).await
    }

    /// `hdh import`: named by its name.
    fn natural_id(&self, p: &ValueMap) -> Answer<Option<String>> {
        props::string(p, "name")
    }
}

/// The cluster `req` names if this stack made it for this address (by the create with
/// `token`, if given), once ACTIVE.
async fn lookup(aws: &Clients, ctx: &OpContext, req: &CreateRequest, token: Option<&str>) -> Found {
    let name = props::required_string(&req.properties, "name")?;
    let Some(c) = describe(aws, &name).await? else {
        return Ok(None);
    };
    let ours = tags::made_for(&btree(c.tags()), ctx, &req.address, token)
        || token.is_some_and(|t| c.client_request_token() == Some(request_token(t).as_str()));
    if !ours {
        return Ok(None);
    }
    // Adopted while still CREATING: ACTIVE before anything that depends on it starts.
    wait_active(aws, ctx, &req.address, &name, "creating", &req.properties)
        .await
        .map(Some)
}

/// A request token for an update that is the same for the same change (so a retried call is
/// not applied twice).
fn uuid_like(name: &str, what: &str, to: &str) -> String {
    use sha2::{Digest, Sha256};
    let h = Sha256::digest(format!("{name}/{what}/{to}").as_bytes());
    hex::encode(&h[..16])
}
