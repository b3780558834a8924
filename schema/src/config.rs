//! The config file's model (`version`, `name`, `region`, `state`, `tags`, `resources`,
//! `outputs`, `daskhub`) and the checks on the stack-level settings. Resources and outputs are
//! compiled by `compile`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hdh_engine::{Desired, GraphError, Providers, Value};

use crate::blueprint;
use crate::compile;
use crate::diag::{Location, Problems};
use crate::shape::{self, check_keys, get, get_entry, mismatch};
use crate::suggest;
use crate::yaml::{KeyNode, Node};

/// The config version this hdh reads.
pub const VERSION: i64 = 1;

// The allowed keys are declared in `keys.rs`, which `hdh schema` is generated from too.
use crate::keys::{names, BACKENDS, STATE_LOCAL, STATE_S3, TOP};

/// A loaded, validated config.
#[derive(Debug, Clone)]
pub struct Config {
    /// The config file as given to [`crate::load`] (or the file name given to
    /// [`crate::parse_str`]).
    pub path: PathBuf,
    /// The stack name: prefixes names and tags every resource (`hdh:stack`).
    pub name: String,
    pub region: String,
    /// Tags for every resource (never starting with `hdh:`).
    pub tags: BTreeMap<String, String>,
    pub state: StateConfig,
    /// The resources and outputs, as the engine's dependency graph.
    pub desired: Desired,
    /// Hex sha256 of the file's bytes, so a saved plan can tell whether its config changed.
    pub config_hash: String,
    /// The `daskhub:` blueprint as written; its resources are already in `desired`.
    pub daskhub: Option<Node>,
    /// Warnings every plan of this config shows (e.g. a hub without login).
    pub warnings: Vec<String>,
}

/// Where the stack's state lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateConfig {
    /// A local file; relative paths in the config are resolved against the config file's
    /// directory. Default: `.hdh/<name>.state.json` there.
    Local { path: PathBuf },
    /// An S3 object; `region` defaults to the stack's region.
    S3 {
        bucket: String,
        key: String,
        region: Option<String>,
        kms_key_id: Option<String>,
    },
}

/// 1–40 lowercase letters, digits and hyphens, starting with a letter.
pub fn valid_stack_name(s: &str) -> bool {
    (1..=40).contains(&s.len())
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Looks like an AWS region: `us-east-1`, `eu-central-2`, `us-gov-west-1`.
pub fn valid_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts[0].chars().all(|c| c.is_ascii_lowercase())
        && parts[1..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
        && parts
            .last()
            .is_some_and(|p| (1..=2).contains(&p.len()) && p.chars().all(|c| c.is_ascii_digit()))
}

/// S3 bucket naming rules: 3–63 lowercase letters, digits, dots and hyphens, starting and
/// ending with a letter or digit.
fn valid_bucket(s: &str) -> bool {
    let edge = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    (3..=63).contains(&s.len())
        && s.starts_with(edge)
        && s.ends_with(edge)
        && s.chars().all(|c| edge(c) || c == '.' || c == '-')
        && !s.contains("..")
}

fn stack_name_hint(s: &str) -> Option<String> {
    let mut fixed: String = s
        .to_lowercase()
        .chars()
        .map(|c| {
            if c == '_' || c == ' ' || c == '.' {
                '-'
            } else {
                c
            }
        })
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')
        .collect();
    fixed = fixed
        .trim_start_matches(|c: char| !c.is_ascii_lowercase())
        .to_string();
    fixed.truncate(40);
    (valid_stack_name(&fixed) && fixed != s).then(|| format!("did you mean `{fixed}`?"))
}

fn region_hint(s: &str) -> String {
    let lower = s.to_lowercase();
    if let Some(region) = lower.strip_suffix(|c: char| c.is_ascii_lowercase()) {
        if valid_region(region) {
            return format!("`{s}` looks like an availability zone; its region is `{region}`");
        }
    }
    if lower != s && valid_region(&lower) {
        return format!("did you mean `{lower}`?");
    }
    "AWS regions look like `us-east-1` or `eu-west-2`".into()
}

/// Inputs to [`read`] besides the tree.
pub(crate) struct Source<'a> {
    pub path: PathBuf,
    pub base_dir: &'a Path,
    pub hash: String,
    pub types: &'a Providers,
}

/// Reads and checks the whole config. Every problem goes to `p`; a `Config` is returned only
/// when there were none.
pub(crate) fn read(root: &Node, src: Source<'_>, p: &mut Problems) -> Option<Config> {
    let Some(top) = root.as_map() else {
        p.error_hint(
            root.mark,
            format!(
                "the config must be a map of settings, found {}",
                root.describe()
            ),
            Some("start with `version: 1`, `name: …` and `region: …`".into()),
        );
        return None;
    };
    let start = Location::new(1, 1);
    let problems_before = p.len();

    // An unsupported version means the rest may follow other rules: report only that.
    match get(top, "version") {
        None => p.error_hint(
            start,
            "missing required key `version`",
            Some(format!("add `version: {VERSION}` at the top of the file")),
        ),
        Some(v) => match v.value() {
            Ok(Value::Number(n)) if n.as_i64() == Some(VERSION) => {}
            Ok(Value::Number(n)) if n.is_i64() || n.is_u64() => {
                p.error(
                    v.mark,
                    format!("unsupported config version {n}; this hdh reads version {VERSION}"),
                );
                return None;
            }
            _ => mismatch(p, v, "version", &format!("an integer ({VERSION})")),
        },
    }
    check_keys(p, top, &names(TOP), "at the top level");

    let name = match get(top, "name") {
        None => {
            p.error_hint(
                start,
                "missing required key `name` (the stack name)",
                Some("add e.g. `name: helio-prod`: lowercase letters, digits and hyphens".into()),
            );
            None
        }
        Some(n) => shape::string(p, n, "name").and_then(|s| {
            if valid_stack_name(s) {
                Some(s.to_string())
            } else {
                p.error_hint(
                    n.mark,
                    format!(
                        "invalid stack name `{s}`: expected 1–40 lowercase letters, digits or hyphens, \
                         starting with a letter"
                    ),
                    stack_name_hint(s),
                );
                None
            }
        }),
    };
    let region = match get(top, "region") {
        None => {
            p.error_hint(
                start,
                "missing required key `region` (the AWS region)",
                Some("add e.g. `region: us-east-1`".into()),
            );
            None
        }
        Some(n) => shape::string(p, n, "region").and_then(|s| {
            if valid_region(s) {
                Some(s.to_string())
            } else {
                p.error_hint(
                    n.mark,
                    format!("invalid region `{s}`: expected an AWS region such as `us-east-1`"),
                    Some(region_hint(s)),
                );
                None
            }
        }),
    };
    // Placeholders keep the checks below going when name or region are wrong.
    let (name_s, region_s) = (
        name.as_deref().unwrap_or("stack"),
        region.as_deref().unwrap_or("region"),
    );

    let tags = get(top, "tags")
        .map(|t| read_tags(p, t, name_s, region_s))
        .unwrap_or_default();
    let state = read_state(p, get_entry(top, "state"), name_s, region_s, src.base_dir);
    let daskhub = get(top, "daskhub").and_then(|d| shape::map(p, d, "daskhub").map(|_| d.clone()));
    let expanded = daskhub
        .as_ref()
        .and_then(|d| blueprint::expand(p, d, name_s, region_s, src.types));
    let blueprint_types: Vec<(String, String)> = expanded
        .iter()
        .flat_map(|e| e.resources.iter())
        .map(|r| (r.address.clone(), r.type_name.clone()))
        .collect();
    let cx = compile::Context {
        name: name_s,
        region: region_s,
        types: src.types,
        blueprint: &blueprint_types,
    };
    if let (Some(e), Some((k, _))) = (&expanded, get_entry(top, "daskhub")) {
        compile::check_built(p, k.mark, &e.resources, &cx);
    }
    let mut compiled = compile::compile(p, get_entry(top, "resources"), get(top, "outputs"), &cx);
    if let Some((_, node)) = get_entry(top, "resources") {
        let stack = crate::rules::props::Stack {
            name: name_s,
            region: region_s,
        };
        let blueprint_specs = expanded.as_ref().map_or(&[][..], |e| &e.resources[..]);
        let entries = node.as_map().unwrap_or(&[]);
        crate::rules::props::check_subnets(p, entries, blueprint_specs, &stack);
    }
    let mut warnings = Vec::new();
    if let Some(e) = expanded {
        compiled.resources.extend(e.resources);
        for (k, v) in e.outputs {
            compiled.outputs.entry(k).or_insert(v);
        }
        warnings = e.warnings;
    }

    if p.len() > problems_before {
        compile::check_cycles(p, &compiled);
        return None;
    }
    let (name, region, state) = (name?, region?, state?);
    let locations = compiled.locations;
    let desired = match Desired::new(
        &name,
        &region,
        tags.clone(),
        compiled.resources,
        compiled.outputs,
    ) {
        Ok(d) => d,
        Err(GraphError::Cycle { cycles }) => {
            compile::report_cycles(p, &cycles, &locations);
            return None;
        }
        Err(e) => {
            // compile has checked everything else Desired checks; this is a safety net.
            p.error(start, e.to_string());
            return None;
        }
    };
    Some(Config {
        path: src.path,
        name,
        region,
        tags,
        state,
        desired,
        config_hash: src.hash,
        daskhub,
        warnings,
    })
}

fn read_tags(p: &mut Problems, node: &Node, name: &str, region: &str) -> BTreeMap<String, String> {
    let mut tags = BTreeMap::new();
    let Some(entries) = shape::map(p, node, "tags") else {
        return tags;
    };
    for (k, v) in entries {
        if k.text.starts_with("hdh:") {
            p.error_hint(
                k.mark,
                format!(
                    "tag key `{}` is reserved: keys starting with `hdh:` are set by hdh",
                    k.text
                ),
                Some("choose another key".into()),
            );
        } else if k.text.is_empty() || k.text.chars().count() > 128 {
            p.error(k.mark, "tag keys must be 1–128 characters long");
        }
        let what = format!("tags.{}", k.text);
        if let Some(value) = shape::template(p, v, &what, name, region) {
            if value.chars().count() > 256 {
                p.error(
                    v.mark,
                    format!("`{what}`: tag values must be at most 256 characters long"),
                );
            }
            tags.insert(k.text.clone(), value);
        }
    }
    tags
}

fn read_state(
    p: &mut Problems,
    entry: Option<(&KeyNode, &Node)>,
    name: &str,
    region: &str,
    base_dir: &Path,
) -> Option<StateConfig> {
    let default_path = || base_dir.join(".hdh").join(format!("{name}.state.json"));
    let Some((state_key, node)) = entry else {
        return Some(StateConfig::Local {
            path: default_path(),
        });
    };
    if node.as_map().is_none() {
        if let Some(backend) = node.as_str().filter(|b| BACKENDS.contains(b)) {
            p.error_hint(
                node.mark,
                "`state`: expected a map, found a string",
                Some(format!(
                    "write `state: {{ backend: {backend} }}` plus the backend's settings"
                )),
            );
            return None;
        }
    }
    let entries = shape::map(p, node, "state")?;
    let backend = match get(entries, "backend") {
        None => {
            p.error_hint(
                state_key.mark,
                "missing required key `backend` in `state`",
                Some(format!("backends: {}", suggest::list(BACKENDS))),
            );
            return None;
        }
        Some(b) => {
            let s = shape::string(p, b, "state.backend")?;
            if !BACKENDS.contains(&s) {
                p.error_hint(
                    b.mark,
                    format!("unknown state backend `{s}`: expected `local` or `s3`"),
                    Some(match suggest::closest(s, BACKENDS.iter().copied()) {
                        Some(g) => format!("did you mean `{g}`?"),
                        None => {
                            "`local` keeps state in a file beside the config, `s3` in an S3 bucket"
                                .into()
                        }
                    }),
                );
                return None;
            }
            s
        }
    };
    let text = |p: &mut Problems, key: &str| {
        get(entries, key).and_then(|n| {
            shape::template(p, n, &format!("state.{key}"), name, region).map(|s| (s, n))
        })
    };
    if backend == "local" {
        check_keys(
            p,
            entries,
            &names(STATE_LOCAL),
            "in `state` (backend `local`)",
        );
        let path = match text(p, "path") {
            None if get(entries, "path").is_some() => return None,
            None => default_path(),
            Some((s, n)) if s.is_empty() => {
                p.error(
                    n.mark,
                    "`state.path`: expected a file path, found an empty string",
                );
                return None;
            }
            Some((s, _)) => base_dir.join(s),
        };
        return Some(StateConfig::Local { path });
    }

    check_keys(p, entries, &names(STATE_S3), "in `state` (backend `s3`)");
    let required = |p: &mut Problems, key: &str, example: &str| match get(entries, key) {
        None => {
            p.error_hint(
                state_key.mark,
                format!("missing required key `{key}` in `state` (backend `s3`)"),
                Some(format!("add e.g. `{key}: {example}`")),
            );
            None
        }
        Some(_) => text(p, key),
    };
    let bucket = required(p, "bucket", "my-hdh-state");
    let key = required(p, "key", &format!("{name}.json"));
    let s3_region = text(p, "region");
    let kms = text(p, "kms_key_id");
    let mut ok = bucket.is_some() && key.is_some();
    if let Some((b, n)) = &bucket {
        if !valid_bucket(b) {
            p.error(
                n.mark,
                format!(
                    "invalid S3 bucket name `{b}`: expected 3–63 lowercase letters, digits, dots or \
                     hyphens, starting and ending with a letter or digit"
                ),
            );
            ok = false;
        }
    }
    if let Some((k, n)) = &key {
        if k.is_empty() || k.starts_with('/') {
            p.error(
                n.mark,
                format!(
                    "invalid S3 key `{k}`: expected a non-empty object key not starting with `/`"
                ),
            );
            ok = false;
        }
    }
    if let Some((r, n)) = &s3_region {
        if !valid_region(r) {
            p.error_hint(
                n.mark,
                format!("invalid region `{r}`: expected an AWS region such as `us-east-1`"),
                Some(region_hint(r)),
            );
            ok = false;
        }
    }
    if let Some((k, n)) = &kms {
        if k.is_empty() {
            p.error(
                n.mark,
                "`state.kms_key_id`: expected a KMS key id, ARN or alias, found an empty string",
            );
            ok = false;
        }
    }
    let dropped = (get(entries, "region").is_some() && s3_region.is_none())
        || (get(entries, "kms_key_id").is_some() && kms.is_none());
    (ok && !dropped).then(|| StateConfig::S3 {
        bucket: bucket.map(|b| b.0).unwrap_or_default(),
        key: key.map(|k| k.0).unwrap_or_default(),
        region: s3_region.map(|r| r.0),
        kms_key_id: kms.map(|k| k.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stack_names() {
        for ok in ["a", "helio-prod", "x1", &"a".repeat(40)] {
            assert!(valid_stack_name(ok), "{ok}");
        }
        for bad in ["", "1abc", "Helio", "helio_prod", "-a", &"a".repeat(41)] {
            assert!(!valid_stack_name(bad), "{bad}");
        }
        assert_eq!(
            stack_name_hint("Helio_Prod").as_deref(),
            Some("did you mean `helio-prod`?")
        );
    }

    #[test]
    fn regions() {
        for ok in [
            "us-east-1",
            "eu-central-2",
            "us-gov-west-1",
            "ap-southeast-4",
        ] {
            assert!(valid_region(ok), "{ok}");
        }
        for bad in [
            "us-east",
            "useast1",
            "US-EAST-1",
            "us-east-1a",
            "us--1",
            "u-east-1",
            "",
        ] {
            assert!(!valid_region(bad), "{bad}");
        }
        assert!(region_hint("us-east-1a").contains("availability zone"));
        assert_eq!(region_hint("US-EAST-1"), "did you mean `us-east-1`?");
    }

    #[test]
    fn buckets() {
        assert!(valid_bucket("helio-hdh-state"));
        assert!(!valid_bucket("Helio"));
        assert!(!valid_bucket("ab"));
        assert!(!valid_bucket("a..b"));
        assert!(!valid_bucket("-ab"));
    }
}

#[cfg(test)]
mod read_tests {
    use std::path::Path;

    use crate::test_types::providers;
    use crate::StateConfig;

    fn load(text: &str) -> Result<crate::Config, Vec<String>> {
        crate::parse_str(text, "t.yaml", Path::new("/stacks/demo"), &providers()).map_err(|d| {
            d.iter()
                .map(|d| format!("{}:{} {}", d.line, d.column, d.message))
                .collect()
        })
    }

    const HEAD: &str = "version: 1\nname: demo\nregion: us-east-1\n";

    #[test]
    fn local_state_defaults_beside_the_config() {
        let c = load(HEAD).unwrap();
        assert_eq!(
            c.state,
            StateConfig::Local {
                path: "/stacks/demo/.hdh/demo.state.json".into()
            }
        );
        let c = load(&format!(
            "{HEAD}state: {{ backend: local, path: \"state/${{name}}.json\" }}\n"
        ))
        .unwrap();
        assert_eq!(
            c.state,
            StateConfig::Local {
                path: "/stacks/demo/state/demo.json".into()
            }
        );
        let c = load(&format!(
            "{HEAD}state: {{ backend: local, path: /var/hdh.json }}\n"
        ))
        .unwrap();
        assert_eq!(
            c.state,
            StateConfig::Local {
                path: "/var/hdh.json".into()
            }
        );
    }

    #[test]
    fn s3_state_is_parsed_and_checked() {
        let c = load(&format!(
            "{HEAD}state: {{ backend: s3, bucket: b-state, key: k.json }}\n"
        ))
        .unwrap();
        assert_eq!(
            c.state,
            StateConfig::S3 {
                bucket: "b-state".into(),
                key: "k.json".into(),
                region: None,
                kms_key_id: None
            }
        );
        let e = load(&format!(
            "{HEAD}state: {{ backend: s3, bucket: B, key: /k, region: mars-1, kms_key_id: \"\", path: x }}\n"
        ))
        .unwrap_err();
        assert_eq!(e.len(), 5, "{e:?}");
        assert!(e[0].starts_with("4:31 invalid S3 bucket name `B`"), "{e:?}");
        assert!(e[1].starts_with("4:39 invalid S3 key `/k`"), "{e:?}");
        assert!(e[2].starts_with("4:51 invalid region `mars-1`"), "{e:?}");
        assert!(e[3].starts_with("4:71 `state.kms_key_id`"), "{e:?}");
        assert!(
            e[4].starts_with("4:75 unknown key `path` in `state` (backend `s3`)"),
            "{e:?}"
        );
    }

    #[test]
    fn state_as_a_bare_backend_name_gets_a_hint() {
        let text = format!("{HEAD}state: s3\n");
        let d = crate::parse_str(&text, "t.yaml", Path::new("."), &providers()).unwrap_err();
        assert_eq!(
            d.0[0].hint.as_deref(),
            Some("write `state: { backend: s3 }` plus the backend's settings")
        );
    }

    #[test]
    fn state_cannot_reference_resources() {
        let e = load(&format!(
            "{HEAD}state: {{ backend: local, path: \"${{a.id}}\" }}\n"
        ))
        .unwrap_err();
        assert_eq!(e, ["4:33 `state.path` cannot reference resources"]);
    }

    #[test]
    fn tags_must_be_strings() {
        let e = load(&format!("{HEAD}tags: {{ Version: 2, Team: [a] }}\n")).unwrap_err();
        assert_eq!(
            e,
            [
                "4:18 `tags.Version`: expected a string, found an integer",
                "4:27 `tags.Team`: expected a string, found a list"
            ]
        );
    }

    #[test]
    fn the_top_level_must_be_a_map_with_the_required_keys() {
        assert_eq!(
            load("- a\n").unwrap_err(),
            ["1:1 the config must be a map of settings, found a list"]
        );
        assert_eq!(
            load("tags: {}\n").unwrap_err(),
            [
                "1:1 missing required key `version`",
                "1:1 missing required key `name` (the stack name)",
                "1:1 missing required key `region` (the AWS region)",
            ]
        );
        assert_eq!(
            load("version: \"1\"\nname: demo\nregion: us-east-1\n").unwrap_err(),
            ["1:10 `version`: expected an integer (1), found a string"]
        );
    }

    #[test]
    fn an_unsupported_version_hides_other_errors() {
        assert_eq!(
            load("version: 3\nname: Bad Name\nfoo: 1\n").unwrap_err(),
            ["1:10 unsupported config version 3; this hdh reads version 1"]
        );
    }

    #[test]
    fn daskhub_must_be_a_map_and_is_kept() {
        let c = load(&format!(
            "{HEAD}daskhub:\n  allow_unauthenticated: true\n  dns: {{ hosted_zone: example.org }}\n"
        ))
        .unwrap();
        assert!(c.daskhub.is_some());
        assert!(c.desired.get("daskhub.network.vpc").is_some());
        assert_eq!(
            load(&format!("{HEAD}daskhub: yes\n")).unwrap_err(),
            ["4:10 `daskhub`: expected a map, found a string"]
        );
    }

    #[test]
    fn the_hash_is_of_the_bytes() {
        let c = load(HEAD).unwrap();
        assert_eq!(c.config_hash, crate::config_hash(HEAD.as_bytes()));
        assert_ne!(
            c.config_hash,
            load(&format!("{HEAD}# comment\n")).unwrap().config_hash
        );
    }
}
