//! Dispatching a type name to the kind that serves it: every provider that serves several types
//! (AWS, Kubernetes) holds its kinds in one [`Kinds`] and asks it, so an unknown type is
//! refused the same way everywhere. (A local type is a provider of its own, registered with the
//! engine's `Providers`, which dispatches the same way one level up.)

use std::collections::BTreeMap;
use std::sync::Arc;

use hdh_engine::ResourceType;

use crate::Answer;

/// The kinds of one provider, by type name.
pub(crate) struct Kinds<K: ?Sized> {
    by_name: BTreeMap<String, Arc<K>>,
    schemas: Vec<ResourceType>,
}

impl<K: ?Sized> Kinds<K> {
    /// Each kind with its schema, whose name is the type it serves.
    pub(crate) fn new(all: impl IntoIterator<Item = (ResourceType, Arc<K>)>) -> Self {
        let mut kinds = Kinds {
            by_name: BTreeMap::new(),
            schemas: Vec::new(),
        };
        for (schema, kind) in all {
            kinds.by_name.insert(schema.name.clone(), kind);
            kinds.schemas.push(schema);
        }
        kinds.schemas.sort_by(|a, b| a.name.cmp(&b.name));
        kinds
    }

    /// The kind serving `type_name`; `Unsupported` for a type this provider does not serve.
    pub(crate) fn get(&self, type_name: &str) -> Answer<&K> {
        self.by_name
            .get(type_name)
            .map(|k| k.as_ref())
            .ok_or_else(|| crate::props::unsupported_type(type_name))
    }

    pub(crate) fn serves(&self, type_name: &str) -> bool {
        self.by_name.contains_key(type_name)
    }

    /// Every kind's schema, by type name.
    pub(crate) fn schemas(&self) -> Vec<ResourceType> {
        self.schemas.clone()
    }
}
