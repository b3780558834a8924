//! `aws_iam_openid_connect_provider`: the cluster's OIDC issuer, for IRSA. OIDC providers have
//! no batch read: one GetOpenIDConnectProvider per provider hdh manages, concurrently; they
//! are searched for (recovery, import) among ListOpenIDConnectProviders by their issuer.

use std::collections::BTreeSet;

use async_trait::async_trait;
use aws_sdk_iam::operation::get_open_id_connect_provider::GetOpenIdConnectProviderOutput as Got;
use hdh_engine::provider::{
    CreateRequest, DeleteRequest, ImportRequest, ReadRequest, UpdateRequest,
};
use hdh_engine::{Observed, Value, ValueMap};

use super::tags::{self as iam_tags, Tagged};
use crate::aws::describe::{self, deleted, done, Described};
use crate::aws::errors::iam as e;
use crate::aws::import::unsearchable;
use crate::aws::wait::{self};
use crate::aws::{tags, Clients, Cx, Kind};
use crate::props;
use crate::{Answer, Found};

pub(crate) struct OidcProvider;

const DEFAULT_THUMBPRINT: &str = "9e99a48a9960b14926bb7f3b02e22da2b0ab7280";

fn strip_scheme(u: &str) -> &str {
    u.strip_prefix("https://").unwrap_or(u)
}

#[async_trait]
impl Described for OidcProvider {
    /// The provider's ARN (GetOpenIDConnectProvider does not echo it) and what IAM says of it.
    type Item = (String, Got);
    const NOUN: &'static str = "OIDC provider";

    async fn describe(&self, cx: Cx<'_>, arn: &str, _: &ValueMap) -> Answer<Option<Self::Item>> {
        let call = cx.aws.iam.get_open_id_connect_provider();
        let call = call.open_id_connect_provider_arn(arn).send();
        let got = describe::found(call, e("GetOpenIDConnectProvider")).await?;
        Ok(got.map(|o| (arn.to_string(), o)))
    }

    fn observe(&self, cx: Cx<'_>, (arn, o): &(String, Got), prior: &ValueMap) -> Observed {
        let url = o.url().unwrap_or_default();
        let prior_url = props::string(prior, "url")
            .ok()
            .flatten()
            .unwrap_or_default();
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
        let all = iam_tags::of(o.tags());
        a.insert("tags".into(), tags::own_view(cx.op, &all, prior));
        a.insert("arn".into(), Value::str(arn));
        a.insert(
            "issuer_host".into(),
            Value::str(strip_scheme(o.url().unwrap_or_default())),
        );
        Observed {
            id: arn.to_string(),
            attributes: a,
        }
    }
}

/// The ARNs of the providers of issuer `url` (IAM names a provider by its issuer's host).
async fn issuer_arns(aws: &Clients, url: &str) -> Answer<Vec<String>> {
    let call = aws.iam.list_open_id_connect_providers().send().await;
    let listed = call.map_err(e("ListOpenIDConnectProviders"))?;
    let suffix = format!(":oidc-provider/{}", strip_scheme(url));
    Ok(listed
        .open_id_connect_provider_list()
        .iter()
        .filter_map(|x| x.arn())
        .filter(|arn| arn.ends_with(&suffix))
        .map(String::from)
        .collect())
}

#[async_trait]
impl Kind for OidcProvider {
    async fn read(&self, cx: Cx<'_>, requests: &[ReadRequest]) -> Vec<Found> {
        describe::read_all(self, cx, requests).await
    }

    async fn create(&self, cx: Cx<'_>, req: &CreateRequest) -> Answer<Observed> {
        let p = &req.properties;
        let tags = tags::for_create(cx.op, &req.address, &req.token, p)?;
        let mut thumbs = props::string_list(p, "thumbprint_list")?;
        if thumbs.is_empty() {
            thumbs.push(DEFAULT_THUMBPRINT.into());
        }
        let out = cx
            .aws
            .iam
            .create_open_id_connect_provider()
            .url(props::required_string(p, "url")?)
            .set_client_id_list(Some(props::string_list(p, "client_id_list")?))
            .set_thumbprint_list(Some(thumbs))
            .set_tags(Some(iam_tags::to_sdk(&tags)))
            .send()
            .await
            .map_err(e("CreateOpenIDConnectProvider"))?;
        let arn = out
            .open_id_connect_provider_arn()
            .unwrap_or_default()
            .to_string();
        let w = cx.wait(
            &req.address,
            "creating",
            format!("OIDC provider {arn} to be visible"),
        );
        w.retrying(wait::not_yet_visible, || describe::one(self, cx, &arn, p))
            .await
    }

    async fn update(&self, cx: Cx<'_>, req: &UpdateRequest) -> Answer<Observed> {
        let p = &req.properties;
        let arn = &req.id;
        let have: BTreeSet<String> = props::string_list(&req.prior, "client_id_list")?
            .into_iter()
            .collect();
        let want: BTreeSet<String> = props::string_list(p, "client_id_list")?
            .into_iter()
            .collect();
        for c in want.difference(&have) {
            let call = cx.aws.iam.add_client_id_to_open_id_connect_provider();
            let call = call.open_id_connect_provider_arn(arn).client_id(c);
            done(call.send(), e("AddClientIDToOpenIDConnectProvider")).await?;
        }
        for c in have.difference(&want) {
            let call = cx.aws.iam.remove_client_id_from_open_id_connect_provider();
            let call = call.open_id_connect_provider_arn(arn).client_id(c);
            done(call.send(), e("RemoveClientIDFromOpenIDConnectProvider")).await?;
        }
        if req.changed.iter().any(|c| c == "thumbprint_list") {
            let call = cx.aws.iam.update_open_id_connect_provider_thumbprint();
            let thumbs = props::string_list(p, "thumbprint_list")?;
            let call = call
                .open_id_connect_provider_arn(arn)
                .set_thumbprint_list(Some(thumbs));
            done(call.send(), e("UpdateOpenIDConnectProviderThumbprint")).await?;
        }
        if req.changed.iter().any(|c| c == "tags") {
            iam_tags::sync(cx, req, Tagged::OidcProvider(arn)).await?;
        }
        describe::one(self, cx, arn, p).await
    }

    async fn delete(&self, cx: Cx<'_>, req: &DeleteRequest) -> Answer<()> {
        let call = cx.aws.iam.delete_open_id_connect_provider();
        let call = call.open_id_connect_provider_arn(&req.id).send();
        deleted(call, e("DeleteOpenIDConnectProvider")).await
    }

    async fn find_created(&self, cx: Cx<'_>, req: &CreateRequest) -> Found {
        find_oidc(cx, req, Some(&req.token)).await
    }

    async fn find_existing(&self, cx: Cx<'_>, req: &CreateRequest) -> Found {
        find_oidc(cx, req, None).await
    }

    /// `hdh import`: the provider of its cluster's issuer.
    async fn candidates(&self, cx: Cx<'_>, req: &ImportRequest) -> Answer<Vec<(String, String)>> {
        let Some(url) = props::string(&req.properties, "url")? else {
            return Err(unsearchable(req, "its cluster was not matched"));
        };
        let host = strip_scheme(&url);
        let arns = issuer_arns(cx.aws, &url).await?;
        Ok(arns
            .into_iter()
            .map(|arn| (arn, format!("issuer {host}")))
            .collect())
    }
}

/// The OIDC provider of `req`'s URL if this stack made it for this address (by the create with
/// `token`, if given).
async fn find_oidc(cx: Cx<'_>, req: &CreateRequest, token: Option<&str>) -> Found {
    let p = &req.properties;
    for arn in issuer_arns(cx.aws, &props::required_string(p, "url")?).await? {
        let Some(got) = OidcProvider.describe(cx, &arn, p).await? else {
            continue;
        };
        if tags::made_for(&iam_tags::of(got.1.tags()), cx.op, &req.address, token) {
            return Ok(Some(OidcProvider.observe(cx, &got, p)));
        }
    }
    Ok(None)
}
