//! Saved plans (`hdh plan --out FILE`, `hdh apply FILE`): what was planned, against which
//! config and which state entries, so a stale plan is refused. No secret is ever written: the
//! plan inside is the redacted JSON document.
//!
//! The file is written from this module's own types, never from the engine's: renaming an
//! engine variant cannot change what version 1 of the file says (a test pins its shape).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use hdh_engine::plan::{Action, Mode, Plan, RetainedPolicy};
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
    mode: ModeEntry,
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

/// The plan's mode as the file holds it: `{"mode": "apply"}` or
/// `{"mode": "destroy", "retained": "refuse" | "keep" | "delete"}`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "mode", deny_unknown_fields)]
enum ModeEntry {
    Apply,
    Destroy { retained: RetainedEntry },
}

/// What the destroy does with retained resources, as the file names it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum RetainedEntry {
    Refuse,
    Keep,
    Delete,
}

impl From<Mode> for ModeEntry {
    fn from(m: Mode) -> Self {
        match m {
            Mode::Apply => ModeEntry::Apply,
            Mode::Destroy { retained } => ModeEntry::Destroy {
                retained: match retained {
                    RetainedPolicy::Refuse => RetainedEntry::Refuse,
                    RetainedPolicy::Keep => RetainedEntry::Keep,
                    RetainedPolicy::Delete => RetainedEntry::Delete,
                },
            },
        }
    }
}

impl From<ModeEntry> for Mode {
    fn from(m: ModeEntry) -> Self {
        match m {
            ModeEntry::Apply => Mode::Apply,
            ModeEntry::Destroy { retained } => Mode::Destroy {
                retained: match retained {
                    RetainedEntry::Refuse => RetainedPolicy::Refuse,
                    RetainedEntry::Keep => RetainedPolicy::Keep,
                    RetainedEntry::Delete => RetainedPolicy::Delete,
                },
            },
        }
    }
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
            mode: plan.mode.into(),
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

    /// What the plan was made for: apply, or destroy with its retained policy.
    pub fn mode(&self) -> Mode {
        self.mode.into()
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A version-1 saved plan, as `hdh plan --destroy --keep-retained --out` writes it.
    const VERSION_1: &str = r#"{
  "kind": "hdh-saved-plan",
  "format_version": 1,
  "hdh_version": "0.1.0",
  "stack": "demo",
  "config_hash": "3f2a",
  "mode": {
    "mode": "destroy",
    "retained": "keep"
  },
  "refresh": true,
  "targets": [],
  "replace": [],
  "lineage": "5fca5040-d70f-4744-a97c-80379ea8b497",
  "serial": 4,
  "fingerprints": {
    "efs": "a1b2",
    "vpc": null
  },
  "actions": {
    "efs": "forget",
    "vpc": "delete"
  },
  "plan": {
    "changes": []
  }
}"#;

    /// The file's shape is pinned: it reads into this hdh's types and writes back byte for byte,
    /// so no change in the engine's enums can alter version 1.
    #[test]
    fn version_1_reads_and_writes_back_unchanged() {
        let saved: SavedPlan = serde_json::from_str(VERSION_1).unwrap();
        assert_eq!(
            saved.mode(),
            Mode::Destroy {
                retained: RetainedPolicy::Keep
            }
        );
        assert_eq!(serde_json::to_string_pretty(&saved).unwrap(), VERSION_1);
        let apply = VERSION_1.replace(
            "{\n    \"mode\": \"destroy\",\n    \"retained\": \"keep\"\n  }",
            "{\n    \"mode\": \"apply\"\n  }",
        );
        let saved: SavedPlan = serde_json::from_str(&apply).unwrap();
        assert_eq!(saved.mode(), Mode::Apply);
        assert_eq!(serde_json::to_string_pretty(&saved).unwrap(), apply);
    }

    #[test]
    fn a_mode_this_hdh_does_not_know_is_refused() {
        let odd = VERSION_1.replace("\"retained\": \"keep\"", "\"retained\": \"shred\"");
        assert!(serde_json::from_str::<SavedPlan>(&odd).is_err());
        let extra = VERSION_1.replace(
            "\"retained\": \"keep\"",
            "\"retained\": \"keep\", \"force\": true",
        );
        assert!(serde_json::from_str::<SavedPlan>(&extra).is_err());
    }
}
