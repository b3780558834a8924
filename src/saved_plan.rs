//! Saved plans (`hdh plan --out FILE`, `hdh apply FILE`): what was planned, against which
//! config and which state entries, so a stale plan is refused. No secret is ever written: the
//! plan inside is the redacted JSON document.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use hdh_engine::plan::{Action, Mode, Plan};
use hdh_engine::state::State;

use crate::exit::{user_error, UserError};

const KIND: &str = "hdh-saved-plan";
const VERSION: u32 = 1;

#[derive(Debug, Serialize, Deserialize)]
pub struct SavedPlan {
    pub kind: String,
    pub format_version: u32,
    pub hdh_version: String,
    pub stack: String,
    pub config_hash: String,
    pub mode: Mode,
    pub refresh: bool,
    pub targets: Vec<String>,
    /// `--replace` addresses (absent in plans saved before it existed).
    #[serde(default)]
    pub replace: Vec<String>,
    pub lineage: String,
    pub serial: u64,
    /// Address → fingerprint of the state entry the change was planned against (null: none).
    pub fingerprints: BTreeMap<String, Option<String>>,
    /// Address → planned action, e.g. "create", "replace (create before destroy)".
    pub actions: BTreeMap<String, String>,
    /// The redacted JSON plan, for humans and CI.
    pub plan: serde_json::Value,
}

fn action_key(a: Action) -> String {
    match a {
        Action::Replace {
            create_before_destroy: true,
        } => "replace (create before destroy)".into(),
        a => a.name().into(),
    }
}

fn actions_of(plan: &Plan) -> BTreeMap<String, String> {
    plan.changes
        .iter()
        .filter(|c| c.action != Action::NoOp)
        .map(|c| (c.address.clone(), action_key(c.action)))
        .collect()
}

impl SavedPlan {
    pub fn new(
        plan: &Plan,
        stack: &str,
        config_hash: &str,
        refresh: bool,
        json: serde_json::Value,
    ) -> Self {
        SavedPlan {
            kind: KIND.into(),
            format_version: VERSION,
            hdh_version: env!("CARGO_PKG_VERSION").into(),
            stack: stack.into(),
            config_hash: config_hash.into(),
            mode: plan.mode,
            refresh,
            targets: plan.targets.clone(),
            replace: plan.replace.clone(),
            lineage: plan.lineage.clone(),
            serial: plan.serial,
            fingerprints: plan.fingerprints.clone(),
            actions: actions_of(plan),
            plan: json,
        }
    }

    pub fn write(&self, path: &Path) -> Result<()> {
        let mut text = serde_json::to_string_pretty(self)?;
        text.push('\n');
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, path))
            .map_err(|e| {
                user_error(format!(
                    "could not write the plan to {}: {e}",
                    path.display()
                ))
            })
    }

    pub fn read(path: &Path) -> Result<SavedPlan> {
        let bytes = std::fs::read(path)
            .map_err(|e| user_error(format!("could not read the plan {}: {e}", path.display())))?;
        let saved: SavedPlan = serde_json::from_slice(&bytes).map_err(|e| {
            user_error(format!(
                "{} is not a plan saved by hdh plan --out: {e}",
                path.display()
            ))
        })?;
        if saved.kind != KIND || saved.format_version != VERSION {
            return Err(user_error(format!(
                "{} is a {} version {} file; this hdh applies {KIND} version {VERSION}",
                path.display(),
                saved.kind,
                saved.format_version
            )));
        }
        Ok(saved)
    }

    /// Refuses if the config or any state entry the plan touches changed since it was made.
    pub fn check_inputs(&self, stack: &str, config_hash: &str, state: &State) -> Result<()> {
        if self.stack != stack {
            return Err(user_error(format!(
                "this plan is for stack {}, the config is for {stack}",
                self.stack
            )));
        }
        if self.config_hash != config_hash {
            return Err(UserError::new(
                "the plan is stale: the config file changed since the plan was made",
            )
            .hint("run hdh plan --out again")
            .into());
        }
        if !self.lineage.is_empty()
            && !state.lineage.is_empty()
            && self.lineage != state.lineage
            && self.serial > 0
        {
            return Err(user_error(format!(
                "the plan is for state lineage {}, but the state now has lineage {}",
                self.lineage, state.lineage
            )));
        }
        let mut changed = Vec::new();
        for (address, planned) in &self.fingerprints {
            let now = state
                .resources
                .get(address)
                .or_else(|| state.retained.get(address).map(|r| &r.resource))
                .map(|r| r.fingerprint());
            let now = now.or_else(|| state.deposed.get(address).map(|r| r.fingerprint()));
            if &now != planned {
                changed.push(address.clone());
            }
        }
        if !changed.is_empty() {
            return Err(stale(&changed));
        }
        Ok(())
    }

    /// Refuses if planning again gives different actions for what the saved plan changes;
    /// then keeps only those changes, so drift elsewhere since the plan is left for the next plan.
    pub fn restrict(&self, plan: &mut Plan) -> Result<()> {
        let now = actions_of(plan);
        let differ: Vec<String> = self
            .actions
            .iter()
            .filter(|(address, action)| now.get(*address) != Some(*action))
            .map(|(address, _)| address.clone())
            .collect();
        if !differ.is_empty() {
            return Err(stale(&differ));
        }
        plan.changes
            .retain(|c| self.actions.contains_key(&c.address));
        plan.fingerprints
            .retain(|a, _| self.actions.contains_key(a));
        Ok(())
    }
}

fn stale(addresses: &[String]) -> anyhow::Error {
    UserError::new(format!(
        "the plan is stale: {} changed since it was made",
        addresses.join(", ")
    ))
    .hint("run hdh plan --out again and review the new plan")
    .into()
}
