//! `hdh import` for AWS types: finding the resource an address stands for among what other
//! tools made (the HelioCloud CDK stacks, eksctl, the console), by the identity each type has
//! in AWS — a name, a parent plus a key, an association — never by hdh's own tags. Each kind
//! says its identity ([`Kind::natural_id`], [`Kind::candidates`]); this reads what fits.
//!
//! Invariants:
//! - A finder returns every resource that fits, never a guess among them: the engine refuses
//!   more than one. `matched_by` says what fitted, for the user to judge.
//! - Candidates are read with the type's own `read` (the request's properties as prior), so
//!   what import records is exactly what a refresh would see.
//! - A type without a search answers `Unsupported`, naming the `--id` to give.

use hdh_engine::provider::{Candidate, ImportRequest, ReadRequest};
use hdh_engine::ProviderError;

use super::{Cx, Kind};
use crate::Answer;

/// The candidates for `req` (no id given).
pub(crate) async fn find(
    kind: &dyn Kind,
    cx: Cx<'_>,
    req: &ImportRequest,
) -> Answer<Vec<Candidate>> {
    if let Some(id) = kind.natural_id(&req.properties)? {
        let how = format!("name {id}");
        return read_ids(kind, cx, req, vec![(id, how)]).await;
    }
    let ids = kind.candidates(cx, req).await?;
    read_ids(kind, cx, req, ids).await
}

/// A type without a search: its id must be given.
pub(crate) fn not_searchable(req: &ImportRequest) -> ProviderError {
    ProviderError::Unsupported {
        message: format!(
            "{} cannot be searched for yet; give its id (--id '{}=ID')",
            req.type_name, req.address
        ),
    }
}

/// A type's search needs a value that is not known (a reference to what was not matched).
pub(crate) fn unsearchable(req: &ImportRequest, why: &str) -> ProviderError {
    ProviderError::Unsupported {
        message: format!(
            "cannot search for {}: {why}; give its id (--id '{}=ID')",
            req.type_name, req.address
        ),
    }
}

/// ` (Name X)` when the resource has a Name tag.
pub(crate) fn named(tags: &[aws_sdk_ec2::types::Tag]) -> String {
    tags.iter()
        .find(|t| t.key() == Some("Name"))
        .and_then(|t| t.value())
        .map(|n| format!(" (Name {n})"))
        .unwrap_or_default()
}

/// Reads each id with the type's own read; those that exist are the candidates.
pub(crate) async fn read_ids(
    kind: &dyn Kind,
    cx: Cx<'_>,
    req: &ImportRequest,
    ids: Vec<(String, String)>,
) -> Answer<Vec<Candidate>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let requests: Vec<ReadRequest> = ids
        .iter()
        .map(|(id, _)| ReadRequest {
            address: req.address.clone(),
            id: id.clone(),
            prior: req.properties.clone(),
        })
        .collect();
    let mut out = Vec::new();
    for (r, (_, how)) in kind.read(cx, &requests).await.into_iter().zip(ids) {
        match r {
            Ok(Some(observed)) => out.push(Candidate {
                observed,
                matched_by: how,
            }),
            Ok(None) | Err(ProviderError::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}
