//! The values text read back by helm's own parser (YAML 1.1, where `yes`, `on`, `1_000`, `0x1`
//! and dates are not strings when plain): `helm template` of a chart whose one template prints
//! `.Values` as JSON must give back exactly the values that were written. The real helm is the
//! one tests/emulator/ci-setup.sh extracts into the emulator's virtualenv.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value as J};

/// Strings that a YAML 1.1 reader takes for something else when they are written plain.
const TRICKY: &[&str] = &[
    "yes",
    "Yes",
    "no",
    "on",
    "ON",
    "off",
    "y",
    "n",
    "true",
    "null",
    "~",
    "",
    "1e3",
    "1.5",
    "0x1",
    "0o17",
    "017",
    "1_000",
    "+1",
    "-1",
    ".inf",
    ".nan",
    "2001-12-14",
    "2001-12-14T21:59:43Z",
    "*alias",
    "&anchor",
    "!tag",
    "!!str",
    "a: b",
    "key:",
    "- item",
    "# comment",
    "a #b",
    "[list]",
    "{map}",
    "|",
    ">",
    "%directive",
    "@at",
    "`tick",
    "'single'",
    "\"double\"",
    "back\\slash",
    "tab\there",
    "two\nlines\n",
    " leading",
    "trailing ",
    "${daskhub.auth.client.client_id}",
    "ünïcödé",
];

fn helm() -> PathBuf {
    let helm = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/emulator/.venv/tools/helm");
    assert!(
        helm.exists(),
        "{} is missing: run tests/emulator/ci-setup.sh (scripts/test does)",
        helm.display()
    );
    helm
}

/// What `helm template` gives for `.Values` when the values file holds `text`.
fn through_helm(text: &str) -> J {
    let dir = tempfile::tempdir().unwrap();
    let chart = dir.path().join("echo");
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(
        chart.join("Chart.yaml"),
        "apiVersion: v2\nname: echo\nversion: 0.1.0\n",
    )
    .unwrap();
    std::fs::write(
        chart.join("templates/values.yaml"),
        "values: {{ toJson .Values }}\n",
    )
    .unwrap();
    let values = dir.path().join("values.yaml");
    std::fs::write(&values, text).unwrap();
    let out = Command::new(helm())
        .arg("template")
        .arg("echo")
        .arg(&chart)
        .arg("-f")
        .arg(&values)
        .env("HELM_CACHE_HOME", dir.path().join("cache"))
        .env("HELM_CONFIG_HOME", dir.path().join("config"))
        .env("HELM_DATA_HOME", dir.path().join("data"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "helm template failed: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("values: "))
        .unwrap_or_else(|| panic!("no values line in {stdout}"));
    serde_json::from_str(line).unwrap()
}

/// Equal as helm's JSON has them: numbers compared by value (helm reads every number as a
/// float, so `4.0` comes back as `4`).
fn same(a: &J, b: &J) -> bool {
    match (a, b) {
        (J::Number(x), J::Number(y)) => x.as_f64() == y.as_f64(),
        (J::Array(x), J::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (J::Object(x), J::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

#[test]
fn tricky_strings_as_values_keys_and_list_items_come_back_as_the_same_strings() {
    let mut values = serde_json::Map::new();
    let mut as_keys = serde_json::Map::new();
    for (i, s) in TRICKY.iter().enumerate() {
        values.insert(format!("v{i}"), json!(s));
        if !s.is_empty() {
            as_keys.insert((*s).to_string(), json!(i));
        }
    }
    let v = json!({
        "values": values,
        "keys": as_keys,
        "list": TRICKY,
        "maps": [{"name": "yes", "on": "1e3", "nested": [{"x": "0x1"}]}],
        "numbers": {"int": 3600, "float": 3.2, "whole_float": 4.0, "negative": -1},
        "booleans": {"t": true, "f": false},
        "empty": {"map": {}, "list": []},
        "nothing": null,
    });
    let text = hdh_values_text::to_text(&v);
    let back = through_helm(&text);
    assert!(same(&back, &v), "written:\n{text}\nhelm read:\n{back:#}");
}

#[test]
fn each_tricky_string_is_written_double_quoted() {
    for s in TRICKY {
        let text = hdh_values_text::to_text(&json!({ "k": s }));
        assert!(text.starts_with("k: \""), "{s:?} → {text}");
    }
}
