//! ACM as AWS does DNS validation (moto issues every certificate after a minute, record or
//! not): the validation record appears after the request, the certificate stays pending until
//! that CNAME is in a zone, and one a load balancer uses cannot be deleted. The AWS clock is
//! paused and advanced by hand, so every in-between state is observed.

mod common;

use aws_sdk_acm::types::CertificateStatus;
use aws_sdk_elasticloadbalancing::types::Listener;
use aws_sdk_route53::types::{
    Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
};
use common::*;

async fn status(acm: &aws_sdk_acm::Client, arn: &str) -> CertificateStatus {
    acm.describe_certificate()
        .certificate_arn(arn)
        .send()
        .await
        .unwrap()
        .certificate()
        .unwrap()
        .status()
        .unwrap()
        .clone()
}

/// A DNS-validated certificate for `domain` (with an idempotency token when given).
async fn request(acm: &aws_sdk_acm::Client, domain: &str, token: Option<&str>) -> String {
    acm.request_certificate()
        .domain_name(domain)
        .validation_method(aws_sdk_acm::types::ValidationMethod::Dns)
        .set_idempotency_token(token.map(str::to_string))
        .send()
        .await
        .unwrap()
        .certificate_arn()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn a_certificate_is_issued_only_once_its_validation_cname_is_in_the_zone() {
    let emu = paused_realistic();
    let config = emu.aws_config(REGION).await;
    let acm = aws_sdk_acm::Client::new(&config);
    let r53 = aws_sdk_route53::Client::new(&config);
    let zone = r53
        .create_hosted_zone()
        .name("example.org")
        .caller_reference("acm")
        .send()
        .await
        .unwrap()
        .hosted_zone()
        .unwrap()
        .id()
        .to_string();
    let arn = request(&acm, "hub.example.org", Some("t1")).await;
    let describe = || async {
        acm.describe_certificate()
            .certificate_arn(&arn)
            .send()
            .await
            .unwrap()
            .certificate()
            .unwrap()
            .clone()
    };
    // Just requested: pending, and ACM has not named the record yet.
    let c = describe().await;
    assert_eq!(c.status(), Some(&CertificateStatus::PendingValidation));
    assert!(c.domain_validation_options()[0].resource_record().is_none());
    emu.advance(5.0).unwrap();
    let rr = describe().await.domain_validation_options()[0]
        .resource_record()
        .expect("named after acm_record_publish")
        .clone();
    assert!(rr.name().ends_with(".hub.example.org."), "{rr:?}");
    assert!(rr.value().ends_with(".acm-validations.aws."), "{rr:?}");

    // Without the record it never issues (moto would after 60 s)...
    emu.advance(3600.0).unwrap();
    assert_eq!(
        status(&acm, &arn).await,
        CertificateStatus::PendingValidation
    );
    // ...nor with a record of the right name but another value.
    let write = |value: &str| {
        ChangeBatch::builder()
            .changes(
                Change::builder()
                    .action(ChangeAction::Upsert)
                    .resource_record_set(
                        ResourceRecordSet::builder()
                            .name(rr.name())
                            .r#type(RrType::Cname)
                            .ttl(300)
                            .resource_records(
                                ResourceRecord::builder().value(value).build().unwrap(),
                            )
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap()
    };
    r53.change_resource_record_sets()
        .hosted_zone_id(&zone)
        .change_batch(write("_wrong.acm-validations.aws."))
        .send()
        .await
        .unwrap();
    emu.advance(600.0).unwrap();
    assert_eq!(
        status(&acm, &arn).await,
        CertificateStatus::PendingValidation
    );

    // The right CNAME: ACM sees it, and issues acm_certificate_validate later.
    r53.change_resource_record_sets()
        .hosted_zone_id(&zone)
        .change_batch(write(rr.value()))
        .send()
        .await
        .unwrap();
    assert_eq!(
        status(&acm, &arn).await,
        CertificateStatus::PendingValidation
    );
    emu.advance(119.0).unwrap();
    assert_eq!(
        status(&acm, &arn).await,
        CertificateStatus::PendingValidation
    );
    emu.advance(2.0).unwrap();
    assert_eq!(status(&acm, &arn).await, CertificateStatus::Issued);

    // Another certificate for the same name in the same account: the same record.
    let again = request(&acm, "hub.example.org", Some("t2")).await;
    assert_ne!(again, arn, "another token, another certificate");
    emu.advance(5.0).unwrap();
    let c2 = acm
        .describe_certificate()
        .certificate_arn(&again)
        .send()
        .await
        .unwrap();
    let rr2 = c2.certificate().unwrap().domain_validation_options()[0]
        .resource_record()
        .unwrap();
    assert_eq!((rr2.name(), rr2.value()), (rr.name(), rr.value()));
}

#[tokio::test]
async fn a_certificate_without_its_record_times_out_after_72_hours() {
    let emu = paused_realistic();
    let config = emu.aws_config(REGION).await;
    let acm = aws_sdk_acm::Client::new(&config);
    let arn = request(&acm, "nowhere.example.org", None).await;
    emu.advance(72.0 * 3600.0 + 1.0).unwrap();
    assert_eq!(
        status(&acm, &arn).await,
        CertificateStatus::ValidationTimedOut
    );
}

#[tokio::test]
async fn a_certificate_a_load_balancer_uses_cannot_be_deleted() {
    let emu = paused_realistic();
    let aws = aws(&emu).await;
    let config = emu.aws_config(REGION).await;
    let acm = aws_sdk_acm::Client::new(&config);
    let net = network(&aws).await;
    let arn = request(&acm, "lb.example.org", None).await;
    aws.elb
        .create_load_balancer()
        .load_balancer_name("uses-cert")
        .subnets(&net.subnets[0])
        .listeners(
            Listener::builder()
                .protocol("SSL")
                .load_balancer_port(443)
                .instance_protocol("TCP")
                .instance_port(30443)
                .ssl_certificate_id(&arn)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let c = acm
        .describe_certificate()
        .certificate_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(c.certificate().unwrap().in_use_by().len(), 1);
    let err = acm
        .delete_certificate()
        .certificate_arn(&arn)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ResourceInUseException");
    aws.elb
        .delete_load_balancer()
        .load_balancer_name("uses-cert")
        .send()
        .await
        .unwrap();
    acm.delete_certificate()
        .certificate_arn(&arn)
        .send()
        .await
        .unwrap();
    let err = acm
        .describe_certificate()
        .certificate_arn(&arn)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ResourceNotFoundException");
}
