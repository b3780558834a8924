//! Property expressions: literal values with references to other resources' attributes, whole or
//! inside strings. The schema crate compiles YAML into these; the engine evaluates them once the
//! referenced resources are known.
//!
//! Invariant: evaluation never loses a mark. A reference to an unknown attribute makes the whole
//! result unknown; a reference to a sensitive one makes the result sensitive.

use std::collections::BTreeMap;

use crate::value::{Value, ValueMap};

/// `${<address>.<attribute>}`: one attribute of another resource.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reference {
    pub address: String,
    pub attribute: String,
}

impl std::fmt::Display for Reference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "${{{}.{}}}", self.address, self.attribute)
    }
}

/// One piece of an interpolated string.
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    Text(String),
    Ref(Reference),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Literal(Value),
    /// A whole-value reference: keeps the referenced value's type.
    Ref(Reference),
    /// A string with references inside.
    Interpolate(Vec<Part>),
    List(Vec<Expr>),
    Map(BTreeMap<String, Expr>),
}

impl From<Value> for Expr {
    fn from(v: Value) -> Self {
        Expr::Literal(v)
    }
}

impl Expr {
    /// Every reference in the expression, in order of appearance.
    pub fn references(&self) -> Vec<&Reference> {
        let mut out = Vec::new();
        self.collect_refs(&mut out);
        out
    }

    fn collect_refs<'a>(&'a self, out: &mut Vec<&'a Reference>) {
        match self {
            Expr::Literal(_) => {}
            Expr::Ref(r) => out.push(r),
            Expr::Interpolate(parts) => out.extend(parts.iter().filter_map(|p| match p {
                Part::Ref(r) => Some(r),
                Part::Text(_) => None,
            })),
            Expr::List(l) => l.iter().for_each(|e| e.collect_refs(out)),
            Expr::Map(m) => m.values().for_each(|e| e.collect_refs(out)),
        }
    }

    /// Evaluates with `lookup` answering each reference (it returns `Value::Unknown` for
    /// attributes known only after apply).
    pub fn eval(&self, lookup: &dyn Fn(&Reference) -> Value) -> Value {
        match self {
            Expr::Literal(v) => v.clone(),
            Expr::Ref(r) => lookup(r),
            Expr::Interpolate(parts) => {
                let mut out = String::new();
                let mut sensitive = false;
                for part in parts {
                    match part {
                        Part::Text(t) => out.push_str(t),
                        Part::Ref(r) => {
                            let v = lookup(r);
                            if v.contains_unknown() {
                                return Value::Unknown;
                            }
                            sensitive |= v.contains_sensitive();
                            match v.interpolation_text() {
                                Some(t) => out.push_str(&t),
                                // Lists and maps inside a string: their JSON form.
                                None => out.push_str(&v.unmarked().to_display_json().to_string()),
                            }
                        }
                    }
                }
                let v = Value::String(out);
                if sensitive {
                    v.sensitive()
                } else {
                    v
                }
            }
            Expr::List(l) => Value::List(l.iter().map(|e| e.eval(lookup)).collect()),
            Expr::Map(m) => {
                Value::Map(m.iter().map(|(k, e)| (k.clone(), e.eval(lookup))).collect())
            }
        }
    }
}

/// Evaluates a whole property map.
pub fn eval_map(props: &BTreeMap<String, Expr>, lookup: &dyn Fn(&Reference) -> Value) -> ValueMap {
    props
        .iter()
        .map(|(k, e)| (k.clone(), e.eval(lookup)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(a: &str, b: &str) -> Reference {
        Reference {
            address: a.into(),
            attribute: b.into(),
        }
    }

    #[test]
    fn interpolation_keeps_sensitive_and_unknown_marks() {
        let e = Expr::Interpolate(vec![
            Part::Text("token=".into()),
            Part::Ref(r("t", "value")),
        ]);
        let secret = e.eval(&|_| Value::str("abc").sensitive());
        assert_eq!(secret, Value::str("token=abc").sensitive());
        assert_eq!(e.eval(&|_| Value::Unknown), Value::Unknown);
        let whole = Expr::Ref(r("n", "count"));
        assert_eq!(whole.eval(&|_| Value::int(3)), Value::int(3));
    }
}
