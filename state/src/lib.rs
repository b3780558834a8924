//! Where hdh keeps what it knows between runs: the versioned state file format (shared by every
//! backend) and the local-file backend with its lock and backup. The engine's
//! [`hdh_engine::StateStore`] trait is the boundary; `local` and `s3` are the backends.

// `StoreError` is the engine's error type for the `StateStore` trait (its `Locked` variant
// carries the whole `LockInfo`); it is returned rarely, on cold paths, so its size is no cost.
#![allow(clippy::result_large_err)]

mod atomic;
pub mod format;
mod history;
mod journal;
mod kill_point;
pub mod local;
mod lock_info;
pub mod s3;
pub mod s3_error;
mod s3_journal;

pub use format::{decode, encode, FORMAT_VERSION};
pub use local::LocalStore;
pub use lock_info::{holder_gone_from_this_host, lock_age, lock_info, parse_rfc3339};
pub use s3::{S3Settings, S3Store};
