//! Where hdh keeps what it knows between runs: the versioned state file format (shared by every
//! backend), the journal framing and history check the backends share, and the local-file
//! backend with its lock and backup. The engine's [`hdh_engine::StateStore`] trait is the
//! boundary. The S3 backend is its own crate (`hdh-state-s3`), so what builds only this one (the
//! benchmarks, the engine path) compiles no cloud SDK.

// `StoreError` is the engine's error type for the `StateStore` trait (its `Locked` variant
// carries the whole `LockInfo`); it is returned rarely, on cold paths, so its size is no cost.
#![allow(clippy::result_large_err)]

mod atomic;
pub mod format;
pub mod history;
pub mod journal;
mod kill_point;
pub mod local;
mod lock_info;

pub use format::{decode, encode, FORMAT_VERSION};
pub use local::LocalStore;
pub use lock_info::{holder_gone_from_this_host, lock_age, lock_info, parse_rfc3339};
