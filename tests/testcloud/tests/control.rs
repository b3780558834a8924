//! Start-up, the control API (reset, request log, clock, scenario), seeded fault injection and
//! S3 through the emulator.

mod common;

use std::time::{Duration, Instant};

use aws_sdk_ec2::config::retry::RetryConfig;
use common::*;
use hdh_testcloud::{poll_until, Emulator, Profile};

async fn ec2_without_retries(emu: &Emulator) -> aws_sdk_ec2::Client {
    let config = emu.aws_config(REGION).await;
    aws_sdk_ec2::Client::from_conf(
        aws_sdk_ec2::config::Builder::from(&config)
            .retry_config(RetryConfig::disabled())
            .build(),
    )
}

#[tokio::test]
async fn starts_quickly_and_reports_a_loopback_endpoint() {
    let t0 = Instant::now();
    let emu = Emulator::start().unwrap();
    let ready = t0.elapsed();
    assert!(emu.endpoint().starts_with("http://127.0.0.1:"));
    assert_eq!(emu.endpoint(), format!("http://127.0.0.1:{}", emu.port()));
    let aws = aws(&emu).await;
    aws.ec2.describe_vpcs().send().await.unwrap();
    let first_call = t0.elapsed();
    eprintln!("emulator ready after {ready:?}, first EC2 answer after {first_call:?}");
    // the 2 s goal is measured by tests/emulator/measure; here only a bound no loaded machine misses
    assert!(ready < Duration::from_secs(30), "ready after {ready:?}");
}

#[tokio::test]
async fn drop_stops_the_emulator() {
    let emu = Emulator::start().unwrap();
    let pid = emu.pid() as libc::pid_t;
    assert!(pid > 0);
    drop(emu);
    // SAFETY: kill with signal 0 only checks whether the process (group) exists.
    let alive = unsafe { libc::kill(pid, 0) } == 0;
    assert!(!alive, "emulator {pid} still running");
    // SAFETY: as above, for the whole process group.
    let group_alive = unsafe { libc::kill(-pid, 0) } == 0;
    assert!(
        !group_alive,
        "something of process group {pid} still running"
    );
}

#[tokio::test]
async fn reset_forgets_everything_quickly() {
    let emu = paused_realistic();
    let aws = aws(&emu).await;
    let net = network(&aws).await;
    create_cluster(&aws, "eks-helio", &net).await;
    emu.scenario(serde_json::json!({"leak_cni_enis": 2}))
        .unwrap();
    assert!(!emu.request_log().unwrap().is_empty());

    let t0 = Instant::now();
    let ms = emu.reset().unwrap();
    let wall = t0.elapsed();
    eprintln!("reset: {ms:.3} ms in the emulator, {wall:?} round trip");
    assert!(ms < 100.0, "reset took {ms} ms");

    assert!(emu.request_log().unwrap().is_empty());
    let state = emu.state().unwrap();
    assert_eq!(state["scenario"]["leak_cni_enis"], 0);
    assert!(state["pending"].as_array().unwrap().is_empty());
    assert!(aws
        .eks
        .list_clusters()
        .send()
        .await
        .unwrap()
        .clusters()
        .is_empty());
    let vpcs = aws.ec2.describe_vpcs().send().await.unwrap();
    assert!(
        vpcs.vpcs().iter().all(|v| v.is_default() == Some(true)),
        "only the default VPC is left"
    );
    // and the emulator works as new: a fresh cluster goes through CREATING again
    emu.pause_clock().unwrap();
    let net = network(&aws).await;
    let c = create_cluster(&aws, "eks-helio", &net).await;
    assert_eq!(c.status, Some(aws_sdk_eks::types::ClusterStatus::Creating));
}

#[tokio::test]
async fn request_log_has_one_record_per_call() {
    let emu = paused_realistic();
    let aws = aws(&emu).await;
    let net = network(&aws).await; // CreateVpc + 2 x CreateSubnet
    let eni = aws
        .ec2
        .create_network_interface()
        .subnet_id(&net.subnets[0])
        .send()
        .await
        .unwrap();
    let err = aws
        .ec2
        .delete_subnet()
        .subnet_id(&net.subnets[0])
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "DependencyViolation");
    create_cluster(&aws, "eks-helio", &net).await;
    let s3 = emu.s3_client(REGION).await;
    s3.create_bucket()
        .bucket("helio-hdh-state")
        .send()
        .await
        .unwrap();

    let log = emu.request_log().unwrap();
    let ops: Vec<(&str, &str, &str)> = log
        .iter()
        .map(|r| (r.service.as_str(), r.operation.as_str(), r.outcome.as_str()))
        .collect();
    assert_eq!(
        ops,
        [
            ("ec2", "CreateVpc", "ok"),
            ("ec2", "CreateSubnet", "ok"),
            ("ec2", "CreateSubnet", "ok"),
            ("ec2", "CreateNetworkInterface", "ok"),
            ("ec2", "DeleteSubnet", "DependencyViolation"),
            ("eks", "CreateCluster", "ok"),
            ("s3", "CreateBucket", "ok"),
        ]
    );
    assert!(log.windows(2).all(|w| w[0].seq + 1 == w[1].seq));
    assert!(log.iter().all(|r| r.region == REGION && r.fault.is_none()));
    assert_eq!(log[4].status, 400);
    assert!(log[0].time.ends_with("+00:00"));
    let newer = emu.request_log_since(log[5].seq).unwrap();
    assert_eq!(newer.len(), 1);
    assert_eq!(newer[0].operation, "CreateBucket");
    drop(eni);
}

#[tokio::test]
async fn throttling_and_5xx_come_at_the_requested_rate() {
    let emu = Emulator::builder()
        .profile(Profile::Instant)
        .seed(42)
        .faults("throttle=0.3,error5xx=0.05")
        .start()
        .unwrap();
    let ec2 = ec2_without_retries(&emu).await;
    let (mut throttled, mut failed, mut ok) = (0, 0, 0);
    for _ in 0..1000 {
        match ec2.describe_vpcs().send().await {
            Ok(_) => ok += 1,
            Err(e) => match code(&e).as_str() {
                "RequestLimitExceeded" => throttled += 1,
                "InternalError" => failed += 1,
                other => panic!("unexpected error {other}: {e:?}"),
            },
        }
    }
    eprintln!("1000 calls: {throttled} throttled, {failed} 5xx, {ok} ok");
    let within = |n: i32, p: f64| ((n as f64 / 1000.0) - p).abs() <= 0.05 * p;
    assert!(within(throttled, 0.3), "throttled {throttled} of 1000");
    assert!(within(failed, 0.05), "5xx {failed} of 1000");
    let log = emu.request_log().unwrap();
    assert_eq!(log.len(), 1000);
    assert_eq!(
        log.iter()
            .filter(|r| r.fault.as_deref() == Some("throttle"))
            .count(),
        throttled as usize
    );
    assert_eq!(
        log.iter()
            .filter(|r| r.fault.as_deref() == Some("error5xx"))
            .count(),
        failed as usize
    );
    assert!(log
        .iter()
        .filter(|r| r.fault.as_deref() == Some("throttle"))
        .all(|r| r.status == 503));

    // the same seed gives the same sequence
    let first: Vec<Option<String>> = log.iter().take(100).map(|r| r.fault.clone()).collect();
    emu.reset().unwrap();
    for _ in 0..100 {
        let _ = ec2.describe_vpcs().send().await;
    }
    let again: Vec<Option<String>> = emu
        .request_log()
        .unwrap()
        .into_iter()
        .map(|r| r.fault)
        .collect();
    assert_eq!(first, again);
}

#[tokio::test]
async fn each_service_throttles_in_its_own_words() {
    let emu = Emulator::builder()
        .profile(Profile::Instant)
        .faults("throttle=1")
        .start()
        .unwrap();
    let config = emu.aws_config(REGION).await;
    let no_retry = RetryConfig::disabled();
    let ec2 = ec2_without_retries(&emu).await;
    let eks = aws_sdk_eks::Client::from_conf(
        aws_sdk_eks::config::Builder::from(&config)
            .retry_config(no_retry.clone())
            .build(),
    );
    let efs = aws_sdk_efs::Client::from_conf(
        aws_sdk_efs::config::Builder::from(&config)
            .retry_config(no_retry.clone())
            .build(),
    );
    let elb = aws_sdk_elasticloadbalancing::Client::from_conf(
        aws_sdk_elasticloadbalancing::config::Builder::from(&config)
            .retry_config(no_retry.clone())
            .build(),
    );
    let iam = aws_sdk_iam::Client::from_conf(
        aws_sdk_iam::config::Builder::from(&config)
            .retry_config(no_retry.clone())
            .build(),
    );
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .retry_config(no_retry)
            .build(),
    );
    assert_eq!(
        code(&ec2.describe_vpcs().send().await.unwrap_err()),
        "RequestLimitExceeded"
    );
    assert_eq!(
        code(&eks.list_clusters().send().await.unwrap_err()),
        "ThrottlingException"
    );
    assert_eq!(
        code(&efs.describe_file_systems().send().await.unwrap_err()),
        "ThrottlingException"
    );
    assert_eq!(
        code(&elb.describe_load_balancers().send().await.unwrap_err()),
        "Throttling"
    );
    assert_eq!(
        code(&iam.list_roles().send().await.unwrap_err()),
        "Throttling"
    );
    assert_eq!(
        code(&s3.list_buckets().send().await.unwrap_err()),
        "SlowDown"
    );

    // and the SDK's standard retry treats them as throttling: with 30% it gets through
    emu.set_faults("throttle=0.3", 1).unwrap();
    let retrying = aws_sdk_ec2::Client::new(&config);
    for _ in 0..20 {
        retrying.describe_vpcs().send().await.unwrap();
    }
    assert!(emu
        .request_log()
        .unwrap()
        .iter()
        .any(|r| r.fault.as_deref() == Some("throttle")));
}

#[tokio::test]
async fn reads_right_after_a_create_can_answer_not_found() {
    let emu = Emulator::builder()
        .profile(Profile::Instant)
        .faults("notfound_after_create=2s")
        .start()
        .unwrap();
    let aws = aws(&emu).await;
    let ec2 = ec2_without_retries(&emu).await;
    let t0 = Instant::now();
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.9.0.0/16")
        .send()
        .await
        .unwrap()
        .vpc
        .unwrap()
        .vpc_id
        .unwrap();
    let err = ec2.describe_vpcs().vpc_ids(&vpc).send().await.unwrap_err();
    assert_eq!(code(&err), "InvalidVpcID.NotFound");
    // a filter is not a direct read of the id, and other reads are unaffected
    ec2.describe_vpcs().send().await.unwrap();
    poll_until(DEADLINE, "VPC readable", || async {
        ec2.describe_vpcs()
            .vpc_ids(&vpc)
            .send()
            .await
            .ok()
            .map(|_| ())
    })
    .await;
    assert!(t0.elapsed() >= Duration::from_millis(1900));
    let net = network(&aws).await;
    create_cluster(&aws, "eks-helio", &net).await;
    let eks = aws_sdk_eks::Client::from_conf(
        aws_sdk_eks::config::Builder::from(&emu.aws_config(REGION).await)
            .retry_config(RetryConfig::disabled())
            .build(),
    );
    let err = eks
        .describe_cluster()
        .name("eks-helio")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ResourceNotFoundException");
    let faults: Vec<_> = emu
        .request_log()
        .unwrap()
        .into_iter()
        .filter(|r| r.fault.as_deref() == Some("notfound_after_create"))
        .map(|r| r.operation)
        .collect();
    assert_eq!(faults[0], "DescribeVpcs");
    assert_eq!(faults.last().unwrap(), "DescribeCluster");
}

/// Bucket names are global in S3 and in moto: a reset must forget them too, or the next test
/// that makes the same bucket gets an HTTP 500 (moto recursing for the vanished owner).
#[tokio::test]
async fn after_a_reset_a_bucket_name_is_free_again() {
    let emu = Emulator::start().unwrap();
    let s3 = emu.s3_client(REGION).await;
    s3.create_bucket()
        .bucket("helio-shared")
        .send()
        .await
        .unwrap();
    emu.reset().unwrap();
    let head = s3.head_bucket().bucket("helio-shared").send().await;
    assert!(
        head.as_ref()
            .is_err_and(|e| e.as_service_error().is_some_and(|s| s.is_not_found())),
        "a reset bucket is gone: {head:?}"
    );
    s3.create_bucket()
        .bucket("helio-shared")
        .send()
        .await
        .unwrap();
    let tags = s3.get_bucket_tagging().bucket("helio-shared").send().await;
    assert!(
        tags.as_ref().is_err_and(
            |e| e.as_service_error().and_then(|s| s.meta().code()) == Some("NoSuchTagSet")
        ),
        "a new bucket has no tags: {tags:?}"
    );
}

#[tokio::test]
async fn s3_works_path_style() {
    let emu = Emulator::start().unwrap();
    let s3 = emu.s3_client(REGION).await;
    s3.create_bucket()
        .bucket("helio-hdh-state")
        .send()
        .await
        .unwrap();
    s3.put_object()
        .bucket("helio-hdh-state")
        .key("helio-prod.json")
        .body(aws_sdk_s3::primitives::ByteStream::from_static(
            b"{\"serial\":1}",
        ))
        .send()
        .await
        .unwrap();
    let got = s3
        .get_object()
        .bucket("helio-hdh-state")
        .key("helio-prod.json")
        .send()
        .await
        .unwrap();
    let body = got.body.collect().await.unwrap().into_bytes();
    assert_eq!(&body[..], b"{\"serial\":1}");
    s3.copy_object()
        .bucket("helio-hdh-state")
        .key("helio-prod.json.backup")
        .copy_source("helio-hdh-state/helio-prod.json")
        .send()
        .await
        .unwrap();
    s3.delete_object()
        .bucket("helio-hdh-state")
        .key("helio-prod.json.backup")
        .send()
        .await
        .unwrap();
    // The log names each object call as S3 does: the same method and path are told apart by
    // a required header (x-amz-copy-source) or query item (uploadId).
    let ops: Vec<String> = emu
        .request_log()
        .unwrap()
        .into_iter()
        .filter(|r| r.service == "s3")
        .map(|r| r.operation)
        .collect();
    assert_eq!(
        ops,
        [
            "CreateBucket",
            "PutObject",
            "GetObject",
            "CopyObject",
            "DeleteObject"
        ]
    );
    let sts = aws_sdk_sts::Client::new(&emu.aws_config(REGION).await);
    let me = sts.get_caller_identity().send().await.unwrap();
    assert_eq!(me.account(), Some("123456789012"));
}

#[tokio::test]
async fn control_api_rejects_what_it_does_not_know() {
    let emu = Emulator::start().unwrap();
    let err = emu
        .scenario(serde_json::json!({"no_such_flag": true}))
        .unwrap_err();
    assert!(err.to_string().contains("unknown scenario flags"), "{err}");
    let err = emu.set_faults("throttle=2", 0).unwrap_err();
    assert!(err.to_string().contains("within 0..1"), "{err}");
    let bad = Emulator::builder().faults("bogus=1").start().unwrap_err();
    assert!(
        matches!(bad, hdh_testcloud::Error::ExitedEarly { .. }),
        "{bad}"
    );
}
