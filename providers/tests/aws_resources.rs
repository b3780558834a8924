//! Each AWS resource type created, read, updated and deleted through the real AWS SDK against a
//! private emulator (moto behind hdh's realism layer), through the `Provider` trait only.

mod aws_common;

use aws_common::*;
use hdh_engine::Value;
use hdh_testcloud::Profile;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_types_create_read_update_delete() {
    let emu = emulator(Profile::Realistic, 0.001, None);
    let aws = provider(&emu);
    let (ctx, progress) = ctx();
    let t = T {
        p: aws.as_ref(),
        ctx: &ctx,
    };

    let vpc = t.create("vpc", "aws_vpc", json!({"cidr_block": "10.1.0.0/16", "enable_dns_support": true, "enable_dns_hostnames": true, "tags": {"Name": "v"}})).await;
    assert!(vpc.id.starts_with("vpc-"));
    assert_eq!(
        t.read("aws_vpc", &vpc).await.unwrap().attributes,
        vpc.attributes
    );
    let vpc = t
        .update(
            "vpc",
            "aws_vpc",
            &vpc,
            json!({"tags": {"Name": "v2", "Team": "x"}}),
        )
        .await;
    assert_eq!(
        t.read("aws_vpc", &vpc).await.unwrap().attributes["tags"],
        Value::from(&json!({"Name": "v2", "Team": "x"}))
    );
    // The hdh tags are on the VPC but not in its `tags`.
    let raw = ec2(&emu)
        .await
        .describe_vpcs()
        .vpc_ids(&vpc.id)
        .send()
        .await
        .unwrap();
    let keys: Vec<_> = raw.vpcs()[0]
        .tags()
        .iter()
        .filter_map(|t| t.key())
        .collect();
    for k in ["hdh:stack", "hdh:address", "hdh:token", "Project"] {
        assert!(keys.contains(&k), "{k} missing from {keys:?}");
    }

    let vpc_id = json!(vpc.id);
    let sub = t.create("a", "aws_subnet", json!({"vpc_id": vpc_id, "cidr_block": "10.1.0.0/24", "availability_zone": "us-east-1a", "map_public_ip_on_launch": false})).await;
    assert_eq!(s(&sub, "availability_zone"), "us-east-1a");
    let sub = t
        .update(
            "a",
            "aws_subnet",
            &sub,
            json!({"map_public_ip_on_launch": true}),
        )
        .await;
    assert_eq!(
        t.read("aws_subnet", &sub).await.unwrap().attributes["map_public_ip_on_launch"],
        Value::Bool(true)
    );

    let igw = t
        .create("igw", "aws_internet_gateway", json!({"vpc_id": vpc_id}))
        .await;
    assert_eq!(s(&igw, "vpc_id"), vpc.id);
    let eip = t.create("ip", "aws_eip", json!({"domain": "vpc"})).await;
    assert!(!s(&eip, "public_ip").is_empty());
    let nat = t
        .create(
            "nat",
            "aws_nat_gateway",
            json!({"subnet_id": sub.id, "allocation_id": eip.id, "connectivity_type": "public"}),
        )
        .await;
    assert!(
        progress
            .lock()
            .unwrap()
            .iter()
            .any(|(a, m)| a == "nat" && m.starts_with("still creating")),
        "NAT wait reported progress"
    );
    let nat = t
        .update(
            "nat",
            "aws_nat_gateway",
            &nat,
            json!({"tags": {"Name": "nat"}}),
        )
        .await;
    assert_eq!(
        t.read("aws_nat_gateway", &nat).await.unwrap().attributes["tags"],
        Value::from(&json!({"Name": "nat"}))
    );

    let sub_b = t.create("b", "aws_subnet", json!({"vpc_id": vpc_id, "cidr_block": "10.1.1.0/24", "availability_zone": "us-east-1b"})).await;
    let rt = t.create("rt", "aws_route_table", json!({"vpc_id": vpc_id, "routes": [{"destination_cidr_block": "0.0.0.0/0", "gateway_id": igw.id}], "subnet_ids": [sub.id]})).await;
    assert_eq!(
        rt.attributes["routes"],
        Value::from(&json!([{"destination_cidr_block": "0.0.0.0/0", "gateway_id": igw.id}]))
    );
    let rt = t
        .update("rt", "aws_route_table", &rt, json!({"routes": [{"destination_cidr_block": "0.0.0.0/0", "nat_gateway_id": nat.id}], "subnet_ids": [sub_b.id]}))
        .await;
    let back = t.read("aws_route_table", &rt).await.unwrap();
    assert_eq!(
        back.attributes["routes"],
        Value::from(&json!([{"destination_cidr_block": "0.0.0.0/0", "nat_gateway_id": nat.id}]))
    );
    assert_eq!(
        back.attributes["subnet_ids"],
        Value::from(&json!([sub_b.id]))
    );

    let a = t.create("sg_a", "aws_security_group", json!({"group_name": "a", "description": "a", "vpc_id": vpc_id,
        "ingress": [{"ip_protocol": "tcp", "from_port": 443, "to_port": 443, "cidr_ip": "10.1.0.0/16"}]})).await;
    let b = t.create("sg_b", "aws_security_group", json!({"group_name": "b", "description": "b", "vpc_id": vpc_id,
        "ingress": [{"ip_protocol": "-1", "source_security_group_id": "self"},
                    {"ip_protocol": "tcp", "from_port": 1025, "to_port": 65535, "source_security_group_id": a.id}],
        "egress": [{"ip_protocol": "-1", "cidr_ip": "0.0.0.0/0"}]})).await;
    let b_read = t.read("aws_security_group", &b).await.unwrap();
    assert_eq!(b_read.attributes["ingress"], b.attributes["ingress"]);
    assert_eq!(b.attributes["ingress"].as_list().unwrap().len(), 2);
    let b = t.update("sg_b", "aws_security_group", &b, json!({"ingress": [{"ip_protocol": "tcp", "from_port": 22, "to_port": 22, "cidr_ip": "10.1.0.0/16"}]})).await;
    assert_eq!(
        t.read("aws_security_group", &b).await.unwrap().attributes["ingress"],
        Value::from(
            &json!([{"ip_protocol": "tcp", "from_port": 22, "to_port": 22, "cidr_ip": "10.1.0.0/16"}])
        )
    );

    // Reverse order; the subnet and VPC wait out the NAT gateway's ENI and the gateway itself.
    t.delete("aws_security_group", &b).await;
    t.delete("aws_security_group", &a).await;
    t.delete("aws_route_table", &rt).await;
    t.delete("aws_nat_gateway", &nat).await;
    t.delete("aws_eip", &eip).await;
    t.delete("aws_internet_gateway", &igw).await;
    t.delete("aws_subnet", &sub).await;
    t.delete("aws_subnet", &sub_b).await;
    t.delete("aws_vpc", &vpc).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iam_and_kms_types_create_read_update_delete() {
    let emu = emulator(Profile::Instant, 0.001, None);
    let aws = provider(&emu);
    let (ctx, _) = ctx();
    let t = T {
        p: aws.as_ref(),
        ctx: &ctx,
    };

    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "eks.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
    // A description changed in the console is read back (the batched listing has none).
    let described = t
        .create("described", "aws_iam_role", json!({"role_name": "r0", "assume_role_policy_document": trust, "description": "the hub's role"}))
        .await;
    let iam = aws_sdk_iam::Client::new(&emu.aws_config(REGION).await);
    iam.update_role()
        .role_name("r0")
        .description("edited in the console")
        .send()
        .await
        .unwrap();
    let back = t.read("aws_iam_role", &described).await.unwrap();
    assert_eq!(s(&back, "description"), "edited in the console");
    let mut drifted = described.clone();
    drifted.attributes = back.attributes;
    let fixed = t
        .update(
            "described",
            "aws_iam_role",
            &drifted,
            json!({"description": "the hub's role"}),
        )
        .await;
    assert_eq!(
        s(
            &t.read("aws_iam_role", &fixed).await.unwrap(),
            "description"
        ),
        "the hub's role"
    );
    t.delete("aws_iam_role", &fixed).await;

    let inline = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]});
    let role = t
        .create("role", "aws_iam_role", json!({"role_name": "r1", "assume_role_policy_document": trust, "path": "/",
            "managed_policy_arns": ["arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"], "inline_policies": {"list": inline}}))
        .await;
    assert_eq!(role.id, "r1");
    assert!(s(&role, "arn").ends_with(":role/r1"));
    let back = t.read("aws_iam_role", &role).await.unwrap();
    assert_eq!(
        back.attributes["assume_role_policy_document"],
        role.attributes["assume_role_policy_document"]
    );
    assert_eq!(
        back.attributes["inline_policies"],
        role.attributes["inline_policies"]
    );
    assert_eq!(
        back.attributes["managed_policy_arns"],
        role.attributes["managed_policy_arns"]
    );
    let role = t
        .update("role", "aws_iam_role", &role, json!({"managed_policy_arns": ["arn:aws:iam::aws:policy/AmazonEKSVPCResourceController"], "inline_policies": {}}))
        .await;
    let back = t.read("aws_iam_role", &role).await.unwrap();
    assert_eq!(
        back.attributes["managed_policy_arns"],
        Value::from(&json!([
            "arn:aws:iam::aws:policy/AmazonEKSVPCResourceController"
        ]))
    );
    assert_eq!(back.attributes["inline_policies"], Value::from(&json!({})));

    let oidc = t.create("oidc", "aws_iam_openid_connect_provider", json!({"url": "https://oidc.eks.us-east-1.amazonaws.com/id/ABC", "client_id_list": ["sts.amazonaws.com"]})).await;
    assert_eq!(
        s(&oidc, "issuer_host"),
        "oidc.eks.us-east-1.amazonaws.com/id/ABC"
    );
    // (moto lacks AddClientIDToOpenIDConnectProvider; thumbprints stand in for in-place updates)
    let thumb = "0123456789012345678901234567890123456789";
    let oidc = t
        .update(
            "oidc",
            "aws_iam_openid_connect_provider",
            &oidc,
            json!({"thumbprint_list": [thumb]}),
        )
        .await;
    assert_eq!(
        t.read("aws_iam_openid_connect_provider", &oidc)
            .await
            .unwrap()
            .attributes["thumbprint_list"],
        Value::from(&json!([thumb]))
    );

    let key = t.create("key", "aws_kms_key", json!({"description": "k", "alias": "alias/k1", "enable_key_rotation": true, "deletion_window_in_days": 7})).await;
    assert_eq!(s(&key, "alias"), "alias/k1");
    let key = t
        .update(
            "key",
            "aws_kms_key",
            &key,
            json!({"alias": "alias/k2", "description": "k2"}),
        )
        .await;
    let back = t.read("aws_kms_key", &key).await.unwrap();
    assert_eq!(
        (s(&back, "alias"), s(&back, "description")),
        ("alias/k2".into(), "k2".into())
    );

    // Rotation turned off and a tag changed in the console are read back, and put back.
    let kms = aws_sdk_kms::Client::new(&emu.aws_config(REGION).await);
    let tagged = t
        .update("key", "aws_kms_key", &key, json!({"tags": {"Team": "hub"}}))
        .await;
    assert_eq!(
        t.read("aws_kms_key", &tagged).await.unwrap().attributes["tags"],
        Value::from(&json!({"Team": "hub"}))
    );
    kms.disable_key_rotation()
        .key_id(&key.id)
        .send()
        .await
        .unwrap();
    kms.tag_resource()
        .key_id(&key.id)
        .tags(
            aws_sdk_kms::types::Tag::builder()
                .tag_key("Team")
                .tag_value("console")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let back = t.read("aws_kms_key", &tagged).await.unwrap();
    assert_eq!(back.attributes["enable_key_rotation"], Value::Bool(false));
    assert_eq!(
        back.attributes["tags"],
        Value::from(&json!({"Team": "console"}))
    );
    let mut drifted = tagged.clone();
    drifted.attributes = back.attributes;
    let fixed = t
        .update(
            "key",
            "aws_kms_key",
            &drifted,
            json!({"enable_key_rotation": true, "tags": {"Team": "hub"}}),
        )
        .await;
    let back = t.read("aws_kms_key", &fixed).await.unwrap();
    assert_eq!(back.attributes["enable_key_rotation"], Value::Bool(true));
    assert_eq!(
        back.attributes["tags"],
        Value::from(&json!({"Team": "hub"}))
    );
    let key = fixed;
    t.delete("aws_kms_key", &key).await;
    t.delete("aws_iam_openid_connect_provider", &oidc).await;
    t.delete("aws_iam_role", &role).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_lookups_read_the_region_and_account() {
    let emu = emulator(Profile::Instant, 0.001, None);
    let aws = provider(&emu);
    let (ctx, _) = ctx();
    let t = T {
        p: aws.as_ref(),
        ctx: &ctx,
    };
    let azs = t.create("azs", "aws_availability_zones", json!({})).await;
    let names = azs.attributes["names"].as_list().unwrap();
    assert!(names.contains(&Value::str("us-east-1a")), "{names:?}");
    let me = t.create("me", "aws_caller_identity", json!({})).await;
    assert_eq!(s(&me, "account_id").len(), 12);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_tag_changed_in_the_console_is_read_back_and_put_back() {
    let emu = emulator(Profile::Instant, 0.001, None);
    let aws = provider(&emu);
    let (ctx, _) = ctx();
    let t = T {
        p: aws.as_ref(),
        ctx: &ctx,
    };
    let cert = t
        .create(
            "cert",
            "aws_acm_certificate",
            json!({"domain_name": "hub.example.org", "tags": {"Team": "hub"}}),
        )
        .await;
    assert_eq!(
        t.read("aws_acm_certificate", &cert)
            .await
            .unwrap()
            .attributes["tags"],
        Value::from(&json!({"Team": "hub"}))
    );
    let acm = aws_sdk_acm::Client::new(&emu.aws_config(REGION).await);
    acm.add_tags_to_certificate()
        .certificate_arn(&cert.id)
        .tags(
            aws_sdk_acm::types::Tag::builder()
                .key("Team")
                .value("console")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let back = t.read("aws_acm_certificate", &cert).await.unwrap();
    assert_eq!(
        back.attributes["tags"],
        Value::from(&json!({"Team": "console"}))
    );
    let mut drifted = cert.clone();
    drifted.attributes = back.attributes;
    let fixed = t
        .update(
            "cert",
            "aws_acm_certificate",
            &drifted,
            json!({"tags": {"Team": "hub"}}),
        )
        .await;
    assert_eq!(
        t.read("aws_acm_certificate", &fixed)
            .await
            .unwrap()
            .attributes["tags"],
        Value::from(&json!({"Team": "hub"}))
    );
    t.delete("aws_acm_certificate", &fixed).await;
}
