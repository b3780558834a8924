//! Building operations: each planned change becomes one or two operations, and each ordering
//! rule is one function that adds its edges (`(from, to)`: `from` finishes before `to`).
//!
//! Invariant: create/update/adopt edges follow the desired graph; delete/forget edges follow
//! the dependencies state recorded (reversed), so destroy needs no config.

use std::collections::BTreeMap;

use super::OpKind;
use crate::graph::Desired;
use crate::plan::{Action, Change, Plan, Reason};
use crate::state::{ResourceState, State};

/// Which object a delete removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Slot {
    Current,
    Deposed,
    Retained,
}

#[derive(Debug, Clone)]
pub(super) struct Op {
    pub address: String,
    pub kind: OpKind,
    pub type_name: String,
    pub slot: Slot,
    /// A create-before-destroy create: the existing object becomes deposed when it finishes.
    pub deposes: bool,
    /// A delete of a retained resource under `--delete-retained`: its data goes too.
    pub purge: bool,
}

impl Op {
    fn new(address: &str, type_name: &str, kind: OpKind, slot: Slot) -> Self {
        Op {
            address: address.into(),
            kind,
            type_name: type_name.into(),
            slot,
            deposes: false,
            purge: false,
        }
    }

    /// Creates, updates and adoptions, which follow the desired graph.
    fn is_forward(&self) -> bool {
        matches!(self.kind, OpKind::Create | OpKind::Update | OpKind::Adopt)
    }
}

/// An ordering edge: the first operation finishes before the second starts.
type Edge = (usize, usize);

/// The operations of a plan with their ordering edges (`preds[i]` must finish before `i`).
pub(super) struct OpGraph {
    pub ops: Vec<Op>,
    pub succs: Vec<Vec<usize>>,
    pub preds: Vec<usize>,
}

impl OpGraph {
    fn new(ops: Vec<Op>, mut edges: Vec<Edge>) -> Self {
        let mut succs = vec![Vec::new(); ops.len()];
        let mut preds = vec![0; ops.len()];
        edges.sort_unstable();
        edges.dedup();
        for (from, to) in edges {
            succs[from].push(to);
            preds[to] += 1;
        }
        OpGraph { ops, succs, preds }
    }
}

pub(super) fn build_ops(plan: &Plan, desired: &Desired, state: &State) -> OpGraph {
    let mut ops = Vec::new();
    let mut edges = Vec::new();
    for change in &plan.changes {
        ops_of_change(change, state, &mut ops, &mut edges);
    }
    let index = Index::new(&ops, state);
    for (i, op) in ops.iter().enumerate() {
        if op.is_forward() {
            after_what_it_references(i, op, desired, &index, &mut edges);
            continue;
        }
        let Some(entry) = recorded_entry(op, state) else {
            continue;
        };
        before_what_it_depended_on(i, entry, &index, &mut edges);
        after_dependents_let_go(i, op, desired, &index, &mut edges);
    }
    OpGraph::new(ops, edges)
}

/// The operations of one change; a replacement's two are ordered by the replacement rule.
fn ops_of_change(change: &Change, state: &State, ops: &mut Vec<Op>, edges: &mut Vec<Edge>) {
    let (a, t) = (change.address.as_str(), change.type_name.as_str());
    let mut push = |op: Op| {
        ops.push(op);
        ops.len() - 1
    };
    match change.action {
        Action::NoOp => {}
        Action::Create => {
            push(Op::new(a, t, OpKind::Create, Slot::Current));
        }
        Action::Update => {
            push(Op::new(a, t, OpKind::Update, Slot::Current));
        }
        Action::Adopt => {
            push(Op::new(a, t, OpKind::Adopt, Slot::Retained));
        }
        Action::Forget => {
            push(Op::new(a, t, OpKind::Forget, Slot::Current));
        }
        Action::Delete => {
            let mut op = Op::new(a, t, OpKind::Delete, deleted_slot(change, state));
            op.purge = change.reason == Reason::DeleteRetained;
            push(op);
        }
        Action::Replace {
            create_before_destroy,
        } => {
            let old_type = state.resources.get(a).map_or(t, |r| r.type_name.as_str());
            let delete = Op::new(a, old_type, OpKind::Delete, Slot::Current);
            let mut create = Op::new(a, t, OpKind::Create, Slot::Current);
            if create_before_destroy {
                create.deposes = true;
                let c = push(create);
                let mut delete = delete;
                delete.slot = Slot::Deposed;
                let d = push(delete);
                edges.push(replacement_order(c, d));
            } else {
                let d = push(delete);
                let c = push(create);
                edges.push(replacement_order(d, c));
            }
        }
    }
}

/// Rule: a replacement's first operation (the delete, or the create under
/// `create_before_destroy`) finishes before its second.
fn replacement_order(first: usize, second: usize) -> Edge {
    (first, second)
}

/// Which object a planned delete removes.
fn deleted_slot(change: &Change, state: &State) -> Slot {
    match change.reason {
        Reason::Deposed => Slot::Deposed,
        Reason::DeleteRetained if !state.resources.contains_key(&change.address) => Slot::Retained,
        _ => Slot::Current,
    }
}

/// What state records of the object an operation acts on.
fn recorded_entry<'s>(op: &Op, state: &'s State) -> Option<&'s ResourceState> {
    match op.slot {
        Slot::Current => state.resources.get(&op.address),
        // A create-before-destroy's old object is still current when the plan is built.
        Slot::Deposed => state
            .deposed
            .get(&op.address)
            .or_else(|| state.resources.get(&op.address)),
        Slot::Retained => state.retained.get(&op.address).map(|r| &r.resource),
    }
}

/// The operations by address, and who depends on whom per state, built once so the edge
/// rules cost O(edges), not O(ops × state).
struct Index<'a> {
    /// The create/update/adopt of each address.
    forward: BTreeMap<&'a str, usize>,
    /// The deletes and forgets of each address (a replacement's delete plus a deposed one).
    deletes: BTreeMap<&'a str, Vec<usize>>,
    /// Address → the addresses whose recorded dependencies name it.
    dependents: BTreeMap<&'a str, Vec<&'a str>>,
}

impl<'a> Index<'a> {
    fn new(ops: &'a [Op], state: &'a State) -> Self {
        let mut forward = BTreeMap::new();
        let mut deletes: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, op) in ops.iter().enumerate() {
            if op.is_forward() {
                forward.insert(op.address.as_str(), i);
            } else {
                deletes.entry(op.address.as_str()).or_default().push(i);
            }
        }
        let mut dependents: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (other, r) in &state.resources {
            for d in &r.dependencies {
                dependents
                    .entry(d.as_str())
                    .or_default()
                    .push(other.as_str());
            }
        }
        Index {
            forward,
            deletes,
            dependents,
        }
    }
}

/// Rule: a create, update or adoption waits for the creates and updates of what it
/// references in the config.
fn after_what_it_references(
    i: usize,
    op: &Op,
    desired: &Desired,
    index: &Index<'_>,
    edges: &mut Vec<Edge>,
) {
    let Some(spec) = desired.get(&op.address) else {
        return;
    };
    for d in spec.dependencies() {
        if let Some(&j) = index.forward.get(d.as_str()) {
            edges.push((j, i));
        }
    }
}

/// Rule: a delete or forget finishes before the deletes of what it depended on (per state).
fn before_what_it_depended_on(
    i: usize,
    entry: &ResourceState,
    index: &Index<'_>,
    edges: &mut Vec<Edge>,
) {
    for d in &entry.dependencies {
        for &j in index.deletes.get(d.as_str()).into_iter().flatten() {
            if j != i {
                edges.push((i, j));
            }
        }
    }
}

/// Rule: a delete waits until its dependents stop referring to it: a deposed object waits for
/// everything that references the new one; a deleted one for dependents that dropped it.
fn after_dependents_let_go(
    i: usize,
    op: &Op,
    desired: &Desired,
    index: &Index<'_>,
    edges: &mut Vec<Edge>,
) {
    let dependents = index.dependents.get(op.address.as_str());
    for other in dependents.into_iter().flatten() {
        let Some(&j) = index.forward.get(other) else {
            continue;
        };
        let still_refers = desired
            .get(other)
            .is_some_and(|s| s.dependencies().contains(&op.address));
        if op.slot == Slot::Deposed || !still_refers {
            edges.push((j, i));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{thing, FAKE_TYPE};
    use crate::value::{Value, ValueMap};

    fn desired(specs: Vec<crate::graph::ResourceSpec>) -> Desired {
        Desired::new(
            "test",
            "us-east-1",
            Default::default(),
            specs,
            Default::default(),
        )
        .expect("a valid graph")
    }

    fn recorded(deps: &[&str]) -> ResourceState {
        ResourceState {
            type_name: FAKE_TYPE.into(),
            id: "id".into(),
            attributes: ValueMap::new(),
            dependencies: deps.iter().map(|d| d.to_string()).collect(),
            lifecycle: Default::default(),
        }
    }

    fn op(address: &str, kind: OpKind, slot: Slot) -> Op {
        Op::new(address, FAKE_TYPE, kind, slot)
    }

    #[test]
    fn a_replacement_deletes_first_unless_it_creates_before_destroying() {
        let mut state = State::default();
        state.resources.insert("a".into(), recorded(&[]));
        let change = |cbd| Change {
            address: "a".into(),
            type_name: FAKE_TYPE.into(),
            action: Action::Replace {
                create_before_destroy: cbd,
            },
            reason: Reason::ReplaceRequested,
            id: Some("id".into()),
            attributes: Vec::new(),
            lifecycle: Default::default(),
        };
        for cbd in [false, true] {
            let (mut ops, mut edges) = (Vec::new(), Vec::new());
            ops_of_change(&change(cbd), &state, &mut ops, &mut edges);
            let kinds: Vec<OpKind> = ops.iter().map(|o| o.kind).collect();
            let want = if cbd {
                [OpKind::Create, OpKind::Delete]
            } else {
                [OpKind::Delete, OpKind::Create]
            };
            assert_eq!(kinds, want);
            assert_eq!(edges, [(0, 1)]);
            assert_eq!(ops[0].deposes || ops[1].slot == Slot::Deposed, cbd);
        }
    }

    #[test]
    fn a_create_waits_for_what_it_references() {
        let d = desired(vec![thing("a", &[], &[]), thing("b", &[], &["a"])]);
        let ops = vec![
            op("a", OpKind::Create, Slot::Current),
            op("b", OpKind::Create, Slot::Current),
        ];
        let state = State::default();
        let index = Index::new(&ops, &state);
        let mut edges = Vec::new();
        after_what_it_references(1, &ops[1], &d, &index, &mut edges);
        after_what_it_references(0, &ops[0], &d, &index, &mut edges);
        assert_eq!(edges, [(0, 1)]);
    }

    #[test]
    fn a_delete_goes_before_the_deletes_of_what_it_depended_on() {
        let ops = vec![
            op("a", OpKind::Delete, Slot::Current),
            op("b", OpKind::Delete, Slot::Current),
        ];
        let mut state = State::default();
        state.resources.insert("a".into(), recorded(&[]));
        state.resources.insert("b".into(), recorded(&["a"]));
        let index = Index::new(&ops, &state);
        let mut edges = Vec::new();
        before_what_it_depended_on(1, &state.resources["b"], &index, &mut edges);
        before_what_it_depended_on(0, &state.resources["a"], &index, &mut edges);
        assert_eq!(edges, [(1, 0)]);
    }

    #[test]
    fn a_delete_waits_for_dependents_that_let_go_and_a_deposed_one_for_all() {
        // b still refers to a; c no longer does. Both are updated.
        let d = desired(vec![
            thing("a", &[], &[]),
            thing("b", &[], &["a"]),
            thing("c", &[("size", Value::int(2))], &[]),
        ]);
        let mut state = State::default();
        for (address, deps) in [("a", &[][..]), ("b", &["a"][..]), ("c", &["a"][..])] {
            state.resources.insert(address.into(), recorded(deps));
        }
        let ops = vec![
            op("b", OpKind::Update, Slot::Current),
            op("c", OpKind::Update, Slot::Current),
            op("a", OpKind::Delete, Slot::Current),
        ];
        let index = Index::new(&ops, &state);
        let mut edges = Vec::new();
        after_dependents_let_go(2, &ops[2], &d, &index, &mut edges);
        assert_eq!(edges, [(1, 2)]);

        let deposed = vec![
            op("b", OpKind::Update, Slot::Current),
            op("c", OpKind::Update, Slot::Current),
            op("a", OpKind::Delete, Slot::Deposed),
        ];
        let index = Index::new(&deposed, &state);
        let mut edges = Vec::new();
        after_dependents_let_go(2, &deposed[2], &d, &index, &mut edges);
        assert_eq!(edges, [(0, 2), (1, 2)]);
    }
}
