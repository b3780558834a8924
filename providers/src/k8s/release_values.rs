//! A Helm release's user values as hdh applied them versus as the cluster has them, so a manual
//! `helm upgrade` shows as drift in the `values` text (a line diff in the plan) and in
//! `sensitive_values` (shown only as changed).
//!
//! Invariant: a secret never reaches `values`. The live values (`helm get values -o json`: every
//! values file and `--set` merged) are split by the leaf paths of the applied `sensitive_values`;
//! what sits at those paths goes back to `sensitive_values`, only the rest is rendered as text.
//! When the live values mean the same as the applied ones, the applied text is kept byte for
//! byte, so an unchanged release never shows a formatting change.

use hdh_values_text::to_text;
use serde_json::{Map, Value as J};
use yaml_rust2::YamlLoader;

use crate::yaml_json::json_of;

use super::live::{keys_like, same};

/// Errors reading the applied values text back.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ValuesError {
    #[error("the applied values are not YAML: {reason}")]
    NotYaml { reason: String },
    #[error("the applied values are not a map of values (a {found})")]
    NotAMap { found: &'static str },
}

/// What drifted: `Some` replacement for `values` (text) and for `sensitive_values`.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Drifted {
    pub values: Option<String>,
    pub sensitive: Option<J>,
}

/// Compares the live user values with the applied text and secrets.
pub(crate) fn compare(
    applied_text: &str,
    applied_secret: &J,
    live: &J,
) -> Result<Drifted, ValuesError> {
    let applied = parse(applied_text)?;
    let mut public = live.clone();
    let mut secret = J::Null;
    for path in leaf_paths(applied_secret) {
        if let Some(v) = take(&mut public, &path) {
            put(&mut secret, &path, v);
        }
    }
    let mut out = Drifted::default();
    if !same(&public, &applied) {
        // In the blueprint's layout, so a drifted value shows as the lines that changed.
        out.values = Some(to_text(&ordered_like(&public, &applied)));
    }
    if !same(&secret, applied_secret) {
        out.sensitive = Some(secret);
    }
    Ok(out)
}

/// The values text as helm reads it (YAML; an empty text is no values).
pub(crate) fn parse(text: &str) -> Result<J, ValuesError> {
    let docs = YamlLoader::load_from_str(text).map_err(|e| ValuesError::NotYaml {
        reason: e.to_string(),
    })?;
    let v = docs.first().map(json_of).unwrap_or(J::Null);
    match v {
        J::Null | J::Object(_) => Ok(v),
        other => Err(ValuesError::NotAMap {
            found: kind(&other),
        }),
    }
}

fn kind(v: &J) -> &'static str {
    match v {
        J::Null => "null",
        J::Bool(_) => "boolean",
        J::Number(_) => "number",
        J::String(_) => "string",
        J::Array(_) => "list",
        J::Object(_) => "map",
    }
}

/// Every path to a value that is not a non-empty map.
fn leaf_paths(v: &J) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    fn walk(v: &J, at: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
        match v {
            J::Object(m) if !m.is_empty() => {
                for (k, inner) in m {
                    at.push(k.clone());
                    walk(inner, at, out);
                    at.pop();
                }
            }
            J::Null if at.is_empty() => {}
            _ => out.push(at.clone()),
        }
    }
    walk(v, &mut Vec::new(), &mut out);
    out
}

/// Removes the value at `path`, and the maps its removal left empty.
fn take(v: &mut J, path: &[String]) -> Option<J> {
    let (head, rest) = path.split_first()?;
    let m = v.as_object_mut()?;
    let found = if rest.is_empty() {
        m.shift_remove(head)
    } else {
        let inner = m.get_mut(head)?;
        let found = take(inner, rest);
        if inner.as_object().is_some_and(Map::is_empty) {
            m.shift_remove(head);
        }
        found
    };
    found
}

fn put(v: &mut J, path: &[String], value: J) {
    let Some((head, rest)) = path.split_first() else {
        *v = value;
        return;
    };
    if !v.is_object() {
        *v = J::Object(Map::new());
    }
    let slot = v
        .as_object_mut()
        .expect("made a map above")
        .entry(head.clone())
        .or_insert(J::Null);
    put(slot, rest, value);
}

/// `live` with its keys in `like`'s order (new keys after them), so the text rendered from it
/// differs from the applied text only where the values do.
fn ordered_like(live: &J, like: &J) -> J {
    match (live, like) {
        (J::Object(l), J::Object(o)) => {
            let mut out = keys_like(l, o, ordered_like);
            for (k, lv) in l {
                out.entry(k.clone()).or_insert_with(|| lv.clone());
            }
            J::Object(out)
        }
        _ => live.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const APPLIED: &str = "jupyterhub:\n  cull:\n    enabled: true\n    timeout: 3600\n  hub:\n    image: \"x\"\nlist: [1, 2]\n";

    fn secret() -> J {
        json!({"jupyterhub": {"proxy": {"secretToken": "s3cr3t"}}, "gw": {"token": "s3cr3t"}})
    }

    fn live_as_applied() -> J {
        json!({"gw": {"token": "s3cr3t"}, "jupyterhub": {"cull": {"enabled": true, "timeout": 3600.0},
               "hub": {"image": "x"}, "proxy": {"secretToken": "s3cr3t"}}, "list": [1, 2]})
    }

    #[test]
    fn the_same_values_are_no_drift_whatever_their_order_and_number_form() {
        assert_eq!(
            compare(APPLIED, &secret(), &live_as_applied()).unwrap(),
            Drifted::default()
        );
        assert_eq!(compare("", &J::Null, &J::Null).unwrap(), Drifted::default());
        assert_eq!(
            compare("", &J::Null, &json!({})).unwrap(),
            Drifted::default()
        );
    }

    #[test]
    fn a_changed_value_is_the_applied_text_with_that_line_changed_and_no_secret() {
        let mut live = live_as_applied();
        live["jupyterhub"]["cull"]["timeout"] = json!(7777);
        let d = compare(APPLIED, &secret(), &live).unwrap();
        assert_eq!(
            d.values.as_deref(),
            Some(APPLIED.replace("3600", "7777").as_str())
        );
        assert_eq!(d.sensitive, None);
        assert!(!d.values.unwrap().contains("s3cr3t"));
    }

    #[test]
    fn a_changed_secret_goes_to_the_sensitive_values_only() {
        let mut live = live_as_applied();
        live["jupyterhub"]["proxy"]["secretToken"] = json!("n3w");
        let d = compare(APPLIED, &secret(), &live).unwrap();
        assert_eq!(d.values, None);
        let mut want = secret();
        want["jupyterhub"]["proxy"]["secretToken"] = json!("n3w");
        assert_eq!(d.sensitive, Some(want));
        // A removed secret is drift too.
        live["gw"] = json!({});
        let d = compare(APPLIED, &secret(), &live).unwrap();
        assert_eq!(
            d.sensitive,
            Some(json!({"jupyterhub": {"proxy": {"secretToken": "n3w"}}}))
        );
    }

    #[test]
    fn text_that_is_not_a_map_of_values_is_refused() {
        assert!(matches!(
            parse("a: [").unwrap_err(),
            ValuesError::NotYaml { .. }
        ));
        assert!(matches!(
            parse("- 1").unwrap_err(),
            ValuesError::NotAMap { found: "list" }
        ));
    }

    #[test]
    fn rendered_values_read_back_as_they_were() {
        let v = json!({"a": {"b": "x", "c": [1, 2], "d": [{"e": 1}], "yes": true}});
        assert_eq!(parse(&to_text(&v)).unwrap(), v);
    }
}
