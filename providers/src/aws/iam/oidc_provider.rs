//! `aws_iam_openid_connect_provider`: the cluster's OIDC issuer, for IRSA. OIDC providers have
//! no batch read: one List, then one Get per provider hdh manages.

use std::collections::BTreeSet;

use async_trait::async_trait;
use hdh_engine::provider::{
    CreateRequest, DeleteRequest, ImportRequest, ReadRequest, UpdateRequest,
};
use hdh_engine::{
    AttributeSpec, Observed, OpContext, ProviderError, ResourceType, Value, ValueMap, ValueType,
};

use super::{iam_tags, tag_map};
use crate::aws::errors::{absent_if_not_found, gone_is_ok, iam as e};
use crate::aws::import::unsearchable;
use crate::aws::wait::{self, Wait};
use crate::aws::{tags, Clients, Kind};
use crate::props;
use crate::{Answer, Found};

pub(crate) const OIDC: &str = "aws_iam_openid_connect_provider";

pub(crate) struct OidcProvider;

const DEFAULT_THUMBPRINT: &str = "9e99a48a9960b14926bb7f3b02e22da2b0ab7280";

fn strip_scheme(u: &str) -> &str {
    u.strip_prefix("https://").unwrap_or(u)
}

async fn oidc_observe(
    aws: &Clients,
    ctx: &OpContext,
    arn: &str,
    prior: &ValueMap,
) -> Answer<Observed> {
    let o = aws
        .iam
        .get_open_id_connect_provider()
        .open_id_connect_provider_arn(arn)
        .send()
        .await
        .map_err(e("GetOpenIDConnectProvider"))?;
    let url = o.url().unwrap_or_default();
    let prior_url = props::string(prior, "url")?.unwrap_or_default();
    let url = if strip_scheme(&prior_url) == strip_scheme(url) {
        prior_url
    } else {
        format!("https://{}", strip_scheme(url))
    };
    let mut a = ValueMap::new();
    a.insert("url".into(), Value::String(url));
    a.insert("client_id_list".into(), props::str_list(o.client_id_list()));
    a.insert(
        "thumbprint_list".into(),
        props::str_list(o.thumbprint_list()),
    );
    a.insert(
        "tags".into(),
        tags::own_view(ctx, &tag_map(o.tags()), prior),
    );
    a.insert("arn".into(), Value::str(arn));
    a.insert(
        "issuer_host".into(),
        Value::str(strip_scheme(o.url().unwrap_or_default())),
    );
    Ok(Observed {
        id: arn.to_string(),
        attributes: a,
    })
}

async fn oidc_arns(aws: &Clients) -> Answer<Vec<String>> {
    let l = aws
        .iam
        .list_open_id_connect_providers()
        .send()
        .await
        .map_err(e("ListOpenIDConnectProviders"))?;
    Ok(l.open_id_connect_provider_list()
        .iter()
        .filter_map(|x| x.arn().map(String::from))
        .collect())
}

#[async_trait]
impl Kind for OidcProvider {
    fn schema(&self) -> ResourceType {
        ResourceType::new(
            OIDC,
            "An IAM OpenID Connect provider (the EKS cluster's issuer, for service-account roles).",
            vec![
                AttributeSpec::required("url", ValueType::String).force_new(),
                AttributeSpec::optional(
                    "client_id_list",
                    ValueType::List(Box::new(ValueType::String)),
                    Some(props::str_list(["sts.amazonaws.com"])),
                ),
                AttributeSpec::optional(
                    "thumbprint_list",
                    ValueType::List(Box::new(ValueType::String)),
                    Some(props::str_list([DEFAULT_THUMBPRINT])),
                ),
                AttributeSpec::optional("tags", ValueType::Map(Box::new(ValueType::String)), None),
                AttributeSpec::computed("arn", ValueType::String),
                AttributeSpec::computed("issuer_host", ValueType::String).describe(
                    "The issuer without https://, as IRSA trust-policy conditions name it.",
                ),
            ],
        )
    }

    async fn read(&self, aws: &Clients, ctx: &OpContext, requests: &[ReadRequest]) -> Vec<Found> {
        let arns = match oidc_arns(aws).await {
            Ok(a) => a,
            Err(err) => {
                let m = err.to_string();
                return requests
                    .iter()
                    .map(|_| Err(ProviderError::other(m.clone())))
                    .collect();
            }
        };
        let mut out = Vec::new();
        for r in requests {
            if !arns.contains(&r.id) {
                out.push(Ok(None));
                continue;
            }
            out.push(absent_if_not_found(
                oidc_observe(aws, ctx, &r.id, &r.prior).await,
            ));
        }
        out
    }

    async fn create(
        &self,
        aws: &Clients,
        ctx: &OpContext,
        req: &CreateRequest,
    ) -> Answer<Observed> {
        let p = &req.properties;
        let tags = tags::for_create(ctx, &req.address, &req.token, p)?;
        let mut thumbs = props::string_list(p, "thumbprint_list")?;
        if thumbs.is_empty() {
            thumbs.push(DEFAULT_THUMBPRINT.into());
        }
        let out = aws
            .iam
            .create_open_id_connect_provider()
            .url(props::required_string(p, "url")?)
            .set_client_id_list(Some(props::string_list(p, "client_id_list")?))
            .set_thumbprint_list(Some(thumbs))
            .set_tags(Some(iam_tags(&tags)))
            .send()
            .await
            .map_err(e("CreateOpenIDConnectProvider"))?;
        let arn = out
            .open_id_connect_provider_arn()
            .unwrap_or_default()
            .to_string();
        let w = Wait {
            ctx,
            address: &req.address,
            verb: "creating",
            what: format!("OIDC provider {arn} to be visible"),
            policy: aws.poll,
        };
        w.retrying(wait::not_yet_visible, || oidc_observe(aws, ctx, &arn, p))
            .await
    }

    async fn update(
        &self,
        aws: &Clients,
        ctx: &OpContext,
        req: &UpdateRequest,
    ) -> Answer<Observed> {
        let p = &req.properties;
        let arn = &req.id;
        let have: BTreeSet<String> = props::string_list(&req.prior, "client_id_list")?
            .into_iter()
            .collect();
        let want: BTreeSet<String> = props::string_list(p, "client_id_list")?
            .into_iter()
            .collect();
        for c in want.difference(&have) {
            aws.iam
                .add_client_id_to_open_id_connect_provider()
                .open_id_connect_provider_arn(arn)
                .client_id(c)
                .send()
                .await
                .map_err(e("AddClientIDToOpenIDConnectProvider"))?;
        }
        for c in have.difference(&want) {
            aws.iam
                .remove_client_id_from_open_id_connect_provider()
                .open_id_connect_provider_arn(arn)
                .client_id(c)
                .send()
                .await
                .map_err(e("RemoveClientIDFromOpenIDConnectProvider"))?;
        }
        if req.changed.iter().any(|c| c == "thumbprint_list") {
            aws.iam
                .update_open_id_connect_provider_thumbprint()
                .open_id_connect_provider_arn(arn)
                .set_thumbprint_list(Some(props::string_list(p, "thumbprint_list")?))
                .send()
                .await
                .map_err(e("UpdateOpenIDConnectProviderThumbprint"))?;
        }
        if req.changed.iter().any(|c| c == "tags") {
            tags::sync(
                tags::changes(ctx, req)?,
                |set| async move {
                    aws.iam
                        .tag_open_id_connect_provider()
                        .open_id_connect_provider_arn(arn)
                        .set_tags(Some(iam_tags(&set)))
                        .send()
                        .await
                        .map(drop)
                        .map_err(e("TagOpenIDConnectProvider"))
                },
                |keys| async move {
                    aws.iam
                        .untag_open_id_connect_provider()
                        .open_id_connect_provider_arn(arn)
                        .set_tag_keys(Some(keys))
                        .send()
                        .await
                        .map(drop)
                        .map_err(e("UntagOpenIDConnectProvider"))
                },
            )
            .await?;
        }
        oidc_observe(aws, ctx, arn, p).await
    }

    async fn delete(&self, aws: &Clients, _ctx: &OpContext, req: &DeleteRequest) -> Answer<()> {
        gone_is_ok(
            aws.iam
                .delete_open_id_connect_provider()
                .open_id_connect_provider_arn(&req.id)
                .send()
                .await
                .map(drop)
                .map_err(e("DeleteOpenIDConnectProvider")),
        )
    }

    async fn find_created(&self, aws: &Clients, ctx: &OpContext, req: &CreateRequest) -> Found {
        find_oidc(aws, ctx, req, Some(&req.token)).await
    }

    async fn find_existing(&self, aws: &Clients, ctx: &OpContext, req: &CreateRequest) -> Found {
        find_oidc(aws, ctx, req, None).await
    }

    /// `hdh import`: the provider of its cluster's issuer.
    async fn candidates(
        &self,
        aws: &Clients,
        _ctx: &OpContext,
        req: &ImportRequest,
    ) -> Answer<Vec<(String, String)>> {
        let Some(url) = props::string(&req.properties, "url")? else {
            return Err(unsearchable(req, "its cluster was not matched"));
        };
        let host = url.trim_start_matches("https://").to_string();
        let out = aws
            .iam
            .list_open_id_connect_providers()
            .send()
            .await
            .map_err(e("ListOpenIDConnectProviders"))?;
        Ok(out
            .open_id_connect_provider_list()
            .iter()
            .filter_map(|p| p.arn())
            .filter(|arn| arn.ends_with(&format!(":oidc-provider/{host}")))
            .map(|arn| (arn.to_string(), format!("issuer {host}")))
            .collect())
    }
}

/// The OIDC provider of `req`'s URL if this stack made it for this address (by the create with
/// `token`, if given).
async fn find_oidc(
    aws: &Clients,
    ctx: &OpContext,
    req: &CreateRequest,
    token: Option<&str>,
) -> Found {
    let url = props::required_string(&req.properties, "url")?;
    for arn in oidc_arns(aws).await? {
        if !arn.ends_with(strip_scheme(&url)) {
            continue;
        }
        let o = aws
            .iam
            .get_open_id_connect_provider()
            .open_id_connect_provider_arn(&arn)
            .send()
            .await
            .map_err(e("GetOpenIDConnectProvider"))?;
        if tags::made_for(&tag_map(o.tags()), ctx, &req.address, token) {
            return oidc_observe(aws, ctx, &arn, &req.properties)
                .await
                .map(Some);
        }
    }
    Ok(None)
}
