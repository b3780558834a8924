//! The config's keys as data: every section's allowed keys with their shape, whether they are
//! required, their default and what they mean. Validation takes its allowed keys and defaults
//! from these tables (`check_keys`, `settings.rs`), and `json_schema.rs` turns the same tables
//! into the JSON Schema `hdh schema` prints, so the two cannot drift.

/// The shape of a key's value, as validation reads it.
#[derive(Debug, Clone, Copy)]
pub enum Shape {
    /// A string (`${name}`/`${region}` may appear where validation allows them).
    Str,
    /// One of these strings.
    OneOf(&'static [&'static str]),
    Bool,
    /// This integer exactly (the config version).
    Exactly(i64),
    /// A whole number ≥ 0.
    Count,
    /// A list of strings.
    Strings,
    /// A map of strings.
    StrMap,
    /// A map of strings, numbers or booleans (Kubernetes labels, read as text).
    ScalarMap,
    /// A map of any values (Helm values, outputs).
    AnyMap,
    /// A map with these keys; others are refused.
    Section(&'static [Key]),
    /// A list of maps with these keys; others are refused.
    Sections(&'static [Key]),
    /// A list of maps that need these keys and may have any other (KubeSpawner profiles).
    OpenSections(&'static [Key]),
    /// Built by `json_schema.rs` from more than this table: `state` (one table per backend)
    /// and `resources` (the providers' resource types).
    Custom,
}

/// A default as the schema states it.
#[derive(Debug, Clone, Copy)]
pub enum Default {
    Str(&'static str),
    Bool(bool),
    Int(i64),
    Strs(&'static [&'static str]),
}

#[derive(Debug, Clone, Copy)]
pub struct Key {
    pub name: &'static str,
    pub shape: Shape,
    pub required: bool,
    pub default: Option<Default>,
    pub doc: &'static str,
}

const fn key(name: &'static str, shape: Shape, doc: &'static str) -> Key {
    Key {
        name,
        shape,
        required: false,
        default: None,
        doc,
    }
}

impl Key {
    const fn required(self) -> Key {
        Key {
            required: true,
            ..self
        }
    }

    const fn or(self, default: Default) -> Key {
        Key {
            default: Some(default),
            ..self
        }
    }
}

/// The names of a table's keys, for `check_keys`.
pub fn names(keys: &[Key]) -> Vec<&'static str> {
    keys.iter().map(|k| k.name).collect()
}

fn find(keys: &[Key], name: &str) -> Key {
    *keys
        .iter()
        .find(|k| k.name == name)
        .unwrap_or_else(|| panic!("no key `{name}` in its table"))
}

/// The declared string default of `name` in `keys` (a table above; a missing one is a bug
/// the schema tests catch).
pub fn default_str(keys: &[Key], name: &str) -> String {
    match find(keys, name).default {
        Some(Default::Str(s)) => s.to_string(),
        other => panic!("`{name}` has no string default: {other:?}"),
    }
}

pub fn default_bool(keys: &[Key], name: &str) -> bool {
    match find(keys, name).default {
        Some(Default::Bool(b)) => b,
        other => panic!("`{name}` has no boolean default: {other:?}"),
    }
}

pub fn default_int(keys: &[Key], name: &str) -> i64 {
    match find(keys, name).default {
        Some(Default::Int(i)) => i,
        other => panic!("`{name}` has no integer default: {other:?}"),
    }
}

pub fn default_strs(keys: &[Key], name: &str) -> Vec<String> {
    match find(keys, name).default {
        Some(Default::Strs(s)) => s.iter().map(|s| s.to_string()).collect(),
        other => panic!("`{name}` has no list default: {other:?}"),
    }
}

// ---- the top level ----------------------------------------------------------------------

/// The top-level keys. `state` and `resources` have shapes of their own (backends; resource
/// types from the providers), which `json_schema.rs` builds from `STATE_*`, `RESOURCE` and the
/// providers' declarations.
pub const TOP: &[Key] = &[
    key("version", Shape::Exactly(1), "The config format version.").required(),
    key(
        "name",
        Shape::Str,
        "The stack name: 1–40 lowercase letters, digits or hyphens, starting with a letter. Prefixes names and tags every resource (hdh:stack).",
    )
    .required(),
    key("region", Shape::Str, "The AWS region, e.g. us-east-1.").required(),
    key(
        "state",
        Shape::Custom,
        "Where hdh records what it made. Default: { backend: local, path: .hdh/<name>.state.json } beside the config.",
    ),
    key(
        "tags",
        Shape::StrMap,
        "Tags for every resource (keys may not start with hdh:).",
    ),
    key(
        "resources",
        Shape::Custom,
        "Generic resources by name ([a-z][a-z0-9_]*), alone or beside the daskhub blueprint.",
    ),
    key(
        "outputs",
        Shape::AnyMap,
        "Values to print after apply (`hdh output`); may reference resources as ${resource.attribute}.",
    ),
    key(
        "daskhub",
        Shape::Section(DASKHUB),
        "The DaskHub blueprint: expands into every resource of a HelioCloud DaskHub.",
    ),
];

/// The state backends.
pub const BACKENDS: &[&str] = &["local", "s3"];

pub const STATE_LOCAL: &[Key] = &[
    key("backend", Shape::OneOf(&["local"]), "A local file.").required(),
    key(
        "path",
        Shape::Str,
        "The state file, relative to the config's directory. Default: .hdh/<name>.state.json.",
    ),
];

pub const STATE_S3: &[Key] = &[
    key(
        "backend",
        Shape::OneOf(&["s3"]),
        "An S3 object, locked and KMS-encrypted.",
    )
    .required(),
    key("bucket", Shape::Str, "The bucket (it must exist).").required(),
    key("key", Shape::Str, "The object key of the state.").required(),
    key(
        "region",
        Shape::Str,
        "The bucket's region. Default: the stack's.",
    ),
    key(
        "kms_key_id",
        Shape::Str,
        "The KMS key of server-side encryption. Default: the AWS-managed key.",
    ),
];

/// One generic resource; `properties` are the resource type's (from its provider).
pub const RESOURCE: &[Key] = &[
    key("type", Shape::Str, "The resource type, e.g. aws_s3_bucket.").required(),
    key("properties", Shape::AnyMap, "The type's properties."),
    key(
        "depends_on",
        Shape::Strings,
        "Resources to create first, beside those referenced.",
    ),
    key(
        "lifecycle",
        Shape::Section(LIFECYCLE),
        "How hdh treats the resource.",
    ),
];

pub const LIFECYCLE: &[Key] = &[
    key(
        "retain",
        Shape::Bool,
        "Destroy forgets it and records it as retained instead of deleting it.",
    ),
    key(
        "protect",
        Shape::Bool,
        "Any plan that would delete or replace it is an error.",
    ),
    key(
        "create_before_destroy",
        Shape::Bool,
        "A replacement creates the new one before deleting the old one.",
    ),
    key(
        "ignore_changes",
        Shape::Strings,
        "Properties whose changes are not planned.",
    ),
];

// ---- the daskhub: section ----------------------------------------------------------------

/// hdh's default notebook image (the seed's `app.config` chooses the image, but the seed does not
/// say which; set `daskhub.hub.image` to your own).
pub const DEFAULT_IMAGE: &str = "public.ecr.aws/heliocloud/helio-daskhub-core:2023.11.30";

pub const DASKHUB: &[Key] = &[
    key(
        "network",
        Shape::Section(NETWORK),
        "The VPC and its subnets.",
    ),
    key(
        "cluster",
        Shape::Section(CLUSTER),
        "The EKS cluster and its node groups.",
    ),
    key(
        "storage",
        Shape::Section(STORAGE),
        "Home directories (EFS) and the shared bucket.",
    ),
    key("auth", Shape::Section(AUTH), "The hub's login."),
    key("dns", Shape::Section(DNS), "The hub's name.").required(),
    key("hub", Shape::Section(HUB), "The DaskHub Helm release."),
    key(
        "keys",
        Shape::Section(KEYS),
        "The KMS key of the cluster's secrets.",
    ),
    key(
        "allow_unauthenticated",
        Shape::Bool,
        "Allow a hub without auth.cognito (a short-lived test hub); every plan warns.",
    )
    .or(Default::Bool(false)),
];

pub const NETWORK: &[Key] = &[
    key(
        "cidr",
        Shape::Str,
        "The VPC's IPv4 block, /16 to /24; a public and a private subnet per zone are cut from it.",
    )
    .or(Default::Str("10.0.0.0/16")),
    key(
        "availability_zones",
        Shape::Strings,
        "2 to 6 zones of the region. Default: the region's zones a and b.",
    ),
    key(
        "nat_gateways",
        Shape::Count,
        "NAT gateways, 1 to one per zone.",
    )
    .or(Default::Int(1)),
];

pub const CLUSTER: &[Key] = &[
    key(
        "name",
        Shape::Str,
        "The EKS cluster: letters, digits, hyphens; unique in the region.",
    )
    .or(Default::Str("eks-helio")),
    key(
        "kubernetes_version",
        Shape::Str,
        "The Kubernetes version, quoted (\"1.31\"); upgrades go one minor version at a time.",
    )
    .or(Default::Str("1.31")),
    key(
        "node_groups",
        Shape::Sections(NODE_GROUP),
        "EKS managed node groups. Default: the seed's four (ng-daskhub-services t3a.medium 1/1/1; ng-user-compute-spot m5.xlarge 0-15; ng-user-gpu-spot g4dn.xlarge 0-5; ng-burst-compute-spot m5.8xlarge 0-10).",
    ),
    key(
        "public_access_cidrs",
        Shape::Strings,
        "Who may reach the cluster's API endpoint.",
    )
    .or(Default::Strs(&["0.0.0.0/0"])),
    key(
        "role_name",
        Shape::Str,
        "The IAM role of the EKS control plane. Default: <stack>-cluster. Set it to the role an existing cluster uses (eksctl's eksctl-<cluster>-cluster-ServiceRole-…) to `hdh import` that cluster: a cluster's role cannot change.",
    ),
    key(
        "node_role_name",
        Shape::Str,
        "The IAM role of the nodes. Default: <stack>-nodes. Set it to the role existing node groups use (eksctl's eksctl-<cluster>-nodegroup-…-NodeInstanceRole-…) to `hdh import` them: a node group's role cannot change.",
    ),
    key(
        "access",
        Shape::Sections(ACCESS),
        "IAM roles and users let into the cluster (EKS access entries), besides the identity \
         that created it, which keeps cluster-admin.",
    ),
    key(
        "authentication_mode",
        Shape::OneOf(&["API_AND_CONFIG_MAP", "API"]),
        "How EKS authenticates: access entries and the aws-auth ConfigMap, or access entries \
         only. EKS changes it only forward (CONFIG_MAP → API_AND_CONFIG_MAP → API).",
    )
    .or(Default::Str("API_AND_CONFIG_MAP")),
];

/// One `daskhub.cluster.access` item: who, with which EKS access policy, where.
pub const ACCESS: &[Key] = &[
    key(
        "principal_arn",
        Shape::Str,
        "An IAM role or user ARN, e.g. arn:aws:iam::123456789012:role/hdh-ci-plan.",
    )
    .required(),
    key(
        "policy",
        Shape::OneOf(ACCESS_POLICIES),
        "cluster-admin (AmazonEKSClusterAdminPolicy), admin (AmazonEKSAdminPolicy), edit \
         (AmazonEKSEditPolicy), view (AmazonEKSViewPolicy: no Secrets, so no Helm releases) or \
         admin-view (AmazonEKSAdminViewPolicy: read everything, Secrets included, as `hdh plan` \
         needs to read the hub's Helm release).",
    )
    .required(),
    key(
        "namespaces",
        Shape::Strings,
        "Only in these Kubernetes namespaces (not for cluster-admin). Default: the whole cluster.",
    ),
];

/// The `policy` names of `daskhub.cluster.access`.
pub const ACCESS_POLICIES: &[&str] = &["cluster-admin", "admin", "edit", "view", "admin-view"];

pub const NODE_GROUP: &[Key] = &[
    key("name", Shape::Str, "The node group's name.").required(),
    key(
        "instance_types",
        Shape::Strings,
        "EC2 instance types, at least one.",
    )
    .required(),
    key(
        "capacity",
        Shape::OneOf(&["on_demand", "on-demand", "spot"]),
        "On-demand or spot instances.",
    )
    .or(Default::Str("on_demand")),
    key("min", Shape::Count, "The fewest nodes.").or(Default::Int(0)),
    key("max", Shape::Count, "The most nodes. Default: min, at least 1."),
    key("desired", Shape::Count, "Nodes to start with. Default: min."),
    key("labels", Shape::ScalarMap, "Kubernetes labels of the nodes."),
    key(
        "taints",
        Shape::Strings,
        "Kubernetes taints as kubectl writes them: key=value:NoSchedule (or NoExecute, PreferNoSchedule).",
    ),
    key("disk_size", Shape::Count, "The nodes' disk, GiB. Default: EKS's."),
];

pub const STORAGE: &[Key] = &[
    key(
        "efs",
        Shape::Section(EFS),
        "The EFS file system of the users' home directories.",
    ),
    key(
        "shared_bucket",
        Shape::Section(BUCKET),
        "An S3 bucket shared by the hub's users.",
    ),
];

pub const EFS: &[Key] = &[
    key(
        "retain",
        Shape::Bool,
        "Keep it (and the users' data) on destroy --keep-retained; a later apply adopts it.",
    )
    .or(Default::Bool(true)),
    key("backup", Shape::Bool, "AWS Backup of the file system.").or(Default::Bool(true)),
];

pub const BUCKET: &[Key] = &[
    key("enabled", Shape::Bool, "Make the bucket.").or(Default::Bool(true)),
    key(
        "name",
        Shape::Str,
        "The bucket's name. Default: <name>-shared.",
    ),
    key("retain", Shape::Bool, "Keep it on destroy --keep-retained.").or(Default::Bool(true)),
    key("versioning", Shape::Bool, "Keep object versions.").or(Default::Bool(true)),
];

pub const AUTH: &[Key] = &[key(
    "cognito",
    Shape::Section(COGNITO),
    "A Cognito user pool, hosted domain and app client for the hub's login.",
)];

pub const COGNITO: &[Key] = &[
    key(
        "domain_prefix",
        Shape::Str,
        "<prefix>.auth.<region>.amazoncognito.com; unique in the region. Default: the stack name.",
    ),
    key(
        "admin",
        Shape::Section(ADMIN),
        "The hub's first admin, invited by email.",
    ),
    key(
        "retain",
        Shape::Bool,
        "Keep the user pool on destroy --keep-retained.",
    )
    .or(Default::Bool(true)),
    key(
        "user_pool_id",
        Shape::Str,
        "An existing user pool (e.g. your auth stack's, us-east-1_AbCdEfGhI): hdh makes only the \
         domain, app client and users in it, reads the pool, and never changes or deletes it.",
    ),
    key(
        "users",
        Shape::Sections(ADMIN),
        "More users besides the admin, each invited by email.",
    ),
    key(
        "access_token_validity",
        Shape::Str,
        "How long an access token lasts: 5m to 1d (`60m`, `12h`, `1d`). Default: Cognito's, 1h.",
    ),
    key(
        "id_token_validity",
        Shape::Str,
        "How long an ID token lasts: 5m to 1d. Default: Cognito's, 1h.",
    ),
    key(
        "refresh_token_validity",
        Shape::Str,
        "How long a refresh token lasts: 60m to 3650d (10 years). Default: Cognito's, 30d.",
    ),
];

pub const ADMIN: &[Key] = &[
    key("username", Shape::Str, "The admin's user name.").required(),
    key("email", Shape::Str, "Where the invitation goes.").required(),
];

pub const DNS: &[Key] = &[
    key(
        "hosted_zone",
        Shape::Str,
        "The Route 53 zone the hub's name goes in; it must exist (hdh never creates it).",
    )
    .required(),
    key(
        "record",
        Shape::Str,
        "The hub is https://<record>.<hosted_zone>.",
    )
    .or(Default::Str("daskhub")),
    key(
        "tls",
        Shape::OneOf(&["acm", "letsencrypt", "none"]),
        "How the hub serves HTTPS: acm (an ACM certificate validated through the hosted zone, TLS \
         ends at the load balancer), letsencrypt (the chart's own autohttps pod; contact: the \
         Cognito admin's email) or none (plain HTTP; needs allow_plain_http).",
    )
    .or(Default::Str("acm")),
    key(
        "allow_plain_http",
        Shape::Bool,
        "Allow tls: none (logins and tokens cross the network unencrypted); every plan warns.",
    )
    .or(Default::Bool(false)),
];

pub const HUB: &[Key] = &[
    key("namespace", Shape::Str, "The Kubernetes namespace.").or(Default::Str("daskhub")),
    key("chart", Shape::Str, "The Helm chart.").or(Default::Str("dask/daskhub")),
    key(
        "chart_repository",
        Shape::Str,
        "Where the chart comes from.",
    )
    .or(Default::Str("https://helm.dask.org")),
    key(
        "chart_version",
        Shape::Str,
        "The chart's version, quoted where it could read as a number.",
    )
    .or(Default::Str("2022.8.2")),
    key("image", Shape::Str, "The notebook image, REPO:TAG.").or(Default::Str(DEFAULT_IMAGE)),
    key(
        "admin_users",
        Shape::Strings,
        "The hub's admins. Default: the Cognito admin.",
    ),
    key(
        "profiles",
        Shape::OpenSections(PROFILE),
        "KubeSpawner profiles; replaces the ones generated from the user node groups.",
    ),
    key(
        "values",
        Shape::AnyMap,
        "Extra Helm values merged over the generated ones.",
    ),
    key(
        "secrets",
        Shape::Section(SECRETS),
        "The hub's API tokens, when you supply them instead of hdh generating them.",
    ),
];

pub const SECRETS: &[Key] = &[
    key(
        "proxy_token",
        Shape::Section(SECRET_SOURCE),
        "JupyterHub's proxy token (proxy.secretToken). Default: 32 random bytes, hex.",
    ),
    key(
        "gateway_token",
        Shape::Section(SECRET_SOURCE),
        "Dask Gateway's JupyterHub API token. Default: 32 random bytes, hex.",
    ),
];

/// Where a supplied secret is read from each run (one of the two).
pub const SECRET_SOURCE: &[Key] = &[
    key(
        "from_env",
        Shape::Str,
        "An environment variable holding it (read on every run; a rotation updates the hub).",
    ),
    key(
        "from_file",
        Shape::Str,
        "A file holding it, relative to the config file (one trailing line break is dropped).",
    ),
];

pub const PROFILE: &[Key] = &[key(
    "display_name",
    Shape::Str,
    "The name users see in the hub's server options.",
)
.required()];

pub const KEYS: &[Key] = &[key(
    "retain",
    Shape::Bool,
    "Keep the KMS key on destroy --keep-retained.",
)
.or(Default::Bool(true))];
