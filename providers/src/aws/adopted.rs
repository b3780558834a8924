//! A create answered "already exists" about something this stack made earlier (an interrupted
//! run's create that recovery could not see, a state entry removed by hand): the existing
//! resource is adopted and brought to what the config asks, in place, instead of failing.
//!
//! Invariants:
//! - Only what [`Kind::find_existing`] proves is this stack's (its `hdh:stack` and
//!   `hdh:address` tags, or a parent only this stack owns) is adopted.
//! - An input that cannot change in place (`force_new`) and differs is not papered over: the
//!   create fails as a conflict naming that input.

use hdh_engine::provider::{CreateRequest, UpdateRequest};
use hdh_engine::{Observed, ProviderError, ResourceType};

use super::{equivalent, settle, Cx, Kind};
use crate::Answer;

/// Brings `found` to `req.properties` with one update of the inputs that differ.
pub(crate) async fn converge(
    kind: &dyn Kind,
    schema: &ResourceType,
    cx: Cx<'_>,
    req: &CreateRequest,
    found: Observed,
) -> Answer<Observed> {
    let found = settle(&req.properties, found);
    // Inputs the resource reads back and that differ; ones it does not read back are kept.
    let changed: Vec<String> = req
        .properties
        .iter()
        .filter(|(k, v)| {
            found
                .attributes
                .get(*k)
                .is_some_and(|f| !equivalent(&v.unmarked(), f))
        })
        .map(|(k, _)| k.clone())
        .collect();
    if let Some(fixed) = changed
        .iter()
        .find(|k| schema.attribute(k).is_some_and(|a| a.force_new))
    {
        return Err(ProviderError::Conflict {
            message: format!(
                "{} {} already exists (made by this stack for {}) with another `{fixed}`, which \
                 cannot change in place; delete it or set `{fixed}` back",
                schema.name, found.id, req.address
            ),
        });
    }
    if changed.is_empty() {
        return Ok(found);
    }
    let update = UpdateRequest {
        address: req.address.clone(),
        type_name: req.type_name.clone(),
        id: found.id.clone(),
        prior: found.attributes,
        properties: req.properties.clone(),
        changed,
    };
    let o = kind.update(cx, &update).await?;
    Ok(settle(&req.properties, o))
}
