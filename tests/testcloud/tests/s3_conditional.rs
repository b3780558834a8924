//! What hdh's S3 state backend needs from the emulator, through the Rust SDK: conditional
//! writes and deletes (412 when `If-None-Match: *` finds an object or `If-Match` another ETag),
//! SSE-KMS reported by HeadObject, and GetBucketVersioning on a bucket never versioned.

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::types::{BucketVersioningStatus, ServerSideEncryption, VersioningConfiguration};
use hdh_testcloud::{Emulator, Profile};

const REGION: &str = "us-east-1";
const BUCKET: &str = "state-bucket";

async fn s3() -> (Emulator, aws_sdk_s3::Client) {
    let emu = Emulator::builder()
        .profile(Profile::Instant)
        .start()
        .unwrap();
    let s3 = emu.s3_client(REGION).await;
    s3.create_bucket().bucket(BUCKET).send().await.unwrap();
    (emu, s3)
}

fn status<E>(e: &aws_sdk_s3::error::SdkError<E>) -> Option<u16> {
    e.raw_response().map(|r| r.status().as_u16())
}

#[tokio::test]
async fn conditional_puts_and_deletes_refuse_with_412() {
    let (_emu, s3) = s3().await;
    let put = |body: &'static str| {
        s3.put_object()
            .bucket(BUCKET)
            .key("k")
            .body(body.as_bytes().to_vec().into())
    };
    let first = put("1").if_none_match("*").send().await.unwrap();
    let etag = first.e_tag().unwrap().to_string();

    let again = put("2").if_none_match("*").send().await.unwrap_err();
    assert_eq!(status(&again), Some(412));
    assert_eq!(again.code(), Some("PreconditionFailed"));

    let stale = put("2").if_match("\"0123\"").send().await.unwrap_err();
    assert_eq!(status(&stale), Some(412));
    let second = put("3").if_match(&etag).send().await.unwrap();
    assert_ne!(second.e_tag().unwrap(), etag);

    let del = s3
        .delete_object()
        .bucket(BUCKET)
        .key("k")
        .if_match(&etag)
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&del), Some(412), "the old ETag no longer matches");
    s3.delete_object()
        .bucket(BUCKET)
        .key("k")
        .if_match(second.e_tag().unwrap())
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn sse_kms_is_reported_by_head_object() {
    let (_emu, s3) = s3().await;
    let key_arn = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555";
    s3.put_object()
        .bucket(BUCKET)
        .key("given")
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .ssekms_key_id(key_arn)
        .body(b"x".to_vec().into())
        .send()
        .await
        .unwrap();
    s3.put_object()
        .bucket(BUCKET)
        .key("managed")
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .body(b"x".to_vec().into())
        .send()
        .await
        .unwrap();
    let given = s3
        .head_object()
        .bucket(BUCKET)
        .key("given")
        .send()
        .await
        .unwrap();
    assert_eq!(
        given.server_side_encryption(),
        Some(&ServerSideEncryption::AwsKms)
    );
    assert_eq!(given.ssekms_key_id(), Some(key_arn));
    let managed = s3
        .head_object()
        .bucket(BUCKET)
        .key("managed")
        .send()
        .await
        .unwrap();
    assert_eq!(
        managed.server_side_encryption(),
        Some(&ServerSideEncryption::AwsKms)
    );
}

#[tokio::test]
async fn bucket_versioning_never_set_then_enabled() {
    let (_emu, s3) = s3().await;
    let never = s3
        .get_bucket_versioning()
        .bucket(BUCKET)
        .send()
        .await
        .unwrap();
    assert_eq!(never.status(), None);
    s3.put_bucket_versioning()
        .bucket(BUCKET)
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let on = s3
        .get_bucket_versioning()
        .bucket(BUCKET)
        .send()
        .await
        .unwrap();
    assert_eq!(on.status(), Some(&BucketVersioningStatus::Enabled));
}
