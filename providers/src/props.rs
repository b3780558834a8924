//! Reading typed inputs out of a property map, with the messages a user sees when one is wrong.
//! Providers receive unmarked values; marks are stripped again here so a stray one never makes a
//! valid input look like the wrong type.

use crate::Answer;
use hdh_engine::provider::Finding;
use hdh_engine::{ProviderError, Value, ValueMap};

/// The property `name`, unmarked; `None` when absent or null (the engine plans defaults, but a
/// provider must not rely on it).
pub(crate) fn get(props: &ValueMap, name: &str) -> Option<Value> {
    match props.get(name).map(Value::unmarked) {
        None | Some(Value::Null) => None,
        Some(v) => Some(v),
    }
}

/// The string property `name`, or `None` when absent.
pub(crate) fn string(props: &ValueMap, name: &str) -> Answer<Option<String>> {
    scalar(props, name, "a string", |v| v.as_str().map(String::from))
}

/// The string property `name`, which must be present.
pub(crate) fn required_string(props: &ValueMap, name: &str) -> Answer<String> {
    string(props, name)?.ok_or_else(|| ProviderError::invalid(format!("`{name}` is required")))
}

/// The message for a value of the wrong kind; says "not known yet" for unknown values, which
/// can only reach a provider through an engine bug.
pub(crate) fn wrong_type(name: &str, expected: &str, found: &Value) -> ProviderError {
    if found.contains_unknown() {
        return ProviderError::invalid(format!("`{name}` is not known yet"));
    }
    ProviderError::invalid(format!(
        "`{name}` must be {expected}, found {}",
        found.kind()
    ))
}

/// A check of one known input value.
pub(crate) type Check = fn(&Value) -> Answer<()>;

/// Plan-time findings for the resources of `type_name`: each check runs on its attribute when
/// that is set and known (unknown values are checked at apply time, by the provider call).
pub(crate) fn preflight_checks(
    resources: &[(String, String, ValueMap)],
    type_name: &str,
    checks: &[(&str, Check)],
) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (address, _, properties) in resources.iter().filter(|r| r.1 == type_name) {
        for (attribute, check) in checks {
            let Some(v) = get(properties, attribute) else {
                continue;
            };
            if v.contains_unknown() {
                continue;
            }
            if let Err(e) = check(&v) {
                findings.push(Finding {
                    address: address.clone(),
                    attribute: Some(attribute.to_string()),
                    message: e.to_string(),
                });
            }
        }
    }
    findings
}

/// The error for a request of a type the provider does not serve (an engine bug).
pub(crate) fn unsupported_type(type_name: &str) -> ProviderError {
    ProviderError::Unsupported {
        message: format!("this provider does not serve `{type_name}`"),
    }
}

/// The `string → string` map property `name`, empty when absent.
pub(crate) fn string_map(
    props: &ValueMap,
    name: &str,
) -> Answer<std::collections::BTreeMap<String, String>> {
    match get(props, name) {
        None => Ok(Default::default()),
        Some(Value::Map(m)) => m
            .into_iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k, s)),
                Value::Number(n) => Ok((k, n.to_string())),
                Value::Bool(b) => Ok((k, b.to_string())),
                other => Err(wrong_type(&format!("{name}.{k}"), "a string", &other)),
            })
            .collect(),
        Some(v) => Err(wrong_type(name, "a map of strings", &v)),
    }
}

/// The list property `name` (`list`, e.g. "a list of strings"), empty when absent, each item
/// taken by `item` (which gives back what is not `one`, e.g. "a string").
fn list_of<T>(
    props: &ValueMap,
    name: &str,
    (list, one): (&str, &str),
    item: impl Fn(Value) -> Result<T, Value>,
) -> Answer<Vec<T>> {
    match get(props, name) {
        None => Ok(Vec::new()),
        Some(Value::List(l)) => l
            .into_iter()
            .enumerate()
            .map(|(i, v)| item(v).map_err(|other| wrong_type(&format!("{name}[{i}]"), one, &other)))
            .collect(),
        Some(v) => Err(wrong_type(name, list, &v)),
    }
}

/// The list-of-strings property `name`, empty when absent.
pub(crate) fn string_list(props: &ValueMap, name: &str) -> Answer<Vec<String>> {
    list_of(
        props,
        name,
        ("a list of strings", "a string"),
        |v| match v {
            Value::String(s) => Ok(s),
            other => Err(other),
        },
    )
}

/// The integer property `name`, or `None` when absent.
pub(crate) fn int(props: &ValueMap, name: &str) -> Answer<Option<i64>> {
    scalar(props, name, "an integer", Value::as_i64)
}

/// The boolean property `name`, or `None` when absent.
pub(crate) fn boolean(props: &ValueMap, name: &str) -> Answer<Option<bool>> {
    scalar(props, name, "a boolean", Value::as_bool)
}

/// The property `name` as `read` takes it (`expected` says what it must be), `None` when absent.
fn scalar<T>(
    props: &ValueMap,
    name: &str,
    expected: &str,
    read: impl Fn(&Value) -> Option<T>,
) -> Answer<Option<T>> {
    match get(props, name) {
        None => Ok(None),
        Some(v) => read(&v)
            .map(Some)
            .ok_or_else(|| wrong_type(name, expected, &v)),
    }
}

/// The list-of-maps property `name`, empty when absent.
pub(crate) fn map_list(props: &ValueMap, name: &str) -> Answer<Vec<ValueMap>> {
    list_of(props, name, ("a list of maps", "a map"), |v| match v {
        Value::Map(m) => Ok(m),
        other => Err(other),
    })
}

/// The list-of-maps property `name`, empty when absent, each map read by `parse`.
pub(crate) fn parsed_maps<T>(
    props: &ValueMap,
    name: &str,
    parse: impl Fn(&ValueMap) -> Answer<T>,
) -> Answer<Vec<T>> {
    map_list(props, name)?.iter().map(parse).collect()
}

/// A list of strings as a value.
pub(crate) fn str_list<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> Value {
    Value::List(items.into_iter().map(|s| Value::str(s.as_ref())).collect())
}

/// A string map as a value.
pub(crate) fn str_map<K: AsRef<str>, V: AsRef<str>>(
    items: impl IntoIterator<Item = (K, V)>,
) -> Value {
    Value::Map(
        items
            .into_iter()
            .map(|(k, v)| (k.as_ref().to_string(), Value::str(v.as_ref())))
            .collect(),
    )
}
