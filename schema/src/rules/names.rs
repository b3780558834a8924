//! Name rules of the AWS and Kubernetes names a config sets, as the services document them:
//! EKS clusters and node groups, S3 buckets, Route 53 zones and records, Cognito domain
//! prefixes, IAM roles, Kubernetes namespaces, label and taint keys and values, Helm releases.

use super::{charset, Rule, Violation};

fn alnum(c: char) -> bool {
    c.is_ascii_alphanumeric()
}

fn lower_alnum(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

fn fail(reason: String, expected: &str) -> Violation {
    Violation::new(reason, expected)
}

/// EKS cluster name: 1–100 letters, digits, hyphens and underscores, starting with a letter or
/// digit.
pub fn eks_cluster_name(s: &str) -> Rule {
    const E: &str =
        "1–100 letters, digits, hyphens or underscores, starting with a letter or digit";
    charset(s, 100, |c| alnum(c) || c == '-' || c == '_', |_| true)
        .and_then(|()| {
            s.starts_with(alnum)
                .then_some(())
                .ok_or_else(|| format!("it starts with {}", super::describe_char(first(s))))
        })
        .map_err(|r| fail(r, E).hint("e.g. `eks-helio`"))
}

/// EKS managed node group name: 1–63 letters, digits, hyphens and underscores, starting with a
/// letter or digit.
pub fn node_group_name(s: &str) -> Rule {
    const E: &str = "1–63 letters, digits, hyphens or underscores, starting with a letter or digit";
    charset(s, 63, |c| alnum(c) || c == '-' || c == '_', |_| true)
        .and_then(|()| {
            s.starts_with(alnum)
                .then_some(())
                .ok_or_else(|| format!("it starts with {}", super::describe_char(first(s))))
        })
        .map_err(|r| fail(r, E).hint("e.g. `ng-user-compute`"))
}

fn first(s: &str) -> char {
    s.chars().next().unwrap_or_default()
}

/// S3 general purpose bucket name: 3–63 lowercase letters, digits, dots and hyphens, starting
/// and ending with a letter or digit; no `..`, not an IP address, none of the reserved prefixes
/// and suffixes.
pub fn s3_bucket(s: &str) -> Rule {
    const E: &str = "3–63 lowercase letters, digits, dots or hyphens, starting and ending with a letter or digit";
    let bad = |r: String| {
        let lower = s.to_ascii_lowercase();
        let v = fail(r, E);
        if lower != s && s3_bucket(&lower).is_ok() {
            v.hint(format!("bucket names are lowercase: `{lower}`"))
        } else {
            v
        }
    };
    if s.chars().count() < 3 {
        return Err(bad(format!(
            "it is {} characters long (at least 3)",
            s.chars().count()
        )));
    }
    charset(
        s,
        63,
        |c| lower_alnum(c) || c == '.' || c == '-',
        lower_alnum,
    )
    .map_err(bad)?;
    if s.contains("..") {
        return Err(bad("it contains `..`".into()));
    }
    if s.split('.').count() == 4 && s.split('.').all(|p| p.parse::<u8>().is_ok()) {
        return Err(bad("it is formatted as an IP address".into()));
    }
    for prefix in ["xn--", "sthree-", "amzn-s3-demo-"] {
        if s.starts_with(prefix) {
            return Err(bad(format!("the prefix `{prefix}` is reserved by S3")));
        }
    }
    for suffix in ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"] {
        if s.ends_with(suffix) {
            return Err(bad(format!("the suffix `{suffix}` is reserved by S3")));
        }
    }
    Ok(())
}

/// One DNS label: 1–63 letters, digits and hyphens, not starting or ending with a hyphen.
fn dns_label(l: &str) -> Result<(), String> {
    charset(l, 63, |c| alnum(c) || c == '-', alnum).map_err(|r| format!("the label `{l}`: {r}"))
}

/// A Route 53 hosted zone: a domain name of at least two labels, at most 253 characters
/// (a trailing dot is allowed).
pub fn hosted_zone(s: &str) -> Rule {
    const E: &str = "a domain name such as `example.org` (labels of letters, digits and hyphens, separated by dots)";
    let name = s.strip_suffix('.').unwrap_or(s);
    if name.is_empty() {
        return Err(fail("it is empty".into(), E));
    }
    if name.len() > 253 {
        return Err(fail(
            format!("it is {} characters long (at most 253)", name.len()),
            E,
        ));
    }
    let labels: Vec<&str> = name.split('.').collect();
    if labels.len() < 2 {
        return Err(
            fail("it has one label; a hosted zone has at least two".into(), E)
                .hint(format!("e.g. `{name}.org`")),
        );
    }
    for l in labels {
        if l.is_empty() {
            return Err(fail(
                "it has an empty label (`..` or a leading dot)".into(),
                E,
            ));
        }
        dns_label(l).map_err(|r| fail(r, E))?;
    }
    Ok(())
}

/// A record name relative to its zone (`daskhub`, `hub.team`, `*.apps`), or `@` for the zone
/// apex; labels as in DNS, a leading `*` label allowed.
pub fn record_name(s: &str) -> Rule {
    const E: &str =
        "a name inside the zone such as `daskhub` (labels of letters, digits and hyphens)";
    if s == "@" {
        return Ok(());
    }
    if s.is_empty() {
        return Err(fail("it is empty".into(), E).hint("use `@` for the zone's own name"));
    }
    if s.len() > 253 {
        return Err(fail(
            format!("it is {} characters long (at most 253)", s.len()),
            E,
        ));
    }
    for (i, l) in s.split('.').enumerate() {
        if i == 0 && l == "*" {
            continue;
        }
        if l.is_empty() {
            return Err(fail("it has an empty label".into(), E));
        }
        dns_label(l).map_err(|r| fail(r, E))?;
    }
    Ok(())
}

/// A fully qualified record name inside `zone` (what `aws_route53_record.name` holds):
/// `zone` itself or a name ending in `.zone`.
pub fn record_fqdn_in_zone(fqdn: &str, zone: &str) -> Rule {
    let f = fqdn.strip_suffix('.').unwrap_or(fqdn).to_ascii_lowercase();
    let z = zone.strip_suffix('.').unwrap_or(zone).to_ascii_lowercase();
    if f == z {
        return Ok(());
    }
    match f.strip_suffix(&format!(".{z}")) {
        Some(rel) => record_name(rel),
        None => Err(Violation::new(
            format!("it is not inside the zone `{z}`"),
            format!("a name ending in `.{z}`"),
        )),
    }
}

/// A Cognito hosted-domain prefix: 1–63 lowercase letters, digits and hyphens, not starting or
/// ending with a hyphen, not containing `aws`, `amazon` or `cognito`.
pub fn cognito_domain_prefix(s: &str) -> Rule {
    const E: &str =
        "1–63 lowercase letters, digits or hyphens, not starting or ending with a hyphen";
    charset(s, 63, |c| lower_alnum(c) || c == '-', lower_alnum).map_err(|r| fail(r, E))?;
    for word in ["aws", "amazon", "cognito"] {
        if s.contains(word) {
            return Err(fail(format!("it contains the reserved word `{word}`"), E)
                .hint("Cognito refuses prefixes containing aws, amazon or cognito"));
        }
    }
    Ok(())
}

/// An environment variable name as shells accept it: letters, digits and `_`, not starting with
/// a digit.
pub fn env_var(s: &str) -> Rule {
    const E: &str = "letters, digits and `_`, not starting with a digit, e.g. `HUB_PROXY_TOKEN`";
    charset(s, 255, |c| c.is_ascii_alphanumeric() || c == '_', |_| true).map_err(|r| fail(r, E))?;
    if s.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(fail("it starts with a digit".to_string(), E));
    }
    Ok(())
}

/// A Cognito user name: 1–128 characters, no spaces or control characters.
pub fn cognito_username(s: &str) -> Rule {
    charset(s, 128, |c| !c.is_whitespace() && !c.is_control(), |_| true)
        .map_err(|r| fail(r, "1–128 characters without spaces, e.g. `admintest`"))
}

/// An IAM role name: 1–64 letters, digits and `+=,.@_-`.
pub fn iam_role_name(s: &str) -> Rule {
    charset(s, 64, |c| alnum(c) || "+=,.@_-".contains(c), |_| true)
        .map_err(|r| fail(r, "1–64 letters, digits or `+=,.@_-`"))
}

/// An IAM principal EKS lets into a cluster: a role or user ARN,
/// `arn:aws:iam::<12 digits>:role/<path/><name>` (or `:user/`); not an assumed-role session,
/// a group or another service's ARN.
pub fn iam_principal_arn(s: &str) -> Rule {
    let expected = "an IAM role or user ARN such as `arn:aws:iam::123456789012:role/hdh-ci-plan`";
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    let reason = match parts.as_slice() {
        ["arn", partition, service, region, account, resource] => {
            let (kind, name) = resource.split_once('/').unwrap_or((resource, ""));
            let name = name.rsplit('/').next().unwrap_or_default();
            if !["aws", "aws-cn", "aws-us-gov"].contains(partition) {
                Some(format!("`{partition}` is not an AWS partition"))
            } else if *service == "sts" && kind == "assumed-role" {
                return Err(fail(
                    "it is an assumed-role session, not the role".into(),
                    expected,
                )
                .hint(format!(
                    "use the role itself: arn:{partition}:iam::{account}:role/{}",
                    resource.split('/').nth(1).unwrap_or("NAME")
                )));
            } else if *service != "iam" {
                Some(format!("it is an `{service}` ARN, not an IAM one"))
            } else if !region.is_empty() {
                Some("IAM ARNs have no region".into())
            } else if account.len() != 12 || !account.chars().all(|c| c.is_ascii_digit()) {
                Some(format!("the account `{account}` is not 12 digits"))
            } else if kind != "role" && kind != "user" {
                Some(format!(
                    "it names a `{kind}`; EKS access entries take roles and users"
                ))
            } else if name.is_empty() || !name.chars().all(|c| alnum(c) || "+=,.@_-".contains(c)) {
                Some(format!("the {kind} name `{name}` is not an IAM name"))
            } else {
                None
            }
        }
        _ => Some("it is not an ARN".into()),
    };
    match reason {
        Some(r) => Err(fail(r, expected)),
        None => Ok(()),
    }
}

/// A Kubernetes DNS-1123 label (namespaces, Helm releases up to 53): lowercase letters, digits
/// and hyphens, starting and ending with a letter or digit.
fn dns1123_label(s: &str, max: usize) -> Result<(), String> {
    charset(s, max, |c| lower_alnum(c) || c == '-', lower_alnum)
}

/// A Kubernetes namespace: a DNS-1123 label of at most 63 characters.
pub fn k8s_namespace(s: &str) -> Rule {
    dns1123_label(s, 63).map_err(|r| {
        let v = fail(
            r,
            "1–63 lowercase letters, digits or hyphens, starting and ending with a letter or digit",
        );
        let lower = s.to_ascii_lowercase().replace('_', "-");
        if lower != s && dns1123_label(&lower, 63).is_ok() {
            v.hint(format!("did you mean `{lower}`?"))
        } else {
            v
        }
    })
}

/// A Helm release name: a DNS-1123 label of at most 53 characters.
pub fn helm_release_name(s: &str) -> Rule {
    dns1123_label(s, 53).map_err(|r| {
        fail(
            r,
            "1–53 lowercase letters, digits or hyphens, starting and ending with a letter or digit",
        )
    })
}

/// A Kubernetes qualified name (the name part of a label or taint key): 1–63 letters, digits,
/// `-`, `_` and `.`, starting and ending with a letter or digit.
fn qualified_name(s: &str) -> Result<(), String> {
    charset(s, 63, |c| alnum(c) || "-_.".contains(c), alnum)
}

/// A Kubernetes label key (also a taint key): an optional DNS subdomain prefix of at most 253
/// characters and `/`, then a name of 1–63 letters, digits, `-`, `_`, `.`.
pub fn k8s_label_key(s: &str) -> Rule {
    const E: &str = "an optional DNS prefix and `/`, then 1–63 letters, digits, `-`, `_` or `.` starting and ending with a letter or digit (e.g. `hub.jupyter.org/node-purpose`)";
    let (prefix, name) = match s.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, s),
    };
    if let Some(p) = prefix {
        if p.is_empty() || p.len() > 253 {
            return Err(fail(
                "its prefix before `/` must be 1–253 characters".into(),
                E,
            ));
        }
        for l in p.split('.') {
            dns1123_label(l, 63).map_err(|r| fail(format!("the prefix label `{l}`: {r}"), E))?;
        }
    }
    qualified_name(name).map_err(|r| {
        let r = if prefix.is_some() {
            format!("the name after `/`: {r}")
        } else {
            r
        };
        fail(r, E)
    })
}

/// A Kubernetes label value (also a taint value): empty, or 1–63 letters, digits, `-`, `_`,
/// `.` starting and ending with a letter or digit.
pub fn k8s_label_value(s: &str) -> Rule {
    if s.is_empty() {
        return Ok(());
    }
    qualified_name(s).map_err(|r| {
        fail(
            r,
            "at most 63 letters, digits, `-`, `_` or `.`, starting and ending with a letter or digit",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(r: Rule) -> String {
        r.unwrap_err().reason
    }

    #[test]
    fn eks_names() {
        assert!(eks_cluster_name("eks-helio").is_ok());
        assert!(eks_cluster_name("Eks_1").is_ok());
        assert_eq!(reason(eks_cluster_name("-eks")), "it starts with `-`");
        assert_eq!(reason(eks_cluster_name("")), "it is empty");
        assert!(eks_cluster_name(&"a".repeat(100)).is_ok());
        assert!(eks_cluster_name(&"a".repeat(101)).is_err());
        assert!(node_group_name("ng-daskhub-services").is_ok());
        assert_eq!(reason(node_group_name("ng a/b!")), "it contains a space");
        assert_eq!(reason(node_group_name("ng/b")), "it contains `/`");
        assert!(node_group_name(&"a".repeat(64)).is_err());
    }

    #[test]
    fn buckets() {
        assert!(s3_bucket("helio-prod-shared").is_ok());
        assert!(s3_bucket("a.b.c").is_ok());
        assert_eq!(
            reason(s3_bucket("ab")),
            "it is 2 characters long (at least 3)"
        );
        assert_eq!(reason(s3_bucket("Helio")), "it contains `H`");
        assert_eq!(
            s3_bucket("Helio-X").unwrap_err().hint.as_deref(),
            Some("bucket names are lowercase: `helio-x`")
        );
        assert_eq!(reason(s3_bucket("a..b")), "it contains `..`");
        assert_eq!(reason(s3_bucket("-ab")), "it starts with `-`");
        assert_eq!(reason(s3_bucket("ab_c")), "it contains `_`");
        assert_eq!(
            reason(s3_bucket("192.168.1.1")),
            "it is formatted as an IP address"
        );
        assert_eq!(
            reason(s3_bucket("xn--abc")),
            "the prefix `xn--` is reserved by S3"
        );
        assert_eq!(
            reason(s3_bucket("abc-s3alias")),
            "the suffix `-s3alias` is reserved by S3"
        );
        assert!(s3_bucket(&"a".repeat(64)).is_err());
    }

    #[test]
    fn zones_and_records() {
        assert!(hosted_zone("example.org").is_ok());
        assert!(hosted_zone("example.org.").is_ok());
        assert!(hosted_zone("a-b.c1.example.org").is_ok());
        assert_eq!(
            reason(hosted_zone("localhost")),
            "it has one label; a hosted zone has at least two"
        );
        assert_eq!(
            reason(hosted_zone("a..org")),
            "it has an empty label (`..` or a leading dot)"
        );
        assert_eq!(
            reason(hosted_zone("ex_ample.org")),
            "the label `ex_ample`: it contains `_`"
        );
        assert_eq!(
            reason(hosted_zone("-x.org")),
            "the label `-x`: it starts with `-`"
        );
        assert_eq!(
            reason(hosted_zone("exa mple.org")),
            "the label `exa mple`: it contains a space"
        );
        assert!(record_name("daskhub").is_ok());
        assert!(record_name("*.apps").is_ok());
        assert!(record_name("@").is_ok());
        assert_eq!(
            reason(record_name("dask hub")),
            "the label `dask hub`: it contains a space"
        );
        assert_eq!(reason(record_name("")), "it is empty");
        assert!(record_name("hub.").is_err());
        assert!(record_fqdn_in_zone("hub.example.org", "example.org").is_ok());
        assert!(record_fqdn_in_zone("example.org.", "example.org").is_ok());
        assert_eq!(
            reason(record_fqdn_in_zone("hub.example.com", "example.org")),
            "it is not inside the zone `example.org`"
        );
    }

    #[test]
    fn cognito_prefixes() {
        assert!(cognito_domain_prefix("helio-prod").is_ok());
        assert_eq!(reason(cognito_domain_prefix("Helio")), "it contains `H`");
        assert_eq!(
            reason(cognito_domain_prefix("my-aws-hub")),
            "it contains the reserved word `aws`"
        );
        assert_eq!(reason(cognito_domain_prefix("hub-")), "it ends with `-`");
    }

    #[test]
    fn kubernetes_names() {
        assert!(k8s_namespace("daskhub").is_ok());
        assert_eq!(reason(k8s_namespace("Dask_Hub")), "it contains `D`");
        assert_eq!(
            k8s_namespace("Dask_Hub").unwrap_err().hint.as_deref(),
            Some("did you mean `dask-hub`?")
        );
        assert!(k8s_namespace(&"a".repeat(64)).is_err());
        assert!(helm_release_name("daskhub").is_ok());
        assert!(helm_release_name(&"a".repeat(54)).is_err());
        for ok in [
            "hub.jupyter.org/node-purpose",
            "nvidia.com/gpu",
            "app",
            "a_b.c-d",
        ] {
            assert!(k8s_label_key(ok).is_ok(), "{ok}");
        }
        assert_eq!(
            reason(k8s_label_key("hub.jupyter.org/")),
            "the name after `/`: it is empty"
        );
        assert_eq!(
            reason(k8s_label_key("Hub_x.org/a")),
            "the prefix label `Hub_x`: it contains `H`"
        );
        assert_eq!(reason(k8s_label_key("a b")), "it contains a space");
        assert!(k8s_label_key("a/b/c").is_err());
        assert!(k8s_label_value("").is_ok());
        assert!(k8s_label_value("core").is_ok());
        assert_eq!(reason(k8s_label_value("-core")), "it starts with `-`");
        assert_eq!(reason(k8s_label_value("a:b")), "it contains `:`");
        assert!(k8s_label_value(&"a".repeat(64)).is_err());
    }

    #[test]
    fn cognito_usernames() {
        assert!(cognito_username("admintest").is_ok());
        assert!(cognito_username("a@b.org").is_ok());
        assert_eq!(reason(cognito_username("ad min")), "it contains a space");
        assert!(cognito_username("").is_err());
    }

    #[test]
    fn iam_roles() {
        assert!(iam_role_name("eks-helio-cluster").is_ok());
        assert!(iam_role_name(&"a".repeat(65)).is_err());
        assert_eq!(reason(iam_role_name("a b")), "it contains a space");
    }

    #[test]
    fn iam_principals() {
        assert!(iam_principal_arn("arn:aws:iam::123456789012:role/hdh-ci-plan").is_ok());
        assert!(iam_principal_arn("arn:aws:iam::123456789012:role/team/x.y").is_ok());
        assert!(iam_principal_arn("arn:aws:iam::123456789012:user/alice").is_ok());
        assert_eq!(
            reason(iam_principal_arn("arn:aws:iam::123456789012:group/admins")),
            "it names a `group`; EKS access entries take roles and users"
        );
        assert_eq!(
            reason(iam_principal_arn("arn:aws:iam::1234:role/x")),
            "the account `1234` is not 12 digits"
        );
        assert!(
            iam_principal_arn("arn:aws:sts::123456789012:assumed-role/r/s")
                .unwrap_err()
                .hint
                .unwrap()
                .contains("role/r")
        );
        assert_eq!(reason(iam_principal_arn("hdh-ci-plan")), "it is not an ARN");
    }
}
