//! Recovery and errors through the `Provider` trait against a private emulator: an interrupted
//! create is found by its token whatever characters its address holds; a create answered
//! "already exists" adopts what this stack made (and only that); a cluster found still
//! CREATING is handed over ACTIVE; permanent errors (an API the endpoint does not serve, a
//! managed policy that does not exist) fail at once in one short line.

mod aws_common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_common::*;
use hdh_engine::provider::{CreateRequest, DeleteRequest};
use hdh_engine::{OpContext, Provider, ProviderError};
use hdh_providers::aws::{AwsProvider, AwsSettings, PollPolicy};
use hdh_testcloud::Profile;
use serde_json::json;

fn request(address: &str, ty: &str, props: serde_json::Value, token: &str) -> CreateRequest {
    CreateRequest {
        address: address.into(),
        type_name: ty.into(),
        properties: map(props),
        token: token.into(),
    }
}

fn token() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_create_is_found_by_its_token_whatever_its_address() {
    let emu = emulator(Profile::Instant, 0.001, None);
    let aws = provider(&emu);
    let (ctx, _) = ctx();
    let net = r#"daskhub.network"#;
    let vpc = aws
        .create(
            &ctx,
            &request(
                &format!("{net}.vpc"),
                "aws_vpc",
                json!({"cidr_block": "10.9.0.0/16"}),
                &token(),
            ),
        )
        .await
        .unwrap();
    let cases = [
        (
            "aws_subnet",
            format!(r#"{net}.subnet.private["us-east-1a"]"#),
            json!({"vpc_id": vpc.id, "cidr_block": "10.9.1.0/24", "availability_zone": "us-east-1a"}),
        ),
        ("aws_eip", format!(r#"{net}.eip["us-east-1a"]"#), json!({})),
        (
            "aws_route_table",
            format!(r#"{net}.route_table.private["us-east-1a"]"#),
            json!({"vpc_id": vpc.id}),
        ),
        (
            "aws_security_group",
            format!(r#"{net}.sg["efs*?"]"#),
            json!({"vpc_id": vpc.id, "group_name": "efs", "description": "d"}),
        ),
    ];
    for (ty, address, props) in cases {
        let t = token();
        let req = request(&address, ty, props, &t);
        let made = aws.create(&ctx, &req).await.unwrap();
        let found = aws.find_created(&ctx, &req).await.unwrap();
        assert_eq!(
            found.map(|o| o.id),
            Some(made.id.clone()),
            "{ty} at {address} not found by its token"
        );
        let other = CreateRequest {
            token: token(),
            ..req.clone()
        };
        assert!(
            aws.find_created(&ctx, &other).await.unwrap().is_none(),
            "{ty}: another create's token finds nothing"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_answered_already_exists_adopts_what_this_stack_made_and_nothing_else() {
    let emu = emulator(Profile::Instant, 0.001, None);
    let aws = provider(&emu);
    let (ctx, _) = ctx();
    let vpc = aws
        .create(
            &ctx,
            &request(
                "vpc",
                "aws_vpc",
                json!({"cidr_block": "10.8.0.0/16"}),
                &token(),
            ),
        )
        .await
        .unwrap();
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "eks.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
    let cases = [
        (
            "aws_subnet",
            r#"net.subnet["us-east-1a"]"#,
            json!({"vpc_id": vpc.id, "cidr_block": "10.8.1.0/24", "availability_zone": "us-east-1a", "map_public_ip_on_launch": true}),
        ),
        (
            "aws_security_group",
            "net.sg",
            json!({"vpc_id": vpc.id, "group_name": "nfs", "description": "d", "ingress": [{"ip_protocol": "tcp", "from_port": 2049, "to_port": 2049, "cidr_ip": "10.8.0.0/16"}]}),
        ),
        (
            "aws_iam_role",
            "iam.cluster",
            json!({"role_name": "helio-cluster", "assume_role_policy_document": trust}),
        ),
        (
            "aws_s3_bucket",
            "storage.shared_bucket",
            json!({"bucket": "helio-recovery-shared", "versioning": true, "block_public_access": true, "tags": {}}),
        ),
    ];
    for (ty, address, props) in cases {
        let first = aws
            .create(&ctx, &request(address, ty, props.clone(), &token()))
            .await
            .unwrap();
        // A second create of the same thing (another token: the first run's answer was lost).
        let again = aws
            .create(&ctx, &request(address, ty, props.clone(), &token()))
            .await
            .unwrap_or_else(|e| panic!("{ty}: the second create failed: {e}"));
        assert_eq!(again.id, first.id, "{ty}: adopted, not made twice");
        assert_eq!(
            aws.read(&ctx, ty, &[read_of(address, &again)])
                .await
                .pop()
                .unwrap()
                .unwrap()
                .map(|o| o.attributes),
            Some(again.attributes.clone()),
            "{ty}: adopted as the config asks"
        );
        // Another stack's create of the same name is refused: never adopted.
        let mut theirs = OpContext::new("another-stack", REGION);
        theirs.timeout = ctx.timeout;
        let refused = aws
            .create(&theirs, &request(address, ty, props, &token()))
            .await;
        assert!(
            matches!(refused, Err(ProviderError::Conflict { .. })),
            "{ty}: {refused:?}"
        );
    }
}

/// A run killed between CreateBucket and tagging the bucket leaves it untagged; S3 answers a
/// second CreateBucket in us-east-1 with 200 OK whoever's the bucket is. An empty untagged
/// bucket is taken; a bucket holding objects (a user's) is refused and left as it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untagged_bucket_is_taken_only_when_empty() {
    let emu = emulator(Profile::Instant, 0.001, None);
    let aws = provider(&emu);
    let (ctx, _) = ctx();
    let s3 = emu.s3_client(REGION).await;
    for name in ["helio-left-empty", "helio-users-data"] {
        s3.create_bucket().bucket(name).send().await.unwrap();
    }
    s3.put_object()
        .bucket("helio-users-data")
        .key("results.csv")
        .body(aws_sdk_s3::primitives::ByteStream::from_static(b"1,2"))
        .send()
        .await
        .unwrap();
    let taken = aws
        .create(
            &ctx,
            &request(
                "storage.shared_bucket",
                "aws_s3_bucket",
                json!({"bucket": "helio-left-empty"}),
                &token(),
            ),
        )
        .await
        .unwrap_or_else(|e| panic!("the empty bucket was not taken: {e}"));
    assert_eq!(taken.id, "helio-left-empty");
    let tagging = s3
        .get_bucket_tagging()
        .bucket("helio-left-empty")
        .send()
        .await
        .unwrap();
    assert!(
        tagging
            .tag_set()
            .iter()
            .any(|t| t.key() == "hdh:address" && t.value() == "storage.shared_bucket"),
        "the taken bucket is tagged as this stack's: {:?}",
        tagging.tag_set()
    );
    let refused = aws
        .create(
            &ctx,
            &request(
                "storage.other_bucket",
                "aws_s3_bucket",
                json!({"bucket": "helio-users-data"}),
                &token(),
            ),
        )
        .await;
    match refused {
        Err(ProviderError::Conflict { message }) => {
            assert!(message.contains("holds objects"), "{message}")
        }
        other => panic!("a bucket with someone's objects was taken: {other:?}"),
    }
    let untouched = s3
        .get_bucket_tagging()
        .bucket("helio-users-data")
        .send()
        .await;
    assert!(
        untouched.is_err(),
        "the user's bucket was not tagged: {untouched:?}"
    );
    let versioning = s3
        .get_bucket_versioning()
        .bucket("helio-users-data")
        .send()
        .await
        .unwrap();
    assert_eq!(versioning.status(), None, "nothing was changed on it");
}

fn read_of(address: &str, o: &hdh_engine::Observed) -> hdh_engine::provider::ReadRequest {
    hdh_engine::provider::ReadRequest {
        address: address.into(),
        id: o.id.clone(),
        prior: o.attributes.clone(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_found_still_creating_is_handed_over_active() {
    // 720 s of cluster creation take 7.2 s here.
    let emu = emulator(Profile::Realistic, 0.01, None);
    let aws = provider(&emu);
    let (ctx, _) = ctx();
    let vpc = aws
        .create(
            &ctx,
            &request(
                "vpc",
                "aws_vpc",
                json!({"cidr_block": "10.7.0.0/16"}),
                &token(),
            ),
        )
        .await
        .unwrap();
    let mut subnets = Vec::new();
    for (i, az) in ["us-east-1a", "us-east-1b"].iter().enumerate() {
        let s = aws
            .create(
                &ctx,
                &request(
                    &format!("subnet{i}"),
                    "aws_subnet",
                    json!({"vpc_id": vpc.id, "cidr_block": format!("10.7.{i}.0/24"), "availability_zone": az}),
                    &token(),
                ),
            )
            .await
            .unwrap();
        subnets.push(s.id);
    }
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "eks.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
    let role = aws
        .create(
            &ctx,
            &request(
                "role",
                "aws_iam_role",
                json!({"role_name": "c", "assume_role_policy_document": trust}),
                &token(),
            ),
        )
        .await
        .unwrap();
    let req = request(
        "daskhub.cluster.eks",
        "aws_eks_cluster",
        json!({"name": "eks-helio", "role_arn": s(&role, "arn"), "subnet_ids": subnets, "version": "1.31"}),
        &token(),
    );
    // The create runs until the cluster is CREATING, then its run dies (the task is dropped).
    let creating = {
        let (aws, ctx, req) = (aws.clone(), ctx.clone(), req.clone());
        tokio::spawn(async move { aws.create(&ctx, &req).await })
    };
    let eks = eks(&emu).await;
    let status = || async {
        eks.describe_cluster()
            .name("eks-helio")
            .send()
            .await
            .ok()
            .and_then(|o| o.cluster)
            .and_then(|c| c.status)
            .map(|s| s.as_str().to_string())
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while status().await.is_none() {
        assert!(Instant::now() < deadline, "the cluster never appeared");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    creating.abort();
    assert_eq!(status().await.as_deref(), Some("CREATING"));

    let found = aws.find_created(&ctx, &req).await.unwrap().expect("found");
    assert_eq!(
        status().await.as_deref(),
        Some("ACTIVE"),
        "handed over ACTIVE"
    );
    assert!(
        found.attributes["endpoint"]
            .as_str()
            .is_some_and(|e| !e.is_empty()),
        "with the endpoint its dependents need: {:?}",
        found.attributes
    );
}

/// One line, short, AWS's words, never the SDK's `Debug` rendering.
fn assert_one_short_line(message: &str, call: &str) {
    assert!(message.contains(call), "names the call: {message}");
    assert!(!message.contains('\n'), "one line: {message}");
    assert!(
        message.len() < 300,
        "short: {} chars: {message}",
        message.len()
    );
    for dump in [
        "SdkError",
        "ServiceError {",
        "raw:",
        "<html",
        "<!DOCTYPE",
        "Response {",
    ] {
        assert!(!message.contains(dump), "no {dump:?} in {message}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_the_endpoint_does_not_serve_fails_at_once_in_one_short_line() {
    // An endpoint that answers every request with an HTML 404 page, as a proxy or a host
    // that does not serve the API does. (The emulator itself answers an operation it lacks
    // in the service's own protocol, as AWS does, so it cannot play this part.)
    let endpoint = html_404_server();
    let aws = Arc::new(AwsProvider::with_settings(AwsSettings {
        endpoint_url: Some(endpoint),
        static_credentials: Some(("testing".into(), "testing".into())),
        region: Some(REGION.into()),
        poll: PollPolicy::fast(),
    }));
    let (ctx, _) = ctx();
    let started = Instant::now();
    let created = aws
        .create(
            &ctx,
            &request(
                "vpc",
                "aws_vpc",
                json!({"cidr_block": "10.6.0.0/16"}),
                &token(),
            ),
        )
        .await;
    let Err(e @ ProviderError::Unsupported { .. }) = created else {
        panic!("{created:?}");
    };
    assert_one_short_line(&e.to_string(), "CreateVpc");
    assert!(e.to_string().contains("404"), "{e}");
    // A deletion that waits out dependencies does not wait this out.
    let deleted = aws
        .delete(
            &ctx,
            &DeleteRequest {
                address: "daskhub.cluster.eks".into(),
                type_name: "aws_eks_cluster".into(),
                id: "eks-helio".into(),
                prior: map(json!({})),
                purge: false,
            },
        )
        .await;
    let Err(e) = deleted else {
        panic!("deleted through a 404");
    };
    assert_one_short_line(&e.to_string(), "DeleteCluster");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "failed fast, not after the {:?} deadline",
        ctx.timeout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_managed_policy_that_does_not_exist_fails_at_once_naming_it() {
    let emu = emulator(Profile::Instant, 0.001, None);
    let aws = provider(&emu);
    let (ctx, _) = ctx();
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "eks.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
    let started = Instant::now();
    let made = aws
        .create(
            &ctx,
            &request(
                "iam.cluster",
                "aws_iam_role",
                json!({"role_name": "r", "assume_role_policy_document": trust,
                       "managed_policy_arns": ["arn:aws:iam::aws:policy/NoSuchPolicyForHdh"]}),
                &token(),
            ),
        )
        .await;
    let Err(e @ ProviderError::InvalidInput { .. }) = made else {
        panic!("{made:?}");
    };
    assert_one_short_line(&e.to_string(), "AttachRolePolicy: NoSuchEntity");
    assert!(e.to_string().contains("NoSuchPolicyForHdh"), "{e}");
    assert!(started.elapsed() < Duration::from_secs(20), "failed fast");
}

/// Serves `404 Not Found` with an HTML body to every request on a loopback port, in a thread
/// that lives as long as the test process; returns its base URL.
fn html_404_server() -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            // Read the whole request (head, then Content-Length bytes of body) so that closing
            // the connection never resets it under the client's feet.
            let mut seen = Vec::new();
            let mut buf = [0u8; 4096];
            let mut wanted: Option<usize> = None;
            while let Ok(n) = stream.read(&mut buf) {
                if n == 0 {
                    break;
                }
                seen.extend_from_slice(&buf[..n]);
                if wanted.is_none() {
                    if let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&seen[..end]).to_ascii_lowercase();
                        let length = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        wanted = Some(end + 4 + length);
                    }
                }
                if wanted.is_some_and(|w| seen.len() >= w) {
                    break;
                }
            }
            let body = "<!DOCTYPE html><html><head><title>404 Not Found</title></head>\
                        <body><h1>Not Found</h1></body></html>";
            let _ = write!(
                stream,
                "HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{}",
                body.len(),
                body
            );
        }
    });
    url
}
