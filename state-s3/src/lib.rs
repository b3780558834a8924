//! hdh's S3 state backend, a crate of its own so that only what talks to S3 builds the AWS SDK:
//! the state object with its conditional-write lock, the journal objects between whole writes,
//! and the versioned history `hdh state` reads. The format, journal framing and history check
//! are `hdh-state`'s, shared with the local backend, so a state moves between backends unchanged.

// `StoreError` is the engine's error type for the `StateStore` trait (its `Locked` variant
// carries the whole `LockInfo`); it is returned rarely, on cold paths, so its size is no cost.
#![allow(clippy::result_large_err)]

pub mod error;
mod journal;
mod store;

pub use store::{client_for, ObjectInfo, S3Settings, S3Store, Versioning, COMPACT_EVERY};
