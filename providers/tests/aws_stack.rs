//! The EKS example (`examples/eks-cluster.yaml`) through the engine against the emulator's
//! realistic profile with scaled time: apply, plan again (empty), in-place update, replacement
//! naming the forcing attribute, drift, batched refresh counts, destroy to nothing; plus
//! throttling, crash adoption and the instance-type preflight.

mod aws_common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use aws_common::*;
use hdh_engine::plan::{self, Drift, PlanInput};
use hdh_engine::preflight::preflight;
use hdh_engine::refresh::refresh;
use hdh_engine::resolve::resolve_intents;
use hdh_engine::state::{Intent, IntentAction};
use hdh_engine::testkit::MemoryStore;
use hdh_engine::{
    Action, Desired, ExecOptions, Executor, Mode, OpContext, Plan, Provider, Providers, Reason,
    RetainedPolicy, State,
};
use hdh_testcloud::{Emulator, Profile};

const EXAMPLE: &str = include_str!("../../examples/eks-cluster.yaml");

/// Time scale for the realistic profile: a 720 s cluster creation takes 1.44 s.
const SCALE: f64 = 0.002;

fn load(text: &str, providers: &Providers) -> Desired {
    hdh_schema::parse_str(text, "eks-cluster.yaml", Path::new("."), providers)
        .unwrap_or_else(|d| panic!("{d:?}"))
        .desired
}

fn make_plan(
    desired: &Desired,
    state: &State,
    providers: &Providers,
    mode: Mode,
    drift: &Drift,
) -> Plan {
    plan::plan(&PlanInput {
        desired,
        state,
        providers,
        mode,
        targets: &[],
        replace: &[],
        drift,
    })
    .expect("plans")
}

async fn apply(
    desired: &Desired,
    providers: &Providers,
    ctx: &OpContext,
    state: &mut State,
    plan: &Plan,
) -> Duration {
    let store = MemoryStore::new();
    let exec = Executor {
        desired,
        providers,
        store: &store,
        ctx: ctx.clone(),
    };
    let started = Instant::now();
    let report = exec
        .run(
            plan,
            state,
            ExecOptions {
                parallelism: 20,
                ..Default::default()
            },
        )
        .await;
    let took = started.elapsed();
    let mut slow = report.completed.clone();
    slow.sort_by_key(|c| std::cmp::Reverse(c.2));
    eprintln!("slowest: {:?}", &slow[..slow.len().min(6)]);
    assert!(
        report.succeeded(),
        "run failed: {:?}",
        report
            .failed
            .iter()
            .map(|f| format!("{} {:?}: {}", f.address, f.op, f.error))
            .collect::<Vec<_>>()
    );
    took
}

async fn refreshed(state: &mut State, providers: &Providers, ctx: &OpContext) -> Drift {
    refresh(state, providers, ctx).await.unwrap_or_else(|e| {
        panic!(
            "refresh: {:?}",
            e.iter().map(|x| x.to_string()).collect::<Vec<_>>()
        )
    })
}

fn changes(plan: &Plan) -> Vec<(String, Action)> {
    plan.changes
        .iter()
        .filter(|c| c.action != Action::NoOp)
        .map(|c| (c.address.clone(), c.action))
        .collect()
}

/// The example's critical path from the realistic profile's durations (AWS seconds).
fn critical_path(desired: &Desired) -> f64 {
    let dur = |t: &str| match t {
        "aws_nat_gateway" => 120.0,
        "aws_eks_cluster" => 720.0,
        "aws_eks_node_group" => 240.0,
        "aws_eks_addon" => 60.0,
        _ => 0.0,
    };
    let mut finish: BTreeMap<String, f64> = BTreeMap::new();
    for i in desired.topo_order() {
        let spec = &desired.resources()[i];
        let start = spec
            .dependencies()
            .iter()
            .map(|d| finish[d])
            .fold(0.0, f64::max);
        finish.insert(spec.address.clone(), start + dur(&spec.type_name));
    }
    finish.values().copied().fold(0.0, f64::max)
}

/// What the emulator still holds for the stack, by kind.
async fn leftovers(emu: &Emulator) -> Vec<String> {
    let ec2 = ec2(emu).await;
    let f = aws_sdk_ec2::types::Filter::builder()
        .name("tag:hdh:stack")
        .values(STACK)
        .build();
    let mut left = Vec::new();
    for v in ec2
        .describe_vpcs()
        .filters(f.clone())
        .send()
        .await
        .unwrap()
        .vpcs()
    {
        left.push(format!("vpc {}", v.vpc_id().unwrap()));
    }
    for s in ec2
        .describe_subnets()
        .filters(f.clone())
        .send()
        .await
        .unwrap()
        .subnets()
    {
        left.push(format!("subnet {}", s.subnet_id().unwrap()));
    }
    for g in ec2
        .describe_security_groups()
        .filters(f.clone())
        .send()
        .await
        .unwrap()
        .security_groups()
    {
        left.push(format!("sg {}", g.group_id().unwrap()));
    }
    for a in ec2
        .describe_addresses()
        .filters(f.clone())
        .send()
        .await
        .unwrap()
        .addresses()
    {
        left.push(format!("eip {}", a.allocation_id().unwrap()));
    }
    for n in ec2
        .describe_nat_gateways()
        .filter(f.clone())
        .send()
        .await
        .unwrap()
        .nat_gateways()
    {
        if n.state() != Some(&aws_sdk_ec2::types::NatGatewayState::Deleted) {
            left.push(format!("nat {}", n.nat_gateway_id().unwrap()));
        }
    }
    for c in eks(emu)
        .await
        .list_clusters()
        .send()
        .await
        .unwrap()
        .clusters()
    {
        left.push(format!("cluster {c}"));
    }
    let iam = aws_sdk_iam::Client::new(&emu.aws_config(REGION).await);
    for r in iam.list_roles().send().await.unwrap().roles() {
        if r.role_name().starts_with(STACK) {
            left.push(format!("role {}", r.role_name()));
        }
    }
    for o in iam
        .list_open_id_connect_providers()
        .send()
        .await
        .unwrap()
        .open_id_connect_provider_list()
    {
        left.push(format!("oidc {}", o.arn().unwrap_or_default()));
    }
    left
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eks_example_applies_replans_empty_updates_drifts_and_destroys() {
    let emu = emulator(Profile::Realistic, SCALE, None);
    let (providers, _) = providers(&emu);
    let (ctx, progress) = ctx();
    let desired = load(EXAMPLE, &providers);
    let n = desired.resources().len();

    // Preflight: every node group's instance types are offered in its subnets' AZs.
    let mut state = State::new();
    let first = make_plan(&desired, &state, &providers, Mode::Apply, &Drift::default());
    let findings = preflight(&first, &state, &providers, &ctx).await;
    assert!(findings.is_empty(), "{findings:?}");

    // The emulator loads AWS's managed policies at the first IAM call: not part of the apply.
    aws_sdk_iam::Client::new(&emu.aws_config(REGION).await)
        .list_roles()
        .send()
        .await
        .unwrap();

    // Apply: everything created; makespan against the profile's critical path.
    assert!(first.changes.iter().all(|c| c.action == Action::Create));
    let seq0 = emu.request_log().unwrap().last().map_or(0, |r| r.seq);
    let makespan = apply(&desired, &providers, &ctx, &mut state, &first).await;
    let cp = Duration::from_secs_f64(critical_path(&desired) * SCALE);
    let apply_log = emu.request_log_since(seq0).unwrap();
    eprintln!(
        "apply: {n} resources, makespan {makespan:?}, critical path {cp:?}, ratio {:.3}; {} API calls ({:.1} per resource): {:?}",
        makespan.as_secs_f64() / cp.as_secs_f64(),
        apply_log.len(),
        apply_log.len() as f64 / n as f64,
        by_operation(&apply_log)
    );
    assert_eq!(state.resources.len(), n);
    // (The makespan goal is measured alone, without other emulators competing for the CPU:
    // see `apply_makespan_is_close_to_the_critical_path`.)
    assert!(progress
        .lock()
        .unwrap()
        .iter()
        .any(|(a, m)| a == "cluster" && m.contains("still creating")));
    let cluster = &state.resources["cluster"].attributes;
    for k in ["endpoint", "certificate_authority", "oidc_issuer", "arn"] {
        assert!(
            cluster
                .get(k)
                .and_then(|v| v.as_str())
                .is_some_and(|s| !s.is_empty()),
            "cluster {k}"
        );
    }

    // Refresh: one Describe per EC2/IAM type; EKS/KMS (no batch API) one per resource.
    let seq1 = emu.request_log().unwrap().last().unwrap().seq;
    let drift = refreshed(&mut state, &providers, &ctx).await;
    let refresh_log = emu.request_log_since(seq1).unwrap();
    let ops = by_operation(&refresh_log);
    eprintln!(
        "refresh of {n} resources: {} calls: {ops:?}",
        refresh_log.len()
    );
    for op in [
        "DescribeVpcs",
        "DescribeSubnets",
        "DescribeSecurityGroups",
        "DescribeRouteTables",
        "DescribeInternetGateways",
        "DescribeAddresses",
        "DescribeNatGateways",
        "GetAccountAuthorizationDetails",
        "ListAliases",
    ] {
        assert_eq!(ops.get(op), Some(&1), "{op}: {ops:?}");
    }
    assert_eq!(ops.get("DescribeNodegroup"), Some(&2));
    assert!(
        drift.changed.is_empty() && drift.vanished.is_empty(),
        "{drift:?}"
    );

    // Plan again: nothing to do.
    let again = make_plan(&desired, &state, &providers, Mode::Apply, &drift);
    assert!(!again.has_changes(), "{:?}", changes(&again));

    // A node group's max size: an in-place update.
    let bigger = EXAMPLE.replace(
        "{ min_size: 2, max_size: 3, desired_size: 2 }",
        "{ min_size: 2, max_size: 5, desired_size: 2 }",
    );
    let desired2 = load(&bigger, &providers);
    let p = make_plan(
        &desired2,
        &state,
        &providers,
        Mode::Apply,
        &Drift::default(),
    );
    assert_eq!(
        changes(&p),
        vec![("ng_services".to_string(), Action::Update)]
    );
    apply(&desired2, &providers, &ctx, &mut state, &p).await;
    let ng = eks(&emu)
        .await
        .describe_nodegroup()
        .cluster_name(STACK)
        .nodegroup_name("ng-daskhub-services")
        .send()
        .await
        .unwrap();
    assert_eq!(
        ng.nodegroup().unwrap().scaling_config().unwrap().max_size(),
        Some(5)
    );

    // Logging, tags and taints: in place too.
    let tweaked = bigger
        .replace(
            "enabled_cluster_log_types: [api, audit, authenticator, controllerManager, scheduler]",
            "enabled_cluster_log_types: [api, audit]\n      tags: { Owner: ops }",
        )
        .replace(
            "value: default, effect: NO_SCHEDULE }]",
            "value: burst, effect: NO_EXECUTE }]",
        );
    let desired3 = load(&tweaked, &providers);
    let p = make_plan(
        &desired3,
        &state,
        &providers,
        Mode::Apply,
        &Drift::default(),
    );
    assert_eq!(
        changes(&p),
        vec![
            ("cluster".to_string(), Action::Update),
            ("ng_burst_spot".to_string(), Action::Update)
        ]
    );
    apply(&desired3, &providers, &ctx, &mut state, &p).await;
    let ng = eks(&emu)
        .await
        .describe_nodegroup()
        .cluster_name(STACK)
        .nodegroup_name("mng-burst-compute-spot")
        .send()
        .await
        .unwrap();
    let taint = &ng.nodegroup().unwrap().taints()[0];
    assert_eq!(
        (taint.value(), taint.effect().map(|e| e.as_str())),
        (Some("burst"), Some("NO_EXECUTE"))
    );
    let tags = ng.nodegroup().unwrap().tags().unwrap();
    assert_eq!(
        tags.get(
            "k8s.io/cluster-autoscaler/node-template/taint/heliocloud.org/dask-worker-profile"
        )
        .map(String::as_str),
        Some("burst:NoExecute")
    );
    assert_eq!(
        tags.get("k8s.io/cluster-autoscaler/enabled")
            .map(String::as_str),
        Some("true")
    );
    let drift = refreshed(&mut state, &providers, &ctx).await;
    assert!(!make_plan(&desired3, &state, &providers, Mode::Apply, &drift).has_changes());
    let desired2 = desired3;
    let bigger = tweaked;

    // A subnet's CIDR: a replacement that names cidr_block (planned only).
    let moved = bigger.replace("cidr_block: 10.20.144.0/20", "cidr_block: 10.20.160.0/20");
    let p = make_plan(
        &load(&moved, &providers),
        &state,
        &providers,
        Mode::Apply,
        &Drift::default(),
    );
    let c = p.change("private_b").unwrap();
    assert!(matches!(c.action, Action::Replace { .. }), "{:?}", c.action);
    assert_eq!(
        c.reason,
        Reason::ForceNew {
            attributes: vec!["cidr_block".into()]
        }
    );
    assert!(c
        .attributes
        .iter()
        .any(|a| a.name == "cidr_block" && a.forces_replacement));

    // The cluster-autoscaler scales the group out: its desired size is not a change.
    let scale = |min: i32, max: i32, desired: i32| {
        let emu = &emu;
        async move {
            eks(emu)
                .await
                .update_nodegroup_config()
                .cluster_name(STACK)
                .nodegroup_name("ng-daskhub-services")
                .scaling_config(
                    aws_sdk_eks::types::NodegroupScalingConfig::builder()
                        .min_size(min)
                        .max_size(max)
                        .desired_size(desired)
                        .build(),
                )
                .send()
                .await
                .unwrap();
        }
    };
    scale(2, 5, 3).await;
    let drift = refreshed(&mut state, &providers, &ctx).await;
    let p = make_plan(&desired2, &state, &providers, Mode::Apply, &drift);
    let c = p.change("ng_services").unwrap();
    assert_eq!(c.action, Action::NoOp, "{c:?}");

    // Bounds changed in the console are drift, put back in place; the desired size stays.
    scale(2, 4, 3).await;
    let drift = refreshed(&mut state, &providers, &ctx).await;
    assert_eq!(
        drift.changed.get("ng_services"),
        Some(&vec!["scaling_config".to_string()]),
        "{drift:?}"
    );
    let p = make_plan(&desired2, &state, &providers, Mode::Apply, &drift);
    let c = p.change("ng_services").unwrap();
    assert_eq!(
        (c.action, c.reason.clone()),
        (
            Action::Update,
            Reason::Drifted {
                attributes: vec!["scaling_config".into()]
            }
        )
    );
    apply(&desired2, &providers, &ctx, &mut state, &p).await;
    let ng = eks(&emu)
        .await
        .describe_nodegroup()
        .cluster_name(STACK)
        .nodegroup_name("ng-daskhub-services")
        .send()
        .await
        .unwrap();
    let sc = ng.nodegroup().unwrap().scaling_config().unwrap();
    assert_eq!(
        (sc.min_size(), sc.max_size(), sc.desired_size()),
        (Some(2), Some(5), Some(3))
    );

    // Destroy (retained key included): nothing of the stack is left.
    let p = make_plan(
        &desired2,
        &state,
        &providers,
        Mode::Destroy {
            retained: RetainedPolicy::Delete,
        },
        &Drift::default(),
    );
    let started = Instant::now();
    apply(&desired2, &providers, &ctx, &mut state, &p).await;
    eprintln!("destroy: {:?}", started.elapsed());
    assert!(state.resources.is_empty());
    assert_eq!(leftovers(&emu).await, Vec::<String>::new());
}

/// Run alone (`-- --ignored makespan`): other emulators competing for the CPU slow every call.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "timing measurement; run alone"]
async fn apply_makespan_is_close_to_the_critical_path() {
    let scale = 0.01;
    let emu = emulator(Profile::Realistic, scale, None);
    let (providers, _) = providers(&emu);
    let (ctx, _) = ctx();
    let desired = load(EXAMPLE, &providers);
    aws_sdk_iam::Client::new(&emu.aws_config(REGION).await)
        .list_roles()
        .send()
        .await
        .unwrap();
    let mut state = State::new();
    let p = make_plan(&desired, &state, &providers, Mode::Apply, &Drift::default());
    let makespan = apply(&desired, &providers, &ctx, &mut state, &p).await;
    let cp = Duration::from_secs_f64(critical_path(&desired) * scale);
    let ratio = makespan.as_secs_f64() / cp.as_secs_f64();
    eprintln!("makespan {makespan:?}, critical path {cp:?} (profile durations x {scale}), ratio {ratio:.3}");
    assert!(ratio <= 1.10, "ratio {ratio:.3}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn apply_converges_with_thirty_percent_of_calls_throttled() {
    let emu = emulator(
        Profile::Realistic,
        SCALE,
        Some("throttle=0.3,error5xx=0.05"),
    );
    let (providers, aws) = providers(&emu);
    let (ctx, seen) = ctx();
    let desired = load(EXAMPLE, &providers);
    let mut state = State::new();
    let p = make_plan(&desired, &state, &providers, Mode::Apply, &Drift::default());
    apply(&desired, &providers, &ctx, &mut state, &p).await;
    let log = emu.request_log().unwrap();
    let faulted = |f: &str| log.iter().filter(|r| r.fault.as_deref() == Some(f)).count();
    let (throttled, failed) = (faulted("throttle"), faulted("error5xx"));
    // Every retry the SDK made is reported (what `hdh -v` prints), naming call and reason.
    let retries: Vec<String> = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|(a, m)| a == "aws" && m.contains("; retrying (attempt "))
        .map(|(_, m)| m.clone())
        .collect();
    eprintln!(
        "faulted apply: {} calls, {throttled} throttled, {failed} answered 5xx, {} retries \
         reported; e.g. {:?}",
        log.len(),
        retries.len(),
        retries.first()
    );
    assert!(
        throttled * 10 >= log.len() * 2 && failed > 0,
        "{throttled} throttled and {failed} 5xx of {}",
        log.len()
    );
    assert_eq!(retries.len() as u64, aws.retried());
    assert_eq!(
        retries.len(),
        throttled + failed,
        "one report per faulted call (none reached the attempt limit)"
    );
    assert!(
        retries.iter().any(|r| r.contains("(HTTP 5")),
        "a 5xx is named: {retries:?}"
    );
    assert!(
        retries
            .iter()
            .all(|r| r.split_once(": ").is_some_and(|(op, _)| op.contains(' '))),
        "each names its service and operation: {retries:?}"
    );
    let drift = refreshed(&mut state, &providers, &ctx).await;
    assert!(!make_plan(&desired, &state, &providers, Mode::Apply, &drift).has_changes());
    let p = make_plan(
        &desired,
        &state,
        &providers,
        Mode::Destroy {
            retained: RetainedPolicy::Delete,
        },
        &Drift::default(),
    );
    apply(&desired, &providers, &ctx, &mut state, &p).await;
    assert_eq!(leftovers(&emu).await, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interrupted_creates_are_adopted_not_duplicated() {
    let emu = emulator(Profile::Realistic, SCALE, None);
    let (providers, aws) = providers(&emu);
    let (ctx, _) = ctx();
    let text = "version: 1\nname: helio-eks\nregion: us-east-1\nresources:\n  vpc:\n    type: aws_vpc\n    properties: { cidr_block: 10.9.0.0/16 }\n  sg:\n    type: aws_security_group\n    properties: { group_name: g, vpc_id: \"${vpc.id}\" }\n";
    let desired = load(text, &providers);
    let mut state = State::new();
    // A run wrote its intent, AWS made the VPC, and the process died before recording it.
    let token = uuid::Uuid::new_v4().to_string();
    let properties: hdh_engine::ValueMap = [
        (
            "cidr_block".to_string(),
            hdh_engine::Value::str("10.9.0.0/16"),
        ),
        ("enable_dns_support".into(), true.into()),
        ("enable_dns_hostnames".into(), true.into()),
    ]
    .into();
    let req = hdh_engine::provider::CreateRequest {
        address: "vpc".into(),
        type_name: "aws_vpc".into(),
        properties: properties.clone(),
        token: token.clone(),
    };
    let made = aws.create(&ctx, &req).await.unwrap();
    state.intents.push(Intent {
        address: "vpc".into(),
        type_name: "aws_vpc".into(),
        action: IntentAction::Create,
        token,
        properties,
        dependencies: vec![],
        lifecycle: Default::default(),
        started_at: "2026-01-01T00:00:00Z".into(),
    });
    // An intent whose create never reached AWS: nothing found, planned again.
    state.intents.push(Intent {
        address: "sg".into(),
        type_name: "aws_security_group".into(),
        action: IntentAction::Create,
        token: uuid::Uuid::new_v4().to_string(),
        properties: [("group_name".to_string(), hdh_engine::Value::str("g"))].into(),
        dependencies: vec!["vpc".into()],
        lifecycle: Default::default(),
        started_at: "2026-01-01T00:00:00Z".into(),
    });
    let resolution = resolve_intents(&mut state, &providers, &ctx).await.unwrap();
    assert_eq!(
        resolution.adopted,
        vec![("vpc".to_string(), made.id.clone())]
    );
    assert_eq!(resolution.not_created, vec!["sg".to_string()]);
    let p = make_plan(&desired, &state, &providers, Mode::Apply, &Drift::default());
    assert_eq!(changes(&p), vec![("sg".to_string(), Action::Create)]);
    apply(&desired, &providers, &ctx, &mut state, &p).await;
    let vpcs = ec2(&emu)
        .await
        .describe_vpcs()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("tag:hdh:stack")
                .values(STACK)
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(vpcs.vpcs().len(), 1, "no duplicate VPC");
    assert_eq!(state.resources["vpc"].id, made.id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preflight_names_the_instance_type_and_zone_that_lack_it() {
    let emu = emulator(Profile::Instant, SCALE, None);
    let (providers, _) = providers(&emu);
    let (ctx, _) = ctx();
    let text = EXAMPLE.replace(
        "instance_types: [t3a.medium]",
        "instance_types: [t3a.medium, x9.notatype]",
    );
    let desired = load(&text, &providers);
    let p = make_plan(
        &desired,
        &State::new(),
        &providers,
        Mode::Apply,
        &Drift::default(),
    );
    let findings = preflight(&p, &State::new(), &providers, &ctx).await;
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(findings[0].address, "ng_services");
    assert_eq!(findings[0].attribute.as_deref(), Some("instance_types"));
    assert!(
        findings[0].message.contains("x9.notatype") && findings[0].message.contains("us-east-1a"),
        "{}",
        findings[0].message
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preflight_refuses_a_cluster_version_jump() {
    let emu = emulator(Profile::Instant, SCALE, None);
    let (_providers, aws) = providers(&emu);
    let (ctx, _) = ctx();
    let eks = eks(&emu).await;
    eks.create_cluster()
        .name("c1")
        .role_arn("arn:aws:iam::123456789012:role/r")
        .version("1.29")
        .resources_vpc_config(aws_sdk_eks::types::VpcConfigRequest::builder().build())
        .send()
        .await
        .unwrap();
    let props: hdh_engine::ValueMap = [
        ("name".to_string(), hdh_engine::Value::str("c1")),
        ("version".into(), hdh_engine::Value::str("1.31")),
    ]
    .into();
    let findings = aws
        .preflight(&ctx, &[("cluster".into(), "aws_eks_cluster".into(), props)])
        .await;
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert!(
        findings[0].message.contains("one minor version at a time"),
        "{}",
        findings[0].message
    );
}

const SMALL_CLUSTER: &str = r#"version: 1
name: helio-eks
region: us-east-1
resources:
  vpc: { type: aws_vpc, properties: { cidr_block: 10.30.0.0/16 } }
  a: { type: aws_subnet, properties: { vpc_id: "${vpc.id}", cidr_block: 10.30.0.0/20, availability_zone: us-east-1a } }
  b: { type: aws_subnet, properties: { vpc_id: "${vpc.id}", cidr_block: 10.30.16.0/20, availability_zone: us-east-1b } }
  role:
    type: aws_iam_role
    properties:
      role_name: helio-eks-small
      assume_role_policy_document: { Version: "2012-10-17", Statement: [{ Effect: Allow, Principal: { Service: [eks.amazonaws.com, ec2.amazonaws.com] }, Action: "sts:AssumeRole" }] }
  cluster:
    type: aws_eks_cluster
    properties: { name: small, role_arn: "${role.arn}", version: "1.30", subnet_ids: ["${a.id}", "${b.id}"] }
  ng:
    type: aws_eks_node_group
    properties:
      cluster_name: ${cluster.name}
      nodegroup_name: ng
      node_role: ${role.arn}
      subnets: ["${a.id}", "${b.id}"]
      instance_types: [t3a.medium]
      version: "1.30"
      scaling_config: { min_size: 1, max_size: 2, desired_size: 1 }
  ebs:
    type: aws_eks_addon
    properties: { cluster_name: "${cluster.name}", addon_name: aws-ebs-csi-driver, addon_version: v1.34.0-eksbuild.1 }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_and_node_groups_upgrade_one_minor_version_in_place() {
    let emu = emulator(Profile::Realistic, SCALE, None);
    let (providers, _) = providers(&emu);
    let (ctx, _) = ctx();
    let desired = load(SMALL_CLUSTER, &providers);
    let mut state = State::new();
    let p = make_plan(&desired, &state, &providers, Mode::Apply, &Drift::default());
    apply(&desired, &providers, &ctx, &mut state, &p).await;

    // 1.30 → 1.31 and a newer add-on: updates in place, the control plane before its node group.
    let next = SMALL_CLUSTER
        .replace("\"1.30\"", "\"1.31\"")
        .replace("v1.34.0-eksbuild.1", "v1.35.0-eksbuild.1");
    let desired2 = load(&next, &providers);
    let p = make_plan(
        &desired2,
        &state,
        &providers,
        Mode::Apply,
        &Drift::default(),
    );
    assert_eq!(
        changes(&p),
        vec![
            ("cluster".to_string(), Action::Update),
            ("ng".to_string(), Action::Update),
            ("ebs".to_string(), Action::Update)
        ]
    );
    assert!(preflight(&p, &state, &providers, &ctx).await.is_empty());
    apply(&desired2, &providers, &ctx, &mut state, &p).await;
    let eks = eks(&emu).await;
    let c = eks.describe_cluster().name("small").send().await.unwrap();
    assert_eq!(c.cluster().unwrap().version(), Some("1.31"));
    let ng = eks
        .describe_nodegroup()
        .cluster_name("small")
        .nodegroup_name("ng")
        .send()
        .await
        .unwrap();
    assert_eq!(ng.nodegroup().unwrap().version(), Some("1.31"));
    let drift = refreshed(&mut state, &providers, &ctx).await;
    assert!(!make_plan(&desired2, &state, &providers, Mode::Apply, &drift).has_changes());

    // 1.31 → 1.33 is two minor versions: EKS goes one at a time, so the plan is the first
    // step (1.32) and lists the rest; preflight finds nothing to refuse in it.
    let jump = next.replace(
        "version: \"1.31\", subnet_ids",
        "version: \"1.33\", subnet_ids",
    );
    let desired3 = load(&jump, &providers);
    let p = make_plan(
        &desired3,
        &state,
        &providers,
        Mode::Apply,
        &Drift::default(),
    );
    assert_eq!(
        p.steps_left,
        vec![plan::StepLeft {
            address: "cluster".into(),
            attribute: "version".into(),
            from: hdh_engine::Value::str("1.31"),
            steps: vec![
                hdh_engine::Value::str("1.32"),
                hdh_engine::Value::str("1.33")
            ],
        }]
    );
    let step = p.change("cluster").unwrap();
    let version = step
        .attributes
        .iter()
        .find(|a| a.name == "version")
        .unwrap();
    assert_eq!(version.after, Some(hdh_engine::Value::str("1.32")));
    let findings = preflight(&p, &state, &providers, &ctx).await;
    assert!(findings.is_empty(), "{findings:?}");

    let p = make_plan(
        &desired2,
        &state,
        &providers,
        Mode::Destroy {
            retained: RetainedPolicy::Delete,
        },
        &Drift::default(),
    );
    apply(&desired2, &providers, &ctx, &mut state, &p).await;
    assert_eq!(leftovers(&emu).await, Vec::<String>::new());
}

/// `hdh validate` needs the resource types only: the provider builds no client until a call.
#[test]
fn the_example_validates_without_a_network_call() {
    let mut providers = Providers::new();
    hdh_providers::register_aws(&mut providers);
    let desired = load(EXAMPLE, &providers);
    assert_eq!(desired.resources().len(), 21);
    assert_eq!(critical_path(&desired), 720.0 + 240.0 + 60.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_found_just_after_a_create_is_waited_out() {
    let emu = emulator(Profile::Realistic, SCALE, Some("notfound_after_create=1s"));
    let (providers, _) = providers(&emu);
    let (ctx, _) = ctx();
    let desired = load(EXAMPLE, &providers);
    let mut state = State::new();
    let p = make_plan(&desired, &state, &providers, Mode::Apply, &Drift::default());
    apply(&desired, &providers, &ctx, &mut state, &p).await;
    let log = emu.request_log().unwrap();
    let faulted = log
        .iter()
        .filter(|r| r.fault.as_deref() == Some("notfound_after_create"))
        .count();
    eprintln!("{faulted} reads answered NotFound just after a create");
    assert!(faulted > 0);
    assert_eq!(state.resources.len(), desired.resources().len());
}
