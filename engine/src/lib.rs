//! hdh's engine: values, the desired-state graph, planning, and the apply/destroy executor.
//! It knows nothing of YAML, AWS or terminals: the schema crate feeds it a [`graph::Desired`],
//! providers implement [`provider::Provider`], the state crate implements [`state::StateStore`],
//! and the binary renders what it returns.

pub mod expr;
pub mod graph;
pub mod provider;
pub mod resource_type;
pub mod state;
pub mod value;

pub use expr::{Expr, Part, Reference};
pub use graph::{Desired, GraphError, Lifecycle, ResourceSpec};
pub use provider::{OpContext, Observed, Provider, ProviderError, Providers};
pub use resource_type::{AttributeSpec, Presence, ResourceType, ValueType};
pub use state::{LockInfo, ResourceState, State, StateStore, StoreError};
pub use value::{Value, ValueMap};
