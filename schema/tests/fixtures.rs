//! Every malformed fixture's diagnostics, as the user would see them (insta snapshots), and the
//! valid fixtures compiled into the engine's desired state.

#[path = "../src/test_types.rs"]
mod test_types;

use std::path::{Path, PathBuf};

use hdh_engine::{Expr, Part, Reference, Value};
use hdh_schema::{parse_str, StateConfig};

fn fixtures(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures")
        .join(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

fn name_of(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

/// The numbered fixtures (`NN-…`) use only the test types, so the library alone checks them
/// here; the whole corpus, with every provider's types, goes through the binary in
/// `tests/malformed.rs`.
#[test]
fn malformed_fixtures_report_located_errors() {
    let types = test_types::providers();
    let files: Vec<PathBuf> = fixtures("malformed")
        .into_iter()
        .filter(|p| name_of(p).starts_with(|c: char| c.is_ascii_digit()))
        .collect();
    assert!(files.len() >= 18, "only {} malformed fixtures", files.len());
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let shown = format!("tests/fixtures/malformed/{}", name_of(&path));
        let err = match parse_str(&text, &shown, Path::new("tests/fixtures/malformed"), &types) {
            Ok(_) => panic!("{shown} was accepted"),
            Err(e) => e,
        };
        // Each fixture has exactly one mistake, and it is reported exactly once.
        assert_eq!(err.len(), 1, "{shown}:\n{err}");
        for d in err.iter() {
            assert!(d.line >= 1 && d.column >= 1, "{d}");
        }
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        insta::assert_snapshot!(stem, format!("{}\n---\n{err}", text.trim_end()));
    }
}

#[test]
fn valid_local_fixture_compiles_with_defaults_and_references() {
    let types = test_types::providers();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/valid/local.yaml");
    let config = hdh_schema::load(&path, &types).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.name, "local-demo");
    assert_eq!(config.region, "us-east-1");
    assert_eq!(config.tags["Stack"], "local-demo");
    let base = path.parent().unwrap();
    assert_eq!(
        config.state,
        StateConfig::Local {
            path: base.join(".hdh/local-demo.state.json")
        }
    );
    let d = &config.desired;
    let names: Vec<&str> = d.resources().iter().map(|r| r.address.as_str()).collect();
    assert_eq!(names, ["api_token", "cookie_secret", "hub_env"]);
    let cookie = d.get("cookie_secret").unwrap();
    assert_eq!(
        cookie.properties["bytes"],
        Expr::Literal(Value::int(32)),
        "default filled in"
    );
    let env = d.get("hub_env").unwrap();
    let r = |a: &str, b: &str| Reference {
        address: a.into(),
        attribute: b.into(),
    };
    assert_eq!(
        env.properties["content"],
        Expr::Interpolate(vec![
            Part::Text("API_TOKEN=".into()),
            Part::Ref(r("api_token", "value")),
            Part::Text("\nCOOKIE_SECRET=".into()),
            Part::Ref(r("cookie_secret", "value")),
            Part::Text("\nREGION=us-east-1\n".into()),
        ])
    );
    assert_eq!(
        env.dependencies().into_iter().collect::<Vec<_>>(),
        ["api_token".to_string(), "cookie_secret".to_string()]
    );
    assert_eq!(d.outputs["env_file"], Expr::Ref(r("hub_env", "path")));
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(config.config_hash, hdh_schema::config_hash(&bytes));
    assert_eq!(config.config_hash.len(), 64);
}

#[test]
fn valid_full_fixture_compiles() {
    let types = test_types::providers();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/valid/full.yaml");
    let config = hdh_schema::load(&path, &types).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        config.state,
        StateConfig::S3 {
            bucket: "helio-hdh-state".into(),
            key: "stacks/helio-prod.json".into(),
            region: Some("us-east-1".into()),
            kms_key_id: Some("alias/hdh-state".into()),
        }
    );
    assert!(config
        .daskhub
        .as_ref()
        .is_some_and(|n| n.get("network").is_some()));
    let d = &config.desired;
    let token = d.get("jupyterhub_token").unwrap();
    assert!(token.lifecycle.retain && token.lifecycle.protect);
    let readme = d.get("readme").unwrap();
    assert_eq!(readme.depends_on, ["jupyterhub_token"]);
    assert!(readme.lifecycle.create_before_destroy);
    assert_eq!(readme.lifecycle.ignore_changes, ["content", "mode"]);
    assert_eq!(
        readme.properties["content"],
        Expr::Literal(Value::str(
            "Stack helio-prod in us-west-2; costs $$5/day; literal ${HOME}\n"
        ))
    );
    assert_eq!(readme.properties["mode"], Expr::Literal(Value::str("0644")));
    assert!(matches!(d.outputs["files"], Expr::List(_)));
}

/// No input makes the loader panic: every prefix of a valid file, and every line removed.
#[test]
fn truncated_and_mangled_files_never_panic() {
    let types = test_types::providers();
    for path in fixtures("valid") {
        let text = std::fs::read_to_string(&path).unwrap();
        for (i, _) in text.char_indices() {
            let _ = parse_str(&text[..i], "t.yaml", Path::new("."), &types);
        }
        let lines: Vec<&str> = text.lines().collect();
        for skip in 0..lines.len() {
            let mangled: Vec<&str> = lines
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != skip)
                .map(|(_, l)| *l)
                .collect();
            let _ = parse_str(&mangled.join("\n"), "t.yaml", Path::new("."), &types);
        }
        // Swap characters for YAML's special ones at many positions.
        let chars: Vec<char> = text.chars().collect();
        for (n, special) in ['{', '[', ':', '-', '"', '\'', '$', '}', '\t', '&', '*', '!']
            .iter()
            .enumerate()
        {
            for i in (n..chars.len()).step_by(7) {
                let mut c = chars.clone();
                c[i] = *special;
                let s: String = c.into_iter().collect();
                let _ = parse_str(&s, "t.yaml", Path::new("."), &types);
            }
        }
    }
    let deep = format!(
        "version: 1\nname: a\nregion: us-east-1\noutputs:\n  x: {}",
        "[".repeat(100_000)
    );
    assert!(parse_str(&deep, "t.yaml", Path::new("."), &types).is_err());
}

#[test]
fn a_missing_file_is_a_whole_file_error() {
    let types = test_types::providers();
    let err = hdh_schema::load(Path::new("no/such/hdh.yaml"), &types).unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with("no/such/hdh.yaml: error: cannot read the config file: "),
        "{text}"
    );
}

/// A 10,000-resource config (each file referencing the previous file and a secret) loads.
#[test]
fn a_large_config_with_a_long_chain_loads_on_an_ordinary_stack() {
    // How fast is the plan_10k benchmark's business (`cargo bench -p hdh-bench`); this checks
    // that 10,000 resources in a 5,000-long dependency chain load at all on a test thread's
    // small stack: nothing on the way recurses once per link.
    let types = test_types::providers();
    let mut text = String::from("version: 1\nname: big\nregion: us-east-1\nresources:\n");
    for i in 0..5_000usize {
        text.push_str(&format!(
            "  s{i}:\n    type: random_secret\n    properties: {{ bytes: 16 }}\n  \
             f{i}:\n    type: local_file\n    properties:\n      path: \"out/{i}.txt\"\n      \
             content: \"${{s{i}.value}} ${{f{}.sha256}}\"\n",
            i.saturating_sub(1)
        ));
    }
    text = text.replace("${f0.sha256}", "first");
    let config =
        parse_str(&text, "big.yaml", Path::new("."), &types).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.desired.resources().len(), 10_000);
}
