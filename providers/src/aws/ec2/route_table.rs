//! `aws_route_table`: a route table with its routes (to an internet or NAT gateway) and its
//! subnet associations, both changed in place. The VPC's `local` route is AWS's and not shown.
//! Routes or associations an interrupted create had not added yet show in the next plan.

use async_trait::async_trait;
use aws_sdk_ec2::types::{
    Filter, ResourceType as SdkType, RouteTable as SdkRt, RouteTableAssociation,
};
use hdh_engine::provider::{CreateRequest, DeleteRequest, ImportRequest, UpdateRequest};
use hdh_engine::{Observed, ProviderError, Value, ValueMap};

use super::kind::{all_pages, known, one_item, search, settled, Ec2Item, Ec2Type};
use super::lifecycle::delete_when_free;
use super::{answered, create_tagged, done, filter, opt_str, put};
use crate::aws::errors::{ec2 as e, gone_is_ok};
use crate::aws::import::{named, unsearchable};
use crate::aws::token::client_token;
use crate::aws::wait;
use crate::aws::{Clients, Cx};
use crate::props;
use crate::Answer;

pub(crate) struct RouteTable;

/// Keys of a route the user sets.
const TARGETS: [&str; 2] = ["gateway_id", "nat_gateway_id"];

#[derive(Debug, Clone, PartialEq)]
struct Route {
    destination: String,
    gateway_id: Option<String>,
    nat_gateway_id: Option<String>,
}

impl Route {
    fn from_map(m: &ValueMap) -> Answer<Route> {
        let destination = props::required_string(m, "destination_cidr_block")?;
        let gateway_id = props::string(m, "gateway_id")?;
        let nat_gateway_id = props::string(m, "nat_gateway_id")?;
        for k in m.keys() {
            if k != "destination_cidr_block" && !TARGETS.contains(&k.as_str()) {
                return Err(ProviderError::invalid(format!(
                    "routes: unknown key `{k}` (expected destination_cidr_block, gateway_id, nat_gateway_id)"
                )));
            }
        }
        if gateway_id.is_some() == nat_gateway_id.is_some() {
            return Err(ProviderError::invalid(format!(
                "route to {destination}: set exactly one of gateway_id and nat_gateway_id"
            )));
        }
        Ok(Route {
            destination,
            gateway_id,
            nat_gateway_id,
        })
    }

    fn value(&self) -> Value {
        let mut m = ValueMap::new();
        put(&mut m, "destination_cidr_block", self.destination.clone());
        if let Some(g) = &self.gateway_id {
            put(&mut m, "gateway_id", g.clone());
        }
        if let Some(n) = &self.nat_gateway_id {
            put(&mut m, "nat_gateway_id", n.clone());
        }
        Value::Map(m)
    }
}

fn routes(p: &ValueMap) -> Answer<Vec<Route>> {
    props::parsed_maps(p, "routes", Route::from_map)
}

/// Brings routes and associations from `from` to what `p` asks for.
async fn converge(
    cx: Cx<'_>,
    address: &str,
    id: &str,
    from: &[Route],
    from_subnets: &[String],
    p: &ValueMap,
) -> Answer<()> {
    let want = routes(p)?;
    let want_subnets = props::string_list(p, "subnet_ids")?;
    let w = cx.wait(address, "configuring", format!("route table {id}"));
    for old in from
        .iter()
        .filter(|o| !want.iter().any(|r| r.destination == o.destination))
    {
        w.retrying(wait::not_yet_visible, || async {
            let call = cx.aws.ec2.delete_route().route_table_id(id);
            let call = call.destination_cidr_block(&old.destination);
            gone_is_ok(done(call.send(), e("DeleteRoute")).await)
        })
        .await
        .or_else(|err| match err {
            ProviderError::Timeout { .. } => Ok(()),
            other => Err(other),
        })?;
    }
    for r in &want {
        let existing = from.iter().find(|o| o.destination == r.destination);
        if existing == Some(r) {
            continue;
        }
        let replace = existing.is_some();
        let (gateway, nat) = (r.gateway_id.clone(), r.nat_gateway_id.clone());
        // CreateRoute and ReplaceRoute take the same fields, on builders of two types.
        macro_rules! send {
            ($call:expr, $op:literal) => {{
                let call = $call
                    .route_table_id(id)
                    .destination_cidr_block(&r.destination);
                let call = call.set_gateway_id(gateway.clone());
                done(call.set_nat_gateway_id(nat.clone()).send(), e($op)).await
            }};
        }
        w.retrying(wait::not_yet_visible, || async {
            if replace {
                send!(cx.aws.ec2.replace_route(), "ReplaceRoute")
            } else {
                send!(cx.aws.ec2.create_route(), "CreateRoute")
            }
        })
        .await?;
    }
    if from_subnets.iter().any(|s| !want_subnets.contains(s)) {
        let rt = one_item(&RouteTable, cx.aws, id).await?;
        disassociate(cx.aws, &rt, |a| {
            a.subnet_id()
                .is_some_and(|s| !want_subnets.iter().any(|w| w == s))
        })
        .await?;
    }
    for s in want_subnets.iter().filter(|s| !from_subnets.contains(s)) {
        w.retrying(wait::not_yet_visible, || {
            let call = cx.aws.ec2.associate_route_table().route_table_id(id);
            done(call.subnet_id(s).send(), e("AssociateRouteTable"))
        })
        .await?;
    }
    Ok(())
}

/// Takes the table's associations that `which` picks off their subnets (already gone is fine).
async fn disassociate(
    aws: &Clients,
    rt: &SdkRt,
    which: impl Fn(&RouteTableAssociation) -> bool,
) -> Answer<()> {
    let ids = rt.associations().iter().filter(|a| which(a));
    for assoc_id in ids.filter_map(|a| a.route_table_association_id()) {
        let call = aws.ec2.disassociate_route_table().association_id(assoc_id);
        gone_is_ok(done(call.send(), e("DisassociateRouteTable")).await)?;
    }
    Ok(())
}

#[async_trait]
impl Ec2Type for RouteTable {
    type Item = SdkRt;
    const ID_FILTER: &'static str = "route-table-id";
    const NOUN: &'static str = "route table";

    async fn describe(&self, aws: &Clients, filters: Vec<Filter>) -> Answer<Vec<SdkRt>> {
        let call = aws.ec2.describe_route_tables().set_filters(Some(filters));
        all_pages!(call, route_tables, "DescribeRouteTables")
    }

    fn attributes(&self, region: &str, rt: &SdkRt, _prior: Option<&ValueMap>) -> ValueMap {
        let mut a = ValueMap::new();
        opt_str(&mut a, "vpc_id", rt.vpc_id());
        let rs: Vec<Value> = rt
            .routes()
            .iter()
            .filter(|r| r.gateway_id() != Some("local") && r.destination_cidr_block().is_some())
            .map(|r| {
                Route {
                    destination: r.destination_cidr_block().unwrap_or_default().into(),
                    gateway_id: r.gateway_id().map(String::from),
                    nat_gateway_id: r.nat_gateway_id().map(String::from),
                }
                .value()
            })
            .collect();
        put(&mut a, "routes", Value::List(rs));
        let subnets: Vec<&str> = rt
            .associations()
            .iter()
            .filter_map(|x| x.subnet_id())
            .collect();
        put(&mut a, "subnet_ids", crate::props::str_list(subnets));
        let (owner, id) = (rt.owner_id().unwrap_or_default(), rt.id());
        let arn = format!("arn:aws:ec2:{region}:{owner}:route-table/{id}");
        put(&mut a, "arn", arn);
        a
    }

    async fn create(&self, cx: Cx<'_>, req: &CreateRequest) -> Answer<Observed> {
        let p = &req.properties;
        routes(p)?;
        let call = cx.aws.ec2.create_route_table();
        let call = call
            .vpc_id(props::required_string(p, "vpc_id")?)
            .client_token(client_token(&req.token));
        let out = create_tagged!(call, cx, req, SdkType::RouteTable, "CreateRouteTable")?;
        let table = out.route_table().and_then(|r| r.route_table_id());
        let id = answered(table, "CreateRouteTable", "no id")?.to_string();
        converge(cx, &req.address, &id, &[], &[], p).await?;
        settled(self, cx, (&req.address, "creating"), &id, p).await
    }

    async fn change(&self, cx: Cx<'_>, req: &UpdateRequest) -> Answer<()> {
        let from = routes(&req.prior)?;
        let from_subnets = props::string_list(&req.prior, "subnet_ids")?;
        let (address, p) = (&req.address, &req.properties);
        converge(cx, address, &req.id, &from, &from_subnets, p).await
    }

    /// Its subnets let go first (the VPC's main association stays AWS's), then deleted once
    /// nothing holds it.
    async fn delete(&self, cx: Cx<'_>, req: &DeleteRequest) -> Answer<()> {
        let rt = match one_item(self, cx.aws, &req.id).await {
            Err(ProviderError::NotFound { .. }) => return Ok(()),
            other => other?,
        };
        disassociate(cx.aws, &rt, |a| a.main() != Some(true)).await?;
        let what = format!("route table {} to be free", req.id);
        delete_when_free(cx, &req.address, what, || {
            let call = cx.aws.ec2.delete_route_table().route_table_id(&req.id);
            done(call.send(), e("DeleteRouteTable"))
        })
        .await
    }

    /// Tables of the VPC the import matched associated with any of its matched subnets.
    async fn candidates(
        &self,
        aws: &Clients,
        req: &ImportRequest,
    ) -> Answer<Vec<(String, String)>> {
        let p = &req.properties;
        let [vpc] = known(req, ["vpc_id"], "its VPC was not matched")?;
        let subnets: Vec<String> = match p.get("subnet_ids") {
            Some(Value::List(l)) => l
                .iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect(),
            _ => Vec::new(),
        };
        if subnets.is_empty() {
            return Err(unsearchable(req, "none of its subnets was matched"));
        }
        let filters = vec![
            filter("vpc-id", [vpc]),
            filter("association.subnet-id", subnets.clone()),
        ];
        search(self, aws, filters, |t| {
            let used: Vec<&str> = t
                .associations()
                .iter()
                .filter_map(|a| a.subnet_id())
                .filter(|s| subnets.iter().any(|x| x == s))
                .collect();
            format!("associated with {}{}", used.join(", "), named(t.tags()))
        })
        .await
    }
}
