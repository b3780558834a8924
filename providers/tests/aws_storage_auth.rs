//! The storage, login and DNS types (EFS, S3, Cognito, Route 53) created, read, updated and
//! deleted through the `Provider` trait against a private emulator, checked through the
//! emulator's own APIs.

mod aws_common;

use aws_common::*;
use hdh_engine::provider::{CreateRequest, DeleteRequest};
use hdh_engine::{Observed, Provider, Value};
use hdh_testcloud::Profile;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn efs_file_system_and_mount_targets() {
    let emu = emulator(Profile::Realistic, 0.001, None);
    let aws = provider(&emu);
    let (ctx, progress) = ctx();
    let t = T {
        p: aws.as_ref(),
        ctx: &ctx,
    };

    let vpc = t
        .create("vpc", "aws_vpc", json!({"cidr_block": "10.3.0.0/16"}))
        .await;
    let sub = t.create("sub", "aws_subnet", json!({"vpc_id": vpc.id, "cidr_block": "10.3.1.0/24", "availability_zone": "us-east-1a"})).await;
    let fs = t
        .create(
            "efs",
            "aws_efs_file_system",
            json!({"encrypted": true, "backup": true, "tags": {"Name": "home"}}),
        )
        .await;
    assert!(fs.id.starts_with("fs-"));
    assert_eq!(
        s(&fs, "dns_name"),
        format!("{}.efs.us-east-1.amazonaws.com", fs.id)
    );
    assert_eq!(
        t.read("aws_efs_file_system", &fs).await.unwrap().attributes,
        fs.attributes
    );
    let raw = aws_sdk_efs::Client::new(&emu.aws_config(REGION).await)
        .describe_file_systems()
        .file_system_id(&fs.id)
        .send()
        .await
        .unwrap();
    let f = &raw.file_systems()[0];
    assert_eq!(f.encrypted(), Some(true));
    assert_eq!(f.creation_token(), s(&fs, "creation_token"));
    let fs = t
        .update(
            "efs",
            "aws_efs_file_system",
            &fs,
            json!({"tags": {"Name": "homes"}}),
        )
        .await;
    assert_eq!(
        fs.attributes["tags"],
        Value::from(&json!({"Name": "homes"}))
    );
    // Daily backups turned off in the console are read back, and turned on again.
    let efs = aws_sdk_efs::Client::new(&emu.aws_config(REGION).await);
    efs.put_backup_policy()
        .file_system_id(&fs.id)
        .backup_policy(
            aws_sdk_efs::types::BackupPolicy::builder()
                .status(aws_sdk_efs::types::Status::Disabled)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let back = t.read("aws_efs_file_system", &fs).await.unwrap();
    assert_eq!(back.attributes["backup"], Value::Bool(false));
    let mut drifted = fs.clone();
    drifted.attributes = back.attributes;
    let fs = t
        .update(
            "efs",
            "aws_efs_file_system",
            &drifted,
            json!({"backup": true}),
        )
        .await;
    assert_eq!(
        t.read("aws_efs_file_system", &fs).await.unwrap().attributes["backup"],
        Value::Bool(true)
    );
    let policy = efs
        .describe_backup_policy()
        .file_system_id(&fs.id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        policy.backup_policy().map(|p| p.status().clone()),
        Some(aws_sdk_efs::types::Status::Enabled)
    );

    let mt = t
        .create(
            "mt",
            "aws_efs_mount_target",
            json!({"file_system_id": fs.id, "subnet_id": sub.id}),
        )
        .await;
    assert!(mt.id.starts_with("fsmt-"));
    assert!(s(&mt, "network_interface_id").starts_with("eni-"));
    assert!(progress
        .lock()
        .unwrap()
        .iter()
        .any(|(a, m)| a == "mt" && m.starts_with("still creating")));
    assert!(t.read("aws_efs_mount_target", &mt).await.is_some());
    // The file system waits for its mount target to go.
    let (a, b) = tokio::join!(
        t.delete("aws_efs_mount_target", &mt),
        t.delete("aws_efs_file_system", &fs)
    );
    let _ = (a, b);
    // Its ENI lingers after the mount target (realistic profile); delete returned only once it
    // was released, so the subnet goes at once.
    let eni = s(&mt, "network_interface_id");
    let ec2 = ec2(&emu).await;
    match ec2
        .describe_network_interfaces()
        .network_interface_ids(&eni)
        .send()
        .await
    {
        Ok(out) => assert!(
            out.network_interfaces().is_empty(),
            "{eni} still there: {out:?}"
        ),
        Err(err) => assert_eq!(
            aws_sdk_ec2::error::ProvideErrorMetadata::code(&err),
            Some("InvalidNetworkInterfaceID.NotFound")
        ),
    }
    assert!(
        progress
            .lock()
            .unwrap()
            .iter()
            .any(|(a, m)| a == "x" && m.contains(&eni)),
        "the wait names the ENI: {:?}",
        progress.lock().unwrap()
    );
    ec2.delete_subnet()
        .subnet_id(&sub.id)
        .send()
        .await
        .expect("no ENI left in the subnet");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_bucket_is_encrypted_versioned_and_private() {
    let emu = emulator(Profile::Realistic, 0.001, None);
    let aws = provider(&emu);
    let (ctx, _) = ctx();
    let t = T {
        p: aws.as_ref(),
        ctx: &ctx,
    };
    let b = t.create("shared", "aws_s3_bucket", json!({"bucket": "helio-shared", "versioning": true, "block_public_access": true, "tags": {"Name": "shared"}})).await;
    assert_eq!(b.id, "helio-shared");
    let read = t.read("aws_s3_bucket", &b).await.unwrap();
    assert_eq!(read.attributes, b.attributes);
    let s3 = emu.s3_client(REGION).await;
    let v = s3
        .get_bucket_versioning()
        .bucket("helio-shared")
        .send()
        .await
        .unwrap();
    assert_eq!(v.status().map(|s| s.as_str()), Some("Enabled"));
    let enc = s3
        .get_bucket_encryption()
        .bucket("helio-shared")
        .send()
        .await
        .unwrap();
    assert!(enc.server_side_encryption_configuration().is_some());
    let pab = s3
        .get_public_access_block()
        .bucket("helio-shared")
        .send()
        .await
        .unwrap();
    assert_eq!(
        pab.public_access_block_configuration()
            .unwrap()
            .block_public_policy(),
        Some(true)
    );
    let b = t
        .update("shared", "aws_s3_bucket", &b, json!({"versioning": false}))
        .await;
    assert_eq!(b.attributes["versioning"], Value::Bool(false));
    t.delete("aws_s3_bucket", &b).await;
}

/// Object versions and delete markers left in `bucket`.
async fn versions_in(s3: &aws_sdk_s3::Client, bucket: &str) -> usize {
    let out = s3
        .list_object_versions()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    out.versions().len() + out.delete_markers().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bucket_with_data_is_emptied_only_for_a_purge() {
    let emu = emulator(Profile::Realistic, 0.001, None);
    let aws = provider(&emu);
    let (mut ctx, _) = ctx();
    ctx.timeout = std::time::Duration::from_secs(2);
    let t = T {
        p: aws.as_ref(),
        ctx: &ctx,
    };
    let s3 = emu.s3_client(REGION).await;
    let mut buckets = vec![];
    for (name, versioning) in [("helio-versioned", true), ("helio-plain", false)] {
        let b = t
            .create(
                name,
                "aws_s3_bucket",
                json!({"bucket": name, "versioning": versioning}),
            )
            .await;
        for (key, body) in [("a.txt", "1"), ("a.txt", "2"), ("b.txt", "3")] {
            s3.put_object()
                .bucket(name)
                .key(key)
                .body(body.as_bytes().to_vec().into())
                .send()
                .await
                .unwrap();
        }
        buckets.push(b);
    }
    // A delete marker on top of b.txt's version.
    s3.delete_object()
        .bucket("helio-versioned")
        .key("b.txt")
        .send()
        .await
        .unwrap();
    assert_eq!(versions_in(&s3, "helio-versioned").await, 4);

    let delete = |b: &Observed, purge: bool| DeleteRequest {
        address: "shared".into(),
        type_name: "aws_s3_bucket".into(),
        id: b.id.clone(),
        prior: b.attributes.clone(),
        purge,
    };
    for b in &buckets {
        let refused = aws.delete(&ctx, &delete(b, false)).await.unwrap_err();
        let text = refused.to_string();
        assert!(
            matches!(refused, hdh_engine::ProviderError::Timeout { .. })
                && text.contains("still holds objects")
                && text.contains("--delete-retained"),
            "{text}"
        );
    }
    assert_eq!(
        versions_in(&s3, "helio-versioned").await,
        4,
        "nothing deleted without purge"
    );
    let plain = s3
        .list_objects_v2()
        .bucket("helio-plain")
        .send()
        .await
        .unwrap();
    assert_eq!(plain.contents().len(), 2, "nothing deleted without purge");

    for b in &buckets {
        aws.delete(&ctx, &delete(b, true)).await.unwrap();
        assert!(
            s3.head_bucket().bucket(&b.id).send().await.is_err(),
            "bucket {} gone",
            b.id
        );
        assert!(t.read("aws_s3_bucket", b).await.is_none());
    }
    let left = s3.list_buckets().send().await.unwrap();
    assert!(left.buckets().is_empty(), "{:?}", left.buckets());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cognito_pool_domain_client_and_admin() {
    let emu = emulator(Profile::Realistic, 0.001, None);
    let aws = provider(&emu);
    let (ctx, _) = ctx();
    let t = T {
        p: aws.as_ref(),
        ctx: &ctx,
    };
    let pool = t
        .create(
            "pool",
            "aws_cognito_user_pool",
            json!({"name": "helio-users", "admin_create_user_only": true}),
        )
        .await;
    assert_eq!(
        t.read("aws_cognito_user_pool", &pool)
            .await
            .unwrap()
            .attributes,
        pool.attributes
    );
    let dom = t
        .create(
            "dom",
            "aws_cognito_user_pool_domain",
            json!({"domain": "helio-prod", "user_pool_id": pool.id}),
        )
        .await;
    assert_eq!(
        s(&dom, "fqdn"),
        "helio-prod.auth.us-east-1.amazoncognito.com"
    );
    assert!(t.read("aws_cognito_user_pool_domain", &dom).await.is_some());
    let cb = "https://daskhub.example.org/hub/oauth_callback";
    let client = t
        .create(
            "client",
            "aws_cognito_user_pool_client",
            json!({"user_pool_id": pool.id, "name": "daskhub", "callback_urls": [cb]}),
        )
        .await;
    assert!(!s(&client, "client_secret").is_empty());
    let raw = aws_sdk_cognitoidentityprovider::Client::new(&emu.aws_config(REGION).await);
    let c = raw
        .describe_user_pool_client()
        .user_pool_id(&pool.id)
        .client_id(&client.id)
        .send()
        .await
        .unwrap();
    let c = c.user_pool_client().unwrap();
    assert_eq!(c.callback_urls(), [cb.to_string()]);
    assert_eq!(
        c.allowed_o_auth_flows()
            .iter()
            .map(|f| f.as_str())
            .collect::<Vec<_>>(),
        ["code"]
    );
    let client = t
        .update(
            "client",
            "aws_cognito_user_pool_client",
            &client,
            json!({"callback_urls": ["https://hub.example.org/hub/oauth_callback"]}),
        )
        .await;
    assert_eq!(
        client.attributes["callback_urls"],
        Value::from(&json!(["https://hub.example.org/hub/oauth_callback"]))
    );

    let admin = t
        .create(
            "admin",
            "aws_cognito_user",
            json!({"user_pool_id": pool.id, "username": "admintest", "email": "admin@example.org"}),
        )
        .await;
    assert_eq!(s(&admin, "email"), "admin@example.org");
    assert!(!admin.attributes.keys().any(|k| k.contains("password")));
    let admin = t
        .update(
            "admin",
            "aws_cognito_user",
            &admin,
            json!({"email": "root@example.org"}),
        )
        .await;
    assert_eq!(s(&admin, "email"), "root@example.org");

    t.delete("aws_cognito_user", &admin).await;
    t.delete("aws_cognito_user_pool_client", &client).await;
    t.delete("aws_cognito_user_pool_domain", &dom).await;
    t.delete("aws_cognito_user_pool", &pool).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route53_record_in_an_existing_zone() {
    let emu = emulator(Profile::Realistic, 0.001, None);
    let aws = provider(&emu);
    let (ctx, _) = ctx();
    let t = T {
        p: aws.as_ref(),
        ctx: &ctx,
    };
    let r53 = aws_sdk_route53::Client::new(&emu.aws_config(REGION).await);
    r53.create_hosted_zone()
        .name("example.org")
        .caller_reference("t")
        .send()
        .await
        .unwrap();
    let zones_before = r53
        .list_hosted_zones()
        .send()
        .await
        .unwrap()
        .hosted_zones()
        .len();

    let rec = t.create("dns", "aws_route53_record", json!({"zone_name": "example.org", "name": "daskhub", "type": "CNAME", "ttl": 300, "records": ["lb-1.elb.amazonaws.com"]})).await;
    assert_eq!(s(&rec, "fqdn"), "daskhub.example.org");
    assert_eq!(
        t.read("aws_route53_record", &rec).await.unwrap().attributes,
        rec.attributes
    );
    let rec = t
        .update(
            "dns",
            "aws_route53_record",
            &rec,
            json!({"records": ["lb-2.elb.amazonaws.com"]}),
        )
        .await;
    let sets = r53
        .list_resource_record_sets()
        .hosted_zone_id(s(&rec, "zone_id"))
        .send()
        .await
        .unwrap();
    let cname = sets
        .resource_record_sets()
        .iter()
        .find(|r| r.name() == "daskhub.example.org.")
        .unwrap();
    assert_eq!(
        cname.resource_records()[0].value(),
        "lb-2.elb.amazonaws.com"
    );
    t.delete("aws_route53_record", &rec).await;
    assert_eq!(
        r53.list_hosted_zones()
            .send()
            .await
            .unwrap()
            .hosted_zones()
            .len(),
        zones_before,
        "the zone is never created or deleted"
    );

    // A zone that does not exist is an error, not a new zone.
    let req = CreateRequest {
        address: "dns2".into(),
        type_name: "aws_route53_record".into(),
        properties: map(json!({"zone_name": "missing.org", "name": "x", "records": ["a"]})),
        token: "t".into(),
    };
    let err = aws.create(&ctx, &req).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("no public hosted zone named `missing.org`"),
        "{err}"
    );
}
