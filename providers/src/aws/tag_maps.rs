//! The EKS and Cognito SDKs carry tags as `HashMap`s; hdh keeps every tag set as a `BTreeMap`
//! (sorted, so plans, state and requests are the same from run to run). These convert.

use std::collections::{BTreeMap, HashMap};

/// hdh's tags as the SDK takes them.
pub(crate) fn hash_map(t: &BTreeMap<String, String>) -> HashMap<String, String> {
    t.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// The SDK's tags (none when it sends none) as hdh keeps them.
pub(crate) fn btree(t: Option<&HashMap<String, String>>) -> BTreeMap<String, String> {
    t.map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}
