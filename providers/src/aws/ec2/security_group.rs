//! `aws_security_group`: a security group with its ingress and egress rules, rules either from
//! a CIDR or from another group (`source_security_group_id`, or `self`). Rules change in place
//! (authorize what is new, revoke what went); name, description and VPC force a new group.
//! `egress` left unset keeps AWS's default allow-all rule and is not managed.

use async_trait::async_trait;
use aws_sdk_ec2::types::{
    Filter, IpPermission, IpRange, ResourceType as SdkType, SecurityGroup as SdkSg, UserIdGroupPair,
};
use hdh_engine::provider::{CreateRequest, DeleteRequest, UpdateRequest};
use hdh_engine::{Observed, ProviderError, Value, ValueMap};

use super::blockers::{Deletion, Target};
use super::kind::{all_pages, one_item, settled, Ec2Item, Ec2Type};
use super::{answered, create_tagged, done, opt_str, put};
use crate::aws::errors::{ec2 as e, gone_is_ok};
use crate::aws::wait;
use crate::aws::{Clients, Cx};
use crate::props;
use crate::Answer;

pub(crate) struct SecurityGroup;

/// One rule in canonical form: one source, ports `None` for all-protocol rules.
#[derive(Debug, Clone, PartialEq)]
struct Rule {
    protocol: String,
    ports: Option<(i32, i32)>,
    cidr: Option<String>,
    group: Option<String>,
    description: Option<String>,
}

const RULE_KEYS: [&str; 6] = [
    "ip_protocol",
    "from_port",
    "to_port",
    "cidr_ip",
    "source_security_group_id",
    "description",
];

impl Rule {
    fn parse(m: &ValueMap, own_id: Option<&str>) -> Answer<Rule> {
        if let Some(k) = m.keys().find(|k| !RULE_KEYS.contains(&k.as_str())) {
            return Err(ProviderError::invalid(format!(
                "rule: unknown key `{k}` (expected {})",
                RULE_KEYS.join(", ")
            )));
        }
        let mut protocol = props::required_string(m, "ip_protocol")?.to_ascii_lowercase();
        if protocol == "all" {
            protocol = "-1".into();
        }
        let ports = if protocol == "-1" {
            None
        } else {
            let from = props::int(m, "from_port")?
                .ok_or_else(|| ProviderError::invalid("rule: `from_port` is required"))?;
            let to = props::int(m, "to_port")?.unwrap_or(from);
            Some((from as i32, to as i32))
        };
        let cidr = props::string(m, "cidr_ip")?;
        let mut group = props::string(m, "source_security_group_id")?;
        if group.as_deref() == Some("self") {
            group = own_id.map(String::from).or(group);
        }
        if cidr.is_some() == group.is_some() {
            return Err(ProviderError::invalid(
                "rule: set exactly one of cidr_ip and source_security_group_id",
            ));
        }
        Ok(Rule {
            protocol,
            ports,
            cidr,
            group,
            description: props::string(m, "description")?,
        })
    }

    fn value(&self, own_id: &str) -> Value {
        let mut m = ValueMap::new();
        put(&mut m, "ip_protocol", self.protocol.clone());
        if let Some((f, t)) = self.ports {
            put(&mut m, "from_port", i64::from(f));
            put(&mut m, "to_port", i64::from(t));
        }
        if let Some(c) = &self.cidr {
            put(&mut m, "cidr_ip", c.clone());
        }
        if let Some(g) = &self.group {
            put(
                &mut m,
                "source_security_group_id",
                if g == own_id {
                    "self".to_string()
                } else {
                    g.clone()
                },
            );
        }
        if let Some(d) = &self.description {
            put(&mut m, "description", d.clone());
        }
        Value::Map(m)
    }

    fn permission(&self) -> IpPermission {
        let mut p = IpPermission::builder().ip_protocol(&self.protocol);
        if let Some((f, t)) = self.ports {
            p = p.from_port(f).to_port(t);
        }
        if let Some(c) = &self.cidr {
            p = p.ip_ranges(
                IpRange::builder()
                    .cidr_ip(c)
                    .set_description(self.description.clone())
                    .build(),
            );
        }
        if let Some(g) = &self.group {
            p = p.user_id_group_pairs(
                UserIdGroupPair::builder()
                    .group_id(g)
                    .set_description(self.description.clone())
                    .build(),
            );
        }
        p.build()
    }

    /// Same rule for AWS (descriptions aside).
    fn same_target(&self, o: &Rule) -> bool {
        self.protocol == o.protocol
            && self.ports == o.ports
            && self.cidr == o.cidr
            && self.group == o.group
    }
}

/// The allow-all egress rule AWS gives every new VPC security group.
fn default_egress() -> Rule {
    Rule {
        protocol: "-1".into(),
        ports: None,
        cidr: Some("0.0.0.0/0".into()),
        group: None,
        description: None,
    }
}

fn flatten(perms: &[IpPermission]) -> Vec<Rule> {
    let mut out = Vec::new();
    for p in perms {
        let protocol = p.ip_protocol().unwrap_or("-1").to_string();
        let ports = if protocol == "-1" {
            None
        } else {
            Some((p.from_port().unwrap_or(0), p.to_port().unwrap_or(0)))
        };
        for r in p.ip_ranges() {
            out.push(Rule {
                protocol: protocol.clone(),
                ports,
                cidr: r.cidr_ip().map(String::from),
                group: None,
                description: r.description().map(String::from),
            });
        }
        for g in p.user_id_group_pairs() {
            out.push(Rule {
                protocol: protocol.clone(),
                ports,
                cidr: None,
                group: g.group_id().map(String::from),
                description: g.description().map(String::from),
            });
        }
    }
    out
}

fn rules(p: &ValueMap, name: &str, own_id: Option<&str>) -> Answer<Vec<Rule>> {
    props::parsed_maps(p, name, |m| Rule::parse(m, own_id))
}

fn same_set(a: &[Rule], b: &[Rule]) -> bool {
    a.len() == b.len() && a.iter().all(|x| b.contains(x)) && b.iter().all(|x| a.contains(x))
}

/// The observed rules, in the user's spelling and order when they are the same set.
fn rules_value(observed: &[Rule], prior: Option<&ValueMap>, name: &str, own_id: &str) -> Value {
    if let Some(Ok(p)) = prior.map(|p| rules(p, name, Some(own_id))) {
        if prior.is_some_and(|p| p.contains_key(name)) && same_set(&p, observed) {
            return prior
                .and_then(|p| p.get(name))
                .map(Value::unmarked)
                .unwrap_or(Value::Null);
        }
    }
    Value::List(observed.iter().map(|r| r.value(own_id)).collect())
}

/// Authorizes and revokes until the group's rules are what `p` asks for.
async fn converge(
    cx: Cx<'_>,
    address: &str,
    id: &str,
    p: &ValueMap,
    changed: Option<&[String]>,
) -> Answer<()> {
    let what = format!("security group {id} rules");
    let w = cx.wait(address, "configuring", what);
    // A group just created has no ingress and AWS's default egress: no need to read it.
    let (have_ingress, have_egress) = match changed {
        None => (Vec::new(), vec![default_egress()]),
        Some(_) => {
            let g = w
                .retrying(wait::not_yet_visible, || {
                    one_item(&SecurityGroup, cx.aws, id)
                })
                .await?;
            (
                flatten(g.ip_permissions()),
                flatten(g.ip_permissions_egress()),
            )
        }
    };
    for (name, egress) in [("ingress", false), ("egress", true)] {
        if !p.contains_key(name) || matches!(p.get(name), Some(Value::Null)) {
            continue;
        }
        if changed.is_some_and(|c| !c.iter().any(|x| x == name)) {
            continue;
        }
        let want = rules(p, name, Some(id))?;
        let have = if egress { &have_egress } else { &have_ingress };
        let revoke: Vec<IpPermission> = have
            .iter()
            .filter(|h| !want.iter().any(|x| x.same_target(h)))
            .map(Rule::permission)
            .collect();
        let add: Vec<IpPermission> = want
            .iter()
            .filter(|x| !have.iter().any(|h| x.same_target(h)))
            .map(Rule::permission)
            .collect();
        if !revoke.is_empty() {
            let revoke_once = || {
                let revoke = Some(revoke.clone());
                async move {
                    if egress {
                        let call = cx.aws.ec2.revoke_security_group_egress().group_id(id);
                        let call = call.set_ip_permissions(revoke).send();
                        done(call, e("RevokeSecurityGroupEgress")).await
                    } else {
                        let call = cx.aws.ec2.revoke_security_group_ingress().group_id(id);
                        let call = call.set_ip_permissions(revoke).send();
                        done(call, e("RevokeSecurityGroupIngress")).await
                    }
                }
            };
            if changed.is_none() {
                // Just created: NotFound means "not visible yet", not "rule already gone".
                w.retrying(wait::not_yet_visible, revoke_once).await?;
            } else {
                gone_is_ok(revoke_once().await)?;
            }
        }
        if !add.is_empty() {
            w.retrying(wait::not_yet_visible, || {
                let add = Some(add.clone());
                async move {
                    let r = if egress {
                        let call = cx.aws.ec2.authorize_security_group_egress().group_id(id);
                        let call = call.set_ip_permissions(add).send();
                        done(call, e("AuthorizeSecurityGroupEgress")).await
                    } else {
                        let call = cx.aws.ec2.authorize_security_group_ingress().group_id(id);
                        let call = call.set_ip_permissions(add).send();
                        done(call, e("AuthorizeSecurityGroupIngress")).await
                    };
                    match r {
                        // Already there (a retried call that had succeeded).
                        Err(ProviderError::Conflict { .. }) => Ok(()),
                        other => other,
                    }
                }
            })
            .await?;
        }
    }
    Ok(())
}

#[async_trait]
impl Ec2Type for SecurityGroup {
    type Item = SdkSg;
    const ID_FILTER: &'static str = "group-id";
    const NOUN: &'static str = "security group";
    /// A name is unique in its VPC: `InvalidGroup.Duplicate` when it is taken.
    const PLACE: &'static [(&'static str, &'static str)] =
        &[("vpc-id", "vpc_id"), ("group-name", "group_name")];
    const ADOPTS_IN_PLACE: bool = true;

    async fn describe(&self, aws: &Clients, filters: Vec<Filter>) -> Answer<Vec<SdkSg>> {
        let call = aws
            .ec2
            .describe_security_groups()
            .set_filters(Some(filters));
        all_pages!(call, security_groups, "DescribeSecurityGroups")
    }

    fn matched_by(&self, g: &SdkSg) -> String {
        let (name, vpc) = (
            g.group_name().unwrap_or_default(),
            g.vpc_id().unwrap_or_default(),
        );
        format!("group name {name} in {vpc}")
    }

    fn attributes(&self, region: &str, g: &SdkSg, prior: Option<&ValueMap>) -> ValueMap {
        let id = g.id();
        let mut a = ValueMap::new();
        opt_str(&mut a, "group_name", g.group_name());
        opt_str(&mut a, "description", g.description());
        opt_str(&mut a, "vpc_id", g.vpc_id());
        let ingress = flatten(g.ip_permissions());
        put(
            &mut a,
            "ingress",
            rules_value(&ingress, prior, "ingress", id),
        );
        let egress = flatten(g.ip_permissions_egress());
        put(&mut a, "egress", rules_value(&egress, prior, "egress", id));
        opt_str(&mut a, "owner_id", g.owner_id());
        let owner = g.owner_id().unwrap_or_default();
        let arn = format!("arn:aws:ec2:{region}:{owner}:security-group/{id}");
        put(&mut a, "arn", arn);
        a
    }

    async fn create(&self, cx: Cx<'_>, req: &CreateRequest) -> Answer<Observed> {
        let p = &req.properties;
        rules(p, "ingress", Some("sg-self"))?;
        rules(p, "egress", Some("sg-self"))?;
        let description =
            props::string(p, "description")?.unwrap_or_else(|| "Managed by hdh".into());
        let call = cx.aws.ec2.create_security_group();
        let call = call
            .group_name(props::required_string(p, "group_name")?)
            .description(description)
            .vpc_id(props::required_string(p, "vpc_id")?);
        let out = create_tagged!(call, cx, req, SdkType::SecurityGroup, "CreateSecurityGroup")?;
        let id = answered(out.group_id(), "CreateSecurityGroup", "no id")?.to_string();
        converge(cx, &req.address, &id, p, None).await?;
        settled(self, cx, (&req.address, "creating"), &id, p).await
    }

    async fn change(&self, cx: Cx<'_>, req: &UpdateRequest) -> Answer<()> {
        let (p, changed) = (&req.properties, Some(req.changed.as_slice()));
        converge(cx, &req.address, &req.id, p, changed).await
    }

    async fn delete(&self, cx: Cx<'_>, req: &DeleteRequest) -> Answer<()> {
        let vpc = props::required_string(&req.prior, "vpc_id")?;
        let target = Target::SecurityGroup(req.id.clone());
        Deletion::new(cx, &req.address, vpc, target)
            .run(|| {
                let call = cx.aws.ec2.delete_security_group().group_id(&req.id);
                done(call.send(), e("DeleteSecurityGroup"))
            })
            .await
    }
}
