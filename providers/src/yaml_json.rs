//! A YAML tree as JSON, the one tree serde and the value comparisons read: helm's values read
//! back, and the providers' declarations. Keys that are not strings become their JSON text.

use serde_json::Value as J;
use yaml_rust2::Yaml;

/// `y` as JSON: YAML 1.2 core scalars as JSON's; aliases and unreadable values as null.
pub(crate) fn json_of(y: &Yaml) -> J {
    match y {
        Yaml::Real(s) => s
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map_or_else(|| J::String(s.clone()), J::Number),
        Yaml::Integer(i) => J::from(*i),
        Yaml::String(s) => J::String(s.clone()),
        Yaml::Boolean(b) => J::Bool(*b),
        Yaml::Array(items) => J::Array(items.iter().map(json_of).collect()),
        Yaml::Hash(h) => J::Object(
            h.iter()
                .map(|(k, v)| {
                    let key = match json_of(k) {
                        J::String(s) => s,
                        other => other.to_string(),
                    };
                    (key, json_of(v))
                })
                .collect(),
        ),
        Yaml::Null | Yaml::BadValue | Yaml::Alias(_) => J::Null,
    }
}
