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
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_acm::types::{CertificateDetail, CertificateStatus, Tag, ValidationMethod};
use hdh_engine::provider::{
    CreateRequest, DeleteRequest, ImportRequest, ReadRequest, UpdateRequest,
};
use hdh_engine::{
    AttributeSpec, Observed, OpContext, ProviderError, ResourceType, Value, ValueMap, ValueType,
};

use super::errors::{absent_if_not_found, acm as e};
use super::wait::{Poll, Wait};
use super::{tags, Clients, Kind};
use crate::props;
use crate::{Answer, Found};

pub(crate) const CERTIFICATE: &str = "aws_acm_certificate";
pub(crate) const VALIDATION: &str = "aws_acm_certificate_validation";

pub(crate) struct Certificate;
pub(crate) struct CertificateValidation;

/// ACM's idempotency token: at most 32 word characters; a UUID without its hyphens.
fn idempotency_token(token: &str) -> String {
    token
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(32)
        .collect()
}

fn acm_tags(all: &BTreeMap<String, String>) -> Answer<Vec<Tag>> {
    all.iter()
        .map(|(k, v)| {
            Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|err| ProviderError::other(err.to_string()))
        })
        .collect()
}

/// The certificate as ACM describes it; `None` when it is gone.
async fn describe(aws: &Clients, arn: &str) -> Answer<Option<CertificateDetail>> {
    let out = absent_if_not_found(
        aws.acm
            .describe_certificate()
            .certificate_arn(arn)
            .send()
            .await
            .map_err(e("DescribeCertificate")),
    )?;
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
async fn with_record(
    aws: &Clients,
    ctx: &OpContext,
    address: &str,
    arn: &str,
    prior: &ValueMap,
) -> Found {
    Wait {
        ctx,
        address,
        verb: "creating",
        what: format!("certificate {arn} to name its DNS validation record"),
        policy: aws.poll,
    }
    .until(|| async {
        match describe(aws, arn).await? {
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
    match aws
        .acm
        .list_tags_for_certificate()
        .certificate_arn(arn)
        .send()
        .await
        .map_err(e("ListTagsForCertificate"))
    {
        Ok(o) => Ok(Some(
            o.tags()
                .iter()
                .map(|t| {
                    (
                        t.key().to_string(),
                        t.value().unwrap_or_default().to_string(),
                    )
                })
                .collect(),
        )),
        Err(ProviderError::NotFound { .. }) => Ok(None),
        Err(err) => Err(err),
    }
}

/// The certificate this create (token) made, found by its tags.
async fn find_by_token(
    aws: &Clients,
    ctx: &OpContext,
    req: &CreateRequest,
) -> Answer<Option<String>> {
    let all: Vec<_> = aws
        .acm
        .list_certificates()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(e("ListCertificates"))?;
    for summary in all {
        let Some(arn) = summary.certificate_arn() else {
            continue;
        };
        let Some(t) = cert_tags(aws, arn).await? else {
            continue;
        };
        if tags::made_by(&t, ctx, &req.address, &req.token) {
            return Ok(Some(arn.to_string()));
        }
    }
    Ok(None)
}

#[async_trait]
impl Kind for Certificate {
    fn schema(&self) -> ResourceType {
        ResourceType::new(
            CERTIFICATE,
            "A public ACM certificate for one name, validated by DNS (write its validation record, \
             then wait with aws_acm_certificate_validation).",
            vec![
                AttributeSpec::required("domain_name", ValueType::String)
                    .force_new()
                    .describe("The name the certificate is for, e.g. daskhub.example.org."),
                AttributeSpec::optional("tags", ValueType::Map(Box::new(ValueType::String)), None),
                AttributeSpec::computed("arn", ValueType::String),
                AttributeSpec::computed("status", ValueType::String),
                AttributeSpec::computed("validation_record_name", ValueType::String),
                AttributeSpec::computed("validation_record_type", ValueType::String),
                AttributeSpec::computed("validation_record_value", ValueType::String),
            ],
        )
        .typically(
            Some(Duration::from_secs(10)),
            Some(Duration::from_secs(5)),
            Some(Duration::from_secs(10)),
        )
    }

    async fn read(&self, aws: &Clients, ctx: &OpContext, requests: &[ReadRequest]) -> Vec<Found> {
        super::join_all(requests.iter().map(|r| async {
            let Some(mut o) = describe(aws, &r.id)
                .await?
                .and_then(|c| observed(&c, &r.prior))
            else {
                return Ok(None);
            };
            // Tags changed in the console are drift.
            let Some(all) = cert_tags(aws, &r.id).await? else {
                return Ok(None);
            };
            o.attributes
                .insert("tags".into(), tags::own_view(ctx, &all, &r.prior));
            Ok(Some(o))
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
        let all = tags::for_create(ctx, &req.address, &req.token, p)?;
        let out = aws
            .acm
            .request_certificate()
            .domain_name(props::required_string(p, "domain_name")?)
            .validation_method(ValidationMethod::Dns)
            .idempotency_token(idempotency_token(&req.token))
            .set_tags(Some(acm_tags(&all)?))
            .send()
            .await
            .map_err(e("RequestCertificate"))?;
        let arn = out
            .certificate_arn()
            .ok_or_else(|| ProviderError::other("RequestCertificate returned no ARN"))?;
        with_record(aws, ctx, &req.address, arn, p)
            .await?
            .ok_or_else(|| ProviderError::NotFound {
                message: format!("certificate {arn} vanished right after it was requested"),
            })
    }

    async fn update(
        &self,
        aws: &Clients,
        ctx: &OpContext,
        req: &UpdateRequest,
    ) -> Answer<Observed> {
        tags::sync(
            tags::changes(ctx, req)?,
            |set| async move {
                aws.acm
                    .add_tags_to_certificate()
                    .certificate_arn(&req.id)
                    .set_tags(Some(acm_tags(&set)?))
                    .send()
                    .await
                    .map(drop)
                    .map_err(e("AddTagsToCertificate"))
            },
            |keys| async move {
                let keys = keys
                    .iter()
                    .map(|k| {
                        Tag::builder()
                            .key(k)
                            .build()
                            .map_err(|err| ProviderError::other(err.to_string()))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                aws.acm
                    .remove_tags_from_certificate()
                    .certificate_arn(&req.id)
                    .set_tags(Some(keys))
                    .send()
                    .await
                    .map(drop)
                    .map_err(e("RemoveTagsFromCertificate"))
            },
        )
        .await?;
        let c = describe(aws, &req.id)
            .await?
            .ok_or_else(|| ProviderError::NotFound {
                message: format!("certificate {} not found", req.id),
            })?;
        observed(&c, &req.properties).ok_or_else(|| {
            ProviderError::other(format!("certificate {} names no validation record", req.id))
        })
    }

    async fn delete(&self, aws: &Clients, ctx: &OpContext, req: &DeleteRequest) -> Answer<()> {
        Wait {
            ctx,
            address: &req.address,
            verb: "deleting",
            what: format!("certificate {} to be released by its load balancer", req.id),
            policy: aws.poll,
        }
        .until(|| async {
            match aws
                .acm
                .delete_certificate()
                .certificate_arn(&req.id)
                .send()
                .await
                .map_err(e("DeleteCertificate"))
            {
                Ok(_) | Err(ProviderError::NotFound { .. }) => Ok(Poll::Ready(())),
                Err(ProviderError::DependencyViolation { message }) => Ok(Poll::Pending(message)),
                Err(err) => Err(err),
            }
        })
        .await
    }

    async fn find_created(&self, aws: &Clients, ctx: &OpContext, req: &CreateRequest) -> Found {
        match find_by_token(aws, ctx, req).await? {
            Some(arn) => with_record(aws, ctx, &req.address, &arn, &req.properties).await,
            None => Ok(None),
        }
    }
}

/// Waits until the certificate is ISSUED; a certificate ACM gave up on fails the wait at once.
async fn issued(aws: &Clients, ctx: &OpContext, address: &str, p: &ValueMap) -> Found {
    let arn = props::required_string(p, "certificate_arn")?;
    Wait {
        ctx,
        address,
        verb: "validating",
        what: format!("certificate {arn} to be ISSUED (ACM checks its DNS validation record)"),
        policy: aws.poll,
    }
    .until(|| async {
        let Some(c) = describe(aws, &arn).await? else {
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
    fn schema(&self) -> ResourceType {
        ResourceType::new(
            VALIDATION,
            "Waits until an ACM certificate is ISSUED (after its DNS validation record exists). \
             Makes nothing in AWS; destroying it does nothing.",
            vec![
                AttributeSpec::required("certificate_arn", ValueType::String).force_new(),
                AttributeSpec::optional("validation_record_fqdn", ValueType::String, None)
                    .describe("The validation record's name: ties the wait to the record."),
                AttributeSpec::computed("status", ValueType::String),
            ],
        )
        // typical DNS validation time
        .typically(Some(Duration::from_secs(120)), None, None)
    }

    async fn read(&self, aws: &Clients, _ctx: &OpContext, requests: &[ReadRequest]) -> Vec<Found> {
        // Only an ISSUED certificate counts as validated; anything else is waited for again.
        super::join_all(requests.iter().map(|r| async {
            Ok(describe(aws, &r.id).await?.and_then(|c| {
                (c.status() == Some(&CertificateStatus::Issued))
                    .then(|| validated(&c, &r.prior))
                    .flatten()
            }))
        }))
        .await
    }

    async fn create(
        &self,
        aws: &Clients,
        ctx: &OpContext,
        req: &CreateRequest,
    ) -> Answer<Observed> {
        issued(aws, ctx, &req.address, &req.properties)
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

    async fn update(
        &self,
        aws: &Clients,
        ctx: &OpContext,
        req: &UpdateRequest,
    ) -> Answer<Observed> {
        self.create(
            aws,
            ctx,
            &CreateRequest {
                address: req.address.clone(),
                type_name: req.type_name.clone(),
                properties: req.properties.clone(),
                token: String::new(),
            },
        )
        .await
    }

    async fn delete(&self, _aws: &Clients, _ctx: &OpContext, _req: &DeleteRequest) -> Answer<()> {
        Ok(())
    }

    async fn find_created(&self, aws: &Clients, ctx: &OpContext, req: &CreateRequest) -> Found {
        issued(aws, ctx, &req.address, &req.properties).await
    }

    /// `hdh import`: made at apply time from nothing outside hdh (a wait), so nothing to adopt.
    async fn candidates(
        &self,
        _aws: &Clients,
        _ctx: &OpContext,
        _req: &ImportRequest,
    ) -> Answer<Vec<(String, String)>> {
        Ok(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_idempotency_token_is_what_acm_accepts() {
        let t = idempotency_token("0f8fad5b-d9cb-469f-a165-70867728950e");
        assert_eq!(t, "0f8fad5bd9cb469fa16570867728950e");
        assert!(t.len() <= 32);
    }
}
