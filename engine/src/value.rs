//! The values resources are described with: JSON-like data plus "unknown until apply" and a
//! "sensitive" mark.
//!
//! Invariant: `Sensitive` wraps a value that must never be shown. Anything computed from a
//! sensitive value (a reference, an interpolated string, a list holding it) stays sensitive, and
//! every rendering path goes through [`Value::redacted`] or [`Value::to_display_json`].

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Number;

use crate::resource_type::ResourceType;

/// An ordered map of attribute name to value; ordered so plans and state are deterministic.
pub type ValueMap = BTreeMap<String, Value>;

/// What a redacted sensitive value prints as, everywhere.
pub const SENSITIVE_TEXT: &str = "(sensitive)";
/// What an unknown value prints as, everywhere.
pub const UNKNOWN_TEXT: &str = "(known after apply)";

#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    #[default]
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    List(Vec<Value>),
    Map(ValueMap),
    /// Known only after apply (an attribute of a resource not yet created or being replaced).
    Unknown,
    /// A value that must never be shown; it lives in state only.
    Sensitive(Box<Value>),
}

impl Value {
    pub fn str(s: impl Into<String>) -> Value {
        Value::String(s.into())
    }

    pub fn int(i: i64) -> Value {
        Value::Number(i.into())
    }

    /// Wraps in the sensitive mark unless already marked (marks never nest).
    pub fn sensitive(self) -> Value {
        match self {
            Value::Sensitive(_) => self,
            v => Value::Sensitive(Box::new(v)),
        }
    }

    /// The value with its outer sensitive mark removed (for providers, which need the real
    /// data). Inner marks in lists or maps are removed too.
    pub fn unmarked(&self) -> Value {
        match self {
            Value::Sensitive(v) => v.unmarked(),
            Value::List(l) => Value::List(l.iter().map(Value::unmarked).collect()),
            Value::Map(m) => Value::Map(m.iter().map(|(k, v)| (k.clone(), v.unmarked())).collect()),
            v => v.clone(),
        }
    }

    pub fn is_sensitive(&self) -> bool {
        matches!(self, Value::Sensitive(_))
    }

    /// True if this value or anything inside it is sensitive.
    pub fn contains_sensitive(&self) -> bool {
        match self {
            Value::Sensitive(_) => true,
            Value::List(l) => l.iter().any(Value::contains_sensitive),
            Value::Map(m) => m.values().any(Value::contains_sensitive),
            _ => false,
        }
    }

    /// True if this value or anything inside it is unknown.
    pub fn contains_unknown(&self) -> bool {
        match self {
            Value::Unknown => true,
            Value::Sensitive(v) => v.contains_unknown(),
            Value::List(l) => l.iter().any(Value::contains_unknown),
            Value::Map(m) => m.values().any(Value::contains_unknown),
            _ => false,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Number(n) => n.as_i64(),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&ValueMap> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(l) => Some(l),
            _ => None,
        }
    }

    /// A short name of the value's kind, for error messages ("expected a string, found a list").
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::List(_) => "a list",
            Value::Map(_) => "a map",
            Value::Unknown => "an unknown value",
            Value::Sensitive(v) => v.kind(),
        }
    }

    /// The value with every sensitive part replaced by `(sensitive)`, safe to show.
    pub fn redacted(&self) -> Value {
        match self {
            Value::Sensitive(_) => Value::String(SENSITIVE_TEXT.into()),
            Value::List(l) => Value::List(l.iter().map(Value::redacted).collect()),
            Value::Map(m) => Value::Map(m.iter().map(|(k, v)| (k.clone(), v.redacted())).collect()),
            v => v.clone(),
        }
    }

    /// JSON for showing to people or CI: sensitive parts redacted, unknowns as a marker string.
    pub fn to_display_json(&self) -> serde_json::Value {
        self.json_with(&|marked| {
            let text = match marked {
                Value::Unknown => UNKNOWN_TEXT,
                _ => SENSITIVE_TEXT,
            };
            serde_json::Value::String(text.into())
        })
    }

    /// JSON of the real data: sensitive marks dropped, unknowns (which cannot be stored) null.
    fn to_plain_json(&self) -> serde_json::Value {
        self.json_with(&|marked| match marked {
            Value::Sensitive(v) => v.to_plain_json(),
            _ => serde_json::Value::Null,
        })
    }

    /// JSON of the value, with what `marked` makes of each unknown or sensitive part: the one
    /// place the data's shape maps to JSON's.
    fn json_with(&self, marked: &impl Fn(&Value) -> serde_json::Value) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Number(n) => serde_json::Value::Number(n.clone()),
            Value::String(s) => serde_json::Value::String(s.clone()),
            Value::List(l) => {
                serde_json::Value::Array(l.iter().map(|v| v.json_with(marked)).collect())
            }
            Value::Map(m) => serde_json::Value::Object(
                m.iter()
                    .map(|(k, v)| (k.clone(), v.json_with(marked)))
                    .collect(),
            ),
            Value::Unknown | Value::Sensitive(_) => marked(self),
        }
    }

    /// JSON of the real data (sensitive marks dropped), with the paths that were sensitive.
    /// Used only by state storage. Unknown values cannot be stored and become null.
    pub fn to_state_json(&self) -> (serde_json::Value, Vec<Vec<String>>) {
        let mut paths = Vec::new();
        let json = self.state_json_at(&mut Vec::new(), &mut paths);
        (json, paths)
    }

    fn state_json_at(
        &self,
        at: &mut Vec<String>,
        paths: &mut Vec<Vec<String>>,
    ) -> serde_json::Value {
        match self {
            Value::Sensitive(v) => {
                paths.push(at.clone());
                v.unmarked().to_plain_json()
            }
            Value::List(l) => serde_json::Value::Array(
                l.iter()
                    .enumerate()
                    .map(|(i, v)| {
                        at.push(i.to_string());
                        let j = v.state_json_at(at, paths);
                        at.pop();
                        j
                    })
                    .collect(),
            ),
            Value::Map(m) => serde_json::Value::Object(
                m.iter()
                    .map(|(k, v)| {
                        at.push(k.clone());
                        let j = v.state_json_at(at, paths);
                        at.pop();
                        (k.clone(), j)
                    })
                    .collect(),
            ),
            v => v.to_plain_json(),
        }
    }

    /// The inverse of [`Value::to_state_json`]: real data, re-marked at the given paths.
    pub fn from_state_json(json: &serde_json::Value, sensitive_paths: &[Vec<String>]) -> Value {
        let mut v = Value::from(json);
        for path in sensitive_paths {
            v.mark_sensitive_at(path);
        }
        v
    }

    fn mark_sensitive_at(&mut self, path: &[String]) {
        let Some((head, rest)) = path.split_first() else {
            let inner = std::mem::take(self);
            *self = inner.sensitive();
            return;
        };
        match self {
            Value::Map(m) => {
                if let Some(v) = m.get_mut(head) {
                    v.mark_sensitive_at(rest);
                }
            }
            Value::List(l) => {
                if let Some(v) = head.parse::<usize>().ok().and_then(|i| l.get_mut(i)) {
                    v.mark_sensitive_at(rest);
                }
            }
            _ => {}
        }
    }

    /// Looks up a nested value by path segments (map keys or list indices).
    pub fn get_path(&self, path: &[String]) -> Option<&Value> {
        let Some((head, rest)) = path.split_first() else {
            return Some(self);
        };
        match self {
            Value::Map(m) => m.get(head)?.get_path(rest),
            Value::List(l) => l.get(head.parse::<usize>().ok()?)?.get_path(rest),
            Value::Sensitive(v) => v.get_path(path).map(|_| self),
            _ => None,
        }
    }

    /// Text for string interpolation; `None` for values that have no string form.
    pub fn interpolation_text(&self) -> Option<String> {
        match self {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Null => Some(String::new()),
            Value::Sensitive(v) => v.interpolation_text(),
            _ => None,
        }
    }
}

/// Every value of `map` with its sensitive marks removed: what a provider is given.
pub fn unmark_map(map: &ValueMap) -> ValueMap {
    map.iter().map(|(k, v)| (k.clone(), v.unmarked())).collect()
}

/// Marks the attributes the type declares sensitive.
pub fn mark_sensitive(ty: &ResourceType, attrs: &mut ValueMap) {
    for a in ty.attributes.iter().filter(|a| a.sensitive) {
        if let Some(v) = attrs.get_mut(&a.name) {
            *v = std::mem::take(v).sensitive();
        }
    }
}

/// Marks sensitive each value of `attrs` whose key holds a sensitive value in `like`: what
/// was asked with a secret stays secret when it is read back.
pub fn mark_like(attrs: &mut ValueMap, like: &ValueMap) {
    for (k, v) in like {
        if v.contains_sensitive() {
            if let Some(a) = attrs.get_mut(k) {
                *a = std::mem::take(a).sensitive();
            }
        }
    }
}

/// Writes `observed` over `base`, keeping the sensitive mark of every value `base` had marked:
/// providers return unmarked data, and a value interpolated from a secret stays secret.
pub fn overlay_keeping_marks(base: &mut ValueMap, observed: ValueMap) {
    for (k, v) in observed {
        let keep = base.get(&k).is_some_and(Value::contains_sensitive);
        base.insert(k, if keep { v.sensitive() } else { v });
    }
}

impl From<&serde_json::Value> for Value {
    fn from(j: &serde_json::Value) -> Self {
        match j {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => Value::Number(n.clone()),
            serde_json::Value::String(s) => Value::String(s.clone()),
            serde_json::Value::Array(a) => Value::List(a.iter().map(Value::from).collect()),
            serde_json::Value::Object(o) => {
                Value::Map(o.iter().map(|(k, v)| (k.clone(), Value::from(v))).collect())
            }
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.into())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Number(i.into())
    }
}

/// Human form, redacted: strings quoted, sensitive as `(sensitive)`, unknown as
/// `(known after apply)`.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Number(n) => write!(f, "{n}"),
            Value::String(s) => write!(f, "{}", serde_json::Value::String(s.clone())),
            Value::List(l) => {
                f.write_str("[")?;
                for (i, v) in l.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str("]")
            }
            Value::Map(m) => {
                f.write_str("{")?;
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k}: {v}")?;
                }
                f.write_str("}")
            }
            Value::Unknown => f.write_str(UNKNOWN_TEXT),
            Value::Sensitive(_) => f.write_str(SENSITIVE_TEXT),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sensitive_survives_state_round_trip_and_never_displays() {
        let mut m = ValueMap::new();
        m.insert("token".into(), Value::str("s3cr3t").sensitive());
        m.insert("name".into(), Value::str("hub"));
        let v = Value::Map(m);
        let (json, paths) = v.to_state_json();
        assert_eq!(json["token"], "s3cr3t");
        assert_eq!(paths, vec![vec!["token".to_string()]]);
        let back = Value::from_state_json(&json, &paths);
        assert_eq!(back, v);
        assert!(!v.to_string().contains("s3cr3t"));
        assert!(!v.to_display_json().to_string().contains("s3cr3t"));
    }

    #[test]
    fn marks_are_kept_over_observed_data_and_removed_for_providers() {
        let mut base = ValueMap::new();
        base.insert("token".into(), Value::str("old").sensitive());
        base.insert("name".into(), Value::str("hub"));
        let mut observed = ValueMap::new();
        observed.insert("token".into(), Value::str("new"));
        observed.insert("arn".into(), Value::str("arn:x"));
        overlay_keeping_marks(&mut base, observed);
        assert_eq!(base["token"], Value::str("new").sensitive());
        assert_eq!(base["arn"], Value::str("arn:x"));
        let plain = unmark_map(&base);
        assert_eq!(plain["token"], Value::str("new"));
    }
}
