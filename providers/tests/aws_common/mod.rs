//! Shared by the AWS tests: a private emulator per test, a provider pointed at it through the
//! real AWS SDK, an engine context, counting the emulator's request log, and `T`, which drives
//! one resource through create/read/update/delete by the `Provider` trait alone.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hdh_engine::provider::{CreateRequest, DeleteRequest, ReadRequest, UpdateRequest};
use hdh_engine::{Observed, OpContext, Provider, Providers, Value, ValueMap};
use hdh_providers::aws::{AwsProvider, AwsSettings, PollPolicy};
use hdh_testcloud::{Emulator, LogRecord, Profile};

pub const REGION: &str = "us-east-1";
pub const STACK: &str = "helio-eks";

pub fn emulator(profile: Profile, time_scale: f64, faults: Option<&str>) -> Emulator {
    let mut b = Emulator::builder().profile(profile).time_scale(time_scale);
    if let Some(f) = faults {
        b = b.faults(f);
    }
    b.start().expect("the emulator starts")
}

pub fn provider(emu: &Emulator) -> Arc<AwsProvider> {
    Arc::new(AwsProvider::with_settings(AwsSettings {
        endpoint_url: Some(emu.endpoint().to_string()),
        static_credentials: Some(("testing".into(), "testing".into())),
        region: Some(REGION.into()),
        poll: PollPolicy::fast(),
    }))
}

pub fn providers(emu: &Emulator) -> (Providers, Arc<AwsProvider>) {
    let aws = provider(emu);
    let mut p = Providers::new();
    p.register(aws.clone());
    (p, aws)
}

/// Progress messages reported, by address.
pub type Progress = Arc<Mutex<Vec<(String, String)>>>;

pub fn ctx() -> (OpContext, Progress) {
    let mut ctx = OpContext::new(STACK, REGION);
    ctx.tags = BTreeMap::from([("Project".to_string(), "heliocloud".to_string())]);
    ctx.timeout = Duration::from_secs(120);
    let seen: Progress = Arc::default();
    let s = seen.clone();
    // Each report as the `-v` line reads it (`still creating (40s): CREATING`).
    ctx.progress = Arc::new(move |p: &hdh_engine::Progress| {
        s.lock().unwrap().push((p.address.clone(), p.to_string()))
    });
    (ctx, seen)
}

/// Calls per operation name in `records` (only those answered, or faulted, by the emulator).
pub fn by_operation(records: &[LogRecord]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for r in records {
        *m.entry(r.operation.clone()).or_insert(0) += 1;
    }
    m
}

pub async fn ec2(emu: &Emulator) -> aws_sdk_ec2::Client {
    aws_sdk_ec2::Client::new(&emu.aws_config(REGION).await)
}

pub async fn eks(emu: &Emulator) -> aws_sdk_eks::Client {
    aws_sdk_eks::Client::new(&emu.aws_config(REGION).await)
}

pub fn map(j: serde_json::Value) -> ValueMap {
    match Value::from(&j) {
        Value::Map(m) => m,
        _ => panic!("not an object"),
    }
}

pub struct T<'a> {
    pub p: &'a dyn Provider,
    pub ctx: &'a OpContext,
}

impl T<'_> {
    pub async fn create(&self, address: &str, ty: &str, props: serde_json::Value) -> Observed {
        let req = CreateRequest {
            address: address.into(),
            type_name: ty.into(),
            properties: map(props),
            token: uuid::Uuid::new_v4().to_string(),
        };
        self.p
            .create(self.ctx, &req)
            .await
            .unwrap_or_else(|e| panic!("create {address}: {e}"))
    }

    pub async fn read(&self, ty: &str, o: &Observed) -> Option<Observed> {
        let req = ReadRequest {
            address: "x".into(),
            id: o.id.clone(),
            prior: o.attributes.clone(),
        };
        self.p
            .read(self.ctx, ty, &[req])
            .await
            .pop()
            .unwrap()
            .unwrap()
    }

    pub async fn update(
        &self,
        address: &str,
        ty: &str,
        o: &Observed,
        changes: serde_json::Value,
    ) -> Observed {
        let mut properties = o.attributes.clone();
        let changes = map(changes);
        let changed = changes.keys().cloned().collect();
        properties.extend(changes);
        let req = UpdateRequest {
            address: address.into(),
            type_name: ty.into(),
            id: o.id.clone(),
            prior: o.attributes.clone(),
            properties,
            changed,
        };
        self.p
            .update(self.ctx, &req)
            .await
            .unwrap_or_else(|e| panic!("update {address}: {e}"))
    }

    pub async fn delete(&self, ty: &str, o: &Observed) {
        let req = DeleteRequest {
            address: "x".into(),
            type_name: ty.into(),
            id: o.id.clone(),
            prior: o.attributes.clone(),
            purge: false,
        };
        self.p
            .delete(self.ctx, &req)
            .await
            .unwrap_or_else(|e| panic!("delete {ty} {}: {e}", o.id));
        // Deleting what is gone is success.
        self.p.delete(self.ctx, &req).await.unwrap();
        assert!(
            self.read(ty, o).await.is_none(),
            "{ty} {} still readable after delete",
            o.id
        );
    }
}

pub fn s(o: &Observed, k: &str) -> String {
    o.attributes
        .get(k)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{k} in {:?}", o.attributes))
        .to_string()
}
