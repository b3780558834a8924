//! Deleting a subnet, security group or VPC, or detaching an internet gateway, when something
//! else is in the way. AWS only answers `DependencyViolation`; on that answer hdh lists what
//! blocks (network interfaces with owner, description and status; load balancers; rules that
//! reference a group; leftover groups, subnets and gateways), removes what is provably this
//! stack's, names the rest, and tries again with backoff until the operation's deadline, when
//! it fails saying exactly what was still in the way.
//!
//! Invariants:
//! - Only things inside this stack's VPC are looked at, and only those `attribute` proves are
//!   this stack's (its own `hdh:stack` tag, or its cluster's, named by the VPC's
//!   `kubernetes.io/cluster/<name>` tag) are ever removed. Everything else is named, never
//!   touched.
//! - Every removal is reported through `OpContext::cleaned_up` with why hdh could remove it.
//! - No fixed sleeps: the wait polls the deletion itself, with the `PollPolicy` backoff.

mod attribute;
mod clear;
mod inventory;

use std::collections::{BTreeSet, HashMap};
use std::future::Future;

use hdh_engine::ProviderError;
use tokio::sync::OnceCell;

use self::attribute::{Scope, Verdict};
use self::clear::Outcome;
use super::filter;
use crate::aws::errors::gone_is_ok;
use crate::aws::wait::{self, Poll};
use crate::aws::Cx;
use crate::Answer;

/// What is being deleted.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    Subnet(String),
    SecurityGroup(String),
    Vpc,
    /// An internet gateway's detachment (this gateway): blocked by public addresses mapped in
    /// the VPC.
    PublicAddresses(String),
}

/// One deletion inside a VPC that may need the way cleared.
pub(crate) struct Deletion<'a> {
    pub cx: Cx<'a>,
    pub address: &'a str,
    pub vpc_id: String,
    pub target: Target,
}

/// One thing in the way, and what hdh makes of it.
struct Blocker {
    label: String,
    verdict: Verdict,
    action: Action,
}

enum Action {
    None,
    LoadBalancer(String),
    Interface(String),
    /// Take the rules of `holder` that reference `target` out.
    Rule {
        holder: String,
        target: String,
    },
    Group(String),
}

impl<'a> Deletion<'a> {
    pub fn new(cx: Cx<'a>, address: &'a str, vpc_id: String, target: Target) -> Self {
        Deletion {
            cx,
            address,
            vpc_id,
            target,
        }
    }

    /// What the wait is for, e.g. "subnet subnet-0abc to have no dependencies" (for progress
    /// and the timeout).
    fn what(&self) -> String {
        let vpc = &self.vpc_id;
        match &self.target {
            Target::Subnet(id) => format!("subnet {id} to have no dependencies"),
            Target::SecurityGroup(id) => format!("security group {id} to have no dependents"),
            Target::Vpc => format!("VPC {vpc} to have no dependencies"),
            Target::PublicAddresses(gateway) => format!(
                "internet gateway {gateway} to detach (no public addresses mapped in {vpc})"
            ),
        }
    }

    /// Runs `op` (the delete call) until it succeeds or the deadline passes, clearing the way
    /// after every `DependencyViolation`. Already gone is success.
    pub async fn run<F, Fut>(&self, mut op: F) -> Answer<()>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Answer<()>>,
    {
        let w = self.cx.wait(self.address, "deleting", self.what());
        // Who the stack is (its VPC's tags) does not change while it waits: read once.
        let scope = OnceCell::new();
        w.until(|| {
            let attempt = op();
            let scope = &scope;
            async move {
                match gone_is_ok(attempt.await) {
                    Ok(()) => Ok(Poll::Ready(())),
                    Err(err) if wait::dependency(&err) => {
                        let status = match self.clear_the_way(scope).await {
                            Ok(s) if s.is_empty() => format!(
                                "AWS still reports a dependency ({err}); nothing in the way is \
                                 visible yet"
                            ),
                            Ok(s) => s,
                            Err(list) => {
                                format!("{err}; could not list what is in the way: {list}")
                            }
                        };
                        Ok(Poll::Pending(status))
                    }
                    Err(err) => Err(err),
                }
            }
        })
        .await
    }

    /// Lists the blockers, removes the removable ones, and describes all of them.
    async fn clear_the_way(&self, scope: &OnceCell<Scope>) -> Answer<String> {
        let aws = self.cx.aws;
        let vpc = self.vpc_id.as_str();
        let scope = scope
            .get_or_try_init(|| async {
                let vpc_tags = inventory::vpc_tags(aws, vpc).await?;
                Ok::<_, ProviderError>(Scope::new(&self.cx.op.stack, vpc, vpc_tags.as_ref()))
            })
            .await?;
        let eni_filter = match &self.target {
            Target::Subnet(id) => filter("subnet-id", [id.clone()]),
            Target::SecurityGroup(id) => filter("group-id", [id.clone()]),
            Target::Vpc | Target::PublicAddresses(_) => filter("vpc-id", [vpc.to_string()]),
        };
        let mut enis = inventory::enis(aws, vec![eni_filter]).await?;
        if let Target::PublicAddresses(_) = self.target {
            enis.retain(|e| e.public_ip.is_some());
        }
        let lbs: Vec<_> = inventory::load_balancers(aws, vpc)
            .await?
            .into_iter()
            .filter(|lb| match &self.target {
                Target::Subnet(id) => lb.subnets.contains(id),
                Target::SecurityGroup(id) => lb.groups.contains(id),
                Target::Vpc | Target::PublicAddresses(_) => true,
            })
            .collect();
        let groups = match self.target {
            Target::SecurityGroup(_) | Target::Vpc => Some(inventory::groups(aws, vpc).await?),
            _ => None,
        };
        let attached: BTreeSet<String> = enis
            .iter()
            .filter_map(|e| {
                e.instance_id
                    .clone()
                    .or_else(|| e.description.strip_prefix("aws-K8S-").map(str::to_string))
            })
            .collect();
        let instances = if attached.is_empty() {
            HashMap::new()
        } else {
            inventory::instances(aws, attached).await?
        };
        let parts = match self.target {
            Target::Vpc => inventory::network_parts(aws, vpc).await?,
            _ => vec![],
        };

        let mut blockers = vec![];
        for lb in &lbs {
            blockers.push(Blocker {
                label: format!("load balancer {}", lb.name),
                verdict: attribute::load_balancer(scope, lb),
                action: Action::LoadBalancer(lb.name.clone()),
            });
        }
        if let (Target::SecurityGroup(target), Some(groups)) = (&self.target, &groups) {
            for holder in groups.list.iter().filter(|g| g.references.contains(target)) {
                blockers.push(Blocker {
                    label: format!("security group {} ({})", holder.id, holder.name),
                    verdict: attribute::reference(scope, holder, target),
                    action: Action::Rule {
                        holder: holder.id.clone(),
                        target: target.clone(),
                    },
                });
            }
        }
        if let (Target::Vpc, Some(groups)) = (&self.target, &groups) {
            for g in groups.list.iter().filter(|g| g.name != "default") {
                let verdict = attribute::group(scope, g);
                // A rule hdh may not touch keeps a removable group in place: name it too.
                if let Verdict::Remove(_) = verdict {
                    for holder in groups.list.iter().filter(|h| h.references.contains(&g.id)) {
                        if let v @ Verdict::Foreign(_) = attribute::reference(scope, holder, &g.id)
                        {
                            blockers.push(Blocker {
                                label: format!(
                                    "rule on security group {} ({}) referencing {}",
                                    holder.id, holder.name, g.id
                                ),
                                verdict: v,
                                action: Action::None,
                            });
                        }
                    }
                }
                blockers.push(Blocker {
                    label: format!("security group {} ({})", g.id, g.name),
                    verdict,
                    action: Action::Group(g.id.clone()),
                });
            }
        }
        for e in &enis {
            blockers.push(Blocker {
                label: e.label(),
                verdict: attribute::eni(scope, e, &lbs, &instances),
                action: Action::Interface(e.id.clone()),
            });
        }
        for p in &parts {
            blockers.push(Blocker {
                label: format!("{} {}", p.kind, p.id),
                verdict: attribute::network_part(scope, p.kind, &p.tags),
                action: Action::None,
            });
        }

        let mut lines = vec![];
        for b in &blockers {
            let line = match &b.verdict {
                Verdict::Remove(why) => match self.remove(b, why, groups.as_ref(), scope).await {
                    Ok(Outcome::Removed) => format!("{}: removed ({why})", b.label),
                    Ok(Outcome::AlreadyGone) => format!("{}: gone", b.label),
                    Err(err) => format!("{}: removing it ({why}) failed for now: {err}", b.label),
                },
                Verdict::Wait(why) => format!("{}: waiting, {why}", b.label),
                Verdict::Foreign(why) => {
                    format!("{}: NOT this stack's, left alone ({why})", b.label)
                }
            };
            lines.push(line);
        }
        Ok(if lines.is_empty() {
            String::new()
        } else {
            format!("in the way: {}", lines.join("; "))
        })
    }

    /// Removes one blocker and reports it.
    async fn remove(
        &self,
        b: &Blocker,
        why: &str,
        groups: Option<&inventory::Groups>,
        scope: &Scope,
    ) -> Answer<Outcome> {
        let aws = self.cx.aws;
        let (kind, id, outcome) = match &b.action {
            Action::None => return Ok(Outcome::AlreadyGone),
            Action::LoadBalancer(name) => (
                "load balancer",
                name.clone(),
                clear::load_balancer(aws, name).await?,
            ),
            Action::Interface(id) => (
                "network interface",
                id.clone(),
                clear::network_interface(aws, id).await?,
            ),
            Action::Rule { holder, target } => {
                return self.revoke(groups, holder, target, why).await;
            }
            Action::Group(id) => {
                // A group goes only once no rule of this stack's groups references it.
                if let Some(list) = groups.map(|g| &g.list) {
                    for holder in list.iter().filter(|g| g.references.contains(id)) {
                        if let Verdict::Remove(rule_why) = attribute::reference(scope, holder, id) {
                            self.revoke(groups, &holder.id, id, &rule_why).await?;
                        }
                    }
                }
                (
                    "security group",
                    id.clone(),
                    clear::security_group(aws, id).await?,
                )
            }
        };
        if let Outcome::Removed = outcome {
            self.cx.op.cleaned_up(self.address, kind, &id, why);
        }
        Ok(outcome)
    }

    /// Takes the rules of group `holder` that reference `target` out, and reports it.
    async fn revoke(
        &self,
        groups: Option<&inventory::Groups>,
        holder: &str,
        target: &str,
        why: &str,
    ) -> Answer<Outcome> {
        let Some(raw) = groups.and_then(|g| g.raw.get(holder)) else {
            return Ok(Outcome::AlreadyGone);
        };
        let outcome = clear::references(self.cx.aws, raw, target).await?;
        if let Outcome::Removed = outcome {
            let rule = format!("{holder} → {target}");
            self.cx
                .op
                .cleaned_up(self.address, "security group rule", &rule, why);
        }
        Ok(outcome)
    }
}
