//! The `daskhub:` blueprint: a short section expanded into every resource of a HelioCloud
//! DaskHub (the list is in `stack.rs`) as ordinary resource specs with readable addresses
//! (`daskhub.network.subnet.private["us-east-1a"]`), so planning, applying, graphing and
//! destroying treat them like any other resource.
//!
//! Code map: `settings` reads and checks the section (HelioCloud defaults, located errors),
//! `net` lays out subnets, `stack` lists the resources and their edges, `values` renders the
//! Helm values, `placement` decides which pods run on which node group (profiles, Dask, GPUs),
//! `instances` knows instance sizes, `build` turns descriptions into specs.

mod build;
mod instances;
mod net;
mod placement;
mod settings;
mod stack;
mod values;

use std::collections::BTreeMap;

use hdh_engine::{Expr, Providers, ResourceSpec};

use crate::diag::Problems;
use crate::yaml::Node;

/// What the blueprint adds to a config.
pub(crate) struct Expanded {
    pub resources: Vec<ResourceSpec>,
    pub outputs: BTreeMap<String, Expr>,
    /// Shown at the top of every plan.
    pub warnings: Vec<String>,
}

/// Expands `daskhub:`; `None` when it has errors (reported to `p`).
pub(crate) fn expand(
    p: &mut Problems,
    node: &Node,
    stack: &str,
    region: &str,
    types: &Providers,
) -> Option<Expanded> {
    let s = settings::read(p, node, stack, region)?;
    let mut b = build::Builder {
        types,
        specs: Vec::new(),
    };
    stack::build(&mut b, &s, stack, region);
    let mut warnings = Vec::new();
    if s.cognito.is_none() {
        warnings.push(
            "daskhub: the hub has no login (`allow_unauthenticated: true`): anyone who finds its \
             URL can run code in your AWS account; add `auth: { cognito: … }` before real use"
                .to_string(),
        );
    }
    if s.tls == settings::Tls::None {
        warnings.push(format!(
            "daskhub: the hub serves plain HTTP (`dns.tls: none`): anything typed into it, tokens \
             included, crosses the network unencrypted; use `dns.tls: acm` before real use ({})",
            values::hub_url(&s)
        ));
    }
    let mut outputs = BTreeMap::new();
    outputs.insert(
        "hub_url".to_string(),
        build::expr(&serde_json::json!(format!(
            "{}://{}",
            s.tls.scheme(),
            build::r(stack::RECORD, "fqdn")
        ))),
    );
    Some(Expanded {
        resources: b.specs,
        outputs,
        warnings,
    })
}

#[cfg(test)]
mod tests;
