//! Dispatching a type name to the kind that serves it: every provider that serves several types
//! (AWS, Kubernetes) holds its kinds in one [`Kinds`] and asks it, so an unknown type is
//! refused the same way everywhere. (A local type is a provider of its own, registered with the
//! engine's `Providers`, which dispatches the same way one level up.)
//!
//! Invariant: each type the provider's document declares has exactly one kind, and each kind
//! a declaration; a provider whose two lists differ is not made.

use std::collections::BTreeMap;
use std::sync::Arc;

use hdh_engine::ResourceType;

use crate::Answer;

/// The kinds of one provider, by type name, with their declarations.
pub(crate) struct Kinds<K: ?Sized> {
    by_name: BTreeMap<String, (ResourceType, Arc<K>)>,
}

impl<K: ?Sized> Kinds<K> {
    /// The `declared` types (see [`crate::declared`]), each served by the kind named for it.
    ///
    /// # Panics
    /// When a declared type has no kind, a kind no declaration, or a name two kinds: the two
    /// lists are written in one provider's source, so that is a bug every test that makes the
    /// provider finds.
    pub(crate) fn new(declared: Vec<ResourceType>, registered: Vec<(&str, Arc<K>)>) -> Self {
        let mut kinds: BTreeMap<&str, Arc<K>> = BTreeMap::new();
        for (name, kind) in registered {
            if kinds.insert(name, kind).is_some() {
                panic!("{name} has two kinds");
            }
        }
        let mut by_name = BTreeMap::new();
        for schema in declared {
            let Some(kind) = kinds.remove(schema.name.as_str()) else {
                panic!("{} is declared but no kind serves it", schema.name);
            };
            by_name.insert(schema.name.clone(), (schema, kind));
        }
        if let Some(name) = kinds.keys().next() {
            panic!("{name} has a kind but no declaration");
        }
        Kinds { by_name }
    }

    /// The kind serving `type_name`; `Unsupported` for a type this provider does not serve.
    pub(crate) fn get(&self, type_name: &str) -> Answer<&K> {
        self.declared(type_name).map(|(_, kind)| kind)
    }

    /// The declaration of `type_name` and the kind serving it, as [`Kinds::get`].
    pub(crate) fn declared(&self, type_name: &str) -> Answer<(&ResourceType, &K)> {
        self.by_name
            .get(type_name)
            .map(|(schema, kind)| (schema, kind.as_ref()))
            .ok_or_else(|| crate::props::unsupported_type(type_name))
    }

    pub(crate) fn serves(&self, type_name: &str) -> bool {
        self.by_name.contains_key(type_name)
    }

    /// Every kind's declaration, by type name.
    pub(crate) fn schemas(&self) -> Vec<ResourceType> {
        self.by_name
            .values()
            .map(|(schema, _)| schema.clone())
            .collect()
    }
}
