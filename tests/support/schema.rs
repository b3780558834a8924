//! A JSON Schema validator for exactly the keywords docs/plan.schema.json uses (`type`,
//! `required`, `properties`, `additionalProperties: false`, `items`, `enum`, `const`,
//! `minimum`, local `$ref`), written here instead of pulling in a schema crate. Any other
//! keyword fails the test, so the schema cannot outgrow the validator unnoticed.

use serde_json::Value;

const ANNOTATIONS: &[&str] = &["$schema", "$id", "$defs", "title", "description"];
const KNOWN: &[&str] = &[
    "type",
    "required",
    "properties",
    "additionalProperties",
    "items",
    "enum",
    "const",
    "minimum",
    "$ref",
];

/// Every violation of `schema` by `doc`, as "path: problem".
pub fn validate(schema: &Value, doc: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    check(schema, schema, doc, "$", &mut errors);
    errors
}

fn check(root: &Value, schema: &Value, v: &Value, path: &str, errors: &mut Vec<String>) {
    let Some(s) = schema.as_object() else {
        errors.push(format!("{path}: schema is not an object"));
        return;
    };
    for key in s.keys() {
        if !KNOWN.contains(&key.as_str()) && !ANNOTATIONS.contains(&key.as_str()) {
            errors.push(format!(
                "{path}: the validator does not know keyword `{key}`"
            ));
        }
    }
    if let Some(r) = s.get("$ref").and_then(Value::as_str) {
        let target = r
            .strip_prefix("#/")
            .map(|p| p.split('/').fold(root, |node, seg| &node[seg]))
            .filter(|t| !t.is_null());
        match target {
            Some(t) => check(root, t, v, path, errors),
            None => errors.push(format!("{path}: unresolvable $ref {r}")),
        }
    }
    if let Some(t) = s.get("type").and_then(Value::as_str) {
        let ok = match t {
            "object" => v.is_object(),
            "array" => v.is_array(),
            "string" => v.is_string(),
            "integer" => v.is_i64() || v.is_u64(),
            "number" => v.is_number(),
            "boolean" => v.is_boolean(),
            "null" => v.is_null(),
            _ => false,
        };
        if !ok {
            errors.push(format!("{path}: expected {t}, got {v}"));
        }
    }
    if let Some(c) = s.get("const") {
        if c != v {
            errors.push(format!("{path}: expected {c}, got {v}"));
        }
    }
    if let Some(e) = s.get("enum").and_then(Value::as_array) {
        if !e.contains(v) {
            errors.push(format!("{path}: {v} is not one of {e:?}"));
        }
    }
    if let (Some(m), Some(n)) = (s.get("minimum").and_then(Value::as_f64), v.as_f64()) {
        if n < m {
            errors.push(format!("{path}: {n} is below the minimum {m}"));
        }
    }
    if let Some(obj) = v.as_object() {
        for r in s
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(name) = r.as_str() {
                if !obj.contains_key(name) {
                    errors.push(format!("{path}: missing required `{name}`"));
                }
            }
        }
        let props = s.get("properties").and_then(Value::as_object);
        for (k, child) in obj {
            match props.and_then(|p| p.get(k)) {
                Some(ps) => check(root, ps, child, &format!("{path}.{k}"), errors),
                None if s.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    errors.push(format!("{path}: unexpected property `{k}`"))
                }
                None => {}
            }
        }
    }
    if let (Some(items), Some(arr)) = (s.get("items"), v.as_array()) {
        for (i, item) in arr.iter().enumerate() {
            check(root, items, item, &format!("{path}[{i}]"), errors);
        }
    }
}

#[test]
fn the_validator_catches_what_the_schema_forbids() {
    let schema: Value = serde_json::from_str(include_str!("../../docs/plan.schema.json")).unwrap();
    let ok = serde_json::json!({
        "format_version": "1.1", "hdh_version": "0.1.0", "stack": "s", "mode": "apply",
        "summary": {"create": 1, "update": 0, "replace": 0, "delete": 0, "forget": 0,
                    "adopt": 0, "unchanged": 0},
        "changes": [{"address": "a", "type": "t", "action": "create",
                     "reason": {"kind": "new", "message": "not yet created"},
                     "before": {}, "after": {}, "after_unknown": [], "sensitive": [],
                     "forces_replacement": []}],
        "warnings": []
    });
    assert_eq!(validate(&schema, &ok), Vec::<String>::new());
    let mut bad = ok.clone();
    bad["format_version"] = "2.0".into();
    bad["summary"]["create"] = (-1).into();
    bad["changes"][0]["action"] = "explode".into();
    bad["changes"][0]["extra"] = true.into();
    bad["changes"][0].as_object_mut().unwrap().remove("reason");
    let errors = validate(&schema, &bad);
    assert_eq!(errors.len(), 5, "{errors:#?}");
}
