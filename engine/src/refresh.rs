//! Bringing state up to date with the real world before planning: one batched read per resource
//! type, run concurrently across types.
//!
//! Invariant: refresh only changes the in-memory state it is given; whether that is saved is the
//! caller's decision (plan never saves, apply saves as part of its run).

use std::collections::{BTreeMap, BTreeSet};

use crate::plan::Drift;
use crate::provider::{Observed, OpContext, ProviderError, Providers, ReadRequest};
use crate::resource_type::ResourceType;
use crate::state::{ResourceState, State};
use crate::value::{mark_sensitive, overlay_keeping_marks, unmark_map};

#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    #[error("refreshing {address}: {source}")]
    Read {
        address: String,
        #[source]
        source: ProviderError,
    },
    #[error("{address}: state holds resource type {type_name}, which no provider serves")]
    UnknownType { address: String, type_name: String },
}

/// Reads every resource in state; updates attributes, drops what no longer exists and returns
/// what drifted. All read errors are returned, not just the first.
pub async fn refresh(
    state: &mut State,
    providers: &Providers,
    ctx: &OpContext,
) -> Result<Drift, Vec<RefreshError>> {
    let by_type = read_requests(state, providers)?;
    let mut tasks = tokio::task::JoinSet::new();
    for (type_name, requests) in by_type {
        let provider = providers
            .provider(&type_name)
            .expect("checked above")
            .clone();
        let ctx = ctx.clone();
        tasks.spawn(async move {
            let results = provider.read(&ctx, &type_name, &requests).await;
            (type_name, requests, results)
        });
    }

    let mut drift = Drift::default();
    let mut errors = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let (type_name, requests, results) = match joined {
            Ok(r) => r,
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        };
        let ty = providers.resource_type(&type_name).expect("checked above");
        for (req, result) in requests.into_iter().zip(results) {
            match result {
                Ok(None) | Err(ProviderError::NotFound { .. }) => {
                    state.resources.remove(&req.address);
                    drift.vanished.insert(req.address);
                }
                Ok(Some(observed)) => {
                    let entry = state
                        .resources
                        .get_mut(&req.address)
                        .expect("read what state has");
                    let drifted = record_read(entry, ty, observed);
                    if !drifted.is_empty() {
                        drift
                            .changed
                            .insert(req.address, drifted.into_iter().collect());
                    }
                }
                Err(source) => errors.push(RefreshError::Read {
                    address: req.address,
                    source,
                }),
            }
        }
    }
    if errors.is_empty() {
        Ok(drift)
    } else {
        Err(errors)
    }
}

/// One read request per resource in state, by type; refused (every one named) when a type
/// has no provider.
fn read_requests(
    state: &State,
    providers: &Providers,
) -> Result<BTreeMap<String, Vec<ReadRequest>>, Vec<RefreshError>> {
    let mut by_type: BTreeMap<String, Vec<ReadRequest>> = BTreeMap::new();
    let mut errors = Vec::new();
    for (address, r) in &state.resources {
        if providers.provider(&r.type_name).is_none() {
            errors.push(RefreshError::UnknownType {
                address: address.clone(),
                type_name: r.type_name.clone(),
            });
            continue;
        }
        by_type
            .entry(r.type_name.clone())
            .or_default()
            .push(ReadRequest {
                address: address.clone(),
                id: r.id.clone(),
                prior: unmark_map(&r.attributes),
            });
    }
    if errors.is_empty() {
        Ok(by_type)
    } else {
        Err(errors)
    }
}

/// Writes what a read observed over the recorded entry (marks kept); returns the inputs whose
/// real value differs from what was recorded.
fn record_read(
    entry: &mut ResourceState,
    ty: &ResourceType,
    observed: Observed,
) -> BTreeSet<String> {
    let mut attrs = observed.attributes;
    mark_sensitive(ty, &mut attrs);
    let mut drifted = BTreeSet::new();
    for (k, v) in &attrs {
        let is_input = ty.attribute(k).is_some_and(|a| a.is_input());
        if let (true, Some(prior)) = (is_input, entry.attributes.get(k)) {
            if prior.unmarked() != v.unmarked() {
                drifted.insert(k.clone());
            }
        }
    }
    overlay_keeping_marks(&mut entry.attributes, attrs);
    entry.id = observed.id;
    drifted
}
