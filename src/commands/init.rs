//! `hdh init [--from app.config]`: a commented `hdh.yaml` for a DaskHub to start from. With
//! `--from`, the variables of the HelioCloud seed's `app.config` fill it in, and every variable
//! that could not be used is named with the reason, so nothing an admin set is silently lost.
//! An existing file is never overwritten without `--force`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use anyhow::Result;

use crate::cli::InitArgs;
use crate::exit::{user_error, Exit, UserError};

/// The values the template is filled with, each with where it came from.
struct Values {
    name: String,
    region: String,
    cluster: String,
    namespace: String,
    hosted_zone: String,
    record: String,
    admin: String,
    email: String,
    /// None: the blueprint's default HelioCloud image.
    image: Option<String>,
}

impl Values {
    fn defaults(name: &str, region: &str) -> Values {
        Values {
            name: name.into(),
            region: region.into(),
            cluster: "eks-helio".into(),
            namespace: "daskhub".into(),
            hosted_zone: "example.org".into(),
            record: "daskhub".into(),
            admin: "admintest".into(),
            email: "admin@example.org".into(),
            image: None,
        }
    }
}

/// One `KEY=value` of an app.config: its value, or why it has none hdh can use.
type Variables = BTreeMap<String, Result<String, String>>;

/// Reads the `KEY=value` lines of a shell file as `source ./app.config` would set them:
/// `export` allowed, quotes removed, `$VAR`/`${VAR}` of earlier variables expanded. A value
/// computed by a command (`$(...)`, backticks) or naming an unknown variable is kept as the
/// reason it cannot be used.
pub fn parse_app_config(text: &str) -> Variables {
    let mut vars: Variables = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        let line = line.strip_prefix("export ").unwrap_or(line).trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, raw)) = line.split_once('=') else {
            continue;
        };
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        let value = unquote(raw).and_then(|v| expand(&v, &vars));
        vars.insert(key.to_string(), value);
    }
    vars
}

/// The shell word `raw` without its quotes and trailing comment.
fn unquote(raw: &str) -> Result<String, String> {
    let raw = raw.trim();
    if raw.contains("$(") || raw.contains('`') {
        return Err(format!("computed by a shell command ({raw})"));
    }
    if let Some(rest) = raw.strip_prefix('\'') {
        return rest
            .split_once('\'')
            .map(|(v, _)| format!("\u{0}{v}")) // single quotes: no expansion (marked)
            .ok_or_else(|| format!("unterminated quote ({raw})"));
    }
    if let Some(rest) = raw.strip_prefix('"') {
        return rest
            .split_once('"')
            .map(|(v, _)| v.to_string())
            .ok_or_else(|| format!("unterminated quote ({raw})"));
    }
    // An unquoted word ends at whitespace (the rest is a comment or another command).
    Ok(raw.split_whitespace().next().unwrap_or("").to_string())
}

/// Expands `$VAR` and `${VAR}` from the variables read so far.
fn expand(value: &str, vars: &Variables) -> Result<String, String> {
    if let Some(literal) = value.strip_prefix('\u{0}') {
        return Ok(literal.to_string());
    }
    let mut out = String::new();
    let mut rest = value;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (name, tail) = match after.strip_prefix('{') {
            Some(b) => match b.split_once('}') {
                Some((n, t)) => (n, t),
                None => return Err(format!("unterminated ${{ in {value}")),
            },
            None => {
                let end = after
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(after.len());
                (&after[..end], &after[end..])
            }
        };
        match vars.get(name) {
            Some(Ok(v)) => out.push_str(v),
            _ => return Err(format!("uses ${name}, which app.config does not set")),
        }
        rest = tail;
    }
    out.push_str(rest);
    Ok(out)
}

/// Where each app.config variable goes in hdh.yaml.
const MAPPED: &[(&str, &str)] = &[
    ("EKS_NAME", "daskhub.cluster.name"),
    ("NAMESPACE", "daskhub.hub.namespace"),
    ("KUBERNETES_NAMESPACE", "daskhub.hub.namespace"),
    ("ROUTE53_HOSTED_ZONE", "daskhub.dns.hosted_zone"),
    ("ROUTE53_DASKHUB_PREFIX", "daskhub.dns.record"),
    (
        "DASKHUB_ADMIN_USER",
        "daskhub.auth.cognito.admin.username, daskhub.hub.admin_users",
    ),
    ("ADMIN_USER_EMAIL", "daskhub.auth.cognito.admin.email"),
    ("GENERIC_DOCKER_LOCATION", "daskhub.hub.image"),
    ("GENERIC_DOCKER_VERSION", "daskhub.hub.image (its tag)"),
    ("AWS_REGION", "region"),
];

/// Why the variables the seed uses that have no place in hdh.yaml are left out.
const NOT_MAPPED: &[(&str, &str)] = &[
    (
        "ML_DOCKER_LOCATION",
        "hdh's daskhub section has one notebook image (daskhub.hub.image); add a second profile under daskhub.hub.values",
    ),
    ("ML_DOCKER_VERSION", "see ML_DOCKER_LOCATION"),
    (
        "CLOUDFORMATION_NAME",
        "hdh makes Cognito, EFS and the network itself; nothing is read from a CloudFormation stack",
    ),
    (
        "INSTANCE_ID",
        "hdh runs anywhere with AWS credentials, not on an admin EC2 instance",
    ),
    (
        "KUBECTL_VERSION",
        "hdh uses the kubectl on PATH; the cluster's version is daskhub.cluster.kubernetes_version",
    ),
];

/// What became of each variable, for the report.
struct Mapping {
    used: Vec<(String, String, &'static str)>,
    unused: Vec<(String, String)>,
}

fn apply_variables(vars: &Variables, v: &mut Values, region_given: bool) -> Mapping {
    let mut m = Mapping {
        used: Vec::new(),
        unused: Vec::new(),
    };
    let good = |key: &str| {
        vars.get(key)
            .and_then(|r| r.as_ref().ok())
            .filter(|s| !s.is_empty())
    };
    for (key, value) in vars {
        let target = MAPPED
            .iter()
            .find(|(k, _)| *k == key.as_str())
            .map(|(_, t)| *t);
        match (value, target) {
            (Err(why), _) => m.unused.push((key.clone(), why.clone())),
            (Ok(s), Some(_)) if s.is_empty() => m.unused.push((key.clone(), "empty".into())),
            (Ok(_), Some(_)) if key == "AWS_REGION" && region_given => m
                .unused
                .push((key.clone(), "--region was given and wins".into())),
            (Ok(s), Some(t)) => m.used.push((key.clone(), s.clone(), t)),
            (Ok(_), None) => {
                let why = NOT_MAPPED
                    .iter()
                    .find(|(k, _)| *k == key.as_str())
                    .map_or("hdh has no setting for it", |(_, w)| *w);
                m.unused.push((key.clone(), why.into()));
            }
        }
    }
    if let Some(s) = good("EKS_NAME") {
        v.cluster = s.clone();
    }
    // The scripts use both names for the namespace; KUBERNETES_NAMESPACE is the later one,
    // and the one it shadows is reported as not used.
    if let Some(s) = good("KUBERNETES_NAMESPACE").or_else(|| good("NAMESPACE")) {
        v.namespace = s.clone();
    }
    if good("KUBERNETES_NAMESPACE").is_some() {
        if let Some(at) = m.used.iter().position(|(k, _, _)| k == "NAMESPACE") {
            let (key, _, _) = m.used.remove(at);
            m.unused
                .push((key, "KUBERNETES_NAMESPACE is set too and wins".into()));
            m.unused.sort();
        }
    }
    if let Some(s) = good("ROUTE53_HOSTED_ZONE") {
        v.hosted_zone = s.trim_end_matches('.').to_string();
    }
    if let Some(s) = good("ROUTE53_DASKHUB_PREFIX") {
        v.record = s.clone();
    }
    if let Some(s) = good("DASKHUB_ADMIN_USER") {
        v.admin = s.clone();
    }
    if let Some(s) = good("ADMIN_USER_EMAIL") {
        v.email = s.clone();
    }
    match (
        good("GENERIC_DOCKER_LOCATION"),
        good("GENERIC_DOCKER_VERSION"),
    ) {
        (Some(l), Some(t)) => v.image = Some(format!("{l}:{t}")),
        (Some(l), None) => v.image = Some(l.clone()),
        _ => {}
    }
    if !region_given {
        if let Some(s) = good("AWS_REGION") {
            v.region = s.clone();
        }
    }
    m
}

/// A YAML scalar for `s`: plain when that reads back as the same string, else double-quoted
/// (JSON string syntax is valid YAML).
fn scalar(s: &str) -> String {
    let plain = !s.is_empty()
        && s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | '@'))
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "yes" | "no" | "true" | "false" | "on" | "off" | "null" | "y" | "n"
        );
    if plain {
        s.to_string()
    } else {
        serde_json::Value::String(s.to_string()).to_string()
    }
}

/// The commented hdh.yaml.
fn render(v: &Values, from: Option<&Path>) -> String {
    let origin = from.map_or(String::new(), |p| format!(" from {}", p.display()));
    let prefix = cognito_prefix(&v.name);
    format!(
        r#"# A HelioCloud DaskHub, written by `hdh init`{origin}.
#   hdh validate                        # check this file (no AWS needed)
#   hdh plan                            # what apply would do; touches nothing
#   hdh apply                           # make it so
#   hdh destroy --keep-retained         # tear down, keep user data
# Unknown keys are errors; `hdh validate` says where and what was expected.
version: 1
name: {name}                  # the stack: prefixes names and tags everything (hdh:stack)
region: {region}
# Where hdh records what it made. Default: a local file under .hdh/. For a team, use S3:
# state: {{ backend: s3, bucket: my-hdh-state, key: {name}.json }}
tags: {{ Project: heliocloud }}

daskhub:
  network:
    cidr: 10.0.0.0/16            # the VPC; a public and a private subnet per zone
    # availability_zones: [{region}a, {region}b]   # default: the region's zones a and b
    nat_gateways: 1              # one per zone for resilience, at a price
  cluster:
    name: {cluster}            # EKS_NAME: letters, digits, hyphens; unique in the region
    kubernetes_version: "1.31"   # upgrades go one minor version at a time; hdh plans them
    # node_groups: the default is the seed's four groups (services t3a.medium 1/1/1 on-demand,
    # user compute m5.xlarge spot 0-15, GPU g4dn.xlarge spot 0-5, burst m5.8xlarge spot 0-10);
    # list your own here to change them, e.g.
    # - {{ name: ng-daskhub-services, instance_types: [t3a.medium], min: 1, max: 3, desired: 1,
    #     labels: {{ hub.jupyter.org/node-purpose: core }} }}
  storage:
    efs: {{ retain: true }}        # user home directories; kept by destroy --keep-retained
    shared_bucket: {{ retain: true }}
  auth:
    cognito:
      domain_prefix: {prefix}    # <prefix>.auth.<region>.amazoncognito.com; unique in the region
      admin: {{ username: {admin}, email: {email} }}   # invited by email
  dns:
    hosted_zone: {zone}        # ROUTE53_HOSTED_ZONE: must already exist in Route 53
    record: {record}                # ROUTE53_DASKHUB_PREFIX: the hub is https://<record>.<zone>
    # tls: acm                     # HTTPS: an ACM certificate validated in the zone (default);
                                   # letsencrypt: the chart's autohttps, as the seed ran it
  hub:
    namespace: {namespace}
    chart_version: 2022.8.2
    {image}
    admin_users: [{admin}]
"#,
        name = scalar(&v.name),
        region = scalar(&v.region),
        cluster = scalar(&v.cluster),
        prefix = scalar(&prefix),
        admin = scalar(&v.admin),
        email = scalar(&v.email),
        zone = scalar(&v.hosted_zone),
        record = scalar(&v.record),
        namespace = scalar(&v.namespace),
        image = match &v.image {
            Some(i) => format!("image: {}", scalar(i)),
            None => "# image: the HelioCloud notebook image by default; your own: image: REPO:TAG"
                .to_string(),
        },
    )
}

/// A Cognito domain prefix from the stack name: lower case, digits, hyphens; Cognito refuses
/// prefixes with "aws", "amazon" or "cognito".
fn cognito_prefix(name: &str) -> String {
    let p: String = name
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let p = p
        .replace("aws", "a-w-s")
        .replace("amazon", "amzn")
        .replace("cognito", "cgnt");
    let p = p.trim_matches('-');
    if p.is_empty() {
        "helio".into()
    } else {
        p.to_string()
    }
}

pub fn run(file: &Path, args: &InitArgs) -> Result<Exit> {
    if !hdh_schema::valid_stack_name(&args.name) {
        return Err(user_error(format!(
            "`{}` is not a valid stack name (lower-case letters, digits and hyphens)",
            args.name
        )));
    }
    if let Some(r) = args
        .region
        .as_deref()
        .filter(|r| !hdh_schema::valid_region(r))
    {
        return Err(user_error(format!("`{r}` is not an AWS region name")));
    }
    let region_given = args.region.is_some();
    let mut values = Values::defaults(&args.name, args.region.as_deref().unwrap_or("us-east-1"));
    let mut report = String::new();
    if let Some(from) = &args.from {
        let text = std::fs::read_to_string(from)
            .map_err(|e| user_error(format!("could not read {}: {e}", from.display())))?;
        let vars = parse_app_config(&text);
        if vars.is_empty() {
            return Err(UserError::new(format!(
                "{} sets no variables (expected KEY=value lines like EKS_NAME=eks-helio)",
                from.display()
            ))
            .hint("nothing was written")
            .into());
        }
        let m = apply_variables(&vars, &mut values, region_given);
        let _ = writeln!(report, "From {}:", from.display());
        for (key, value, target) in &m.used {
            let _ = writeln!(report, "  {key}={value} → {target}");
        }
        if !m.unused.is_empty() {
            let _ = writeln!(report, "Not used:");
            for (key, why) in &m.unused {
                let _ = writeln!(report, "  {key}: {why}");
            }
        }
    }
    let text = render(&values, args.from.as_deref());
    // What init writes must pass `hdh validate`; a value from app.config that hdh refuses
    // (a cluster name with dots, say) is reported against the file about to be written, and
    // nothing is written.
    let providers = crate::session::providers_for(&crate::session::base_dir(file));
    if let Err(diags) = hdh_schema::parse_str(
        &text,
        &file.display().to_string(),
        &crate::session::base_dir(file),
        &providers,
    ) {
        print!("{report}");
        eprintln!(
            "{} was not written: with these values it would not pass `hdh validate`:",
            file.display()
        );
        return Err(crate::session::ConfigErrors(diags).into());
    }
    write_new(file, &text, args.force)?;
    print!("{report}");
    let defaulted: Vec<&str> = [
        (
            values.hosted_zone == "example.org",
            "daskhub.dns.hosted_zone",
        ),
        (
            values.email == "admin@example.org",
            "daskhub.auth.cognito.admin.email",
        ),
    ]
    .iter()
    .filter(|(d, _)| *d)
    .map(|(_, k)| *k)
    .collect();
    println!("Wrote {} for stack {}.", file.display(), values.name);
    if !defaulted.is_empty() {
        println!(
            "Still placeholders (example.org): {}; set them before `hdh plan`.",
            defaulted.join(", ")
        );
    }
    println!(
        "Next: hdh validate -f {0}, then hdh plan -f {0}.",
        file.display()
    );
    Ok(Exit::Ok)
}

/// Writes `text` to `path`, refusing an existing file unless `force`; never leaves a half
/// written file (temporary file, then rename).
fn write_new(path: &Path, text: &str, force: bool) -> Result<()> {
    if !force && path.exists() {
        return Err(UserError::new(format!("{} already exists", path.display()))
            .hint("nothing was written; use --force to replace it, or -f to write another file")
            .into());
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let mut tmp = tempfile_in(&dir)?;
    tmp.1.write_all(text.as_bytes())?;
    tmp.1.sync_all()?;
    let result = if force {
        std::fs::rename(&tmp.0, path)
    } else {
        // Fails if the file appeared meanwhile: never replaces one without --force.
        std::fs::hard_link(&tmp.0, path).and_then(|()| std::fs::remove_file(&tmp.0))
    };
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp.0);
        user_error(format!("could not write {}: {e}", path.display()))
    })
}

fn tempfile_in(dir: &Path) -> Result<(std::path::PathBuf, std::fs::File)> {
    let path = dir.join(format!(".hdh-init.{}.tmp", std::process::id()));
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| user_error(format!("could not write in {}: {e}", dir.display())))?;
    Ok((path, file))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_config_values_are_read_as_the_shell_would() {
        let vars = parse_app_config(
            "# comment\nexport EKS_NAME=eks-alola\nNAMESPACE=\"tapu fini\"\nZONE='$LIT'\n\
             ROUTE53_HOSTED_ZONE=ludicolo.org # the zone\nURL=${ROUTE53_HOSTED_ZONE}/x\n\
             AWS_REGION=$(curl -s http://169.254.169.254/)\nBAD=$NOPE\n",
        );
        assert_eq!(vars["EKS_NAME"], Ok("eks-alola".into()));
        assert_eq!(vars["NAMESPACE"], Ok("tapu fini".into()));
        assert_eq!(vars["ZONE"], Ok("$LIT".into()));
        assert_eq!(vars["ROUTE53_HOSTED_ZONE"], Ok("ludicolo.org".into()));
        assert_eq!(vars["URL"], Ok("ludicolo.org/x".into()));
        assert!(vars["AWS_REGION"]
            .as_ref()
            .unwrap_err()
            .contains("shell command"));
        assert!(vars["BAD"].as_ref().unwrap_err().contains("$NOPE"));
    }

    #[test]
    fn scalars_read_back_as_the_same_string() {
        assert_eq!(scalar("eks-helio"), "eks-helio");
        assert_eq!(scalar("yes"), "\"yes\"");
        assert_eq!(scalar("1.31"), "\"1.31\"");
        assert_eq!(scalar("public.ecr.aws/a/b:1"), "\"public.ecr.aws/a/b:1\"");
        assert_eq!(cognito_prefix("AWS_Helio"), "a-w-s-helio");
    }
}
