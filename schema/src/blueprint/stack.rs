//! Every resource of the DaskHub with the dependency edges that matter: network →
//! cluster → node groups → Helm release → DNS record; KMS key → cluster; cluster → OIDC → IRSA
//! roles; EFS → mount targets → PV/PVC → release; Cognito pool → domain, client → values;
//! random tokens → values. Addresses read like `daskhub.network.subnet.private["us-east-1a"]`.

use serde_json::{json, Value as J};

use super::build::{keyed, r, Builder};
use super::net;
use super::placement;
use super::settings::{NodeGroup, Settings, Tls};
use super::values::{
    self, CERTIFICATE_VALIDATION, CLIENT, GATEWAY_TOKEN, HUB_DB_CLASS, PROXY_TOKEN, PVC,
};

const VPC: &str = "daskhub.network.vpc";
const IGW: &str = "daskhub.network.internet_gateway";
const EFS_SG: &str = "daskhub.storage.security_group";
const CLUSTER_ROLE: &str = "daskhub.identity.cluster_role";
const NODE_ROLE: &str = "daskhub.identity.node_role";
const OIDC: &str = "daskhub.identity.oidc_provider";
const KEY: &str = "daskhub.keys.secrets";
const CLUSTER: &str = "daskhub.cluster.eks";
const EFS: &str = "daskhub.storage.efs";
const POOL: &str = "daskhub.auth.user_pool";
const DOMAIN: &str = "daskhub.auth.domain";
const ADMIN: &str = "daskhub.auth.admin";
const RELEASE: &str = "daskhub.hub.release";
const USER_ROLE: &str = "daskhub.identity.user_role";
const USER_ACCOUNT_MANIFEST: &str = "daskhub.kubernetes.user_account";
pub(crate) const RECORD: &str = "daskhub.dns.record";
const CERTIFICATE: &str = "daskhub.dns.certificate";
/// The EBS volumes the CSI driver makes for the cluster's claims (the hub database's).
const CLAIM_VOLUMES: &str = "daskhub.storage.claim_volumes";
const STORAGE_CLASS: &str = "daskhub.kubernetes.hub_db_storage_class";
const CERTIFICATE_RECORD: &str = "daskhub.dns.certificate_record";

fn subnet(kind: &str, az: &str) -> String {
    keyed(&format!("daskhub.network.subnet.{kind}"), az)
}

fn node_group(name: &str) -> String {
    keyed("daskhub.cluster.node_group", name)
}

/// What every Kubernetes resource needs to reach the cluster.
fn cluster_inputs() -> J {
    json!({
        "cluster_name": r(CLUSTER, "name"),
        "cluster_endpoint": r(CLUSTER, "endpoint"),
        "cluster_ca": r(CLUSTER, "certificate_authority"),
    })
}

fn with_cluster(mut extra: J) -> J {
    if let (J::Object(m), J::Object(c)) = (&mut extra, cluster_inputs()) {
        m.extend(c);
    }
    extra
}

/// The trust policy of an IRSA role: only this service account's tokens, issued for STS, by this
/// cluster's OIDC provider.
fn irsa_trust(namespace: &str, service_account: &str) -> String {
    format!(
        "{{\"Version\": \"2012-10-17\", \"Statement\": [{{\"Effect\": \"Allow\", \
         \"Principal\": {{\"Federated\": \"{}\"}}, \"Action\": \"sts:AssumeRoleWithWebIdentity\", \
         \"Condition\": {{\"StringEquals\": {{\"{host}:sub\": \"system:serviceaccount:{namespace}:{service_account}\", \
         \"{host}:aud\": \"sts.amazonaws.com\"}}}}}}]}}",
        r(OIDC, "arn"),
        host = r(OIDC, "issuer_host"),
    )
}

/// What the cluster-autoscaler may do, as AWS documents it for EKS: scale and terminate only in
/// the Auto Scaling groups tagged as this cluster's (EKS tags its managed node groups' groups
/// `k8s.io/cluster-autoscaler/<cluster>: owned`), read only this cluster's node groups, and
/// describe what discovery needs.
fn autoscaler_policy(s: &Settings, region: &str) -> J {
    let cluster = &s.cluster_name;
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "ScaleThisClustersNodeGroups", "Effect": "Allow",
             "Action": ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
             "Resource": format!("arn:aws:autoscaling:{region}:*:autoScalingGroup:*:autoScalingGroupName/eks-*"),
             "Condition": {"StringEquals": {format!("aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster}"): "owned"}}},
            {"Sid": "ReadThisClustersNodeGroups", "Effect": "Allow",
             "Action": ["eks:DescribeNodegroup"],
             "Resource": format!("arn:aws:eks:{region}:*:nodegroup/{cluster}/*/*")},
            {"Sid": "Discover", "Effect": "Allow", "Resource": "*", "Action": [
                "autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeAutoScalingInstances",
                "autoscaling:DescribeLaunchConfigurations", "autoscaling:DescribeScalingActivities",
                "autoscaling:DescribeTags", "ec2:DescribeImages", "ec2:DescribeInstanceTypes",
                "ec2:DescribeLaunchTemplateVersions", "ec2:GetInstanceTypesFromInstanceRequirements"]},
        ]
    })
}

/// Notebooks and Dask workers may list the shared bucket and read, write and delete its objects;
/// nothing else in S3.
fn bucket_policy(bucket: &str) -> J {
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "ListSharedBucket", "Effect": "Allow",
             "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
             "Resource": format!("arn:aws:s3:::{bucket}")},
            {"Sid": "UseSharedObjects", "Effect": "Allow",
             "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject",
                        "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
             "Resource": format!("arn:aws:s3:::{bucket}/*")},
        ]
    })
}

pub(crate) fn build(b: &mut Builder<'_>, s: &Settings, stack: &str, region: &str) {
    network(b, s, stack);
    identity(b, s, stack, region);
    cluster(b, s);
    access(b, s);
    storage(b, s, stack);
    auth(b, s, stack);
    kubernetes(b, s);
    if s.tls == Tls::Acm {
        certificate(b, s, stack);
    }
    hub(b, s, region);
    b.add(
        RECORD,
        "aws_route53_record",
        json!({
            "zone_name": s.hosted_zone,
            "name": s.record,
            "type": "CNAME",
            "records": [r(RELEASE, "load_balancer_hostname")],
        }),
    );
}

/// The hub's ACM certificate, its DNS validation record in the hosted zone, and the wait until
/// ACM has checked that record and issued the certificate (the release names it only then).
fn certificate(b: &mut Builder<'_>, s: &Settings, stack: &str) {
    b.add(
        CERTIFICATE,
        "aws_acm_certificate",
        json!({"domain_name": values::hub_host(s), "tags": {"Name": format!("{stack}-hub")}}),
    );
    b.add(
        CERTIFICATE_RECORD,
        "aws_route53_record",
        json!({
            "zone_name": s.hosted_zone,
            "name": r(CERTIFICATE, "validation_record_name"),
            "type": r(CERTIFICATE, "validation_record_type"),
            "records": [r(CERTIFICATE, "validation_record_value")],
        }),
    );
    b.add(
        CERTIFICATE_VALIDATION,
        "aws_acm_certificate_validation",
        json!({"certificate_arn": r(CERTIFICATE, "arn"),
               "validation_record_fqdn": r(CERTIFICATE_RECORD, "fqdn")}),
    );
}

fn network(b: &mut Builder<'_>, s: &Settings, stack: &str) {
    // The cluster tag is how teardown knows which cluster's leftovers in this VPC (Kubernetes
    // load balancers, CNI interfaces) are this stack's, even after the cluster is gone.
    b.add(
        VPC,
        "aws_vpc",
        json!({"cidr_block": s.cidr, "enable_dns_support": true, "enable_dns_hostnames": true,
               "tags": {"Name": format!("{stack}-vpc"),
                        format!("kubernetes.io/cluster/{}", s.cluster_name): "shared"}}),
    );
    b.add(IGW, "aws_internet_gateway", json!({"vpc_id": r(VPC, "id")}));
    for (i, az) in s.azs.iter().enumerate() {
        let (public, private) = net::subnets(&s.cidr, i);
        b.add(
            &subnet("public", az),
            "aws_subnet",
            json!({"vpc_id": r(VPC, "id"), "cidr_block": public, "availability_zone": az,
                   "map_public_ip_on_launch": true,
                   "tags": {"Name": format!("{stack}-public-{az}"), "kubernetes.io/role/elb": "1"}}),
        );
        b.add(
            &subnet("private", az),
            "aws_subnet",
            json!({"vpc_id": r(VPC, "id"), "cidr_block": private, "availability_zone": az,
                   "tags": {"Name": format!("{stack}-private-{az}"), "kubernetes.io/role/internal-elb": "1"}}),
        );
    }
    for az in s.azs.iter().take(s.nat_gateways) {
        let ip = keyed("daskhub.network.nat_ip", az);
        b.add(
            &ip,
            "aws_eip",
            json!({"domain": "vpc", "tags": {"Name": format!("{stack}-nat-{az}")}}),
        );
        b.add(
            &keyed("daskhub.network.nat_gateway", az),
            "aws_nat_gateway",
            json!({"subnet_id": r(&subnet("public", az), "id"), "allocation_id": r(&ip, "id"),
                   "tags": {"Name": format!("{stack}-nat-{az}")}}),
        )
        .depends_on = vec![IGW.into()];
    }
    b.add(
        "daskhub.network.route_table.public",
        "aws_route_table",
        json!({"vpc_id": r(VPC, "id"),
               "routes": [{"destination_cidr_block": "0.0.0.0/0", "gateway_id": r(IGW, "id")}],
               "subnet_ids": s.azs.iter().map(|az| r(&subnet("public", az), "id")).collect::<Vec<_>>()}),
    );
    for (i, az) in s.azs.iter().enumerate() {
        let nat_az = &s.azs[i.min(s.nat_gateways.saturating_sub(1))];
        let nat_az = if i < s.nat_gateways { az } else { nat_az };
        b.add(
            &keyed("daskhub.network.route_table.private", az),
            "aws_route_table",
            json!({"vpc_id": r(VPC, "id"),
                   "routes": [{"destination_cidr_block": "0.0.0.0/0",
                               "nat_gateway_id": r(&keyed("daskhub.network.nat_gateway", nat_az), "id")}],
                   "subnet_ids": [r(&subnet("private", az), "id")]}),
        );
    }
    b.add(
        EFS_SG,
        "aws_security_group",
        json!({"group_name": format!("{stack}-efs"), "description": "NFS from the nodes",
               "vpc_id": r(VPC, "id"),
               "ingress": [{"ip_protocol": "tcp", "from_port": 2049, "to_port": 2049, "cidr_ip": s.cidr,
                            "description": "NFS from the VPC"}]}),
    );
}

fn identity(b: &mut Builder<'_>, s: &Settings, stack: &str, region: &str) {
    let service = |svc: &str| {
        json!({"Version": "2012-10-17",
               "Statement": [{"Effect": "Allow", "Principal": {"Service": svc}, "Action": "sts:AssumeRole"}]})
    };
    b.add(
        CLUSTER_ROLE,
        "aws_iam_role",
        json!({"role_name": s.cluster_role_name.clone().unwrap_or_else(|| format!("{stack}-cluster")),
               "assume_role_policy_document": service("eks.amazonaws.com"),
               "managed_policy_arns": ["arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"]}),
    );
    b.add(
        NODE_ROLE,
        "aws_iam_role",
        json!({"role_name": s.node_role_name.clone().unwrap_or_else(|| format!("{stack}-nodes")),
               "assume_role_policy_document": service("ec2.amazonaws.com"),
               "managed_policy_arns": [
                   "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
                   "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
                   "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
                   "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"]}),
    );
    let key = b.add(
        KEY,
        "aws_kms_key",
        json!({"description": format!("{stack} EKS secrets"), "alias": format!("alias/{stack}-eks-secrets")}),
    );
    key.lifecycle.retain = s.keys_retain;
    b.add(
        OIDC,
        "aws_iam_openid_connect_provider",
        json!({"url": r(CLUSTER, "oidc_issuer")}),
    );
    b.add(
        "daskhub.identity.ebs_csi_role",
        "aws_iam_role",
        json!({"role_name": format!("{stack}-ebs-csi"),
               "assume_role_policy_document": irsa_trust("kube-system", "ebs-csi-controller-sa"),
               "managed_policy_arns": ["arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"]}),
    );
    b.add(
        "daskhub.identity.efs_csi_role",
        "aws_iam_role",
        json!({"role_name": format!("{stack}-efs-csi"),
               "assume_role_policy_document": irsa_trust("kube-system", "efs-csi-controller-sa"),
               "managed_policy_arns": ["arn:aws:iam::aws:policy/service-role/AmazonEFSCSIDriverPolicy"]}),
    );
    b.add(
        "daskhub.identity.autoscaler_role",
        "aws_iam_role",
        json!({"role_name": format!("{stack}-cluster-autoscaler"),
               "assume_role_policy_document": irsa_trust("kube-system", "cluster-autoscaler"),
               "inline_policies": {"cluster-autoscaler": autoscaler_policy(s, region)}}),
    );
    if let Some((bucket, _, _)) = &s.bucket {
        b.add(
            USER_ROLE,
            "aws_iam_role",
            json!({"role_name": format!("{stack}-daskhub-user"),
                   "assume_role_policy_document": irsa_trust(&s.namespace, placement::USER_ACCOUNT),
                   "inline_policies": {"shared-bucket": bucket_policy(bucket)}}),
        );
    }
}

/// The tags that let the cluster-autoscaler find a group and scale it from zero.
fn autoscaler_tags(s: &Settings, g: &NodeGroup) -> J {
    let mut t = serde_json::Map::new();
    t.insert("k8s.io/cluster-autoscaler/enabled".into(), json!("true"));
    t.insert(
        format!("k8s.io/cluster-autoscaler/{}", s.cluster_name),
        json!("owned"),
    );
    for (k, v) in &g.labels {
        t.insert(
            format!("k8s.io/cluster-autoscaler/node-template/label/{k}"),
            json!(v),
        );
    }
    // Profiles and Dask pods select their group by this label (placement.rs).
    t.insert(
        format!(
            "k8s.io/cluster-autoscaler/node-template/label/{}",
            placement::NODEGROUP_LABEL
        ),
        json!(g.name),
    );
    for (k, v, effect) in &g.taints {
        let e = match effect.as_str() {
            "NO_EXECUTE" => "NoExecute",
            "PREFER_NO_SCHEDULE" => "PreferNoSchedule",
            _ => "NoSchedule",
        };
        t.insert(
            format!("k8s.io/cluster-autoscaler/node-template/taint/{k}"),
            json!(format!("{v}:{e}")),
        );
    }
    J::Object(t)
}

fn cluster(b: &mut Builder<'_>, s: &Settings) {
    let private: Vec<String> = s
        .azs
        .iter()
        .map(|az| r(&subnet("private", az), "id"))
        .collect();
    let mut all = private.clone();
    all.extend(s.azs.iter().map(|az| r(&subnet("public", az), "id")));
    let routes: Vec<String> = s
        .azs
        .iter()
        .map(|az| keyed("daskhub.network.route_table.private", az))
        .chain(["daskhub.network.route_table.public".to_string()])
        .collect();
    let c = b.add(
        CLUSTER,
        "aws_eks_cluster",
        json!({"name": s.cluster_name, "role_arn": r(CLUSTER_ROLE, "arn"), "version": s.kubernetes_version,
               "subnet_ids": all,
               "endpoint_public_access": true, "endpoint_private_access": true,
               "public_access_cidrs": s.public_access_cidrs,
               "enabled_cluster_log_types": ["api", "audit", "authenticator", "controllerManager", "scheduler"],
               "encryption_key_arn": r(KEY, "arn"),
               "authentication_mode": s.authentication_mode,
               "tags": {"Name": s.cluster_name}}),
    );
    // The control plane needs only its subnets; nodes need their way out (NAT and routes)
    // before they can join, so the routes hold back the node groups, never the cluster. The
    // claims' volumes are released when the cluster's nodes are gone, so on destroy they are
    // dealt with after the cluster.
    c.depends_on = vec![CLAIM_VOLUMES.into()];
    for g in &s.node_groups {
        let mut props = json!({
            "cluster_name": r(CLUSTER, "name"), "nodegroup_name": g.name, "node_role": r(NODE_ROLE, "arn"),
            "subnets": private, "instance_types": g.instance_types,
            "capacity_type": if g.spot { "SPOT" } else { "ON_DEMAND" },
            "scaling_config": {"min_size": g.min, "max_size": g.max, "desired_size": g.desired},
            "labels": g.labels,
            "taints": g.taints.iter().map(|(k, v, e)| json!({"key": k, "value": v, "effect": e})).collect::<Vec<_>>(),
            // Follows the control plane through each step of an upgrade.
            "version": r(CLUSTER, "version"),
            "tags": autoscaler_tags(s, g),
        });
        if let Some(d) = g.disk_size {
            props["disk_size"] = json!(d);
        }
        if g.instance_types
            .iter()
            .any(|t| t.starts_with("g4") || t.starts_with("g5") || t.starts_with("p"))
        {
            props["ami_type"] = json!("AL2_x86_64_GPU");
        }
        b.add(&node_group(&g.name), "aws_eks_node_group", props)
            .depends_on = routes.clone();
    }
    let first = s.node_groups.first().map(|g| node_group(&g.name));
    b.add(
        "daskhub.cluster.addon.ebs_csi",
        "aws_eks_addon",
        json!({"cluster_name": r(CLUSTER, "name"), "addon_name": "aws-ebs-csi-driver",
               "kubernetes_version": r(CLUSTER, "version"),
               "service_account_role_arn": r("daskhub.identity.ebs_csi_role", "arn")}),
    )
    .depends_on = first.into_iter().collect();
}

/// `cluster.access`: one access entry per principal, one policy association per item.
/// Addresses are keyed by the principal's `role/NAME` (or `user/NAME`) part.
fn access(b: &mut Builder<'_>, s: &Settings) {
    let key = |arn: &str| arn.splitn(6, ':').nth(5).unwrap_or(arn).to_string();
    let mut made: Vec<&str> = Vec::new();
    for a in &s.access {
        let entry = keyed("daskhub.cluster.access_entry", &key(&a.principal_arn));
        if !made.contains(&a.principal_arn.as_str()) {
            made.push(&a.principal_arn);
            b.add(
                &entry,
                "aws_eks_access_entry",
                json!({"cluster_name": r(CLUSTER, "name"), "principal_arn": a.principal_arn}),
            );
        }
        let scope = if a.namespaces.is_empty() {
            "cluster"
        } else {
            "namespace"
        };
        b.add(
            &keyed(
                "daskhub.cluster.access_policy",
                &format!("{} {}", key(&a.principal_arn), a.policy),
            ),
            "aws_eks_access_policy_association",
            json!({"cluster_name": r(CLUSTER, "name"), "principal_arn": r(&entry, "principal_arn"),
                   "policy_arn": format!("arn:aws:eks::aws:cluster-access-policy/{}", a.policy),
                   "access_scope_type": scope, "namespaces": a.namespaces}),
        );
    }
}

fn storage(b: &mut Builder<'_>, s: &Settings, stack: &str) {
    b.add(
        EFS,
        "aws_efs_file_system",
        json!({"encrypted": true, "backup": s.efs_backup, "tags": {"Name": format!("{stack}-home")}}),
    )
    .lifecycle
    .retain = s.efs_retain;
    for az in &s.azs {
        b.add(
            &keyed("daskhub.storage.mount_target", az),
            "aws_efs_mount_target",
            json!({"file_system_id": r(EFS, "id"), "subnet_id": r(&subnet("private", az), "id"),
                   "security_groups": [r(EFS_SG, "id")]}),
        );
    }
    // Kubernetes makes these volumes (hub database), not hdh; they are the users' data like the
    // home directories, so they are kept and deleted with them.
    b.add(
        CLAIM_VOLUMES,
        "aws_ebs_pvc_volumes",
        json!({"cluster_name": s.cluster_name}),
    )
    .lifecycle
    .retain = s.efs_retain;
    if let Some((name, retain, versioning)) = &s.bucket {
        b.add(
            "daskhub.storage.shared_bucket",
            "aws_s3_bucket",
            json!({"bucket": name, "versioning": versioning, "block_public_access": true,
                   "tags": {"Name": name}}),
        )
        .lifecycle
        .retain = *retain;
    }
}

fn auth(b: &mut Builder<'_>, s: &Settings, stack: &str) {
    let Some(c) = &s.cognito else { return };
    match &c.user_pool_id {
        // The site's own pool: read, never changed or deleted.
        Some(id) => {
            b.add(
                POOL,
                "aws_cognito_existing_user_pool",
                json!({"user_pool_id": id}),
            );
        }
        None => {
            b.add(
                POOL,
                "aws_cognito_user_pool",
                json!({"name": format!("{stack}-users"), "admin_create_user_only": true}),
            )
            .lifecycle
            .retain = c.retain;
        }
    }
    b.add(
        DOMAIN,
        "aws_cognito_user_pool_domain",
        json!({"domain": c.domain_prefix, "user_pool_id": r(POOL, "id")}),
    );
    let url = values::hub_url(s);
    b.add(
        CLIENT,
        "aws_cognito_user_pool_client",
        json!({"user_pool_id": r(POOL, "id"), "name": format!("{stack}-daskhub"),
               "callback_urls": [format!("{url}/hub/oauth_callback")],
               "logout_urls": [url],
               "allowed_oauth_scopes": ["openid", "email", "profile", "phone"],
               "generate_secret": true}),
    );
    let client = b.specs.len() - 1;
    for (name, minutes) in [
        "access_token_validity_minutes",
        "id_token_validity_minutes",
        "refresh_token_validity_minutes",
    ]
    .iter()
    .zip(c.validity)
    {
        if let Some(m) = minutes {
            b.specs[client]
                .properties
                .insert(name.to_string(), super::build::expr(&json!(m)));
        }
    }
    if let Some((user, email)) = &c.admin {
        b.add(
            ADMIN,
            "aws_cognito_user",
            json!({"user_pool_id": r(POOL, "id"), "username": user, "email": email}),
        );
    }
    for (user, email) in &c.users {
        b.add(
            &keyed("daskhub.auth.user", user),
            "aws_cognito_user",
            json!({"user_pool_id": r(POOL, "id"), "username": user, "email": email}),
        );
    }
}

fn manifest(b: &mut Builder<'_>, address: &str, m: J) -> usize {
    b.add(
        address,
        "kubernetes_manifest",
        with_cluster(json!({"manifest": m})),
    );
    b.specs.len() - 1
}

fn kubernetes(b: &mut Builder<'_>, s: &Settings) {
    let ns = "daskhub.kubernetes.namespace";
    let ns_index = manifest(
        b,
        ns,
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": s.namespace}}),
    );
    let pv = manifest(
        b,
        "daskhub.kubernetes.efs_volume",
        json!({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": PVC},
               "spec": {"capacity": {"storage": "1000Gi"}, "accessModes": ["ReadWriteMany"],
                        "persistentVolumeReclaimPolicy": "Retain", "storageClassName": "",
                        "nfs": {"server": r(EFS, "dns_name"), "path": "/"}}}),
    );
    // The volume is usable once every private subnet has its mount target.
    b.specs[pv].depends_on = s
        .azs
        .iter()
        .map(|az| keyed("daskhub.storage.mount_target", az))
        .collect();
    let pvc = manifest(
        b,
        "daskhub.kubernetes.efs_claim",
        json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
               "metadata": {"name": PVC, "namespace": s.namespace},
               "spec": {"accessModes": ["ReadWriteMany"], "storageClassName": "", "volumeName": PVC,
                        "resources": {"requests": {"storage": "1Mi"}}}}),
    );
    b.specs[pvc].depends_on = vec![ns.into(), "daskhub.kubernetes.efs_volume".into()];
    // The hub database's class: gp3 through the EBS CSI driver, kept when its claim goes
    // (reclaimPolicy Retain) so `destroy --keep-retained` keeps the hub's users and state. The
    // driver tags what it makes from `tagSpecification_N` (driver ≥ 1.6); `hdh:cluster` is how
    // `aws_ebs_pvc_volumes` finds them: the driver's own `kubernetes.io/cluster/<id>` tag needs
    // its `--k8s-tag-cluster-id` flag, which the EKS add-on does not set.
    let class = manifest(
        b,
        STORAGE_CLASS,
        json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
               "metadata": {"name": HUB_DB_CLASS},
               "provisioner": "ebs.csi.aws.com",
               "parameters": {"type": "gp3", "encrypted": "true",
                              "tagSpecification_1": format!("hdh:cluster={}", s.cluster_name)},
               "reclaimPolicy": "Retain", "volumeBindingMode": "WaitForFirstConsumer",
               "allowVolumeExpansion": true}),
    );
    b.specs[class].depends_on = vec!["daskhub.cluster.addon.ebs_csi".into()];
    let account = manifest(
        b,
        "daskhub.kubernetes.autoscaler_account",
        json!({"apiVersion": "v1", "kind": "ServiceAccount",
               "metadata": {"name": "cluster-autoscaler", "namespace": "kube-system",
                            "annotations": {"eks.amazonaws.com/role-arn": r("daskhub.identity.autoscaler_role", "arn")}}}),
    );
    let role = manifest(
        b,
        "daskhub.kubernetes.autoscaler_role",
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
               "metadata": {"name": "cluster-autoscaler"},
               "rules": [
                   {"apiGroups": [""], "resources": ["events", "endpoints"], "verbs": ["create", "patch"]},
                   {"apiGroups": [""], "resources": ["pods/eviction"], "verbs": ["create"]},
                   {"apiGroups": [""], "resources": ["pods/status"], "verbs": ["update"]},
                   {"apiGroups": [""], "resources": ["endpoints"], "resourceNames": ["cluster-autoscaler"], "verbs": ["get", "update"]},
                   {"apiGroups": [""], "resources": ["nodes"], "verbs": ["watch", "list", "get", "update"]},
                   {"apiGroups": ["", "apps", "batch", "policy", "storage.k8s.io", "coordination.k8s.io"],
                    "resources": ["namespaces", "pods", "services", "replicationcontrollers", "persistentvolumeclaims",
                                  "persistentvolumes", "replicasets", "daemonsets", "statefulsets", "jobs", "cronjobs",
                                  "poddisruptionbudgets", "storageclasses", "csinodes", "csidrivers",
                                  "csistoragecapacities", "leases", "configmaps"],
                    "verbs": ["watch", "list", "get", "create", "update", "patch"]}]}),
    );
    let binding = manifest(
        b,
        "daskhub.kubernetes.autoscaler_binding",
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
               "metadata": {"name": "cluster-autoscaler"},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-autoscaler"},
               "subjects": [{"kind": "ServiceAccount", "name": "cluster-autoscaler", "namespace": "kube-system"}]}),
    );
    b.specs[binding].depends_on = vec!["daskhub.kubernetes.autoscaler_role".into()];
    let discovery = format!(
        "--node-group-auto-discovery=asg:tag=k8s.io/cluster-autoscaler/enabled,k8s.io/cluster-autoscaler/{}",
        s.cluster_name
    );
    let dep = manifest(
        b,
        "daskhub.kubernetes.autoscaler",
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
               "metadata": {"name": "cluster-autoscaler", "namespace": "kube-system", "labels": {"app": "cluster-autoscaler"}},
               "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "cluster-autoscaler"}},
                        "template": {"metadata": {"labels": {"app": "cluster-autoscaler"}},
                                     "spec": {"serviceAccountName": "cluster-autoscaler",
                                              "nodeSelector": {"hub.jupyter.org/node-purpose": "core"},
                                              "containers": [{"name": "cluster-autoscaler",
                                                  "image": format!("registry.k8s.io/autoscaling/cluster-autoscaler:v{}.0", s.kubernetes_version),
                                                  "command": ["./cluster-autoscaler", "--cloud-provider=aws", discovery,
                                                              "--balance-similar-node-groups", "--skip-nodes-with-system-pods=false",
                                                              "--expander=least-waste"]}]}}}}),
    );
    b.specs[dep].depends_on = vec![
        "daskhub.kubernetes.autoscaler_account".into(),
        "daskhub.kubernetes.autoscaler_binding".into(),
    ];
    let mut extra = Vec::new();
    if s.bucket.is_some() {
        let sa = manifest(
            b,
            USER_ACCOUNT_MANIFEST,
            json!({"apiVersion": "v1", "kind": "ServiceAccount",
                   "metadata": {"name": placement::USER_ACCOUNT, "namespace": s.namespace,
                                "annotations": {"eks.amazonaws.com/role-arn": r(USER_ROLE, "arn")}}}),
        );
        b.specs[sa].depends_on = vec![ns.into()];
        extra.push(sa);
    }
    let gpus = placement::gpu_groups(s);
    if !gpus.is_empty() {
        extra.push(manifest(
            b,
            "daskhub.kubernetes.nvidia_device_plugin",
            placement::device_plugin(&gpus),
        ));
    }
    // Kubernetes objects come after the nodes and, on destroy, go before them: the autoscaler
    // must not scale a node group that is being deleted, and volumes are released while the
    // nodes that mount them still run.
    let groups: Vec<String> = s.node_groups.iter().map(|g| node_group(&g.name)).collect();
    for i in [ns_index, pv, pvc, class, account, role, binding, dep]
        .into_iter()
        .chain(extra)
    {
        b.specs[i].depends_on.extend(groups.iter().cloned());
    }
}

fn hub(b: &mut Builder<'_>, s: &Settings, region: &str) {
    for (t, name) in [
        (PROXY_TOKEN, "proxy_token"),
        (GATEWAY_TOKEN, "gateway_token"),
    ] {
        match s.secrets.get(name) {
            // Supplied by the admin: read from where they keep it on every run.
            Some((from, at)) => {
                let mut source = serde_json::Map::new();
                source.insert(from.clone(), json!(at));
                b.add(t, "given_secret", J::Object(source))
            }
            None => b.add(t, "random_secret", json!({"bytes": 32, "encoding": "hex"})),
        };
    }
    let text = hdh_values_text::to_text(&values::public(s, region));
    let mut deps: Vec<String> = s.node_groups.iter().map(|g| node_group(&g.name)).collect();
    deps.extend([
        "daskhub.kubernetes.namespace".to_string(),
        "daskhub.kubernetes.efs_claim".into(),
        "daskhub.cluster.addon.ebs_csi".into(),
        STORAGE_CLASS.into(),
    ]);
    if s.bucket.is_some() {
        deps.push(USER_ACCOUNT_MANIFEST.into());
    }
    if s.cognito.is_some() {
        deps.push(DOMAIN.into());
        if s.cognito.as_ref().is_some_and(|c| c.admin.is_some()) {
            deps.push(ADMIN.into());
        }
    }
    b.add(
        RELEASE,
        "helm_release",
        with_cluster(json!({
            "name": "daskhub", "chart": s.chart, "repository": s.chart_repository,
            "version": s.chart_version, "namespace": s.namespace,
            "values": text, "sensitive_values": values::secret(s),
            "timeout_seconds": 900, "load_balancer_service": "proxy-public",
        })),
    )
    .depends_on = deps;
}
