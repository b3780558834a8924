//! The desired state as a dependency graph: resources with their property expressions, lifecycle
//! rules and the edges implied by references and `depends_on`.
//!
//! Invariant: a `Desired` that constructed successfully is acyclic and every edge points at a
//! resource in it; the executor and planner rely on that and never re-check.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use petgraph::graph::{DiGraph, NodeIndex};

use crate::expr::Expr;

/// The `lifecycle:` block of a resource.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Lifecycle {
    /// Destroy forgets it (records it as retained) instead of deleting it.
    pub retain: bool,
    /// Any plan that would delete or replace it is an error.
    pub protect: bool,
    /// Replacement creates the new one before deleting the old one.
    pub create_before_destroy: bool,
    /// Inputs whose differences are not planned as changes.
    pub ignore_changes: Vec<String>,
}

/// One resource of the desired state.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceSpec {
    /// Unique within the stack, e.g. `api_token` or `daskhub.network.vpc`.
    pub address: String,
    pub type_name: String,
    pub properties: BTreeMap<String, Expr>,
    /// Explicit dependencies beside the ones references imply.
    pub depends_on: Vec<String>,
    pub lifecycle: Lifecycle,
}

impl ResourceSpec {
    /// Every address this resource depends on, references and explicit, sorted and unique.
    pub fn dependencies(&self) -> BTreeSet<String> {
        let mut deps: BTreeSet<String> = self.depends_on.iter().cloned().collect();
        for e in self.properties.values() {
            deps.extend(e.references().into_iter().map(|r| r.address.clone()));
        }
        deps.remove(&self.address);
        deps
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum GraphError {
    #[error("resource {address} is declared twice")]
    Duplicate { address: String },
    #[error("{from} depends on {to}, which is not declared")]
    UnknownDependency { from: String, to: String },
    /// Every cycle: one per group of resources that depend on each other, each as a path that
    /// ends where it starts, then the group's other members if the path does not pass them.
    #[error("dependency {}: {}", if cycles.len() == 1 { "cycle" } else { "cycles" }, cycles.iter().map(|c| c.describe()).collect::<Vec<_>>().join("; "))]
    Cycle { cycles: Vec<Cycle> },
}

/// Resources that depend on each other, in a circle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cycle {
    /// A path round the cycle: `a, b, c, a`.
    pub path: Vec<String>,
    /// The group's members the path does not pass (they are on other cycles through it).
    pub entangled: Vec<String>,
}

impl Cycle {
    pub fn describe(&self) -> String {
        let mut s = self.path.join(" → ");
        if !self.entangled.is_empty() {
            s.push_str(&format!(
                " (entangled with it: {})",
                self.entangled.join(", ")
            ));
        }
        s
    }
}

/// The whole desired state of a stack.
#[derive(Debug, Clone)]
pub struct Desired {
    pub stack: String,
    pub region: String,
    pub tags: BTreeMap<String, String>,
    resources: Vec<ResourceSpec>,
    index: HashMap<String, usize>,
    /// `deps[i]`: indices resource i depends on.
    deps: Vec<Vec<usize>>,
    /// Values exported by `hdh output`.
    pub outputs: BTreeMap<String, Expr>,
}

impl Desired {
    pub fn new(
        stack: &str,
        region: &str,
        tags: BTreeMap<String, String>,
        resources: Vec<ResourceSpec>,
        outputs: BTreeMap<String, Expr>,
    ) -> Result<Self, GraphError> {
        let mut index = HashMap::with_capacity(resources.len());
        for (i, r) in resources.iter().enumerate() {
            if index.insert(r.address.clone(), i).is_some() {
                return Err(GraphError::Duplicate {
                    address: r.address.clone(),
                });
            }
        }
        let mut deps = Vec::with_capacity(resources.len());
        for r in &resources {
            let mut d = Vec::new();
            for to in r.dependencies() {
                match index.get(&to) {
                    Some(&j) => d.push(j),
                    None => {
                        return Err(GraphError::UnknownDependency {
                            from: r.address.clone(),
                            to,
                        })
                    }
                }
            }
            deps.push(d);
        }
        let desired = Desired {
            stack: stack.into(),
            region: region.into(),
            tags,
            resources,
            index,
            deps,
            outputs,
        };
        let cycles = desired.find_cycles();
        if !cycles.is_empty() {
            return Err(GraphError::Cycle { cycles });
        }
        Ok(desired)
    }

    pub fn resources(&self) -> &[ResourceSpec] {
        &self.resources
    }

    pub fn get(&self, address: &str) -> Option<&ResourceSpec> {
        self.index.get(address).map(|&i| &self.resources[i])
    }

    pub fn index_of(&self, address: &str) -> Option<usize> {
        self.index.get(address).copied()
    }

    /// Indices that resource `i` depends on.
    pub fn deps_of(&self, i: usize) -> &[usize] {
        &self.deps[i]
    }

    /// Indices in an order where every resource comes after its dependencies; ties keep
    /// declaration order so plans are deterministic.
    pub fn topo_order(&self) -> Vec<usize> {
        let n = self.resources.len();
        let mut remaining: Vec<usize> = self.deps.iter().map(Vec::len).collect();
        let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (i, d) in self.deps.iter().enumerate() {
            for &j in d {
                dependents[j].push(i);
            }
        }
        let mut ready: std::collections::VecDeque<usize> =
            (0..n).filter(|&i| remaining[i] == 0).collect();
        let mut order = Vec::with_capacity(n);
        while let Some(i) = ready.pop_front() {
            order.push(i);
            for &k in &dependents[i] {
                remaining[k] -= 1;
                if remaining[k] == 0 {
                    ready.push_back(k);
                }
            }
        }
        order
    }

    /// The graph as petgraph (edge: dependency → dependent), for DOT output and analysis.
    pub fn to_petgraph(&self) -> DiGraph<&str, ()> {
        let mut g = DiGraph::with_capacity(self.resources.len(), self.resources.len());
        let nodes: Vec<NodeIndex> = self
            .resources
            .iter()
            .map(|r| g.add_node(r.address.as_str()))
            .collect();
        for (i, d) in self.deps.iter().enumerate() {
            for &j in d {
                g.add_edge(nodes[j], nodes[i], ());
            }
        }
        g
    }

    /// Every cycle, found as petgraph's `kosaraju_scc` finds the groups of resources that depend
    /// on each other, in declaration order. (Kosaraju, not `tarjan_scc`: petgraph's Tarjan
    /// recurses once per link, and a long chain ending in a cycle would overflow the stack.) (A resource's references to itself are not
    /// dependencies, so no group has one member.)
    fn find_cycles(&self) -> Vec<Cycle> {
        if self.topo_order().len() == self.resources.len() {
            return Vec::new();
        }
        let g = self.to_petgraph();
        let mut groups: Vec<Vec<usize>> = petgraph::algo::kosaraju_scc(&g)
            .into_iter()
            .filter(|c| c.len() > 1)
            .map(|c| {
                let mut members: Vec<usize> = c.iter().map(|n| n.index()).collect();
                members.sort_unstable();
                members
            })
            .collect();
        groups.sort();
        groups.iter().map(|m| self.cycle_through(m)).collect()
    }

    /// A path round a group of resources that depend on each other: from its first-declared
    /// member, along first dependencies inside the group, until one repeats.
    fn cycle_through(&self, members: &[usize]) -> Cycle {
        let inside: HashSet<usize> = members.iter().copied().collect();
        let mut path = vec![members[0]];
        let mut seen = HashMap::from([(members[0], 0usize)]);
        let mut at = members[0];
        let closed = loop {
            // Strongly connected: every member has a dependency inside the group.
            let next = self.deps[at]
                .iter()
                .copied()
                .find(|j| inside.contains(j))
                .unwrap_or(members[0]);
            if let Some(&pos) = seen.get(&next) {
                let mut cycle = path.split_off(pos);
                cycle.push(next);
                break cycle;
            }
            seen.insert(next, path.len());
            path.push(next);
            at = next;
        };
        let on_path: HashSet<usize> = closed.iter().copied().collect();
        Cycle {
            path: closed
                .iter()
                .map(|&i| self.resources[i].address.clone())
                .collect(),
            entangled: members
                .iter()
                .filter(|i| !on_path.contains(i))
                .map(|&i| self.resources[i].address.clone())
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::Reference;

    fn spec(address: &str, refs: &[&str]) -> ResourceSpec {
        ResourceSpec {
            address: address.into(),
            type_name: "t".into(),
            properties: refs
                .iter()
                .enumerate()
                .map(|(i, to)| {
                    (
                        format!("p{i}"),
                        Expr::Ref(Reference {
                            address: (*to).into(),
                            attribute: "id".into(),
                        }),
                    )
                })
                .collect(),
            depends_on: vec![],
            lifecycle: Lifecycle::default(),
        }
    }

    #[test]
    fn a_cycle_is_reported_as_a_path() {
        let err = Desired::new(
            "s",
            "r",
            BTreeMap::new(),
            vec![
                spec("a", &["b"]),
                spec("b", &["c"]),
                spec("c", &["a"]),
                spec("d", &[]),
            ],
            BTreeMap::new(),
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "dependency cycle: a → b → c → a");
    }

    #[test]
    fn a_cycle_at_the_end_of_a_long_chain_is_found_without_deep_recursion() {
        // Test threads have small stacks: a recursive search would overflow here.
        let n = 50_000;
        let names: Vec<String> = (0..n).map(|i| format!("r{i}")).collect();
        let mut specs: Vec<ResourceSpec> = (0..n)
            .map(|i| match i {
                0 => spec(&names[0], &[&names[n - 1]]),
                _ => spec(&names[i], &[&names[i - 1]]),
            })
            .collect();
        specs.push(spec("tail", &["r10"]));
        let err = Desired::new("s", "r", BTreeMap::new(), specs, BTreeMap::new()).unwrap_err();
        let GraphError::Cycle { cycles } = err else {
            panic!("not a cycle: {err}")
        };
        assert_eq!(cycles.len(), 1);
        assert_eq!(cycles[0].path.len(), n + 1);
        assert_eq!(cycles[0].path[0], "r0");
        assert_eq!(cycles[0].path[1], format!("r{}", n - 1));
    }

    #[test]
    fn every_cycle_is_reported_with_every_resource_on_it() {
        let err = Desired::new(
            "s",
            "r",
            BTreeMap::new(),
            vec![
                spec("a", &["b"]),
                spec("b", &["a", "c"]),
                spec("c", &["b"]),
                spec("d", &["f"]),
                spec("e", &["a"]),
                spec("f", &["d"]),
            ],
            BTreeMap::new(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "dependency cycles: a → b → a (entangled with it: c); d → f → d"
        );
    }
}
