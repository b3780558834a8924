//! `aws_acm_certificate` and `aws_acm_certificate_validation`: a public ACM certificate for one
//! name, validated by DNS. The certificate resource requests it and reports the CNAME record ACM
//! asks for; hdh writes that record as an ordinary `aws_route53_record`; the validation resource
//! then waits until ACM says ISSUED. Three resources, so each step is recorded on its own and a
//! run killed between them resumes where it stopped.
//!
//! Invariants:
//! - RequestCertificate carries the create's idempotency token (ACM's `IdempotencyToken`, the
//!   token without hyphens: ACM allows 32 word characters) and the `hdh:` tags in the same call,
//!   so a repeated request within ACM's hour returns the same certificate and recovery finds it by
//!   its `hdh:token` tag (ListCertificates through the paginator, then its tags).
//! - A certificate's create returns only once ACM has published the validation record (it can
//!   take seconds after the request), waited for with the operation's deadline and backoff.
//! - Deleting a certificate a load balancer still uses (`ResourceInUseException`: ACM notices a
//!   deleted load balancer only after a while) is retried with backoff until the deadline; one
//!   that is gone is deleted.
//! - The validation resource makes nothing in AWS: its read says whether the certificate is
//!   ISSUED, its delete does nothing.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_acm::types::{CertificateDetail, CertificateStatus, Tag, ValidationMethod};
use hdh_engine::provider::{
    CreateRequest, DeleteRequest, ImportRequest, ReadRequest, UpdateRequest,
};
use hdh_engine::{Observed, ProviderError, Value, ValueMap};

use super::describe::{self, done, every_item};
use super::errors::acm as e;
use super::token::acm_token;
use super::wait::Poll;
use super::{tags, Clients, Cx, Kind};
use crate::props;
use crate::{Answer, Found};

pub(crate) struct Certificate;
pub(crate) struct CertificateValidation;

/// Tags as ACM takes them: `(key, value)` pairs, a removal's without values.
fn acm_tags<'a>(
    all: impl IntoIterator<Item = (&'a String, Option<&'a String>)>,
) -> Answer<Vec<Tag>> {
    all.into_iter()
        .map(|(k, v)| {
            Tag::builder()
                .key(k)
                .set_value(v.cloned())
                .build()
                .map_err(|err| ProviderError::other(err.to_string()))
        })
        .collect()
}

/// The certificate as ACM describes it; `None` when it is gone.
async fn describe(aws: &Clients, arn: &str) -> Answer<Option<CertificateDetail>> {
    let call = aws.acm.describe_certificate().certificate_arn(arn).send();
    let out = describe::found(call, e("DescribeCertificate")).await?;
    Ok(out.and_then(|o| o.certificate().cloned()))
}

/// The DNS record ACM asks for, once it has published it: (name, type, value).
fn validation_record(c: &CertificateDetail) -> Option<(String, String, String)> {
    let domain = c.domain_name()?;
    c.domain_validation_options()
        .iter()
        .find(|o| o.domain_name() == domain)
        .and_then(|o| o.resource_record())
        .map(|r| {
            (
                r.name().to_string(),
                r.r#type().as_str().to_string(),
                r.value().to_string(),
            )
        })
}

fn status(c: &CertificateDetail) -> String {
    c.status()
        .map_or_else(|| "UNKNOWN".to_string(), |s| s.as_str().to_string())
}

/// The certificate's attributes, or `None` while ACM has not published its validation record.
fn observed(c: &CertificateDetail, prior: &ValueMap) -> Option<Observed> {
    let arn = c.certificate_arn()?.to_string();
    let (name, rtype, value) = validation_record(c)?;
    let mut a = ValueMap::new();
    if let Some(t) = prior.get("tags") {
        a.insert("tags".into(), t.unmarked());
    }
    a.insert(
        "domain_name".into(),
        Value::str(c.domain_name().unwrap_or_default()),
    );
    a.insert("arn".into(), Value::str(&arn));
    a.insert("status".into(), Value::str(status(c)));
    a.insert("validation_record_name".into(), Value::str(name));
    a.insert("validation_record_type".into(), Value::str(rtype));
    a.insert("validation_record_value".into(), Value::str(value));
    Some(Observed {
        id: arn,
        attributes: a,
    })
}

/// Waits until ACM has published the certificate's validation record; `None` if it is gone.
async fn with_record(cx: Cx<'_>, address: &str, arn: &str, prior: &ValueMap) -> Found {
    cx.wait(
        address,
        "creating",
        format!("certificate {arn} to name its DNS validation record"),
    )
    .until(|| async {
        match describe(cx.aws, arn).await? {
            None => Ok(Poll::Ready(None)),
            Some(c) => match observed(&c, prior) {
                Some(o) => Ok(Poll::Ready(Some(o))),
                None => Ok(Poll::Pending(format!(
                    "{}, validation record not yet published",
                    status(&c)
                ))),
            },
        }
    })
    .await
}

/// Every tag of the certificate; `None` when it is gone.
async fn cert_tags(aws: &Clients, arn: &str) -> Answer<Option<BTreeMap<String, String>>> {
    let call = aws
        .acm
        .list_tags_for_certificate()
        .certificate_arn(arn)
        .send();
    let out = describe::found(call, e("ListTagsForCertificate")).await?;
    Ok(out.map(|o| {
        o.tags()
            .iter()
            .map(|t| {
                (
                    t.key().to_string(),
                    t.value().unwrap_or_default().to_string(),
                )
            })
            .collect()
    }))
}

/// The certificate this create (token) made, found by its tags.
async fn find_by_token(cx: Cx<'_>, req: &CreateRequest) -> Answer<Option<String>> {
    let all: Vec<_> = every_item!(cx.aws.acm.list_certificates(), e("ListCertificates"))?;
    for summary in all {
        let Some(arn) = summary.certificate_arn() else {
            continue;
        };
        let Some(t) = cert_tags(cx.aws, arn).await? else {
            continue;
        };
        if tags::made_by(&t, cx.op, &req.address, &req.token) {
            return Ok(Some(arn.to_string()));
        }
    }
    Ok(None)
}

#[async_trait]
impl Kind for Certificate {
    async fn read(&self, cx: Cx<'_>, requests: &[ReadRequest]) -> Vec<Found> {
        super::join_all(requests.iter().map(|r| async {
            let Some(mut o) = describe(cx.aws, &r.id)
                .await?
                .and_then(|c| observed(&c, &r.prior))
            else {
                return Ok(None);
            };
            // Tags changed in the console are drift.
            let Some(all) = cert_tags(cx.aws, &r.id).await? else {
                return Ok(None);
            };
            o.attributes
                .insert("tags".into(), tags::own_view(cx.op, &all, &r.prior));
            Ok(Some(o))
        }))
        .await
    }

    async fn create(&self, cx: Cx<'_>, req: &CreateRequest) -> Answer<Observed> {
        let p = &req.properties;
        let all = tags::for_create(cx.op, &req.address, &req.token, p)?;
        let out = cx
            .aws
            .acm
            .request_certificate()
            .domain_name(props::required_string(p, "domain_name")?)
            .validation_method(ValidationMethod::Dns)
            .idempotency_token(acm_token(&req.token))
            .set_tags(Some(acm_tags(all.iter().map(|(k, v)| (k, Some(v))))?))
            .send()
            .await
            .map_err(e("RequestCertificate"))?;
        let arn = out
            .certificate_arn()
            .ok_or_else(|| ProviderError::other("RequestCertificate returned no ARN"))?;
        with_record(cx, &req.address, arn, p)
            .await?
            .ok_or_else(|| ProviderError::NotFound {
                message: format!("certificate {arn} vanished right after it was requested"),
            })
    }

    async fn update(&self, cx: Cx<'_>, req: &UpdateRequest) -> Answer<Observed> {
        tags::sync(
            tags::changes(cx.op, req)?,
            |set| async move {
                let set = acm_tags(set.iter().map(|(k, v)| (k, Some(v))))?;
                let call = cx
                    .aws
                    .acm
                    .add_tags_to_certificate()
                    .certificate_arn(&req.id);
                done(call.set_tags(Some(set)).send(), e("AddTagsToCertificate")).await
            },
            |keys| async move {
                let keys = acm_tags(keys.iter().map(|k| (k, None)))?;
                let call = cx
                    .aws
                    .acm
                    .remove_tags_from_certificate()
                    .certificate_arn(&req.id);
                done(
                    call.set_tags(Some(keys)).send(),
                    e("RemoveTagsFromCertificate"),
                )
                .await
            },
        )
        .await?;
        let c = describe(cx.aws, &req.id)
            .await?
            .ok_or_else(|| ProviderError::NotFound {
                message: format!("certificate {} not found", req.id),
            })?;
        observed(&c, &req.properties).ok_or_else(|| {
            ProviderError::other(format!("certificate {} names no validation record", req.id))
        })
    }

    async fn delete(&self, cx: Cx<'_>, req: &DeleteRequest) -> Answer<()> {
        cx.wait(
            &req.address,
            "deleting",
            format!("certificate {} to be released by its load balancer", req.id),
        )
        .until(|| async {
            let call = cx.aws.acm.delete_certificate().certificate_arn(&req.id);
            match describe::deleted(call.send(), e("DeleteCertificate")).await {
                Ok(()) => Ok(Poll::Ready(())),
                Err(ProviderError::DependencyViolation { message }) => Ok(Poll::Pending(message)),
                Err(err) => Err(err),
            }
        })
        .await
    }

    async fn find_created(&self, cx: Cx<'_>, req: &CreateRequest) -> Found {
        match find_by_token(cx, req).await? {
            Some(arn) => with_record(cx, &req.address, &arn, &req.properties).await,
            None => Ok(None),
        }
    }
}

/// Waits until the certificate is ISSUED; a certificate ACM gave up on fails the wait at once.
async fn issued(cx: Cx<'_>, address: &str, p: &ValueMap) -> Found {
    let arn = props::required_string(p, "certificate_arn")?;
    cx.wait(
        address,
        "validating",
        format!("certificate {arn} to be ISSUED (ACM checks its DNS validation record)"),
    )
    .until(|| async {
        let Some(c) = describe(cx.aws, &arn).await? else {
            return Ok(Poll::Ready(None));
        };
        match c.status() {
            Some(CertificateStatus::Issued) => Ok(Poll::Ready(validated(&c, p))),
            Some(CertificateStatus::PendingValidation) => {
                Ok(Poll::Pending("PENDING_VALIDATION".into()))
            }
            _ => Err(ProviderError::other(format!(
                "certificate {arn} is {}: ACM will not issue it{}; destroy it (or change \
                 daskhub.dns) and apply again",
                status(&c),
                c.failure_reason()
                    .map(|r| format!(" ({})", r.as_str()))
                    .unwrap_or_default()
            ))),
        }
    })
    .await
}

fn validated(c: &CertificateDetail, p: &ValueMap) -> Option<Observed> {
    let arn = c.certificate_arn()?.to_string();
    let mut a = ValueMap::new();
    a.insert("certificate_arn".into(), Value::str(&arn));
    if let Some(v) = p.get("validation_record_fqdn") {
        a.insert("validation_record_fqdn".into(), v.unmarked());
    }
    a.insert("status".into(), Value::str(status(c)));
    Some(Observed {
        id: arn,
        attributes: a,
    })
}

#[async_trait]
impl Kind for CertificateValidation {
    async fn read(&self, cx: Cx<'_>, requests: &[ReadRequest]) -> Vec<Found> {
        // Only an ISSUED certificate counts as validated; anything else is waited for again.
        super::join_all(requests.iter().map(|r| async {
            Ok(describe(cx.aws, &r.id).await?.and_then(|c| {
                (c.status() == Some(&CertificateStatus::Issued))
                    .then(|| validated(&c, &r.prior))
                    .flatten()
            }))
        }))
        .await
    }

    async fn create(&self, cx: Cx<'_>, req: &CreateRequest) -> Answer<Observed> {
        issued(cx, &req.address, &req.properties)
            .await?
            .ok_or_else(|| ProviderError::NotFound {
                message: format!(
                    "certificate {} not found",
                    props::string(&req.properties, "certificate_arn")
                        .ok()
                        .flatten()
                        .unwrap_or_default()
                ),
            })
    }

    async fn update(&self, cx: Cx<'_>, req: &UpdateRequest) -> Answer<Observed> {
        self.create(
            cx,
            &CreateRequest {
                address: req.address.clone(),
                type_name: req.type_name.clone(),
                properties: req.properties.clone(),
                token: String::new(),
            },
        )
        .await
    }

    async fn delete(&self, _cx: Cx<'_>, _req: &DeleteRequest) -> Answer<()> {
        Ok(())
    }

    async fn find_created(&self, cx: Cx<'_>, req: &CreateRequest) -> Found {
        issued(cx, &req.address, &req.properties).await
    }

    /// `hdh import`: made at apply time from nothing outside hdh (a wait), so nothing to adopt.
    async fn candidates(&self, _cx: Cx<'_>, _req: &ImportRequest) -> Answer<Vec<(String, String)>> {
        Ok(Vec::new())
    }
}
