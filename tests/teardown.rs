//! `hdh destroy` of a whole DaskHub on the emulator's realistic profile (lingering interfaces,
//! DependencyViolation refusals, the stand-in helm/kubectl making a classic ELB for
//! `proxy-public`): nothing of the stack is left per the emulator's own listing, the retained
//! five stay intact and are adopted again, and teardown finishes after the cluster was deleted
//! behind hdh's back, with leaked CNI interfaces, and after an interruption. An interface hdh
//! cannot attribute is never deleted and is named.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_ec2::types::Filter;
use hdh_testcloud::poll_until;
use support::hub::{setup, Hub};

const REGION: &str = "us-east-1";
/// AWS time runs 500 times faster in the emulator; hdh's waits poll accordingly.
const TIME_SCALE: f64 = 0.002;
const STACK: &str = "helio-demo";
const CLUSTER: &str = "eks-helio";
const BUCKET: &str = "helio-demo-shared";

/// The emulator's APIs, to check what exists without asking hdh.
struct Cloud {
    ec2: aws_sdk_ec2::Client,
    eks: aws_sdk_eks::Client,
    efs: aws_sdk_efs::Client,
    elb: aws_sdk_elasticloadbalancing::Client,
    kms: aws_sdk_kms::Client,
    idp: aws_sdk_cognitoidentityprovider::Client,
    s3: aws_sdk_s3::Client,
}

impl Cloud {
    async fn new(run: &Hub) -> Cloud {
        let c = run.emu.aws_config(REGION).await;
        Cloud {
            ec2: aws_sdk_ec2::Client::new(&c),
            eks: aws_sdk_eks::Client::new(&c),
            efs: aws_sdk_efs::Client::new(&c),
            elb: aws_sdk_elasticloadbalancing::Client::new(&c),
            kms: aws_sdk_kms::Client::new(&c),
            idp: aws_sdk_cognitoidentityprovider::Client::new(&c),
            s3: run.emu.s3_client(REGION).await,
        }
    }

    async fn stack_vpc(&self) -> Option<String> {
        self.ec2
            .describe_vpcs()
            .filters(f("tag:hdh:stack", STACK))
            .send()
            .await
            .unwrap()
            .vpcs()
            .first()
            .and_then(|v| v.vpc_id().map(str::to_string))
    }

    async fn load_balancers(&self) -> Vec<String> {
        self.elb
            .describe_load_balancers()
            .send()
            .await
            .unwrap()
            .load_balancer_descriptions()
            .iter()
            .map(|d| d.load_balancer_name().unwrap().to_string())
            .collect()
    }

    async fn interfaces(&self, vpc: &str) -> Vec<String> {
        self.ec2
            .describe_network_interfaces()
            .filters(f("vpc-id", vpc))
            .send()
            .await
            .unwrap()
            .network_interfaces()
            .iter()
            .map(|n| {
                format!(
                    "{} ({:?}, {})",
                    n.network_interface_id().unwrap(),
                    n.status(),
                    n.description().unwrap_or_default()
                )
            })
            .collect()
    }

    /// Everything the stack had in the network and EKS is gone, per the emulator.
    async fn assert_nothing_left(&self, vpc: &str) {
        let ec2 = &self.ec2;
        assert!(
            ec2.describe_vpcs()
                .filters(f("vpc-id", vpc))
                .send()
                .await
                .unwrap()
                .vpcs()
                .is_empty(),
            "VPC {vpc} left"
        );
        let subnets = ec2
            .describe_subnets()
            .filters(f("vpc-id", vpc))
            .send()
            .await
            .unwrap();
        assert!(subnets.subnets().is_empty(), "subnets left");
        assert_eq!(
            self.interfaces(vpc).await,
            Vec::<String>::new(),
            "ENIs left"
        );
        let groups = ec2
            .describe_security_groups()
            .filters(f("vpc-id", vpc))
            .send()
            .await
            .unwrap();
        let names: Vec<_> = groups
            .security_groups()
            .iter()
            .map(|g| g.group_name().unwrap_or_default().to_string())
            .collect();
        assert!(names.is_empty(), "security groups left: {names:?}");
        assert_eq!(self.load_balancers().await, Vec::<String>::new());
        let nats = ec2
            .describe_nat_gateways()
            .filter(f("vpc-id", vpc))
            .send()
            .await
            .unwrap();
        assert!(
            nats.nat_gateways()
                .iter()
                .all(|n| n.state().map(|s| s.as_str()) == Some("deleted")),
            "NAT gateways left"
        );
        let eips = ec2.describe_addresses().send().await.unwrap();
        assert!(eips.addresses().is_empty(), "Elastic IPs left");
        let instances = ec2
            .describe_instances()
            .filters(f("vpc-id", vpc))
            .filters(f("instance-state-name", "running"))
            .send()
            .await
            .unwrap();
        assert!(instances.reservations().is_empty(), "nodes still running");
        // Node groups live inside their cluster: no cluster, no node group.
        let clusters = self.eks.list_clusters().send().await.unwrap();
        assert!(clusters.clusters().is_empty(), "clusters left");
        for fs in self.file_systems().await {
            let mts = self
                .efs
                .describe_mount_targets()
                .file_system_id(&fs)
                .send()
                .await
                .unwrap();
            assert!(mts.mount_targets().is_empty(), "mount targets of {fs} left");
        }
    }

    async fn file_systems(&self) -> Vec<String> {
        self.efs
            .describe_file_systems()
            .send()
            .await
            .unwrap()
            .file_systems()
            .iter()
            .map(|f| f.file_system_id().to_string())
            .collect()
    }

    /// The EBS volumes the CSI driver made for claims (this emulator holds one cluster), by the
    /// driver's own tags, not the one hdh finds them by:
    /// (volume id, claim).
    async fn claim_volumes(&self) -> Vec<(String, String)> {
        let vols = self
            .ec2
            .describe_volumes()
            .filters(f("tag:ebs.csi.aws.com/cluster", "true"))
            .filters(f("tag-key", "kubernetes.io/created-for/pvc/name"))
            .send()
            .await
            .unwrap();
        vols.volumes()
            .iter()
            .map(|v| {
                let claim = v
                    .tags()
                    .iter()
                    .find(|t| t.key() == Some("kubernetes.io/created-for/pvc/name"))
                    .and_then(|t| t.value())
                    .unwrap_or_default();
                (v.volume_id().unwrap().to_string(), claim.to_string())
            })
            .collect()
    }

    /// Customer keys that are enabled (not the AWS managed `aws/ebs` key AWS makes for the first
    /// encrypted volume).
    async fn enabled_keys(&self) -> Vec<String> {
        let mut out = vec![];
        for k in self.kms.list_keys().send().await.unwrap().keys() {
            let id = k.key_id().unwrap();
            let d = self.kms.describe_key().key_id(id).send().await.unwrap();
            let m = d.key_metadata().unwrap();
            if m.key_manager().map(|k| k.as_str()) == Some("AWS") {
                continue;
            }
            if m.key_state().map(|s| s.as_str()) == Some("Enabled") {
                out.push(id.to_string());
            }
        }
        out
    }

    async fn user_pools(&self) -> Vec<String> {
        self.idp
            .list_user_pools()
            .max_results(60)
            .send()
            .await
            .unwrap()
            .user_pools()
            .iter()
            .map(|p| p.id().unwrap().to_string())
            .collect()
    }

    async fn bucket_object(&self, key: &str) -> Option<String> {
        let o = self
            .s3
            .get_object()
            .bucket(BUCKET)
            .key(key)
            .send()
            .await
            .ok()?;
        let bytes = o.body.collect().await.ok()?.into_bytes();
        Some(String::from_utf8_lossy(&bytes).into_owned())
    }
}

fn f(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

/// A hosted zone, then the whole DaskHub applied; returns the stack's VPC id.
async fn hub(run: &mut Hub, cloud: &Cloud) -> String {
    run.hosted_zone().await;
    let out = run.ok(&["apply", "-f", "daskhub.yaml", "--auto-approve"]);
    assert!(out.contains("Apply complete"), "{out}");
    assert_eq!(cloud.load_balancers().await.len(), 1, "proxy-public's ELB");
    cloud.stack_vpc().await.expect("the stack's VPC")
}

fn destroy_keep(run: &mut Hub) -> String {
    run.ok(&[
        "destroy",
        "-f",
        "daskhub.yaml",
        "--keep-retained",
        "--auto-approve",
    ])
}

/// `hdh destroy --keep-retained` running in the background, its stdout piped (stderr dropped),
/// for tests that act while it runs.
fn spawn_destroy(run: &Hub, scale: f64) -> Child {
    run.runner()
        .env("HDH_TIME_SCALE", scale.to_string())
        .command([
            "destroy",
            "-f",
            "daskhub.yaml",
            "--keep-retained",
            "--auto-approve",
            "--no-color",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_retained_leaves_only_the_retained_four_which_a_reapply_adopts_and_delete_retained_removes(
) {
    let mut run = setup(TIME_SCALE);
    let cloud = Cloud::new(&run).await;
    let vpc = hub(&mut run, &cloud).await;
    cloud
        .s3
        .put_object()
        .bucket(BUCKET)
        .key("users/alice/notes.txt")
        .body(b"flux ropes".to_vec().into())
        .send()
        .await
        .unwrap();
    let fs = cloud.file_systems().await;
    let keys = cloud.enabled_keys().await;
    let pools = cloud.user_pools().await;
    assert_eq!((fs.len(), keys.len(), pools.len()), (1, 1, 1));
    // The hub database's claim got a gp3 volume from the EBS CSI driver.
    let volumes = cloud.claim_volumes().await;
    assert_eq!(volumes.len(), 1, "{volumes:?}");
    assert_eq!(volumes[0].1, "hub-db-dir");

    // Neither flag: refused, nothing deleted.
    let out = run.hdh(&["destroy", "-f", "daskhub.yaml", "--auto-approve"]);
    let text = out.stderr.clone() + &out.stdout;
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("--keep-retained"), "{text}");
    assert!(text.contains("daskhub.storage.efs"), "{text}");
    let c = cloud.eks.describe_cluster().name(CLUSTER).send().await;
    assert_eq!(
        c.unwrap().cluster().unwrap().status().unwrap().as_str(),
        "ACTIVE",
        "nothing was deleted"
    );
    assert_eq!(cloud.load_balancers().await.len(), 1);

    // --keep-retained: the network and EKS go, the four stay with their data.
    let out = destroy_keep(&mut run);
    assert!(out.contains("Destroy complete"), "{out}");
    cloud.assert_nothing_left(&vpc).await;
    assert_eq!(cloud.file_systems().await, fs, "EFS kept");
    assert_eq!(cloud.enabled_keys().await, keys, "KMS key kept");
    assert_eq!(cloud.user_pools().await, pools, "user pool kept");
    assert_eq!(
        cloud
            .bucket_object("users/alice/notes.txt")
            .await
            .as_deref(),
        Some("flux ropes"),
        "bucket kept with its data"
    );
    assert_eq!(
        cloud.claim_volumes().await,
        volumes,
        "hub database volume kept"
    );
    for id in [
        &fs[0],
        &keys[0],
        &pools[0],
        &BUCKET.to_string(),
        &volumes[0].0,
    ] {
        assert!(
            out.contains(id.as_str()),
            "retained {id} named with its id:\n{out}"
        );
    }

    // The same config again adopts them: same ids, data intact, nothing created twice.
    let plan = run.ok(&["plan", "-f", "daskhub.yaml"]);
    assert!(plan.contains("5 to adopt"), "{plan}");
    run.ok(&["apply", "-f", "daskhub.yaml", "--auto-approve"]);
    // The new cluster's hub claim gets a new volume; the kept one is still tracked.
    let all_volumes = cloud.claim_volumes().await;
    assert_eq!(all_volumes.len(), 2, "{all_volumes:?}");
    assert!(all_volumes.contains(&volumes[0]));
    assert_eq!(cloud.file_systems().await, fs, "same EFS id");
    assert_eq!(cloud.enabled_keys().await, keys, "same key");
    assert_eq!(cloud.user_pools().await, pools, "same user pool");
    assert_eq!(
        cloud
            .bucket_object("users/alice/notes.txt")
            .await
            .as_deref(),
        Some("flux ropes")
    );
    let vpc = cloud.stack_vpc().await.expect("a new VPC");

    // --delete-retained: nothing at all is left, the bucket's objects included.
    let out = run.ok(&[
        "destroy",
        "-f",
        "daskhub.yaml",
        "--delete-retained",
        "--auto-approve",
    ]);
    assert!(out.contains("Destroy complete"), "{out}");
    cloud.assert_nothing_left(&vpc).await;
    assert!(cloud.file_systems().await.is_empty(), "EFS deleted");
    assert!(
        cloud.enabled_keys().await.is_empty(),
        "key scheduled for deletion"
    );
    assert!(cloud.user_pools().await.is_empty(), "user pool deleted");
    assert!(
        cloud.s3.head_bucket().bucket(BUCKET).send().await.is_err(),
        "bucket deleted"
    );
    assert!(
        cloud.claim_volumes().await.is_empty(),
        "claim volumes deleted"
    );
    for (id, _) in &all_volumes {
        assert!(
            out.contains(id.as_str()),
            "deleted volume {id} reported:\n{out}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_deleted_behind_hdhs_back_leaves_a_load_balancer_that_hdh_finds_and_deletes() {
    let mut run = setup(TIME_SCALE);
    let cloud = Cloud::new(&run).await;
    let vpc = hub(&mut run, &cloud).await;
    let lb = cloud.load_balancers().await.remove(0);

    // Someone deletes the node groups and the cluster in the console.
    let ngs = cloud
        .eks
        .list_nodegroups()
        .cluster_name(CLUSTER)
        .send()
        .await
        .unwrap();
    for ng in ngs.nodegroups() {
        cloud
            .eks
            .delete_nodegroup()
            .cluster_name(CLUSTER)
            .nodegroup_name(ng)
            .send()
            .await
            .unwrap();
    }
    poll_until(Duration::from_secs(60), "node groups gone", || async {
        let left = cloud
            .eks
            .list_nodegroups()
            .cluster_name(CLUSTER)
            .send()
            .await
            .unwrap();
        left.nodegroups().is_empty().then_some(())
    })
    .await;
    cloud
        .eks
        .delete_cluster()
        .name(CLUSTER)
        .send()
        .await
        .unwrap();
    poll_until(Duration::from_secs(60), "cluster gone", || async {
        cloud
            .eks
            .describe_cluster()
            .name(CLUSTER)
            .send()
            .await
            .is_err()
            .then_some(())
    })
    .await;
    assert_eq!(
        cloud.load_balancers().await,
        vec![lb.clone()],
        "Kubernetes could not delete its load balancer"
    );

    let out = destroy_keep(&mut run);
    assert!(out.contains("Destroy complete"), "{out}");
    cloud.assert_nothing_left(&vpc).await;
    assert!(out.contains(&lb), "the load balancer is reported:\n{out}");
    assert!(
        out.contains("Kubernetes for Service daskhub/proxy-public of cluster eks-helio"),
        "{out}"
    );
    assert_eq!(cloud.file_systems().await.len(), 1, "EFS kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interfaces_the_cni_leaked_are_deleted_and_reported() {
    let mut run = setup(TIME_SCALE);
    let cloud = Cloud::new(&run).await;
    let vpc = hub(&mut run, &cloud).await;
    // Nodes die before the VPC CNI cleans up: one interface per node stays "available".
    run.emu
        .scenario(serde_json::json!({"leak_cni_enis": 1}))
        .unwrap();

    let out = destroy_keep(&mut run);
    assert!(out.contains("Destroy complete"), "{out}");
    cloud.assert_nothing_left(&vpc).await;
    let cni_lines = out
        .lines()
        .filter(|l| l.contains("left available by the VPC CNI of cluster eks-helio"))
        .count();
    assert!(
        cni_lines >= 2,
        "both services nodes' interfaces reported:\n{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interface_hdh_cannot_attribute_stops_the_destroy_is_named_and_never_deleted() {
    let mut run = setup(TIME_SCALE);
    let cloud = Cloud::new(&run).await;
    let vpc = hub(&mut run, &cloud).await;
    let subnet = cloud
        .ec2
        .describe_subnets()
        .filters(f("vpc-id", &vpc))
        .send()
        .await
        .unwrap()
        .subnets()[0]
        .subnet_id()
        .unwrap()
        .to_string();
    // Someone put an appliance into the stack's subnet.
    let stranger = cloud
        .ec2
        .create_network_interface()
        .subnet_id(&subnet)
        .description("lab appliance")
        .send()
        .await
        .unwrap()
        .network_interface
        .unwrap()
        .network_interface_id
        .unwrap();

    let out = run.hdh(&[
        "destroy",
        "-f",
        "daskhub.yaml",
        "--keep-retained",
        "--auto-approve",
        "--timeout",
        "15s",
    ]);
    let text = out.printed();
    assert_eq!(out.status.code(), Some(1), "{text}");
    let failure = text
        .lines()
        .find(|l| l.starts_with("error:") && l.contains(&subnet))
        .unwrap_or_else(|| panic!("the subnet's failure is reported:\n{text}"));
    assert!(failure.contains(&stranger), "{failure}");
    assert!(
        failure.contains("NOT this stack's, left alone"),
        "{failure}"
    );
    assert!(failure.contains("\"lab appliance\""), "{failure}");
    // While it waited, the heartbeat said what was in the way (without -v).
    assert!(
        text.lines()
            .any(|l| l.contains("still deleting") && l.contains(&stranger)),
        "{text}"
    );
    assert!(
        cloud
            .interfaces(&vpc)
            .await
            .iter()
            .any(|i| i.starts_with(&stranger)),
        "the interface is still there"
    );

    // Its owner removes it; the same destroy now finishes.
    cloud
        .ec2
        .delete_network_interface()
        .network_interface_id(&stranger)
        .send()
        .await
        .unwrap();
    let out = destroy_keep(&mut run);
    assert!(out.contains("Destroy complete"), "{out}");
    cloud.assert_nothing_left(&vpc).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_destroy_finishes_when_run_again() {
    let mut run = setup(TIME_SCALE);
    let cloud = Cloud::new(&run).await;
    let vpc = hub(&mut run, &cloud).await;

    // Ctrl-C while the node groups are being deleted.
    let mut child = spawn_destroy(&run, TIME_SCALE);
    let mut seen = String::new();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        seen.push_str(&line);
        seen.push('\n');
        if line.contains("node_group") && line.contains("deleting") {
            let ok = Command::new("kill")
                .args(["-INT", &child.id().to_string()])
                .status()
                .unwrap();
            assert!(ok.success());
            break;
        }
    }
    for line in lines {
        seen.push_str(&line.unwrap());
        seen.push('\n');
    }
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{seen}");
    assert!(seen.contains("interrupted"), "{seen}");
    assert!(
        cloud.stack_vpc().await.is_some(),
        "the interruption left work undone"
    );

    let out = destroy_keep(&mut run);
    assert!(out.contains("Destroy complete"), "{out}");
    cloud.assert_nothing_left(&vpc).await;
    assert_eq!(cloud.file_systems().await.len(), 1, "EFS kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_destroy_killed_mid_way_finishes_when_run_again() {
    let mut run = setup(TIME_SCALE);
    let cloud = Cloud::new(&run).await;
    let vpc = hub(&mut run, &cloud).await;

    // kill -9 while the cluster is being deleted: no chance to save or unlock.
    let mut child = spawn_destroy(&run, TIME_SCALE);
    let mut seen = String::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        seen.push_str(&line);
        seen.push('\n');
        if line.starts_with("daskhub.cluster.eks: deleting") {
            child.kill().unwrap();
            break;
        }
    }
    child.wait().unwrap();
    assert!(seen.contains("daskhub.cluster.eks: deleting"), "{seen}");
    assert!(cloud.stack_vpc().await.is_some(), "work was left undone");

    // The same command again: the dead run's lock is replaced, its in-flight deletion settled.
    let out = destroy_keep(&mut run);
    assert!(out.contains("Removed a stale lock"), "{out}");
    assert!(out.contains("Destroy complete"), "{out}");
    cloud.assert_nothing_left(&vpc).await;
    assert_eq!(cloud.file_systems().await.len(), 1, "EFS kept");
}

/// The destroy makespan against the critical path of the deletions (the goal: at most 1.10 times
/// it).
/// `cargo test -p hdh --test teardown makespan -- --ignored --nocapture`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: prints the makespan ratio"]
async fn makespan() {
    let scale: f64 = std::env::var("HDH_MAKESPAN_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0.02);
    let mut run = setup(scale);
    let cloud = Cloud::new(&run).await;
    let vpc = hub(&mut run, &cloud).await;
    // The longest chain of deletions in the realistic profile (AWS seconds): the EBS CSI add-on
    // (eks_addon_delete 30; it was created after the first node group) → that node group
    // (eks_nodegroup_delete 300) → cluster (eks_cluster_delete 600) → its control-plane
    // interfaces linger (eks_cluster_eni_linger 120) → subnets, cluster SG → VPC. In parallel
    // and shorter: mount targets 60 + their interfaces 120, NAT 120, the ELB's interfaces 90.
    let path = (30.0 + 300.0 + 600.0 + 120.0) * scale;
    // Lines are stamped as they arrive: the run's makespan is from the first deletion starting
    // to the closing line; the whole command adds start-up, refresh of all 47 resources and
    // the plan.
    let started = Instant::now();
    let mut child = spawn_destroy(&run, scale);
    let (mut first_op, mut done) = (None, None);
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if first_op.is_none() && line.ends_with("deleting…") {
            first_op = Some(started.elapsed().as_secs_f64());
        }
        if line.starts_with("Destroy complete") {
            done = Some(started.elapsed().as_secs_f64());
        }
    }
    assert!(child.wait().unwrap().success());
    let total = started.elapsed().as_secs_f64();
    let (first_op, done) = (first_op.unwrap(), done.expect("the destroy completed"));
    cloud.assert_nothing_left(&vpc).await;
    let run_span = done - first_op;
    println!(
        "time scale {scale}: critical path of the deletions {path:.2} s; deletions ran \
         {run_span:.2} s (ratio {:.3}); the whole command {total:.2} s (ratio {:.3}; start-up, \
         refresh and plan took {first_op:.2} s)",
        run_span / path,
        total / path
    );
}
