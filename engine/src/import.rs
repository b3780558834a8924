//! `hdh import`: matching the config's resources to what already exists in the real world
//! (made by other tools) and recording them in state, so the next plan shows only the real
//! differences.
//!
//! Invariants:
//! - Resources are matched in dependency order; a reference to a matched resource evaluates to
//!   what was found (a subnet is looked for in the VPC just matched), one to an unmatched
//!   resource is unknown.
//! - A match is certain or refused: exactly one candidate, whose inputs that cannot change in
//!   place (`force_new`) agree with the config where both are known, and which no other address
//!   of this import claims. Zero candidates leaves the resource for apply to create.
//! - Nothing here writes state: [`match_all`] returns the entries; the caller records all of
//!   them in one write, or none.
//! - Resources already in state (or retained) are not looked for again: a second import
//!   records nothing.

use std::collections::BTreeMap;

use crate::expr::{eval_map, Reference};
use crate::graph::{Desired, ResourceSpec};
use crate::provider::{
    Candidate, ImportRequest, Observed, OpContext, Provider, ProviderError, Providers,
};
use crate::resource_type::ResourceType;
use crate::state::{ResourceState, State};
use crate::value::{mark_like, mark_sensitive, Value, ValueMap};

/// What the import found for one address.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Exactly one resource, recorded under the address.
    Matched { id: String, matched_by: String },
    /// State already has it (an earlier import or apply): nothing to do.
    InState { id: String },
    /// Retained by an earlier destroy: the next apply adopts it.
    Retained { id: String },
    /// Nothing exists: apply creates it.
    Absent { detail: String },
    /// Refused: several candidates.
    Ambiguous { candidates: Vec<(String, String)> },
    /// Refused: the one candidate is not what the config describes.
    Contradicts {
        id: String,
        matched_by: String,
        /// (attribute, what exists, what the config says)
        differences: Vec<(String, Value, Value)>,
    },
    /// Refused: the id was given but nothing has it.
    GivenIdMissing { id: String },
    /// Refused: another address of this import matched the same resource.
    Claimed { id: String, by: String },
    /// Refused: the provider could not search (or failed).
    Failed {
        class: &'static str,
        message: String,
    },
}

impl Outcome {
    /// Whether this outcome stops the whole import.
    pub fn refused(&self) -> bool {
        matches!(
            self,
            Outcome::Ambiguous { .. }
                | Outcome::Contradicts { .. }
                | Outcome::GivenIdMissing { .. }
                | Outcome::Claimed { .. }
                | Outcome::Failed { .. }
        )
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub address: String,
    pub type_name: String,
    pub outcome: Outcome,
}

/// Every address of the config, in dependency order, with what was found, and the state
/// entries to record for the matched ones.
#[derive(Debug, Clone, Default)]
pub struct Matches {
    pub lines: Vec<Line>,
    pub entries: BTreeMap<String, ResourceState>,
}

impl Matches {
    pub fn refused(&self) -> impl Iterator<Item = &Line> {
        self.lines.iter().filter(|l| l.outcome.refused())
    }

    pub fn count(&self, f: impl Fn(&Outcome) -> bool) -> usize {
        self.lines.iter().filter(|l| f(&l.outcome)).count()
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ImportError {
    #[error("--id {address}=…: the config has no resource {address}")]
    UnknownAddress { address: String },
}

/// Matches every resource of `desired` that `state` does not have yet. `ids` are the ids the
/// user gave, by address.
pub async fn match_all(
    desired: &Desired,
    state: &State,
    providers: &Providers,
    ctx: &OpContext,
    ids: &BTreeMap<String, String>,
) -> Result<Matches, ImportError> {
    if let Some(a) = ids.keys().find(|a| desired.get(a).is_none()) {
        return Err(ImportError::UnknownAddress { address: a.clone() });
    }
    let resources = desired.resources();
    // What references see: (id, attributes) of what is in state or matched.
    let mut known: Vec<Option<(String, ValueMap)>> = vec![None; resources.len()];
    let mut claimed: BTreeMap<(String, String), String> = state
        .resources
        .iter()
        .map(|(a, r)| ((r.type_name.clone(), r.id.clone()), a.clone()))
        .collect();
    let mut out = Matches::default();
    for i in desired.topo_order() {
        let spec = &resources[i];
        let line = |outcome| Line {
            address: spec.address.clone(),
            type_name: spec.type_name.clone(),
            outcome,
        };
        if let Some(r) = state.resources.get(&spec.address) {
            known[i] = Some((r.id.clone(), r.attributes.clone()));
            out.lines.push(line(Outcome::InState { id: r.id.clone() }));
            continue;
        }
        if let Some(r) = state.retained.get(&spec.address) {
            out.lines.push(line(Outcome::Retained {
                id: r.resource.id.clone(),
            }));
            continue;
        }
        let lookup = |r: &Reference| -> Value {
            let Some(j) = desired.index_of(&r.address) else {
                return Value::Null;
            };
            match &known[j] {
                Some((id, _)) if r.attribute == "id" => Value::String(id.clone()),
                Some((_, attrs)) => attrs.get(&r.attribute).cloned().unwrap_or(Value::Unknown),
                None => Value::Unknown,
            }
        };
        let properties = eval_map(&spec.properties, &lookup);
        let (Some(provider), Some(ty)) = (
            providers.provider(&spec.type_name),
            providers.resource_type(&spec.type_name),
        ) else {
            out.lines.push(line(Outcome::Failed {
                class: "unsupported",
                message: format!("no provider serves {}", spec.type_name),
            }));
            continue;
        };
        let given = ids.get(&spec.address).cloned();
        let search = Search {
            spec,
            ty,
            properties: &properties,
            claimed: &claimed,
        };
        let (outcome, observed) = search.run(provider.as_ref(), ctx, given, &out).await;
        if let Some(observed) = observed {
            claimed.insert(
                (spec.type_name.clone(), observed.id.clone()),
                spec.address.clone(),
            );
            let entry = matched_entry(spec, ty, &properties, observed);
            known[i] = Some((entry.id.clone(), entry.attributes.clone()));
            out.entries.insert(spec.address.clone(), entry);
        }
        out.lines.push(line(outcome));
    }
    Ok(out)
}

/// One resource's search: what the config says of it and what other addresses matched.
struct Search<'a> {
    spec: &'a ResourceSpec,
    ty: &'a ResourceType,
    properties: &'a ValueMap,
    claimed: &'a BTreeMap<(String, String), String>,
}

impl Search<'_> {
    /// Asks the provider for candidates and decides; the observed object when matched.
    async fn run(
        &self,
        provider: &dyn Provider,
        ctx: &OpContext,
        given: Option<String>,
        so_far: &Matches,
    ) -> (Outcome, Option<Observed>) {
        let req = ImportRequest {
            address: self.spec.address.clone(),
            type_name: self.spec.type_name.clone(),
            // Unknown values (references to what is not matched) are left out, also inside
            // maps and lists: what is known still identifies (a manifest's kind and name).
            properties: self
                .properties
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), known_part(&v.unmarked())?)))
                .collect(),
            id: given.clone(),
        };
        let failed = |e: &ProviderError| Outcome::Failed {
            class: e.class(),
            message: e.to_string(),
        };
        match provider.find_existing(ctx, &req).await {
            // Not searchable because something it refers to is not known: when that is
            // something apply will create, nothing can exist inside it yet either.
            Err(e @ ProviderError::Unsupported { .. }) => match absent_parent(self.spec, so_far) {
                Some(parent) => (
                    Outcome::Absent {
                        detail: format!("{parent} is created by apply, so this is too"),
                    },
                    None,
                ),
                None => (failed(&e), None),
            },
            Err(e) => (failed(&e), None),
            Ok(candidates) => decide(self.properties, self.ty, given, candidates, self.claimed),
        }
    }
}

/// The state entry of a matched object, marked as the type and the config's secrets say.
fn matched_entry(
    spec: &ResourceSpec,
    ty: &ResourceType,
    properties: &ValueMap,
    observed: Observed,
) -> ResourceState {
    let mut attributes = observed.attributes;
    mark_sensitive(ty, &mut attributes);
    mark_like(&mut attributes, properties);
    ResourceState {
        type_name: spec.type_name.clone(),
        id: observed.id,
        attributes,
        dependencies: spec.dependencies().into_iter().collect(),
        lifecycle: spec.lifecycle.clone(),
    }
}

/// A resource `spec` refers to (by a property) that this import found absent.
fn absent_parent(spec: &ResourceSpec, so_far: &Matches) -> Option<String> {
    let referenced: Vec<String> = spec
        .properties
        .values()
        .flat_map(|e| e.references())
        .map(|r| r.address.clone())
        .collect();
    so_far
        .lines
        .iter()
        .find(|l| matches!(l.outcome, Outcome::Absent { .. }) && referenced.contains(&l.address))
        .map(|l| l.address.clone())
}

/// `v` without its unknown parts: map entries that are unknown and lists holding anything
/// unknown are dropped; `None` when nothing is known.
fn known_part(v: &Value) -> Option<Value> {
    match v {
        Value::Unknown => None,
        Value::Map(m) => Some(Value::Map(
            m.iter()
                .filter_map(|(k, x)| Some((k.clone(), known_part(x)?)))
                .collect(),
        )),
        // A list is one value (a set of subnets, of security groups): a partly known list would
        // be recorded as what the resource has, so it is left out whole.
        Value::List(l) if l.iter().any(Value::contains_unknown) => None,
        other => Some(other.clone()),
    }
}

/// Decides about the candidates of one address: the outcome, and what to record if matched.
fn decide(
    properties: &ValueMap,
    ty: &ResourceType,
    given: Option<String>,
    mut candidates: Vec<Candidate>,
    claimed: &BTreeMap<(String, String), String>,
) -> (Outcome, Option<Observed>) {
    candidates.sort_by(|a, b| a.observed.id.cmp(&b.observed.id));
    candidates.dedup_by(|a, b| a.observed.id == b.observed.id);
    if candidates.len() > 1 {
        // Listed by how they were found, so the message reads the same on every run.
        candidates
            .sort_by(|a, b| (&a.matched_by, &a.observed.id).cmp(&(&b.matched_by, &b.observed.id)));
        let candidates = candidates
            .into_iter()
            .map(|c| (c.observed.id, c.matched_by))
            .collect();
        return (Outcome::Ambiguous { candidates }, None);
    }
    let Some(c) = candidates.pop() else {
        return match given {
            Some(id) => (Outcome::GivenIdMissing { id }, None),
            None => (
                Outcome::Absent {
                    detail: "nothing found: apply creates it".into(),
                },
                None,
            ),
        };
    };
    if let Some(by) = claimed.get(&(ty.name.clone(), c.observed.id.clone())) {
        return (
            Outcome::Claimed {
                id: c.observed.id,
                by: by.clone(),
            },
            None,
        );
    }
    let differences = contradictions(properties, ty, &c.observed.attributes);
    if !differences.is_empty() {
        return (
            Outcome::Contradicts {
                id: c.observed.id,
                matched_by: c.matched_by,
                differences,
            },
            None,
        );
    }
    (
        Outcome::Matched {
            id: c.observed.id.clone(),
            matched_by: c.matched_by,
        },
        Some(c.observed),
    )
}

/// The `force_new` inputs whose found value and configured value are both known and differ.
fn contradictions(
    properties: &ValueMap,
    ty: &ResourceType,
    found: &ValueMap,
) -> Vec<(String, Value, Value)> {
    let mut out = Vec::new();
    for a in ty.inputs().filter(|a| a.force_new) {
        let (Some(want), Some(have)) = (properties.get(&a.name), found.get(&a.name)) else {
            continue;
        };
        if *want == Value::Null {
            continue;
        }
        if want.contains_unknown() {
            // It comes from something import did not match: apply would make that new and
            // this resource with it, so the one found here cannot be kept as it is.
            let empty = match have.unmarked() {
                Value::Null => true,
                Value::String(x) => x.is_empty(),
                Value::List(l) => l.is_empty(),
                Value::Map(m) => m.is_empty(),
                _ => false,
            };
            if !empty {
                out.push((a.name.clone(), have.unmarked(), Value::Unknown));
            }
            continue;
        }
        if want.unmarked() != have.unmarked() {
            out.push((a.name.clone(), have.unmarked(), want.unmarked()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::provider::{CreateRequest, Provider};
    use crate::testkit::{providers_with, thing, FakeProvider, FAKE_TYPE};

    /// Makes a thing in the fake cloud "by hand" (not through hdh) and returns its id.
    async fn made_outside(fake: &FakeProvider, name: &str) -> String {
        let req = CreateRequest {
            address: format!("outside.{name}"),
            type_name: FAKE_TYPE.into(),
            properties: [("name".to_string(), Value::str(name))].into(),
            token: format!("t-{name}"),
        };
        fake.create(&OpContext::new("s", "r"), &req)
            .await
            .unwrap()
            .id
    }

    fn desired() -> Desired {
        Desired::new(
            "s",
            "r",
            BTreeMap::new(),
            vec![
                thing("net", &[("name", Value::str("net"))], &[]),
                thing("app", &[("name", Value::str("app"))], &["net"]),
            ],
            BTreeMap::new(),
        )
        .unwrap()
    }

    #[tokio::test]
    async fn given_ids_are_matched_in_dependency_order_and_recorded_with_their_edges() {
        let fake = Arc::new(FakeProvider::new());
        let (net, app) = (
            made_outside(&fake, "net").await,
            made_outside(&fake, "app").await,
        );
        let providers = providers_with(fake.clone());
        let ids = [
            ("net".to_string(), net.clone()),
            ("app".to_string(), app.clone()),
        ]
        .into();
        let m = match_all(
            &desired(),
            &State::new(),
            &providers,
            &OpContext::new("s", "r"),
            &ids,
        )
        .await
        .unwrap();
        assert_eq!(m.refused().count(), 0, "{:?}", m.lines);
        assert_eq!(m.entries["net"].id, net);
        assert_eq!(m.entries["app"].dependencies, vec!["net".to_string()]);
        assert_eq!(m.lines[0].address, "net", "dependencies first");
    }

    #[tokio::test]
    async fn what_is_not_certain_is_refused_and_nothing_is_returned_for_it() {
        let fake = Arc::new(FakeProvider::new());
        let other = made_outside(&fake, "other").await;
        let providers = providers_with(fake.clone());
        let ctx = OpContext::new("s", "r");
        // `name` cannot change in place: a thing named otherwise is not this one.
        let ids = [("net".to_string(), other.clone())].into();
        let m = match_all(&desired(), &State::new(), &providers, &ctx, &ids)
            .await
            .unwrap();
        assert!(matches!(
            &m.lines[0].outcome,
            Outcome::Contradicts { differences, .. } if differences[0].0 == "name"
        ));
        // The fake cannot search: without an id that is refused, never guessed.
        assert!(matches!(
            m.lines[1].outcome,
            Outcome::Failed {
                class: "unsupported",
                ..
            }
        ));
        assert!(m.entries.is_empty());

        let ids = [("net".to_string(), "gone".to_string())].into();
        let m = match_all(&desired(), &State::new(), &providers, &ctx, &ids)
            .await
            .unwrap();
        assert_eq!(
            m.lines[0].outcome,
            Outcome::GivenIdMissing { id: "gone".into() }
        );

        let ids = [("nope".to_string(), other)].into();
        let err = match_all(&desired(), &State::new(), &providers, &ctx, &ids).await;
        assert_eq!(
            err.unwrap_err(),
            ImportError::UnknownAddress {
                address: "nope".into()
            }
        );
    }

    #[tokio::test]
    async fn one_resource_is_never_recorded_for_two_addresses_and_state_is_not_searched_again() {
        let fake = Arc::new(FakeProvider::new());
        let net = made_outside(&fake, "net").await;
        let providers = providers_with(fake.clone());
        let ctx = OpContext::new("s", "r");
        let first = match_all(
            &desired(),
            &State::new(),
            &providers,
            &ctx,
            &[("net".to_string(), net.clone())].into(),
        )
        .await
        .unwrap();
        let mut state = State::new();
        state.resources.extend(first.entries);
        let reads = fake.calls_of("read").len();
        // `app` given the resource `net` already is: claimed.
        let ids = [("app".to_string(), net.clone())].into();
        let m = match_all(&desired(), &state, &providers, &ctx, &ids)
            .await
            .unwrap();
        assert_eq!(m.lines[0].outcome, Outcome::InState { id: net.clone() });
        assert!(matches!(&m.lines[1].outcome, Outcome::Claimed { by, .. } if by == "net"));
        assert_eq!(
            fake.calls_of("read").len(),
            reads + 1,
            "only app was looked up"
        );
    }
}
