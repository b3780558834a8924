//! The `daskhub:` section read into typed settings with the HelioCloud defaults filled in.
//! Every key is checked (unknown keys get "did you mean"), every wrong value is reported at its
//! line and column, and all problems are reported at once.

use std::collections::BTreeMap;

use hdh_engine::Value;

use crate::diag::{Location, Problems};
use crate::rules::{self, names, network, values, versions, Rule};
use crate::shape::{self, check_keys, get, mismatch};
use crate::yaml::Node;

// The allowed keys and defaults of every section are declared in `keys.rs` (the JSON Schema
// `hdh schema` prints is generated from the same tables).
use crate::keys::{
    default_bool, default_int, default_str, default_strs, names, Key, ACCESS, ACCESS_POLICIES,
    ADMIN, AUTH, BUCKET, CLUSTER, COGNITO, DASKHUB as TOP, DNS, EFS, HUB, KEYS, NETWORK,
    NODE_GROUP, SECRETS, SECRET_SOURCE, STORAGE,
};

#[derive(Debug, Clone)]
pub(crate) struct NodeGroup {
    pub name: String,
    pub instance_types: Vec<String>,
    pub spot: bool,
    pub min: i64,
    pub max: i64,
    pub desired: i64,
    pub labels: BTreeMap<String, String>,
    /// (key, value, effect as EKS spells it: NO_SCHEDULE…)
    pub taints: Vec<(String, String, String)>,
    pub disk_size: Option<i64>,
    /// Where `instance_types` is written (None for the defaults).
    pub types_at: Option<crate::diag::Location>,
}

impl NodeGroup {
    /// Where users' notebooks run (`hub.jupyter.org/node-purpose: user`).
    pub fn is_user(&self) -> bool {
        self.labels
            .get("hub.jupyter.org/node-purpose")
            .map(String::as_str)
            == Some("user")
    }

    /// Where Dask workers and schedulers run (`heliocloud.org/dask-worker-profile`).
    pub fn is_burst(&self) -> bool {
        self.labels.contains_key(BURST_LABEL)
    }
}

/// The label (and taint key) that marks the Dask burst group, where Dask workers run.
pub(crate) const BURST_LABEL: &str = "heliocloud.org/dask-worker-profile";

#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub cidr: String,
    pub azs: Vec<String>,
    pub nat_gateways: usize,
    pub cluster_name: String,
    pub kubernetes_version: String,
    pub public_access_cidrs: Vec<String>,
    /// The control plane's and the nodes' IAM role names, when the config names them.
    pub cluster_role_name: Option<String>,
    pub node_role_name: Option<String>,
    /// `cluster.authentication_mode`.
    pub authentication_mode: String,
    /// `cluster.access`: who else may use the cluster.
    pub access: Vec<Access>,
    pub node_groups: Vec<NodeGroup>,
    pub efs_retain: bool,
    pub efs_backup: bool,
    pub bucket: Option<(String, bool, bool)>,
    pub cognito: Option<Cognito>,
    pub hosted_zone: String,
    pub record: String,
    pub tls: Tls,
    pub namespace: String,
    pub chart: String,
    pub chart_repository: String,
    pub chart_version: String,
    pub image: String,
    pub admin_users: Vec<String>,
    /// Extra Helm values merged over the generated ones.
    pub extra_values: Option<serde_json::Value>,
    /// `hub.profiles`: replaces the profiles generated from the user node groups.
    pub profiles: Option<serde_json::Value>,
    /// `hub.secrets`: token name (`proxy_token`, `gateway_token`) → where the admin keeps it,
    /// as `given_secret` inputs (`from_env` or `from_file` → its value).
    pub secrets: BTreeMap<String, (String, String)>,
    pub keys_retain: bool,
}

/// How the hub serves HTTPS (`daskhub.dns.tls`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tls {
    /// An ACM certificate for the hub's name; TLS ends at the load balancer.
    Acm,
    /// The chart's autohttps pod asks Let's Encrypt; the contact is this email.
    LetsEncrypt { contact: String },
    /// Plain HTTP (`allow_plain_http: true`).
    None,
}

impl Tls {
    /// `https` or `http`: the scheme of every URL of the hub.
    pub fn scheme(&self) -> &'static str {
        match self {
            Tls::None => "http",
            _ => "https",
        }
    }
}

/// One `daskhub.cluster.access` item.
#[derive(Debug, Clone)]
pub(crate) struct Access {
    pub principal_arn: String,
    /// The EKS access policy's name, e.g. `AmazonEKSViewPolicy`.
    pub policy: String,
    /// Empty: the whole cluster.
    pub namespaces: Vec<String>,
}

/// The EKS access policy of a `daskhub.cluster.access` `policy`.
fn access_policy(name: &str) -> Option<&'static str> {
    Some(match name {
        "cluster-admin" => "AmazonEKSClusterAdminPolicy",
        "admin" => "AmazonEKSAdminPolicy",
        "edit" => "AmazonEKSEditPolicy",
        "view" => "AmazonEKSViewPolicy",
        "admin-view" => "AmazonEKSAdminViewPolicy",
        _ => return None,
    })
}

#[derive(Debug, Clone)]
pub(crate) struct Cognito {
    pub domain_prefix: String,
    pub admin: Option<(String, String)>,
    pub retain: bool,
    /// `user_pool_id`: the site's own pool, read as data and never deleted.
    pub user_pool_id: Option<String>,
    /// `users`: (username, email) besides the admin.
    pub users: Vec<(String, String)>,
    /// Access, ID and refresh token lifetimes in minutes (None: Cognito's default).
    pub validity: [Option<i64>; 3],
}

/// `auth.cognito`'s token lifetime keys with Cognito's bounds in minutes.
const VALIDITY_KEYS: [(&str, i64, i64); 3] = [
    ("access_token_validity", 5, 24 * 60),
    ("id_token_validity", 5, 24 * 60),
    ("refresh_token_validity", 60, 3650 * 24 * 60),
];

/// The four node groups of the seed's `eksctl get nodegroup` table (names, instance types,
/// min/max/desired, spot), with the burst group labelled and tainted for Dask workers. The seed
/// ran the three spot groups as eksctl self-managed groups; here every group is an EKS managed
/// node group, and the spot ones use `capacityType: SPOT`.
pub(crate) fn default_node_groups() -> Vec<NodeGroup> {
    let ng = |name: &str,
              types: &[&str],
              spot,
              (min, max, desired),
              labels: &[(&str, &str)],
              taints: &[(&str, &str)]| NodeGroup {
        name: name.into(),
        instance_types: types.iter().map(|s| s.to_string()).collect(),
        spot,
        min,
        max,
        desired,
        labels: labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        taints: taints
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string(), "NO_SCHEDULE".to_string()))
            .collect(),
        disk_size: None,
        types_at: None,
    };
    vec![
        ng(
            "ng-daskhub-services",
            &["t3a.medium"],
            false,
            (1, 1, 1),
            &[("hub.jupyter.org/node-purpose", "core")],
            &[],
        ),
        ng(
            "ng-user-compute-spot",
            &["m5.xlarge"],
            true,
            (0, 15, 0),
            &[("hub.jupyter.org/node-purpose", "user")],
            &[("hub.jupyter.org/dedicated", "user")],
        ),
        ng(
            "ng-user-gpu-spot",
            &["g4dn.xlarge"],
            true,
            (0, 5, 0),
            &[
                ("hub.jupyter.org/node-purpose", "user"),
                ("nvidia.com/gpu", "true"),
            ],
            &[("nvidia.com/gpu", "true")],
        ),
        ng(
            "ng-burst-compute-spot",
            &["m5.8xlarge"],
            true,
            (0, 10, 0),
            &[("heliocloud.org/dask-worker-profile", "default")],
            &[("heliocloud.org/dask-worker-profile", "default")],
        ),
    ]
}

struct R<'p> {
    p: &'p mut Problems,
}

impl R<'_> {
    fn section<'a>(
        &mut self,
        parent: &'a [(crate::yaml::KeyNode, Node)],
        key: &str,
        allowed: &[Key],
        path: &str,
    ) -> &'a [(crate::yaml::KeyNode, Node)] {
        match get(parent, key) {
            None => &[],
            Some(n) if n.is_null() => &[],
            Some(n) => match shape::map(self.p, n, path) {
                Some(e) => {
                    check_keys(self.p, e, &names(allowed), &format!("in `{path}`"));
                    e
                }
                None => &[],
            },
        }
    }

    fn string(
        &mut self,
        e: &[(crate::yaml::KeyNode, Node)],
        key: &str,
        path: &str,
    ) -> Option<String> {
        get(e, key)
            .and_then(|n| shape::string(self.p, n, &format!("{path}.{key}")).map(str::to_string))
    }

    fn boolean(
        &mut self,
        e: &[(crate::yaml::KeyNode, Node)],
        key: &str,
        path: &str,
        default: bool,
    ) -> bool {
        get(e, key)
            .and_then(|n| shape::boolean(self.p, n, &format!("{path}.{key}")))
            .unwrap_or(default)
    }

    fn int(&mut self, e: &[(crate::yaml::KeyNode, Node)], key: &str, path: &str) -> Option<i64> {
        let n = get(e, key)?;
        match n.value() {
            Ok(Value::Number(x)) if x.as_i64().is_some_and(|i| i >= 0) => x.as_i64(),
            _ => {
                mismatch(self.p, n, &format!("{path}.{key}"), "a whole number ≥ 0");
                None
            }
        }
    }

    fn strings(
        &mut self,
        e: &[(crate::yaml::KeyNode, Node)],
        key: &str,
        path: &str,
    ) -> Option<Vec<String>> {
        let n = get(e, key)?;
        let items = shape::seq(self.p, n, &format!("{path}.{key}"))?;
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            if let Some(s) = shape::string(self.p, item, &format!("{path}.{key}[{i}]")) {
                out.push(s.to_string());
            }
        }
        Some(out)
    }

    fn string_map(
        &mut self,
        e: &[(crate::yaml::KeyNode, Node)],
        key: &str,
        path: &str,
    ) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        if let Some(n) = get(e, key) {
            if let Some(m) = shape::map(self.p, n, &format!("{path}.{key}")) {
                for (k, v) in m {
                    match v.value() {
                        Ok(Value::String(s)) => {
                            out.insert(k.text.clone(), s);
                        }
                        Ok(Value::Number(x)) => {
                            out.insert(k.text.clone(), x.to_string());
                        }
                        Ok(Value::Bool(b)) => {
                            out.insert(k.text.clone(), b.to_string());
                        }
                        _ => mismatch(self.p, v, &format!("{path}.{key}.{}", k.text), "a string"),
                    }
                }
            }
        }
        out
    }
}

/// `key=value:Effect` as kubectl writes a taint.
fn taint(text: &str) -> Option<(String, String, String)> {
    let (kv, effect) = text.rsplit_once(':')?;
    let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
    let effect = match effect {
        "NoSchedule" => "NO_SCHEDULE",
        "NoExecute" => "NO_EXECUTE",
        "PreferNoSchedule" => "PREFER_NO_SCHEDULE",
        _ => return None,
    };
    (!k.is_empty()).then(|| (k.to_string(), v.to_string(), effect.to_string()))
}

/// Reports `rule`'s verdict on `value`, the setting `what` written at `at`.
fn check(p: &mut Problems, at: Location, what: &str, value: &str, rule: impl Fn(&str) -> Rule) {
    if let Err(v) = rule(value) {
        rules::report(p, at, what, value, v);
    }
}

/// Where `key` of `entries` is written, or `fallback` when it is not (a default was used).
fn at(entries: &[(crate::yaml::KeyNode, Node)], key: &str, fallback: Location) -> Location {
    get(entries, key).map_or(fallback, |n| n.mark)
}

/// Where item `i` of the list `key` of `entries` is written.
fn item_at(
    entries: &[(crate::yaml::KeyNode, Node)],
    key: &str,
    i: usize,
    fallback: Location,
) -> Location {
    get(entries, key)
        .and_then(|n| n.as_seq().and_then(|s| s.get(i)).map(|x| x.mark))
        .unwrap_or_else(|| at(entries, key, fallback))
}

/// `daskhub.cluster.access`: each item checked where it is written; the same principal may
/// appear with several policies, never twice with one.
fn read_access(r: &mut R<'_>, cl: &[(crate::yaml::KeyNode, Node)]) -> Vec<Access> {
    let Some(n) = get(cl, "access") else {
        return Vec::new();
    };
    let mut out: Vec<Access> = Vec::new();
    for (i, item) in shape::seq(r.p, n, "daskhub.cluster.access")
        .unwrap_or(&[])
        .iter()
        .enumerate()
    {
        let path = format!("daskhub.cluster.access[{i}]");
        let Some(e) = shape::map(r.p, item, &path) else {
            continue;
        };
        check_keys(r.p, e, &names(ACCESS), &format!("in `{path}`"));
        let principal = r.string(e, "principal_arn", &path);
        let policy = r.string(e, "policy", &path);
        if principal.is_none() {
            r.p.error(item.mark, format!("`{path}` needs a `principal_arn`"));
        }
        if policy.is_none() {
            r.p.error_hint(
                item.mark,
                format!("`{path}` needs a `policy`"),
                Some(format!("one of {}", ACCESS_POLICIES.join(", "))),
            );
        }
        if let Some(pr) = &principal {
            check(
                r.p,
                at(e, "principal_arn", item.mark),
                &format!("{path}.principal_arn"),
                pr,
                names::iam_principal_arn,
            );
        }
        let aws_policy = policy.as_deref().and_then(|p| {
            let found = access_policy(p);
            if found.is_none() {
                r.p.error_hint(
                    at(e, "policy", item.mark),
                    format!("unknown policy `{p}` in `{path}`"),
                    Some(format!("expected one of {}", ACCESS_POLICIES.join(", "))),
                );
            }
            found
        });
        let namespaces = r.strings(e, "namespaces", &path).unwrap_or_default();
        if policy.as_deref() == Some("cluster-admin") && get(e, "namespaces").is_some() {
            r.p.error_hint(
                at(e, "namespaces", item.mark),
                format!(
                    "`{path}`: `cluster-admin` is for the whole cluster and takes no `namespaces`"
                ),
                Some("use `admin` (or `edit`, `view`) for access in some namespaces".into()),
            );
        } else if get(e, "namespaces").is_some() && namespaces.is_empty() {
            r.p.error_hint(
                at(e, "namespaces", item.mark),
                format!("`{path}.namespaces` is empty"),
                Some("leave `namespaces` out for the whole cluster".into()),
            );
        }
        for (j, ns) in namespaces.iter().enumerate() {
            check(
                r.p,
                item_at(e, "namespaces", j, item.mark),
                &format!("{path}.namespaces[{j}]"),
                ns,
                names::k8s_namespace,
            );
            if namespaces[..j].contains(ns) {
                r.p.error(
                    item_at(e, "namespaces", j, item.mark),
                    format!("namespace `{ns}` is listed twice in `{path}`"),
                );
            }
        }
        let (Some(principal_arn), Some(policy)) = (principal, aws_policy) else {
            continue;
        };
        if out
            .iter()
            .any(|a| a.principal_arn == principal_arn && a.policy == policy)
        {
            r.p.error_hint(
                item.mark,
                format!("`{path}` repeats `{principal_arn}` with the same policy"),
                Some("give each principal a policy once; list its namespaces together".into()),
            );
            continue;
        }
        out.push(Access {
            principal_arn,
            policy: policy.to_string(),
            namespaces,
        });
    }
    out
}

pub(crate) fn read(p: &mut Problems, node: &Node, stack: &str, region: &str) -> Option<Settings> {
    let top = shape::map(p, node, "daskhub")?;
    let before = p.len();
    let mut r = R { p };
    check_keys(r.p, top, &names(TOP), "in `daskhub`");

    let net = r.section(top, "network", NETWORK, "daskhub.network");
    let cidr = r
        .string(net, "cidr", "daskhub.network")
        .unwrap_or_else(|| default_str(NETWORK, "cidr"));
    // The blueprint splits the VPC into 16 blocks four bits longer; AWS's smallest is /28.
    check(
        r.p,
        at(net, "cidr", node.mark),
        "daskhub.network.cidr",
        &cidr,
        |s| network::cidr_sized(s, 16, 24, "DaskHub VPC").map(|_| ()),
    );
    let azs = r
        .strings(net, "availability_zones", "daskhub.network")
        .unwrap_or_else(|| vec![format!("{region}a"), format!("{region}b")]);
    if let Some(n) = get(net, "availability_zones") {
        if azs.len() < 2 || azs.len() > 6 {
            r.p.error_hint(
                n.mark,
                format!(
                    "`daskhub.network.availability_zones` needs 2 to 6 zones, found {}",
                    azs.len()
                ),
                Some("EKS needs subnets in at least two AZs".into()),
            );
        }
        for (i, az) in azs.iter().enumerate() {
            let what = format!("daskhub.network.availability_zones[{i}]");
            let here = item_at(net, "availability_zones", i, node.mark);
            check(r.p, here, &what, az, |s| {
                network::availability_zone(s, region)
            });
            if azs[..i].contains(az) {
                r.p.error(here, format!("availability zone `{az}` is listed twice"));
            }
        }
    }
    let nat_gateways = r
        .int(net, "nat_gateways", "daskhub.network")
        .unwrap_or(default_int(NETWORK, "nat_gateways"));
    if let Err(v) = values::in_range(nat_gateways, 1, azs.len() as i64, "NAT gateways") {
        let v = v.hint(format!(
            "one NAT gateway per zone at most; the network has {} zones",
            azs.len()
        ));
        let here = at(net, "nat_gateways", node.mark);
        rules::report(
            r.p,
            here,
            "daskhub.network.nat_gateways",
            &nat_gateways.to_string(),
            v,
        );
    }
    let nat_gateways = nat_gateways.max(0) as usize;

    let cl = r.section(top, "cluster", CLUSTER, "daskhub.cluster");
    let cluster_name = r
        .string(cl, "name", "daskhub.cluster")
        .unwrap_or_else(|| default_str(CLUSTER, "name"));
    check(
        r.p,
        at(cl, "name", node.mark),
        "daskhub.cluster.name",
        &cluster_name,
        names::eks_cluster_name,
    );
    let kubernetes_version = match get(cl, "kubernetes_version") {
        None => default_str(CLUSTER, "kubernetes_version"),
        Some(n) => match n.value() {
            Ok(Value::String(s)) => {
                check(
                    r.p,
                    n.mark,
                    "daskhub.cluster.kubernetes_version",
                    &s,
                    versions::eks_kubernetes_version,
                );
                s
            }
            Ok(Value::Number(x)) => {
                r.p.error_hint(n.mark, format!("`daskhub.cluster.kubernetes_version` must be a string, found the number {x}"), Some(format!("quote it: \"{x}\" (1.30 as a number is 1.3)")));
                String::new()
            }
            _ => {
                mismatch(
                    r.p,
                    n,
                    "daskhub.cluster.kubernetes_version",
                    "a string such as \"1.31\"",
                );
                String::new()
            }
        },
    };
    let public_access_cidrs = r
        .strings(cl, "public_access_cidrs", "daskhub.cluster")
        .unwrap_or_else(|| default_strs(CLUSTER, "public_access_cidrs"));
    for (i, c) in public_access_cidrs.iter().enumerate() {
        let here = item_at(cl, "public_access_cidrs", i, node.mark);
        let what = format!("daskhub.cluster.public_access_cidrs[{i}]");
        check(r.p, here, &what, c, |s| network::cidr(s).map(|_| ()));
    }
    let mut role = |key: &str| {
        let name = r.string(cl, key, "daskhub.cluster")?;
        check(
            r.p,
            at(cl, key, node.mark),
            &format!("daskhub.cluster.{key}"),
            &name,
            names::iam_role_name,
        );
        Some(name)
    };
    let cluster_role_name = role("role_name");
    let node_role_name = role("node_role_name");
    let authentication_mode = r
        .string(cl, "authentication_mode", "daskhub.cluster")
        .unwrap_or_else(|| default_str(CLUSTER, "authentication_mode"));
    if !["API_AND_CONFIG_MAP", "API"].contains(&authentication_mode.as_str()) {
        r.p.error_hint(
            at(cl, "authentication_mode", node.mark),
            format!("unknown `daskhub.cluster.authentication_mode` `{authentication_mode}`"),
            Some("expected `API_AND_CONFIG_MAP` or `API` (access entries need the EKS API; CONFIG_MAP alone has none)".into()),
        );
    }
    let access = read_access(&mut r, cl);
    let node_groups = match get(cl, "node_groups") {
        None => default_node_groups(),
        Some(n) => {
            let mut out = Vec::new();
            for (i, item) in shape::seq(r.p, n, "daskhub.cluster.node_groups")
                .unwrap_or(&[])
                .iter()
                .enumerate()
            {
                let path = format!("daskhub.cluster.node_groups[{i}]");
                let Some(e) = shape::map(r.p, item, &path) else {
                    continue;
                };
                check_keys(r.p, e, &names(NODE_GROUP), &format!("in `{path}`"));
                let Some(name) = r.string(e, "name", &path) else {
                    r.p.error(item.mark, format!("`{path}` needs a `name`"));
                    continue;
                };
                check(
                    r.p,
                    at(e, "name", item.mark),
                    &format!("{path}.name"),
                    &name,
                    names::node_group_name,
                );
                let spot = match r.string(e, "capacity", &path).as_deref() {
                    None | Some("on_demand") | Some("on-demand") => false,
                    Some("spot") => true,
                    Some(other) => {
                        let at = get(e, "capacity").map_or(item.mark, |n| n.mark);
                        r.p.error_hint(
                            at,
                            format!("unknown capacity `{other}` in `{path}`"),
                            Some("expected `on_demand` or `spot`".into()),
                        );
                        false
                    }
                };
                let instance_types = r.strings(e, "instance_types", &path).unwrap_or_default();
                if instance_types.is_empty() {
                    r.p.error(
                        at(e, "instance_types", item.mark),
                        format!("`{path}` needs `instance_types` (at least one)"),
                    );
                }
                for (j, t) in instance_types.iter().enumerate() {
                    let what = format!("{path}.instance_types[{j}]");
                    check(
                        r.p,
                        item_at(e, "instance_types", j, item.mark),
                        &what,
                        t,
                        values::instance_type,
                    );
                }
                let min = r
                    .int(e, "min", &path)
                    .unwrap_or(default_int(NODE_GROUP, "min"));
                let max = r.int(e, "max", &path).unwrap_or(min.max(1));
                let desired = r.int(e, "desired", &path).unwrap_or(min);
                if let Err(v) = values::scaling(min, desired, max) {
                    let here = ["desired", "max", "min"]
                        .iter()
                        .find_map(|k| get(e, k))
                        .map_or(item.mark, |n| n.mark);
                    r.p.error_hint(here, format!("invalid sizes in `{path}`: {v}"), v.hint);
                }
                let labels = r.string_map(e, "labels", &path);
                if let Some(ln) = get(e, "labels") {
                    let stack = rules::props::Stack {
                        name: stack,
                        region,
                    };
                    rules::props::labels(r.p, ln, &format!("{path}.labels"), &stack);
                }
                let mut taints = Vec::new();
                if let Some(tn) = get(e, "taints") {
                    for (j, t) in shape::seq(r.p, tn, &format!("{path}.taints"))
                        .unwrap_or(&[])
                        .iter()
                        .enumerate()
                    {
                        if let Some(s) = shape::string(r.p, t, &format!("{path}.taints[{j}]")) {
                            match taint(s) {
                                Some(x) => {
                                    let what = format!("{path}.taints[{j}]");
                                    check(r.p, t.mark, &format!("{what} key"), &x.0, names::k8s_label_key);
                                    check(r.p, t.mark, &format!("{what} value"), &x.1, names::k8s_label_value);
                                    taints.push(x)
                                }
                                None => r.p.error_hint(t.mark, format!("invalid taint `{s}`"), Some("expected `key=value:NoSchedule` (or NoExecute, PreferNoSchedule)".into())),
                            }
                        }
                    }
                }
                let disk_size = r.int(e, "disk_size", &path);
                if let Some(d) = disk_size {
                    if let Err(v) = values::disk_size(d) {
                        rules::report(
                            r.p,
                            at(e, "disk_size", item.mark),
                            &format!("{path}.disk_size"),
                            &d.to_string(),
                            v,
                        );
                    }
                }
                if out.iter().any(|g: &NodeGroup| g.name == name) {
                    r.p.error(item.mark, format!("node group `{name}` is declared twice"));
                }
                out.push(NodeGroup {
                    name,
                    instance_types,
                    spot,
                    min,
                    max,
                    desired,
                    labels,
                    taints,
                    disk_size,
                    types_at: get(e, "instance_types").map(|n| n.mark),
                });
            }
            out
        }
    };

    let st = r.section(top, "storage", STORAGE, "daskhub.storage");
    let efs = r.section(st, "efs", EFS, "daskhub.storage.efs");
    let efs_retain = r.boolean(
        efs,
        "retain",
        "daskhub.storage.efs",
        default_bool(EFS, "retain"),
    );
    let efs_backup = r.boolean(
        efs,
        "backup",
        "daskhub.storage.efs",
        default_bool(EFS, "backup"),
    );
    let b = r.section(st, "shared_bucket", BUCKET, "daskhub.storage.shared_bucket");
    let bucket = r
        .boolean(
            b,
            "enabled",
            "daskhub.storage.shared_bucket",
            default_bool(BUCKET, "enabled"),
        )
        .then(|| {
            if let Some(n) = r.string(b, "name", "daskhub.storage.shared_bucket") {
                check(
                    r.p,
                    at(b, "name", node.mark),
                    "daskhub.storage.shared_bucket.name",
                    &n,
                    names::s3_bucket,
                );
            }
            (
                r.string(b, "name", "daskhub.storage.shared_bucket")
                    .unwrap_or_else(|| format!("{stack}-shared")),
                r.boolean(
                    b,
                    "retain",
                    "daskhub.storage.shared_bucket",
                    default_bool(BUCKET, "retain"),
                ),
                r.boolean(
                    b,
                    "versioning",
                    "daskhub.storage.shared_bucket",
                    default_bool(BUCKET, "versioning"),
                ),
            )
        });

    let allow_unauthenticated = r.boolean(
        top,
        "allow_unauthenticated",
        "daskhub",
        default_bool(TOP, "allow_unauthenticated"),
    );
    let au = r.section(top, "auth", AUTH, "daskhub.auth");
    let cognito = match get(au, "cognito") {
        None => None,
        Some(_) => {
            let c = r.section(au, "cognito", COGNITO, "daskhub.auth.cognito");
            let domain_prefix = r
                .string(c, "domain_prefix", "daskhub.auth.cognito")
                .unwrap_or_else(|| stack.to_string());
            check(
                r.p,
                at(c, "domain_prefix", node.mark),
                "daskhub.auth.cognito.domain_prefix",
                &domain_prefix,
                names::cognito_domain_prefix,
            );
            let a = r.section(c, "admin", ADMIN, "daskhub.auth.cognito.admin");
            let admin = match (
                r.string(a, "username", "daskhub.auth.cognito.admin"),
                r.string(a, "email", "daskhub.auth.cognito.admin"),
            ) {
                (Some(u), Some(e)) => {
                    check(
                        r.p,
                        at(a, "username", node.mark),
                        "daskhub.auth.cognito.admin.username",
                        &u,
                        names::cognito_username,
                    );
                    check(
                        r.p,
                        at(a, "email", node.mark),
                        "daskhub.auth.cognito.admin.email",
                        &e,
                        values::email,
                    );
                    Some((u, e))
                }
                (None, None) => None,
                _ => {
                    let at = get(c, "admin").map_or(node.mark, |n| n.mark);
                    r.p.error(
                        at,
                        "`daskhub.auth.cognito.admin` needs both `username` and `email`",
                    );
                    None
                }
            };
            let retain = r.boolean(
                c,
                "retain",
                "daskhub.auth.cognito",
                default_bool(COGNITO, "retain"),
            );
            let user_pool_id = r.string(c, "user_pool_id", "daskhub.auth.cognito");
            if let Some(id) = &user_pool_id {
                let (pool_region, rest) = id.split_once('_').unwrap_or(("", ""));
                let here = at(c, "user_pool_id", node.mark);
                if rest.is_empty() || !rest.chars().all(|ch| ch.is_ascii_alphanumeric()) {
                    r.p.error_hint(
                        here,
                        format!("invalid `daskhub.auth.cognito.user_pool_id` `{id}`: not a user pool id"),
                        Some(format!("expected `<region>_<letters and digits>`, e.g. `{region}_AbCdEfGhI`")),
                    );
                } else if pool_region != region {
                    r.p.error_hint(
                        here,
                        format!("`daskhub.auth.cognito.user_pool_id` `{id}` is a pool of {pool_region}, not of the stack's region {region}"),
                        Some("the hub's login uses a pool in its own region".into()),
                    );
                }
            }
            let mut users: Vec<(String, String)> = Vec::new();
            if let Some(n) = get(c, "users") {
                for (i, item) in shape::seq(r.p, n, "daskhub.auth.cognito.users")
                    .unwrap_or(&[])
                    .iter()
                    .enumerate()
                {
                    let path = format!("daskhub.auth.cognito.users[{i}]");
                    let Some(e) = shape::map(r.p, item, &path) else {
                        continue;
                    };
                    check_keys(r.p, e, &names(ADMIN), &format!("in `{path}`"));
                    let (Some(u), Some(mail)) =
                        (r.string(e, "username", &path), r.string(e, "email", &path))
                    else {
                        r.p.error(
                            item.mark,
                            format!("`{path}` needs both `username` and `email`"),
                        );
                        continue;
                    };
                    check(
                        r.p,
                        at(e, "username", item.mark),
                        &format!("{path}.username"),
                        &u,
                        names::cognito_username,
                    );
                    check(
                        r.p,
                        at(e, "email", item.mark),
                        &format!("{path}.email"),
                        &mail,
                        values::email,
                    );
                    let taken = users.iter().any(|(x, _)| *x == u)
                        || admin.as_ref().is_some_and(|(x, _)| *x == u);
                    if taken {
                        r.p.error(
                            at(e, "username", item.mark),
                            format!("user `{u}` is listed twice (the admin counts)"),
                        );
                        continue;
                    }
                    users.push((u, mail));
                }
            }
            let mut validity = [None; 3];
            for (i, (k, lo, hi)) in VALIDITY_KEYS.iter().enumerate() {
                if let Some(text) = r.string(c, k, "daskhub.auth.cognito") {
                    match values::token_validity(&text, *lo, *hi) {
                        Ok(m) => validity[i] = Some(m),
                        Err(v) => rules::report(
                            r.p,
                            at(c, k, node.mark),
                            &format!("daskhub.auth.cognito.{k}"),
                            &text,
                            v,
                        ),
                    }
                }
            }
            Some(Cognito {
                domain_prefix,
                admin,
                retain,
                user_pool_id,
                users,
                validity,
            })
        }
    };
    if cognito.is_none() && !allow_unauthenticated {
        let at = get(top, "auth").map_or(node.mark, |n| n.mark);
        r.p.error_hint(
            at,
            "the hub would have no login: `daskhub.auth.cognito` is not set",
            Some("add `auth: { cognito: { admin: { username: …, email: … } } }`, or set `allow_unauthenticated: true` for a short-lived test hub".into()),
        );
    }

    let dns = r.section(top, "dns", DNS, "daskhub.dns");
    let hosted_zone = match r.string(dns, "hosted_zone", "daskhub.dns") {
        Some(z) => z.trim_end_matches('.').to_string(),
        None => {
            let at = get(top, "dns").map_or(node.mark, |n| n.mark);
            r.p.error_hint(at, "missing `daskhub.dns.hosted_zone`: the Route 53 zone the hub's name goes in", Some("e.g. `dns: { hosted_zone: example.org }` (the zone must exist; hdh never creates it)".into()));
            String::new()
        }
    };
    if !hosted_zone.is_empty() {
        check(
            r.p,
            at(dns, "hosted_zone", node.mark),
            "daskhub.dns.hosted_zone",
            &hosted_zone,
            names::hosted_zone,
        );
    }
    let record = r
        .string(dns, "record", "daskhub.dns")
        .unwrap_or_else(|| default_str(DNS, "record"));
    check(
        r.p,
        at(dns, "record", node.mark),
        "daskhub.dns.record",
        &record,
        names::record_name,
    );

    let tls_at = at(dns, "tls", node.mark);
    let tls = match r
        .string(dns, "tls", "daskhub.dns")
        .unwrap_or_else(|| default_str(DNS, "tls"))
        .as_str()
    {
        "acm" => Some(Tls::Acm),
        "letsencrypt" => match cognito.as_ref().and_then(|c| c.admin.as_ref()) {
            Some((_, email)) => Some(Tls::LetsEncrypt {
                contact: email.clone(),
            }),
            None => {
                r.p.error_hint(
                        tls_at,
                        "`daskhub.dns.tls: letsencrypt` needs a contact email, and there is no Cognito admin to take it from",
                        Some("add `auth: { cognito: { admin: { username: …, email: … } } }`, or use `tls: acm`".into()),
                    );
                None
            }
        },
        "none" => {
            // A malformed `allow_plain_http` is reported by `shape::boolean` alone.
            let allowed = match get(dns, "allow_plain_http") {
                None => Some(default_bool(DNS, "allow_plain_http")),
                Some(n) => shape::boolean(r.p, n, "daskhub.dns.allow_plain_http"),
            };
            if allowed.is_none() {
                None
            } else if allowed == Some(false) {
                r.p.error_hint(
                    tls_at,
                    "`daskhub.dns.tls: none` would serve the hub over plain HTTP: logins, tokens and notebooks would cross the network unencrypted",
                    Some("use `tls: acm` (the default) or `tls: letsencrypt`; for a short-lived test hub add `allow_plain_http: true`".into()),
                );
                None
            } else if cognito.is_some() {
                // Cognito refuses http:// callback URLs (only http://localhost is allowed).
                r.p.error_hint(
                    tls_at,
                    "`daskhub.dns.tls: none` cannot be used with Cognito login: Cognito accepts only https:// callback URLs",
                    Some("use `tls: acm` or `tls: letsencrypt`; plain HTTP is only for a test hub without login (`allow_unauthenticated: true`, no `auth.cognito`)".into()),
                );
                None
            } else {
                Some(Tls::None)
            }
        }
        other => {
            r.p.error_hint(
                tls_at,
                format!("unknown `daskhub.dns.tls` value `{other}`"),
                Some("expected `acm`, `letsencrypt` or `none`".into()),
            );
            None
        }
    };
    // A stray `allow_plain_http` is still read (type-checked) so its mistakes are reported.
    if tls.as_ref().is_some_and(|t| *t != Tls::None) {
        r.boolean(dns, "allow_plain_http", "daskhub.dns", false);
    }

    let hub = r.section(top, "hub", HUB, "daskhub.hub");
    let namespace = r
        .string(hub, "namespace", "daskhub.hub")
        .unwrap_or_else(|| default_str(HUB, "namespace"));
    check(
        r.p,
        at(hub, "namespace", node.mark),
        "daskhub.hub.namespace",
        &namespace,
        names::k8s_namespace,
    );
    let chart = r
        .string(hub, "chart", "daskhub.hub")
        .unwrap_or_else(|| default_str(HUB, "chart"));
    let chart_repository = r
        .string(hub, "chart_repository", "daskhub.hub")
        .unwrap_or_else(|| default_str(HUB, "chart_repository"));
    let chart_version = match get(hub, "chart_version") {
        None => default_str(HUB, "chart_version"),
        Some(n) => match n.value() {
            Ok(Value::String(s)) => {
                check(
                    r.p,
                    n.mark,
                    "daskhub.hub.chart_version",
                    &s,
                    versions::chart_version,
                );
                s
            }
            _ => {
                mismatch(
                    r.p,
                    n,
                    "daskhub.hub.chart_version",
                    "a string such as \"2022.8.2\"",
                );
                String::new()
            }
        },
    };
    let image = r
        .string(hub, "image", "daskhub.hub")
        .unwrap_or_else(|| default_str(HUB, "image"));
    if !image.contains(':') {
        let at = get(hub, "image").map_or(node.mark, |n| n.mark);
        r.p.error_hint(
            at,
            format!("image `{image}` has no tag"),
            Some("name a tag, e.g. `…/helio-daskhub-core:2023.11.30`".into()),
        );
    }
    let admin_users = r
        .strings(hub, "admin_users", "daskhub.hub")
        .unwrap_or_else(|| {
            cognito
                .as_ref()
                .and_then(|c| c.admin.as_ref())
                .map(|(u, _)| vec![u.clone()])
                .unwrap_or_default()
        });
    let extra_values = get(hub, "values").and_then(|n| match n.value() {
        Ok(v @ Value::Map(_)) => Some(v.to_display_json()),
        _ => {
            mismatch(r.p, n, "daskhub.hub.values", "a map of Helm values");
            None
        }
    });
    let mut secrets = BTreeMap::new();
    let given = r.section(hub, "secrets", SECRETS, "daskhub.hub.secrets");
    for token in names(SECRETS) {
        let path = format!("daskhub.hub.secrets.{token}");
        let Some(node) = get(given, token) else {
            continue;
        };
        let source = r.section(given, token, SECRET_SOURCE, &path);
        let found: Vec<(String, String)> = names(SECRET_SOURCE)
            .into_iter()
            .filter_map(|k| r.string(source, k, &path).map(|v| (k.to_string(), v)))
            .collect();
        match found.as_slice() {
            [(k, v)] if !v.is_empty() => {
                if k == "from_env" {
                    if let Err(e) = names::env_var(v) {
                        let at = get(source, k).map_or(node.mark, |n| n.mark);
                        rules::report(r.p, at, &format!("{path}.from_env"), v, e);
                    }
                }
                secrets.insert(token.to_string(), found[0].clone());
            }
            [(k, _)] => r.p.error(node.mark, format!("`{path}.{k}` is empty")),
            _ => r.p.error_hint(
                node.mark,
                format!("`{path}` needs exactly one of `from_env` and `from_file`"),
                Some(
                    "e.g. `{ from_env: HUB_PROXY_TOKEN }`; leave it out to have hdh generate it"
                        .into(),
                ),
            ),
        }
    }
    let profiles = get(hub, "profiles").and_then(|n| {
        let items = shape::seq(r.p, n, "daskhub.hub.profiles")?;
        let mut ok = !items.is_empty();
        if items.is_empty() {
            r.p.error_hint(
                n.mark,
                "`daskhub.hub.profiles` is empty",
                Some("leave it out to get one profile per user node group".into()),
            );
        }
        for (i, item) in items.iter().enumerate() {
            let path = format!("daskhub.hub.profiles[{i}]");
            let Some(e) = shape::map(r.p, item, &path) else {
                ok = false;
                continue;
            };
            if r.string(e, "display_name", &path).is_none() {
                r.p.error_hint(
                    item.mark,
                    format!("`{path}` needs a `display_name`"),
                    Some("the name users see in the hub's server options".into()),
                );
                ok = false;
            }
        }
        match n.value() {
            Ok(v) if ok => Some(v.to_display_json()),
            _ => None,
        }
    });
    // Profiles and Dask cluster options are sized to their node group's instance type.
    for g in &node_groups {
        if !(g.is_burst() || (g.is_user() && profiles.is_none())) {
            continue;
        }
        if let Err(unknown) = super::instances::smallest(&g.instance_types) {
            if unknown.is_empty() {
                continue; // no types: reported above
            }
            let why = if g.is_burst() {
                "Dask cluster options"
            } else {
                "the hub's profile"
            };
            r.p.error_hint(
                g.types_at.unwrap_or(node.mark),
                format!("hdh does not know the size of instance type `{unknown}` (node group `{}`), so it cannot size {why} for it", g.name),
                Some(if g.is_burst() {
                    "use a type of the m5, m6i, r5, r6i, c5, c6i, t3, g4dn or g5 families".into()
                } else {
                    "use a type of the m5, m6i, r5, r6i, c5, c6i, t3, g4dn or g5 families, or write `daskhub.hub.profiles` yourself".into()
                }),
            );
        }
    }
    let k = r.section(top, "keys", KEYS, "daskhub.keys");
    let keys_retain = r.boolean(k, "retain", "daskhub.keys", default_bool(KEYS, "retain"));

    if r.p.len() > before {
        return None;
    }
    Some(Settings {
        cidr,
        azs,
        nat_gateways,
        cluster_name,
        kubernetes_version,
        public_access_cidrs,
        cluster_role_name,
        node_role_name,
        authentication_mode,
        access,
        node_groups,
        efs_retain,
        efs_backup,
        bucket,
        cognito,
        hosted_zone,
        record,
        tls: tls?,
        namespace,
        chart,
        chart_repository,
        chart_version,
        image,
        admin_users,
        extra_values,
        profiles,
        secrets,
        keys_retain,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taints_parse_like_kubectl() {
        assert_eq!(
            taint("a=b:NoSchedule"),
            Some(("a".into(), "b".into(), "NO_SCHEDULE".into()))
        );
        assert_eq!(
            taint("a:NoExecute"),
            Some(("a".into(), "".into(), "NO_EXECUTE".into()))
        );
        assert_eq!(taint("a=b"), None);
        assert_eq!(taint("a=b:Sometimes"), None);
    }
}
