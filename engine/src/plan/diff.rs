//! What of an existing object changes: the one rule the planner plans by and the executor
//! applies by, so an apply sends exactly the change its plan showed.
//!
//! Invariant: both sides call [`planned_after`] then [`changed_inputs`] on the same inputs;
//! neither re-derives the diff on its own.

use crate::graph::Lifecycle;
use crate::resource_type::{AttributeSpec, ResourceType};
use crate::value::{Value, ValueMap};

/// What the config asks of the existing object whose attributes are `prior`: each configured
/// input as [`ResourceType::planned_input`] makes it (an ignored input keeps its real value,
/// what the system owns stays as it really is, a stepped input takes its next step); inputs
/// it leaves out are dropped.
pub(crate) fn planned_after(
    ty: &ResourceType,
    lifecycle: &Lifecycle,
    configured: ValueMap,
    prior: &ValueMap,
) -> ValueMap {
    configured
        .into_iter()
        .filter_map(|(k, v)| {
            let real = prior.get(&k);
            ty.planned_input(&lifecycle.ignore_changes, &k, &v, real)
                .map(|v| (k, v))
        })
        .collect()
}

/// The inputs, in the type's declaration order, whose planned value differs from the prior
/// one (marks aside). A value still unknown counts as a change: it may turn out different.
pub(crate) fn changed_inputs<'t>(
    ty: &'t ResourceType,
    after: &ValueMap,
    prior: &ValueMap,
) -> Vec<&'t AttributeSpec> {
    ty.inputs()
        .filter(|a| {
            let Some(new) = after.get(&a.name) else {
                return false;
            };
            let old = prior.get(&a.name);
            new.contains_unknown() || old.map(Value::unmarked) != Some(new.unmarked())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::fake_type;

    fn map(pairs: &[(&str, Value)]) -> ValueMap {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn an_ignored_input_keeps_its_real_value_and_an_owned_one_stays_as_it_is() {
        let ty = fake_type();
        let lifecycle = Lifecycle {
            ignore_changes: vec!["name".into()],
            ..Lifecycle::default()
        };
        let prior = map(&[("name", Value::str("old")), ("replicas", Value::int(5))]);
        let configured = map(&[
            ("name", Value::str("new")),
            ("replicas", Value::int(2)),
            ("size", Value::int(3)),
        ]);
        let after = planned_after(&ty, &lifecycle, configured, &prior);
        assert_eq!(after["name"], Value::str("old"));
        assert_eq!(after["replicas"], Value::int(5));
        assert_eq!(after["size"], Value::int(3));
    }

    #[test]
    fn only_inputs_that_differ_or_are_unknown_change_and_marks_do_not_count() {
        let ty = fake_type();
        let prior = map(&[("size", Value::int(1)), ("name", Value::str("a"))]);
        let after = map(&[
            ("size", Value::int(1).sensitive()),
            ("name", Value::str("a")),
            ("input", Value::Unknown),
        ]);
        let names: Vec<&str> = changed_inputs(&ty, &after, &prior)
            .iter()
            .map(|a| a.name.as_str())
            .collect();
        assert_eq!(names, ["input"]);
    }
}
