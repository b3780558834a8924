//! Declarations many AWS types make alike, so each is spelt once: a list of strings, the
//! resource's own `tags` (string → string; hdh adds its own and the stack's on top), and the
//! typical durations of slow operations.

use std::time::Duration;

use hdh_engine::{AttributeSpec, ValueType};

/// A list of strings (ids, names, URLs).
pub(crate) fn strings() -> ValueType {
    ValueType::List(Box::new(ValueType::String))
}

/// The optional `tags` input.
pub(crate) fn tags() -> AttributeSpec {
    AttributeSpec::optional("tags", ValueType::Map(Box::new(ValueType::String)), None)
}

/// A typical duration of `seconds`, as `ResourceType::typically` takes it.
pub(crate) fn secs(seconds: u64) -> Option<Duration> {
    Some(Duration::from_secs(seconds))
}
