//! The check that what is recorded fits what the plan showed: a result whose value for an
//! attribute contradicts a value the plan knew is refused, naming the attribute.
//!
//! Invariant: a refused result is not recorded and its intent stays, so the next run settles
//! what really happened (as after any failed call). Values the plan did not know (unknown, or
//! not planned at all) accept anything; sensitive marks do not count.

use std::collections::BTreeMap;

use super::record::Finished;
use super::OpError;
use crate::plan::{Action, Change, Plan};
use crate::value::Value;

/// The planned change of each address that creates, updates or adopts an object.
pub(super) fn planned_objects(plan: &Plan) -> BTreeMap<&str, &Change> {
    plan.changes
        .iter()
        .filter(|c| {
            matches!(
                c.action,
                Action::Create | Action::Update | Action::Adopt | Action::Replace { .. }
            )
        })
        .map(|c| (c.address.as_str(), c))
        .collect()
}

/// Refuses a finished object whose attributes contradict a known planned value.
pub(super) fn against_plan(change: Option<&Change>, finished: &Finished) -> Result<(), OpError> {
    let (Some(change), Finished::Object { attributes, .. }) = (change, finished) else {
        return Ok(());
    };
    for a in &change.attributes {
        let (Some(planned), Some(actual)) = (&a.after, attributes.get(&a.name)) else {
            continue;
        };
        if !compatible(planned, actual) {
            return Err(OpError::Inconsistent {
                attribute: a.name.clone(),
            });
        }
    }
    Ok(())
}

/// Whether `actual` is a value `planned` allows: equal where the plan knew it, anything where
/// it did not (also inside lists and maps).
fn compatible(planned: &Value, actual: &Value) -> bool {
    match (planned, actual) {
        (Value::Unknown, _) => true,
        (Value::Sensitive(p), a) => compatible(p, a),
        (p, Value::Sensitive(a)) => compatible(p, a),
        (Value::List(p), Value::List(a)) => {
            p.len() == a.len() && p.iter().zip(a).all(|(p, a)| compatible(p, a))
        }
        (Value::Map(p), Value::Map(a)) => {
            p.len() == a.len()
                && p.iter()
                    .all(|(k, p)| a.get(k).is_some_and(|a| compatible(p, a)))
        }
        (p, a) => p == a,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{AttrChange, Reason};
    use crate::value::ValueMap;

    fn change(attributes: &[(&str, Value)]) -> Change {
        Change {
            address: "a".into(),
            type_name: "t".into(),
            action: Action::Create,
            reason: Reason::New,
            id: None,
            attributes: attributes
                .iter()
                .map(|(name, after)| AttrChange {
                    name: name.to_string(),
                    before: None,
                    after: Some(after.clone()),
                    forces_replacement: false,
                })
                .collect(),
            lifecycle: Default::default(),
        }
    }

    fn object(attributes: &[(&str, Value)]) -> Finished {
        Finished::Object {
            id: "id".into(),
            attributes: attributes
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect::<ValueMap>(),
        }
    }

    #[test]
    fn unknown_planned_values_accept_anything_and_marks_do_not_count() {
        let planned = change(&[
            ("arn", Value::Unknown),
            ("token", Value::str("t").sensitive()),
            ("list", Value::List(vec![Value::int(1), Value::Unknown])),
        ]);
        let result = object(&[
            ("arn", Value::str("arn:x")),
            ("token", Value::str("t")),
            ("list", Value::List(vec![Value::int(1), Value::int(7)])),
        ]);
        assert!(against_plan(Some(&planned), &result).is_ok());
    }

    #[test]
    fn a_contradicted_known_value_is_refused_by_name() {
        let planned = change(&[("size", Value::int(3)), ("name", Value::str("hub"))]);
        let result = object(&[("size", Value::int(4)), ("name", Value::str("hub"))]);
        match against_plan(Some(&planned), &result) {
            Err(OpError::Inconsistent { attribute }) => assert_eq!(attribute, "size"),
            other => panic!("expected a refusal, got {other:?}"),
        }
        let nested = change(&[("m", Value::Map(ValueMap::new()))]);
        let mut extra = ValueMap::new();
        extra.insert("k".into(), Value::int(1));
        assert!(against_plan(Some(&nested), &object(&[("m", Value::Map(extra))])).is_err());
    }

    #[test]
    fn deletes_and_unplanned_results_pass() {
        let planned = change(&[("size", Value::int(3))]);
        assert!(against_plan(Some(&planned), &Finished::Deleted).is_ok());
        assert!(against_plan(None, &object(&[("size", Value::int(4))])).is_ok());
    }
}
