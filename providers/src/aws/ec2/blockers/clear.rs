//! Removing: the calls that take a blocker out of the way — a load balancer, a rule that
//! references a group, a security group, an available network interface. Each answers whether
//! the thing is gone now; "already gone" counts as gone but is not reported as a cleanup (another
//! deletion got there first).

use aws_sdk_ec2::types::{IpPermission, SecurityGroup as SdkSg, UserIdGroupPair};
use hdh_engine::ProviderError;

use crate::aws::ec2::done;
use crate::aws::errors::{ec2 as e, elb};
use crate::aws::Clients;
use crate::Answer;

/// What a removal did.
pub(crate) enum Outcome {
    /// hdh removed it just now.
    Removed,
    /// It was already gone.
    AlreadyGone,
}

fn outcome(r: Answer<()>) -> Answer<Outcome> {
    match r {
        Ok(()) => Ok(Outcome::Removed),
        Err(ProviderError::NotFound { .. }) => Ok(Outcome::AlreadyGone),
        Err(err) => Err(err),
    }
}

pub(crate) async fn load_balancer(aws: &Clients, name: &str) -> Answer<Outcome> {
    let call = aws.elb.delete_load_balancer().load_balancer_name(name);
    outcome(done(call.send(), elb("DeleteLoadBalancer")).await)
}

pub(crate) async fn network_interface(aws: &Clients, id: &str) -> Answer<Outcome> {
    let call = aws.ec2.delete_network_interface().network_interface_id(id);
    outcome(done(call.send(), e("DeleteNetworkInterface")).await)
}

pub(crate) async fn security_group(aws: &Clients, id: &str) -> Answer<Outcome> {
    let call = aws.ec2.delete_security_group().group_id(id);
    outcome(done(call.send(), e("DeleteSecurityGroup")).await)
}

/// The permissions of `perms` narrowed to the pairs that reference `target`.
fn referencing(perms: &[IpPermission], target: &str) -> Vec<IpPermission> {
    perms
        .iter()
        .filter_map(|p| {
            let pairs: Vec<UserIdGroupPair> = p
                .user_id_group_pairs()
                .iter()
                .filter(|g| g.group_id() == Some(target))
                .map(|g| {
                    UserIdGroupPair::builder()
                        .group_id(target)
                        .set_user_id(g.user_id().map(str::to_string))
                        .build()
                })
                .collect();
            (!pairs.is_empty()).then(|| {
                IpPermission::builder()
                    .set_ip_protocol(p.ip_protocol().map(str::to_string))
                    .set_from_port(p.from_port())
                    .set_to_port(p.to_port())
                    .set_user_id_group_pairs(Some(pairs))
                    .build()
            })
        })
        .collect()
}

/// Takes every rule of `holder` that references `target` out (ingress and egress).
pub(crate) async fn references(aws: &Clients, holder: &SdkSg, target: &str) -> Answer<Outcome> {
    let id = holder.group_id().unwrap_or_default();
    let ingress = referencing(holder.ip_permissions(), target);
    let egress = referencing(holder.ip_permissions_egress(), target);
    if ingress.is_empty() && egress.is_empty() {
        return Ok(Outcome::AlreadyGone);
    }
    if !ingress.is_empty() {
        let call = aws.ec2.revoke_security_group_ingress().group_id(id);
        let sent = call.set_ip_permissions(Some(ingress)).send();
        if let Outcome::AlreadyGone = outcome(done(sent, e("RevokeSecurityGroupIngress")).await)? {
            return Ok(Outcome::AlreadyGone);
        }
    }
    if !egress.is_empty() {
        let call = aws.ec2.revoke_security_group_egress().group_id(id);
        let sent = call.set_ip_permissions(Some(egress)).send();
        outcome(done(sent, e("RevokeSecurityGroupEgress")).await)?;
    }
    Ok(Outcome::Removed)
}
