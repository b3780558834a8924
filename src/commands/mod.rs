//! One module per command; each returns the exit code or an error for `main` to print.

pub mod apply;
pub mod docs;
pub mod eks_token;
pub mod graph;
pub mod import;
pub mod init;
pub mod output;
pub mod plan;
pub mod show;
pub mod state;
pub mod state_move;
pub mod validate;
