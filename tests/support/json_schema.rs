//! hdh's JSON documents checked against their published JSON Schemas (docs/*.schema.json) with
//! the `jsonschema` crate, a maintained and complete draft 2020-12 validator.

use serde_json::Value;

/// Every way `doc` breaks `schema`, one message each (empty when it conforms).
pub fn violations(schema: &Value, doc: &Value) -> Vec<String> {
    let validator = jsonschema::validator_for(schema).expect("a valid JSON Schema");
    validator
        .iter_errors(doc)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect()
}
