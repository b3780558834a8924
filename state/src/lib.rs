//! Where hdh keeps what it knows between runs: the versioned state file format (shared by every
//! backend) and the local-file backend with its lock and backup. The engine's
//! [`hdh_engine::StateStore`] trait is the boundary; the S3 backend will live beside `local`.

mod atomic;
pub mod format;
pub mod local;
mod lock_info;

pub use format::{decode, encode, FORMAT_VERSION};
pub use local::LocalStore;
pub use lock_info::lock_info;
