//! How long a plan will take: the longest chain of operations through the executor's own
//! ordering (`apply::operations`), each costed at its type's declared typical duration
//! (`ResourceType::typical`). Apply runs every operation the moment its predecessors finish,
//! so with enough parallelism the run takes as long as this critical path.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::apply::{operations, OpKind};
use crate::graph::Desired;
use crate::plan::Plan;
use crate::provider::Providers;
use crate::state::State;

/// What an operation without a declared duration is counted as: one or a few API calls.
pub const UNDECLARED: Duration = Duration::from_secs(5);

/// The plan's critical path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Estimate {
    pub total: Duration,
    /// The operations along it, first to last, each with its typical duration.
    pub path: Vec<(String, OpKind, Duration)>,
}

/// The typical duration of `op` on `type_name`, if its provider declares one.
pub fn typical(providers: &Providers, type_name: &str, op: OpKind) -> Option<Duration> {
    let t = providers.resource_type(type_name)?.typical;
    match op {
        OpKind::Create | OpKind::Adopt => t.create,
        OpKind::Update => t.update,
        OpKind::Delete => t.delete,
        OpKind::Forget => None,
    }
}

pub fn estimate(plan: &Plan, desired: &Desired, state: &State, providers: &Providers) -> Estimate {
    let ops = operations(plan, desired, state);
    let type_of: BTreeMap<&str, &str> = plan
        .changes
        .iter()
        .map(|c| (c.address.as_str(), c.type_name.as_str()))
        .collect();
    let key = |address: &str, op: OpKind| format!("{address} {op:?}");
    let index: BTreeMap<String, usize> = ops
        .iter()
        .enumerate()
        .map(|(i, (a, op, _))| (key(a, *op), i))
        .collect();
    let cost: Vec<Duration> = ops
        .iter()
        .map(|(a, op, _)| match op {
            OpKind::Forget => Duration::ZERO,
            _ => type_of
                .get(a.as_str())
                .and_then(|t| typical(providers, t, *op))
                .unwrap_or(UNDECLARED),
        })
        .collect();
    let preds: Vec<Vec<usize>> = ops
        .iter()
        .map(|(_, _, p)| p.iter().filter_map(|k| index.get(k).copied()).collect())
        .collect();
    // Kahn's order over the (acyclic) operation graph; finish[i] is the earliest end of i.
    let mut succs = vec![Vec::new(); ops.len()];
    let mut waiting: Vec<usize> = preds.iter().map(Vec::len).collect();
    for (i, p) in preds.iter().enumerate() {
        for &j in p {
            succs[j].push(i);
        }
    }
    let mut ready: Vec<usize> = (0..ops.len()).filter(|&i| waiting[i] == 0).collect();
    let mut finish = vec![Duration::ZERO; ops.len()];
    let mut via: Vec<Option<usize>> = vec![None; ops.len()];
    while let Some(i) = ready.pop() {
        let start = preds[i]
            .iter()
            .map(|&j| finish[j])
            .max()
            .unwrap_or(Duration::ZERO);
        via[i] = preds[i].iter().copied().max_by_key(|&j| finish[j]);
        finish[i] = start + cost[i];
        for &s in &succs[i] {
            waiting[s] -= 1;
            if waiting[s] == 0 {
                ready.push(s);
            }
        }
    }
    let Some(mut last) = (0..ops.len()).max_by_key(|&i| (finish[i], std::cmp::Reverse(i))) else {
        return Estimate {
            total: Duration::ZERO,
            path: Vec::new(),
        };
    };
    let total = finish[last];
    let mut path = vec![(ops[last].0.clone(), ops[last].1, cost[last])];
    while let Some(p) = via[last] {
        path.push((ops[p].0.clone(), ops[p].1, cost[p]));
        last = p;
    }
    path.reverse();
    Estimate { total, path }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;
    use std::time::Duration;

    use crate::apply::OpKind;
    use crate::graph::Desired;
    use crate::plan::{self, Drift, Mode, PlanInput};
    use crate::state::State;
    use crate::testkit::{providers_with, thing, FakeProvider};

    #[test]
    fn the_estimate_is_the_longest_chain_of_operations() {
        // a → b → c is three operations long; d beside them is one.
        let desired = Desired::new(
            "s",
            "r",
            BTreeMap::new(),
            vec![
                thing("a", &[], &[]),
                thing("b", &[], &["a"]),
                thing("d", &[], &[]),
                thing("c", &[], &["b"]),
            ],
            BTreeMap::new(),
        )
        .unwrap();
        let providers = providers_with(Arc::new(FakeProvider::new()));
        let state = State::new();
        let plan = plan::plan(&PlanInput {
            desired: &desired,
            state: &state,
            providers: &providers,
            mode: Mode::Apply,
            targets: &[],
            replace: &[],
            drift: &Drift::default(),
        })
        .unwrap();
        let e = super::estimate(&plan, &desired, &state, &providers);
        let path: Vec<(&str, OpKind)> = e.path.iter().map(|(a, op, _)| (a.as_str(), *op)).collect();
        assert_eq!(
            path,
            [
                ("a", OpKind::Create),
                ("b", OpKind::Create),
                ("c", OpKind::Create)
            ]
        );
        assert_eq!(e.total, super::UNDECLARED * 3);
        let empty = plan::Plan {
            changes: Vec::new(),
            ..plan.clone()
        };
        assert_eq!(
            super::estimate(&empty, &desired, &state, &providers).total,
            Duration::ZERO
        );
    }
}
