//! Settling what an interrupted run left in flight: every pending intent is resolved against the
//! real world before anything is planned, so a crash never causes a duplicate or an orphan.
//!
//! Invariants:
//! - A pending create whose resource exists (found by token or `hdh:address` tag) is adopted into
//!   state; one whose resource does not exist is dropped, and the plan creates it again.
//! - A pending update or delete is settled by reading the resource: whatever it really is now
//!   is what state records.
//! - A provider's `find_created` returns what it found ready for dependents (a cluster found
//!   CREATING is waited for until ACTIVE), so adoption never hands a half-made resource to the
//!   plan. The lookups of all interrupted creates run at once, so those waits overlap.

use crate::provider::{
    CreateRequest, Observed, OpContext, Provider, ProviderError, Providers, ReadRequest,
};
use crate::resource_type::ResourceType;
use crate::state::{Intent, IntentAction, ResourceState, State};
use crate::value::{mark_like, mark_sensitive, overlay_keeping_marks, unmark_map, Value};

#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("resolving the interrupted {action:?} of {address}: {source}")]
    Provider {
        address: String,
        action: IntentAction,
        #[source]
        source: ProviderError,
    },
    #[error("resolving the interrupted {action:?} of {address}: no provider serves {type_name}")]
    UnknownType {
        address: String,
        action: IntentAction,
        type_name: String,
    },
}

/// What resolution did, one line per intent, for the CLI to report.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resolution {
    /// Addresses whose interrupted create had made something, now adopted (address, id).
    pub adopted: Vec<(String, String)>,
    /// Interrupted creates that had made nothing.
    pub not_created: Vec<String>,
    /// Interrupted updates and deletes settled by reading the resource.
    pub settled: Vec<String>,
}

impl Resolution {
    pub fn is_empty(&self) -> bool {
        self.adopted.is_empty() && self.not_created.is_empty() && self.settled.is_empty()
    }
}

/// Resolves and removes every intent in `state`. On error the unresolved intents stay.
pub async fn resolve_intents(
    state: &mut State,
    providers: &Providers,
    ctx: &OpContext,
) -> Result<Resolution, ResolveError> {
    let mut found = find_all_created(state, providers, ctx).await.into_iter();
    let mut resolution = Resolution::default();
    while let Some(intent) = state.intents.first().cloned() {
        let lookup = found.next().flatten();
        resolve_one(state, providers, ctx, &intent, lookup, &mut resolution).await?;
        state.intents.remove(0);
    }
    Ok(resolution)
}

type Lookup = Result<Option<crate::provider::Observed>, ProviderError>;

/// `find_created` of every pending create, concurrently; one entry per intent, in order
/// (`None` for intents that are not creates or whose type no provider serves).
async fn find_all_created(
    state: &State,
    providers: &Providers,
    ctx: &OpContext,
) -> Vec<Option<Lookup>> {
    let mut tasks = tokio::task::JoinSet::new();
    for (i, intent) in state.intents.iter().enumerate() {
        let Some(provider) = providers.provider(&intent.type_name) else {
            continue;
        };
        if intent.action != IntentAction::Create {
            continue;
        }
        let (provider, ctx, req) = (provider.clone(), ctx.clone(), create_request(intent));
        tasks.spawn(async move { (i, provider.find_created(&ctx, &req).await) });
    }
    let mut out: Vec<Option<Lookup>> = state.intents.iter().map(|_| None).collect();
    while let Some(joined) = tasks.join_next().await {
        // A lookup that panicked leaves its slot empty: resolve_one looks again, alone.
        if let Ok((i, r)) = joined {
            out[i] = Some(r);
        }
    }
    out
}

fn create_request(intent: &Intent) -> CreateRequest {
    CreateRequest {
        address: intent.address.clone(),
        type_name: intent.type_name.clone(),
        properties: unmark_map(&intent.properties),
        token: intent.token.clone(),
    }
}

async fn resolve_one(
    state: &mut State,
    providers: &Providers,
    ctx: &OpContext,
    intent: &Intent,
    lookup: Option<Lookup>,
    out: &mut Resolution,
) -> Result<(), ResolveError> {
    let fail = |source| ResolveError::Provider {
        address: intent.address.clone(),
        action: intent.action,
        source,
    };
    let (Some(provider), Some(ty)) = (
        providers.provider(&intent.type_name),
        providers.resource_type(&intent.type_name),
    ) else {
        return Err(ResolveError::UnknownType {
            address: intent.address.clone(),
            action: intent.action,
            type_name: intent.type_name.clone(),
        });
    };
    match intent.action {
        IntentAction::Create => {
            let found = match lookup {
                Some(found) => found,
                None => provider.find_created(ctx, &create_request(intent)).await,
            };
            match found.map_err(fail)? {
                Some(found) => adopt_created(state, ty, intent, found, out),
                None => out.not_created.push(intent.address.clone()),
            }
        }
        IntentAction::Update | IntentAction::Delete => {
            reread(state, provider.as_ref(), ty, ctx, intent)
                .await
                .map_err(fail)?;
            out.settled.push(intent.address.clone());
        }
    }
    Ok(())
}

/// An interrupted create that did make its object: recorded as the intent describes it, with
/// the marks the intent's properties had.
fn adopt_created(
    state: &mut State,
    ty: &ResourceType,
    intent: &Intent,
    found: Observed,
    out: &mut Resolution,
) {
    let mut attributes = found.attributes;
    mark_sensitive(ty, &mut attributes);
    mark_like(&mut attributes, &intent.properties);
    // An interrupted create-before-destroy: the old object becomes deposed.
    if let Some(old) = state.resources.remove(&intent.address) {
        if old.id != found.id {
            state.deposed.insert(intent.address.clone(), old);
        }
    }
    out.adopted.push((intent.address.clone(), found.id.clone()));
    state.resources.insert(
        intent.address.clone(),
        ResourceState {
            type_name: intent.type_name.clone(),
            id: found.id,
            attributes,
            dependencies: intent.dependencies.clone(),
            lifecycle: intent.lifecycle.clone(),
        },
    );
}

/// An interrupted update or delete: the object it acted on read again (dropped when gone).
async fn reread(
    state: &mut State,
    provider: &dyn Provider,
    ty: &ResourceType,
    ctx: &OpContext,
    intent: &Intent,
) -> Result<(), ProviderError> {
    let deposed = intent.properties.get("deposed") == Some(&Value::Bool(true));
    let map = if deposed {
        &mut state.deposed
    } else {
        &mut state.resources
    };
    let Some(entry) = map.get(&intent.address) else {
        return Ok(());
    };
    let req = ReadRequest {
        address: intent.address.clone(),
        id: entry.id.clone(),
        prior: unmark_map(&entry.attributes),
    };
    let result = provider
        .read(ctx, &intent.type_name, std::slice::from_ref(&req))
        .await
        .pop()
        .unwrap_or(Ok(None));
    match result {
        Ok(None) | Err(ProviderError::NotFound { .. }) => {
            map.remove(&intent.address);
        }
        Ok(Some(found)) => {
            let e = map.get_mut(&intent.address).expect("present above");
            let mut attributes = found.attributes;
            mark_sensitive(ty, &mut attributes);
            overlay_keeping_marks(&mut e.attributes, attributes);
        }
        Err(source) => return Err(source),
    }
    Ok(())
}
