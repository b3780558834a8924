//! The contract between the engine and the code that talks to a real system (AWS, Kubernetes,
//! the local disk). Providers know this trait, never the engine's internals.
//!
//! Invariants:
//! - `create` receives an idempotency token that the engine has already written to state as a
//!   pending intent; a provider passes it to APIs that accept one and tags what it makes with
//!   `hdh:stack`/`hdh:address`, so `find_created` can find the resource after a crash.
//! - `delete` of something already gone is success.
//! - Providers receive real (unmarked) values and return attributes unmarked; the engine marks
//!   the sensitive ones from the resource type's declaration.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::resource_type::ResourceType;
use crate::value::ValueMap;

pub use crate::progress::ProgressSink;
use crate::progress::{Progress, Waited};

/// Something a provider removed that no resource in state stands for, to clear the way for an
/// operation: a load balancer Kubernetes made, a network interface a node left behind, a Helm
/// revision a stopped helm left pending. Users are told every one of these, and why it was
/// safe, at the end of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cleanup {
    /// The resource whose operation needed it.
    pub address: String,
    /// What it was, e.g. "network interface", "load balancer".
    pub kind: String,
    pub id: String,
    /// Why hdh may remove it: who made it and why it is this stack's.
    pub why: String,
}

/// Receives every [`Cleanup`] as it happens.
pub type CleanupSink = Arc<dyn Fn(&Cleanup) + Send + Sync>;

/// Where a call runs: which stack, with which tags, and where to report progress.
#[derive(Clone)]
pub struct OpContext {
    pub stack: String,
    pub region: String,
    /// The stack's tags (from the config), without the `hdh:` ones.
    pub tags: BTreeMap<String, String>,
    /// Deadline for waits inside one operation (e.g. "cluster ACTIVE").
    pub timeout: Duration,
    pub progress: ProgressSink,
    pub cleanups: CleanupSink,
}

impl OpContext {
    pub fn new(stack: &str, region: &str) -> Self {
        OpContext {
            stack: stack.into(),
            region: region.into(),
            tags: BTreeMap::new(),
            timeout: Duration::from_secs(3600),
            progress: Arc::new(|_| {}),
            cleanups: Arc::new(|_| {}),
        }
    }

    /// Records that something in the way of `address`'s operation was removed.
    pub fn cleaned_up(&self, address: &str, kind: &str, id: &str, why: &str) {
        (self.cleanups)(&Cleanup {
            address: address.into(),
            kind: kind.into(),
            id: id.into(),
            why: why.into(),
        })
    }

    /// Reports what `address`'s operation is at (an adoption, what it removed); the CLI shows it.
    pub fn report(&self, address: &str, status: &str) {
        (self.progress)(&Progress::said(address, status))
    }

    /// Reports that `address`'s operation has been waiting for `time`, `doing` what (e.g.
    /// "creating"), and what it waits on now.
    pub fn report_wait(&self, address: &str, doing: &str, status: &str, time: Duration) {
        (self.progress)(&Progress {
            address: address.into(),
            status: status.into(),
            waited: Some(Waited {
                doing: doing.into(),
                time,
            }),
        })
    }

    /// The stack tags plus the `hdh:` tags that let a resource be found again.
    pub fn tags_for(&self, address: &str) -> BTreeMap<String, String> {
        let mut t = self.tags.clone();
        t.insert("hdh:stack".into(), self.stack.clone());
        t.insert("hdh:address".into(), address.into());
        t
    }
}

/// A resource as the provider found or made it.
#[derive(Debug, Clone, PartialEq)]
pub struct Observed {
    pub id: String,
    /// Inputs as they really are plus computed attributes.
    pub attributes: ValueMap,
}

#[derive(Debug, Clone)]
pub struct ReadRequest {
    pub address: String,
    pub id: String,
    /// What state recorded last time (some resources need it to read, e.g. a file's path).
    pub prior: ValueMap,
}

#[derive(Debug, Clone)]
pub struct CreateRequest {
    pub address: String,
    pub type_name: String,
    pub properties: ValueMap,
    /// Unique per create attempt, recorded in state before the call.
    pub token: String,
}

#[derive(Debug, Clone)]
pub struct UpdateRequest {
    pub address: String,
    pub type_name: String,
    pub id: String,
    pub prior: ValueMap,
    pub properties: ValueMap,
    /// Names of the inputs that differ.
    pub changed: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct DeleteRequest {
    pub address: String,
    pub type_name: String,
    pub id: String,
    pub prior: ValueMap,
    /// The user explicitly accepted losing this resource's data (`--delete-retained`): a
    /// provider empties it (a bucket's objects and versions) instead of refusing. Never set
    /// for an ordinary delete.
    pub purge: bool,
}

/// What `hdh import` asks a provider: the existing resource `address` stands for, made outside
/// hdh (by other tools, by hand).
#[derive(Debug, Clone)]
pub struct ImportRequest {
    pub address: String,
    pub type_name: String,
    /// The config's properties, evaluated against what was matched before; a reference to a
    /// resource not matched is `Unknown`.
    pub properties: ValueMap,
    /// The id the user gave for this address: then it is the only candidate.
    pub id: Option<String>,
}

/// One existing resource an import could record for an address, and how it was found
/// ("id given", "name eks-helio", "tag alpha.eksctl.io/cluster-name=eks-helio").
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub observed: Observed,
    pub matched_by: String,
}

/// Classified provider failures; the engine decides what to do from the class. `Throttled` and
/// `Unavailable` are the retryable ones (a provider waits them out until its deadline); every
/// other class is permanent for the call that got it and fails it at once.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("{message}")]
    InvalidInput { message: String },
    #[error("{message}")]
    NotFound { message: String },
    #[error("{message}")]
    DependencyViolation { message: String },
    #[error("{message}")]
    Conflict { message: String },
    /// Retryable: the service throttled the call (after the SDK's own retries).
    #[error("{message}")]
    Throttled { message: String },
    /// Retryable: the service failed on its side (HTTP 5xx) or could not be reached in time.
    #[error("{message}")]
    Unavailable { message: String },
    #[error("timed out after {} waiting for {what}", crate::duration::precise(*waited))]
    Timeout { what: String, waited: Duration },
    #[error("unsupported: {message}")]
    Unsupported { message: String },
    #[error("{message}")]
    Other { message: String },
}

impl ProviderError {
    pub fn other(message: impl Into<String>) -> Self {
        ProviderError::Other {
            message: message.into(),
        }
    }

    /// A stable snake_case name of the class, for machine-readable output.
    pub fn class(&self) -> &'static str {
        match self {
            ProviderError::InvalidInput { .. } => "invalid_input",
            ProviderError::NotFound { .. } => "not_found",
            ProviderError::DependencyViolation { .. } => "dependency_violation",
            ProviderError::Conflict { .. } => "conflict",
            ProviderError::Throttled { .. } => "throttled",
            ProviderError::Unavailable { .. } => "unavailable",
            ProviderError::Timeout { .. } => "timeout",
            ProviderError::Unsupported { .. } => "unsupported",
            ProviderError::Other { .. } => "other",
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        ProviderError::InvalidInput {
            message: message.into(),
        }
    }
}

/// A plan-time finding of a provider (e.g. an instance type not offered in an AZ).
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub address: String,
    pub attribute: Option<String>,
    pub message: String,
}

#[async_trait]
pub trait Provider: Send + Sync {
    /// The resource types this provider serves.
    fn resource_types(&self) -> Vec<ResourceType>;

    /// Reads many resources of one type at once (refresh). One entry per request, in order:
    /// `Ok(None)` when the resource no longer exists.
    async fn read(
        &self,
        ctx: &OpContext,
        type_name: &str,
        requests: &[ReadRequest],
    ) -> Vec<Result<Option<Observed>, ProviderError>>;

    async fn create(&self, ctx: &OpContext, req: &CreateRequest)
        -> Result<Observed, ProviderError>;

    async fn update(&self, ctx: &OpContext, req: &UpdateRequest)
        -> Result<Observed, ProviderError>;

    async fn delete(&self, ctx: &OpContext, req: &DeleteRequest) -> Result<(), ProviderError>;

    /// After an interrupted create: finds what that create made, by its token or its
    /// `hdh:address` tag. `Ok(None)` when nothing was made.
    async fn find_created(
        &self,
        ctx: &OpContext,
        req: &CreateRequest,
    ) -> Result<Option<Observed>, ProviderError>;

    /// `hdh import`: the existing resources that could be `req.address`'s, found by the
    /// identity its type has in the real system (a name, a parent and a key, tags) or, when
    /// `req.id` is given, that id alone. Each is read as `read` reads it. An empty list when
    /// nothing matches; the engine refuses several. Default: only a given id is looked up
    /// (a type without a search says so).
    async fn find_existing(
        &self,
        ctx: &OpContext,
        req: &ImportRequest,
    ) -> Result<Vec<Candidate>, ProviderError> {
        let Some(id) = &req.id else {
            return Err(ProviderError::Unsupported {
                message: format!(
                    "{} cannot be searched for by name or tags; give its id (--id {}=ID)",
                    req.type_name, req.address
                ),
            });
        };
        read_given_id(self, ctx, req, id).await
    }

    /// Plan-time checks against the real system for resources about to be created or updated
    /// (`(address, type, properties)`). Default: nothing to check.
    async fn preflight(
        &self,
        _ctx: &OpContext,
        _resources: &[(String, String, ValueMap)],
    ) -> Vec<Finding> {
        Vec::new()
    }
}

/// Reads the id an import was given as `read` does: one candidate, or none when it does not
/// exist.
pub async fn read_given_id<P: Provider + ?Sized>(
    provider: &P,
    ctx: &OpContext,
    req: &ImportRequest,
    id: &str,
) -> Result<Vec<Candidate>, ProviderError> {
    let read = ReadRequest {
        address: req.address.clone(),
        id: id.to_string(),
        prior: req.properties.clone(),
    };
    match provider
        .read(ctx, &req.type_name, std::slice::from_ref(&read))
        .await
        .pop()
    {
        Some(Ok(Some(observed))) => Ok(vec![Candidate {
            observed,
            matched_by: "id given".into(),
        }]),
        Some(Ok(None)) | Some(Err(ProviderError::NotFound { .. })) | None => Ok(Vec::new()),
        Some(Err(e)) => Err(e),
    }
}

/// Maps resource type names to the provider that serves them.
#[derive(Clone, Default)]
pub struct Providers {
    by_type: BTreeMap<String, (Arc<dyn Provider>, ResourceType)>,
}

impl Providers {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers every type of `provider`. A type served twice is a programming error.
    pub fn register(&mut self, provider: Arc<dyn Provider>) {
        for t in provider.resource_types() {
            let name = t.name.clone();
            let previous = self.by_type.insert(name.clone(), (provider.clone(), t));
            assert!(previous.is_none(), "resource type {name} registered twice");
        }
    }

    pub fn provider(&self, type_name: &str) -> Option<&Arc<dyn Provider>> {
        self.by_type.get(type_name).map(|(p, _)| p)
    }

    pub fn resource_type(&self, type_name: &str) -> Option<&ResourceType> {
        self.by_type.get(type_name).map(|(_, t)| t)
    }

    pub fn type_names(&self) -> impl Iterator<Item = &str> {
        self.by_type.keys().map(String::as_str)
    }
}
