//! The closing report of an apply or destroy, the record a user keeps of a teardown: what was
//! deleted (with the ids it had, captured before it went), what was retained, and what hdh
//! removed that it had not created (load balancers, network interfaces…) and for which resource.

use std::collections::BTreeSet;
use std::fmt::Write;

use hdh_engine::apply::{OpKind, Report};
use hdh_engine::plan::{Action, Plan};
use hdh_engine::provider::Cleanup;
use hdh_engine::state::State;

/// One resource: address, type, id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub address: String,
    pub type_name: String,
    pub id: String,
}

/// The id state recorded for `address` in any slot (current, deposed, retained).
fn recorded_id(state: &State, address: &str) -> Option<String> {
    state
        .resources
        .get(address)
        .or_else(|| state.deposed.get(address))
        .or_else(|| state.retained.get(address).map(|r| &r.resource))
        .map(|r| r.id.clone())
}

/// What the plan deletes (deletions and the old half of replacements), with their ids; taken
/// before the run, while state still knows them. In plan order.
pub fn to_delete(plan: &Plan, before: &State) -> Vec<Item> {
    plan.changes
        .iter()
        .filter(|c| matches!(c.action, Action::Delete | Action::Replace { .. }))
        .map(|c| Item {
            address: c.address.clone(),
            type_name: c.type_name.clone(),
            id: c
                .id
                .clone()
                .or_else(|| recorded_id(before, &c.address))
                .unwrap_or_else(|| "?".into()),
        })
        .collect()
}

/// Of `planned`, those the run really deleted.
pub fn deleted(planned: Vec<Item>, report: &Report) -> Vec<Item> {
    let done: BTreeSet<&str> = report
        .completed
        .iter()
        .filter(|(_, op, _)| *op == OpKind::Delete)
        .map(|(a, _, _)| a.as_str())
        .collect();
    planned
        .into_iter()
        .filter(|i| done.contains(i.address.as_str()))
        .collect()
}

/// What the plan retains, with the ids state recorded for them after the run. A resource that
/// stands for a set of cloud objects (`aws_ebs_pvc_volumes`) shows their ids too, so the report
/// names every volume that was kept.
pub fn retained(plan: &Plan, after: &State) -> Vec<Item> {
    plan.changes
        .iter()
        .filter(|c| c.action == Action::Forget)
        .map(|c| {
            let kept = after.retained.get(&c.address).map(|r| &r.resource);
            let id = kept
                .map(|r| r.id.clone())
                .or_else(|| c.id.clone())
                .unwrap_or_else(|| "?".into());
            let members: Vec<String> = kept
                .and_then(|r| r.attributes.get("volume_ids"))
                .and_then(|v| v.to_display_json().as_array().cloned())
                .unwrap_or_default()
                .iter()
                .filter_map(|m| m.as_str().map(str::to_string))
                .collect();
            Item {
                address: c.address.clone(),
                type_name: c.type_name.clone(),
                id: if members.is_empty() {
                    id
                } else {
                    format!("{id}: {}", members.join(", "))
                },
            }
        })
        .collect()
}

/// The report's text; empty when there is nothing to tell.
pub fn render(deleted: &[Item], retained: &[Item], cleanups: &[Cleanup]) -> String {
    let mut out = String::new();
    let mut section = |title: &str, items: &[Item]| {
        if !items.is_empty() {
            let _ = writeln!(out, "\n{title}:");
            for i in items {
                let _ = writeln!(out, "  {} ({}, id {})", i.address, i.type_name, i.id);
            }
        }
    };
    section("Deleted", deleted);
    section(
        "Retained (still in the cloud, recorded in state; an apply of the same config adopts \
         them)",
        retained,
    );
    if !cleanups.is_empty() {
        let _ = writeln!(out, "\nCleaned up:");
        for c in cleanups {
            let _ = writeln!(out, "  {} {} for {}: {}", c.kind, c.id, c.address, c.why);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(a: &str, t: &str, id: &str) -> Item {
        Item {
            address: a.into(),
            type_name: t.into(),
            id: id.into(),
        }
    }

    #[test]
    fn the_report_names_every_deletion_retention_and_cleanup() {
        let text = render(
            &[item(
                "daskhub.network.subnet.private[\"a\"]",
                "aws_subnet",
                "subnet-1",
            )],
            &[item("daskhub.storage.efs", "aws_efs_file_system", "fs-1")],
            &[Cleanup {
                address: "daskhub.network.vpc".into(),
                kind: "load balancer".into(),
                id: "a1b2".into(),
                why: "made by Kubernetes for service daskhub/proxy-public of cluster eks-x".into(),
            }],
        );
        assert_eq!(
            text,
            "\nDeleted:\n  daskhub.network.subnet.private[\"a\"] (aws_subnet, id subnet-1)\n\
             \nRetained (still in the cloud, recorded in state; an apply of the same config \
             adopts them):\n  daskhub.storage.efs (aws_efs_file_system, id fs-1)\n\
             \nCleaned up:\n  load balancer a1b2 for daskhub.network.vpc: \
             made by Kubernetes for service daskhub/proxy-public of cluster eks-x\n"
        );
        assert_eq!(
            render(&[], &[], &[]),
            "",
            "nothing to tell, nothing printed"
        );
    }

    #[test]
    fn only_deletions_that_happened_are_reported() {
        let report = Report {
            completed: vec![("gone".into(), OpKind::Delete, Default::default())],
            failed: vec![],
            skipped: vec![],
            not_started: vec![],
            interrupted: false,
            store_error: None,
        };
        let kept = deleted(
            vec![item("gone", "t", "1"), item("failed", "t", "2")],
            &report,
        );
        assert_eq!(kept, vec![item("gone", "t", "1")]);
    }
}
