//! hdh's engine: values, the desired-state graph, planning, and the apply/destroy executor.
//! It knows nothing of YAML, AWS or terminals: the schema crate feeds it a [`graph::Desired`],
//! providers implement [`provider::Provider`], the state crate implements [`state::StateStore`],
//! and the binary renders what it returns.

pub mod apply;
pub mod duration;
pub mod estimate;
pub mod expr;
pub mod graph;
pub mod import;
pub mod plan;
pub mod preflight;
pub mod progress;
pub mod provider;
pub mod refresh;
pub mod resolve;
pub mod resource_type;
pub mod run;
pub mod state;
pub mod testkit;
pub mod value;

pub use apply::{Event, ExecOptions, Executor, OpKind, Report};
pub use expr::{Expr, Part, Reference};
pub use graph::{Cycle, Desired, GraphError, Lifecycle, ResourceSpec};
pub use plan::{Action, Change, Mode, Plan, PlanError, Reason, RetainedPolicy};
pub use progress::{Progress, ProgressSink, Waited};
pub use provider::{Cleanup, Observed, OpContext, Provider, ProviderError, Providers};
pub use resource_type::{AttributeSpec, Presence, ResourceType, ValueType};
pub use state::{LockInfo, ResourceState, State, StateStore, StoreError};
pub use value::{Value, ValueMap};
