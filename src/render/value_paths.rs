//! The leaves that differ between two YAML texts (Helm values), as `a.b.c: old → new`, so a
//! plan names each changed key path above the line diff (where the diff's context may not
//! show which map a changed line is in).

use hdh_engine::Value;

/// At most this many paths are named; the rest are counted.
const SHOWN: usize = 20;

/// `path: before → after` per changed leaf, or `None` when either side is not a YAML map (the
/// line diff alone is shown then).
pub fn changed(before: &str, after: &str) -> Option<Vec<String>> {
    let (b, a) = (parse(before)?, parse(after)?);
    let mut out = Vec::new();
    walk(Some(&b), Some(&a), "", &mut out);
    if out.len() > SHOWN {
        let more = out.len() - SHOWN;
        out.truncate(SHOWN);
        out.push(format!("… and {more} more"));
    }
    Some(out)
}

fn parse(text: &str) -> Option<Value> {
    let (node, problems) = hdh_schema::yaml::parse(text);
    if !problems.is_empty() {
        return None;
    }
    match node.map(|n| n.value()) {
        None => Some(Value::Map(Default::default())),
        Some(Ok(v @ Value::Map(_))) => Some(v),
        Some(Ok(Value::Null)) => Some(Value::Map(Default::default())),
        _ => None,
    }
}

fn walk(b: Option<&Value>, a: Option<&Value>, path: &str, out: &mut Vec<String>) {
    match (b, a) {
        (Some(Value::Map(x)), Some(Value::Map(y))) => {
            let keys = x.keys().chain(y.keys().filter(|k| !x.contains_key(*k)));
            for k in keys {
                let key = if k.contains('.') || k.is_empty() {
                    format!("{k:?}")
                } else {
                    k.clone()
                };
                let at = if path.is_empty() {
                    key
                } else {
                    format!("{path}.{key}")
                };
                walk(x.get(k), y.get(k), &at, out);
            }
        }
        (x, y) if x == y => {}
        _ => {
            let show = |v: Option<&Value>| v.map_or_else(|| "(none)".to_string(), Value::to_string);
            out.push(format!("{path}: {} → {}", show(b), show(a)));
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn each_changed_leaf_is_named_by_its_path() {
        let before = "jupyterhub:\n  cull:\n    enabled: true\n    timeout: 7777\n  x: 1\n";
        let after = "jupyterhub:\n  cull:\n    enabled: true\n    timeout: 3600\nproxy:\n  \"a.b\": \"c\"\n";
        assert_eq!(
            super::changed(before, after).unwrap(),
            [
                "jupyterhub.cull.timeout: 7777 → 3600",
                "jupyterhub.x: 1 → (none)",
                "proxy: (none) → {a.b: \"c\"}",
            ]
        );
        assert_eq!(super::changed("a: [", "a: 1"), None);
    }
}
