//! Turns the blueprint's resource descriptions (JSON with `${address.attribute}` inside strings)
//! into the engine's resource specs, filling declared defaults as literals the way `compile`
//! does for generic resources. Addresses may contain brackets and quotes
//! (`daskhub.network.subnet.private["us-east-1a"]`): references split at the last dot.

use std::collections::BTreeMap;

use hdh_engine::{Expr, Lifecycle, Part, Presence, Providers, Reference, ResourceSpec, Value};
use serde_json::Value as J;

/// `prefix["key"]`.
pub(crate) fn keyed(prefix: &str, key: &str) -> String {
    format!("{prefix}[\"{key}\"]")
}

/// `${address.attribute}` for use inside blueprint strings.
pub(crate) fn r(address: &str, attribute: &str) -> String {
    format!("${{{address}.{attribute}}}")
}

fn reference(body: &str) -> Reference {
    let (address, attribute) = body.rsplit_once('.').unwrap_or((body, "id"));
    Reference {
        address: address.into(),
        attribute: attribute.into(),
    }
}

/// A string with `${…}` references as an expression.
fn string_expr(s: &str) -> Expr {
    let mut parts = Vec::new();
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        let Some(len) = rest[start..].find('}') else {
            break;
        };
        if start > 0 {
            parts.push(Part::Text(rest[..start].to_string()));
        }
        parts.push(Part::Ref(reference(&rest[start + 2..start + len])));
        rest = &rest[start + len + 1..];
    }
    if parts.is_empty() {
        return Expr::Literal(Value::str(s));
    }
    if !rest.is_empty() {
        parts.push(Part::Text(rest.to_string()));
    }
    match parts.as_slice() {
        [Part::Ref(r)] => Expr::Ref(r.clone()),
        _ => Expr::Interpolate(parts),
    }
}

pub(crate) fn expr(v: &J) -> Expr {
    match v {
        J::String(s) => string_expr(s),
        J::Array(a) => Expr::List(a.iter().map(expr).collect()),
        J::Object(o) => Expr::Map(o.iter().map(|(k, v)| (k.clone(), expr(v))).collect()),
        other => Expr::Literal(Value::from(other)),
    }
}

/// Collects the blueprint's resources.
pub(crate) struct Builder<'a> {
    pub types: &'a Providers,
    pub specs: Vec<ResourceSpec>,
}

impl Builder<'_> {
    /// Adds one resource; `props` is a JSON object.
    pub fn add(&mut self, address: &str, type_name: &str, props: J) -> &mut ResourceSpec {
        let mut properties: BTreeMap<String, Expr> = match &props {
            J::Object(o) => o.iter().map(|(k, v)| (k.clone(), expr(v))).collect(),
            _ => BTreeMap::new(),
        };
        if let Some(t) = self.types.resource_type(type_name) {
            for a in t.inputs() {
                if let Presence::Optional { default: Some(d) } = &a.presence {
                    properties
                        .entry(a.name.clone())
                        .or_insert_with(|| Expr::Literal(d.clone()));
                }
            }
        }
        self.specs.push(ResourceSpec {
            address: address.into(),
            type_name: type_name.into(),
            properties,
            depends_on: Vec::new(),
            lifecycle: Lifecycle::default(),
        });
        self.specs.last_mut().expect("just pushed")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_split_at_the_last_dot_and_keep_brackets() {
        let e = string_expr("${daskhub.network.subnet.private[\"us-east-1a\"].id}");
        assert_eq!(
            e,
            Expr::Ref(Reference {
                address: "daskhub.network.subnet.private[\"us-east-1a\"]".into(),
                attribute: "id".into()
            })
        );
        match string_expr("https://${a.b.fqdn}/x") {
            Expr::Interpolate(p) => assert_eq!(p.len(), 3),
            other => panic!("{other:?}"),
        }
        assert_eq!(string_expr("plain"), Expr::Literal(Value::str("plain")));
    }
}
