//! What hdh applied compared with what the cluster has: equality as the API server and helm
//! mean it, and the part of a live object hdh manages.
//!
//! Invariant: only fields hdh wrote can drift. A live object is seen through the manifest hdh
//! applied (`managed_view`): every field the server adds or defaults (status, uid,
//! resourceVersion, managedFields, creationTimestamp, defaulted spec fields, labels and
//! annotations other controllers set) is outside that view, so it never shows as a change.

use serde_json::{Map, Value as J};

/// Equal as the tools mean it: numbers by value (helm reads every number as a float, so `1.0`
/// comes back as `1`), nothing the same as an empty map.
pub(crate) fn same(a: &J, b: &J) -> bool {
    match (a, b) {
        (J::Null, J::Object(m)) | (J::Object(m), J::Null) => m.is_empty(),
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

/// `live` as far as `applied` reaches: the keys of `applied`'s maps (a key gone from the live
/// object is left out, so its removal shows), list items by position (items added to a list
/// hdh wrote are kept: the list is hdh's), scalars as they are live.
pub(crate) fn managed_view(live: &J, applied: &J) -> J {
    match (live, applied) {
        (J::Object(l), J::Object(a)) => J::Object(keys_like(l, a, managed_view)),
        (J::Array(l), J::Array(a)) => J::Array(
            l.iter()
                .enumerate()
                .map(|(i, lv)| {
                    a.get(i)
                        .map_or_else(|| lv.clone(), |av| managed_view(lv, av))
                })
                .collect(),
        ),
        _ => live.clone(),
    }
}

/// The keys of `like` that `live` has, in `like`'s order, each value made by `each` from the
/// live one and `like`'s.
pub(crate) fn keys_like(
    live: &Map<String, J>,
    like: &Map<String, J>,
    each: fn(&J, &J) -> J,
) -> Map<String, J> {
    like.iter()
        .filter_map(|(k, v)| Some((k.clone(), each(live.get(k)?, v))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn server_fields_are_outside_the_view_and_managed_ones_inside() {
        let applied = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "namespace": "n", "labels": {"app": "hub"}},
            "data": {"a": "1"}});
        let mut live = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "namespace": "n", "uid": "u", "resourceVersion": "7",
                         "creationTimestamp": "2026-01-01T00:00:00Z", "managedFields": [{"manager": "hdh"}],
                         "labels": {"app": "hub", "other": "x"}, "annotations": {"a": "b"}},
            "data": {"a": "1"}});
        assert!(same(&managed_view(&live, &applied), &applied));
        live["data"]["a"] = json!("2");
        assert_eq!(managed_view(&live, &applied)["data"]["a"], "2");
        live["metadata"]["labels"] = json!({"other": "x"});
        assert!(managed_view(&live, &applied)["metadata"].get("labels") == Some(&json!({})));
    }

    #[test]
    fn numbers_compare_by_value_and_lists_by_position() {
        assert!(same(&json!({"a": [1, 2.0]}), &json!({"a": [1.0, 2]})));
        assert!(!same(&json!([1, 2]), &json!([2, 1])));
        assert!(same(&json!(null), &json!({})));
        let applied = json!({"args": ["a", {"x": 1}]});
        let live = json!({"args": ["a", {"x": 1, "defaulted": true}, "added"]});
        assert_eq!(
            managed_view(&live, &applied),
            json!({"args": ["a", {"x": 1}, "added"]})
        );
    }
}
