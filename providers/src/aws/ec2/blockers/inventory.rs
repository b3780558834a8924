//! Looking: what is inside one VPC that can keep a subnet, security group, VPC or internet
//! gateway from going — network interfaces, classic load balancers, security groups and their
//! references, the instances interfaces are attached to, and leftover subnets/gateways/route
//! tables. Every list is paged; nothing outside the VPC is asked for.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use aws_sdk_ec2::types::{Filter, SecurityGroup as SdkSg};

use super::attribute::{Eni, Group, Instance, Lb};
use crate::aws::describe::every_page;
use crate::aws::ec2::internet_gateway::InternetGateway;
use crate::aws::ec2::kind::{Ec2Item, Ec2Type};
use crate::aws::ec2::nat_gateway::NatGateway;
use crate::aws::ec2::route_table::RouteTable;
use crate::aws::ec2::security_group::SecurityGroup;
use crate::aws::ec2::subnet::Subnet;
use crate::aws::ec2::vpc::Vpc;
use crate::aws::ec2::{filter, tag_map, IDS_PER_CALL};
use crate::aws::errors::{ec2 as e, elb};
use crate::aws::Clients;
use crate::Answer;

/// Classic ELB DescribeTags takes at most 20 names.
const LB_NAMES_PER_CALL: usize = 20;

/// The VPC's tags, or `None` when it is gone.
pub(crate) async fn vpc_tags(
    aws: &Clients,
    vpc_id: &str,
) -> Answer<Option<BTreeMap<String, String>>> {
    let vpcs = Vpc
        .describe(aws, vec![filter("vpc-id", [vpc_id.to_string()])])
        .await?;
    Ok(vpcs
        .iter()
        .find(|v| v.id() == vpc_id)
        .map(|v| tag_map(v.tags())))
}

pub(crate) async fn enis(aws: &Clients, filters: Vec<Filter>) -> Answer<Vec<Eni>> {
    let call = aws
        .ec2
        .describe_network_interfaces()
        .set_filters(Some(filters));
    let pages: Vec<_> = every_page!(call, e("DescribeNetworkInterfaces"))?;
    Ok(pages
        .iter()
        .flat_map(|p| p.network_interfaces())
        .map(|n| Eni {
            id: n.network_interface_id().unwrap_or_default().into(),
            status: n
                .status()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            description: n.description().unwrap_or_default().into(),
            requester: n
                .requester_id()
                .filter(|_| n.requester_managed().unwrap_or(false))
                .map(str::to_string),
            owner: n.owner_id().map(str::to_string),
            instance_id: n
                .attachment()
                .and_then(|a| a.instance_id())
                .map(str::to_string),
            subnet_id: n.subnet_id().unwrap_or_default().into(),
            vpc_id: n.vpc_id().unwrap_or_default().into(),
            public_ip: n
                .association()
                .and_then(|a| a.public_ip())
                .map(str::to_string),
            tags: tag_map(n.tag_set()),
        })
        .collect())
}

/// Classic load balancers in the VPC, with their tags.
pub(crate) async fn load_balancers(aws: &Clients, vpc_id: &str) -> Answer<Vec<Lb>> {
    let call = aws.elb.describe_load_balancers();
    let pages: Vec<_> = every_page!(call, elb("DescribeLoadBalancers"))?;
    let mut lbs: Vec<Lb> = pages
        .iter()
        .flat_map(|p| p.load_balancer_descriptions())
        .filter(|d| d.vpc_id() == Some(vpc_id))
        .map(|d| Lb {
            name: d.load_balancer_name().unwrap_or_default().into(),
            subnets: d.subnets().to_vec(),
            groups: d.security_groups().to_vec(),
            tags: BTreeMap::new(),
        })
        .collect();
    let names: Vec<String> = lbs.iter().map(|l| l.name.clone()).collect();
    for chunk in names.chunks(LB_NAMES_PER_CALL) {
        let out = aws
            .elb
            .describe_tags()
            .set_load_balancer_names(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(elb("DescribeTags"))?;
        for d in out.tag_descriptions() {
            if let Some(lb) = lbs
                .iter_mut()
                .find(|l| Some(l.name.as_str()) == d.load_balancer_name())
            {
                lb.tags = d
                    .tags()
                    .iter()
                    .map(|t| (t.key().to_string(), t.value().unwrap_or("").to_string()))
                    .collect();
            }
        }
    }
    Ok(lbs)
}

/// The security groups of the VPC: what the attribution needs, and the SDK form for revoking.
pub(crate) struct Groups {
    pub list: Vec<Group>,
    pub raw: HashMap<String, SdkSg>,
}

pub(crate) async fn groups(aws: &Clients, vpc_id: &str) -> Answer<Groups> {
    let in_vpc = vec![filter("vpc-id", [vpc_id.to_string()])];
    let mut out = Groups {
        list: vec![],
        raw: HashMap::new(),
    };
    for g in SecurityGroup.describe(aws, in_vpc).await? {
        let id = g.group_id().unwrap_or_default().to_string();
        let references: BTreeSet<String> = g
            .ip_permissions()
            .iter()
            .chain(g.ip_permissions_egress())
            .flat_map(|p| p.user_id_group_pairs())
            .filter_map(|pair| pair.group_id().map(str::to_string))
            .filter(|other| *other != id)
            .collect();
        out.list.push(Group {
            id: id.clone(),
            name: g.group_name().unwrap_or_default().into(),
            tags: tag_map(g.tags()),
            references,
        });
        out.raw.insert(id, g);
    }
    Ok(out)
}

/// The instances interfaces are attached to (terminated ones too, while EC2 still lists them).
pub(crate) async fn instances(
    aws: &Clients,
    ids: BTreeSet<String>,
) -> Answer<HashMap<String, Instance>> {
    let mut out = HashMap::new();
    let ids: Vec<String> = ids.into_iter().collect();
    for chunk in ids.chunks(IDS_PER_CALL) {
        let call = aws.ec2.describe_instances();
        let call = call.filters(filter("instance-id", chunk.to_vec()));
        let pages: Vec<_> = every_page!(call, e("DescribeInstances"))?;
        for i in pages
            .iter()
            .flat_map(|p| p.reservations())
            .flat_map(|r| r.instances())
        {
            out.insert(
                i.instance_id().unwrap_or_default().to_string(),
                Instance {
                    state: i
                        .state()
                        .and_then(|s| s.name())
                        .map(|n| n.as_str().to_string())
                        .unwrap_or_default(),
                    tags: tag_map(i.tags()),
                },
            );
        }
    }
    Ok(out)
}

/// A subnet, internet gateway, NAT gateway or route table still in a VPC being deleted.
pub(crate) struct Part {
    pub kind: &'static str,
    pub id: String,
    pub tags: BTreeMap<String, String>,
}

pub(crate) async fn network_parts(aws: &Clients, vpc_id: &str) -> Answer<Vec<Part>> {
    let in_vpc = || vec![filter("vpc-id", [vpc_id.to_string()])];
    let attached = vec![filter("attachment.vpc-id", [vpc_id.to_string()])];
    let mut parts = parts_of("subnet", Subnet.describe(aws, in_vpc()).await?);
    parts.extend(parts_of(
        "internet gateway",
        InternetGateway.describe(aws, attached).await?,
    ));
    // Those not deleted (or failed) yet.
    parts.extend(parts_of(
        "NAT gateway",
        NatGateway.describe(aws, in_vpc()).await?,
    ));
    let mut tables = RouteTable.describe(aws, in_vpc()).await?;
    // The main table goes with the VPC.
    tables.retain(|t| !t.associations().iter().any(|a| a.main() == Some(true)));
    parts.extend(parts_of("route table", tables));
    Ok(parts)
}

fn parts_of<I: Ec2Item>(kind: &'static str, items: Vec<I>) -> Vec<Part> {
    items
        .iter()
        .map(|i| Part {
            kind,
            id: i.id().to_string(),
            tags: tag_map(i.all_tags()),
        })
        .collect()
}
