//! The AWS code's name for the providers-wide waiting in [`crate::poll`].

pub(crate) use crate::poll::{dependency, not_yet_visible, Poll, Wait};
