//! An in-process fake cloud and state store for engine tests and benchmarks: it records every
//! call, can be slowed, failed or made to hang per address, and finds what it created by token.
//! It stands in for a provider only in engine tests; real providers are tested against the
//! emulator.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;

use crate::expr::{Expr, Reference};
use crate::graph::{Lifecycle, ResourceSpec};
use crate::provider::{
    CreateRequest, DeleteRequest, Observed, OpContext, Provider, ProviderError, ReadRequest,
    UpdateRequest,
};
use crate::resource_type::{AttributeSpec, ResourceType, ValueType};
use crate::state::{LockInfo, State, StateStore, StoreError};
use crate::value::{Value, ValueMap};

/// The one resource type the fake serves.
pub const FAKE_TYPE: &str = "fake_thing";

/// One recorded provider call.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub op: &'static str,
    pub address: String,
    /// Virtual (or real) time since the fake was made, when the call started and ended.
    pub start: Duration,
    pub end: Duration,
}

#[derive(Debug, Clone)]
struct Object {
    address: String,
    token: String,
    properties: ValueMap,
}

#[derive(Default)]
struct Inner {
    calls: Vec<Call>,
    cloud: BTreeMap<String, Object>,
    next_id: u64,
}

/// A provider of `fake_thing` resources with a recorded, controllable fake cloud.
pub struct FakeProvider {
    inner: Mutex<Inner>,
    epoch: tokio::time::Instant,
    durations: Mutex<HashMap<String, Duration>>,
    failures: Mutex<BTreeSet<(String, &'static str)>>,
    hang_after_create: Mutex<BTreeSet<String>>,
    /// Address → (attribute, value) the object gets whatever was asked.
    contradictions: Mutex<BTreeMap<String, (String, Value)>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

impl Default for FakeProvider {
    fn default() -> Self {
        Self::new()
    }
}

impl FakeProvider {
    pub fn new() -> Self {
        FakeProvider {
            inner: Mutex::default(),
            epoch: tokio::time::Instant::now(),
            durations: Mutex::default(),
            failures: Mutex::default(),
            hang_after_create: Mutex::default(),
            contradictions: Mutex::default(),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
        }
    }

    /// Every call to `address` takes this long.
    pub fn set_duration(&self, address: &str, d: Duration) {
        self.durations.lock().unwrap().insert(address.into(), d);
    }

    /// `op` ("create", "update", "delete") on `address` fails.
    pub fn fail(&self, address: &str, op: &'static str) {
        self.failures.lock().unwrap().insert((address.into(), op));
    }

    /// Creating `address` makes the object and then never returns (a crash mid-call).
    pub fn hang_after_create(&self, address: &str) {
        self.hang_after_create
            .lock()
            .unwrap()
            .insert(address.into());
    }

    /// Creates and updates of `address` make `attribute` `value`, whatever was asked (a
    /// provider whose result contradicts the plan).
    pub fn contradict(&self, address: &str, attribute: &str, value: Value) {
        self.contradictions
            .lock()
            .unwrap()
            .insert(address.into(), (attribute.into(), value));
    }

    /// Applies a contradiction set for `address`, if any.
    fn contradicted(&self, address: &str, properties: &mut ValueMap) {
        if let Some((attribute, value)) = self.contradictions.lock().unwrap().get(address) {
            properties.insert(attribute.clone(), value.clone());
        }
    }

    pub fn clear_faults(&self) {
        self.failures.lock().unwrap().clear();
        self.contradictions.lock().unwrap().clear();
        self.hang_after_create.lock().unwrap().clear();
        self.durations.lock().unwrap().clear();
    }

    pub fn calls(&self) -> Vec<Call> {
        self.inner.lock().unwrap().calls.clone()
    }

    /// Addresses of the calls of kind `op`, in start order.
    pub fn calls_of(&self, op: &str) -> Vec<String> {
        let mut c: Vec<Call> = self.calls().into_iter().filter(|c| c.op == op).collect();
        c.sort_by_key(|c| c.start);
        c.into_iter().map(|c| c.address).collect()
    }

    /// Objects that exist in the fake cloud, by address.
    pub fn objects(&self) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for o in self.inner.lock().unwrap().cloud.values() {
            *out.entry(o.address.clone()).or_insert(0) += 1;
        }
        out
    }

    /// What the fake cloud holds for `attribute` of the object at `address`.
    pub fn property(&self, address: &str, attribute: &str) -> Option<Value> {
        let inner = self.inner.lock().unwrap();
        inner
            .cloud
            .values()
            .find(|o| o.address == address)
            .and_then(|o| o.properties.get(attribute).cloned())
    }

    /// Changes an object behind hdh's back (drift).
    pub fn drift(&self, address: &str, attribute: &str, value: Value) {
        let mut inner = self.inner.lock().unwrap();
        for o in inner.cloud.values_mut().filter(|o| o.address == address) {
            o.properties.insert(attribute.into(), value.clone());
        }
    }

    /// Deletes an object behind hdh's back.
    pub fn vanish(&self, address: &str) {
        self.inner
            .lock()
            .unwrap()
            .cloud
            .retain(|_, o| o.address != address);
    }

    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight.load(Ordering::SeqCst)
    }

    fn observed(id: &str, o: &Object) -> Observed {
        let mut attributes = o.properties.clone();
        attributes.insert("arn".into(), Value::str(format!("arn:fake:{id}")));
        let size = o
            .properties
            .get("size")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        attributes.insert("out".into(), Value::str(format!("{}-{size}", o.address)));
        attributes.insert("secret".into(), Value::str(format!("s3cr3t-{id}")));
        Observed {
            id: id.into(),
            attributes,
        }
    }

    async fn call<T>(
        &self,
        op: &'static str,
        address: &str,
        body: impl FnOnce(&mut Inner) -> Result<T, ProviderError>,
    ) -> Result<T, ProviderError> {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        let start = self.epoch.elapsed();
        let d = self.durations.lock().unwrap().get(address).copied();
        if let Some(d) = d {
            tokio::time::sleep(d).await;
        }
        let fails = self
            .failures
            .lock()
            .unwrap()
            .contains(&(address.to_string(), op));
        let result = {
            let mut inner = self.inner.lock().unwrap();
            inner.calls.push(Call {
                op,
                address: address.into(),
                start,
                end: self.epoch.elapsed(),
            });
            if fails {
                Err(ProviderError::other(format!("injected {op} failure")))
            } else {
                body(&mut inner)
            }
        };
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        result
    }
}

#[async_trait]
impl Provider for FakeProvider {
    fn resource_types(&self) -> Vec<ResourceType> {
        vec![fake_type()]
    }

    async fn read(
        &self,
        _ctx: &OpContext,
        _type_name: &str,
        requests: &[ReadRequest],
    ) -> Vec<Result<Option<Observed>, ProviderError>> {
        let mut inner = self.inner.lock().unwrap();
        inner.calls.push(Call {
            op: "read",
            address: format!("{} resources", requests.len()),
            start: self.epoch.elapsed(),
            end: self.epoch.elapsed(),
        });
        requests
            .iter()
            .map(|r| Ok(inner.cloud.get(&r.id).map(|o| Self::observed(&r.id, o))))
            .collect()
    }

    async fn create(
        &self,
        _ctx: &OpContext,
        req: &CreateRequest,
    ) -> Result<Observed, ProviderError> {
        let hang = self
            .hang_after_create
            .lock()
            .unwrap()
            .contains(&req.address);
        let made = self
            .call("create", &req.address, |inner| {
                inner.next_id += 1;
                let id = format!("fake-{:04}", inner.next_id);
                let mut properties = req.properties.clone();
                self.contradicted(&req.address, &mut properties);
                let o = Object {
                    address: req.address.clone(),
                    token: req.token.clone(),
                    properties,
                };
                inner.cloud.insert(id.clone(), o.clone());
                Ok(Self::observed(&id, &o))
            })
            .await?;
        if hang {
            std::future::pending::<()>().await;
        }
        Ok(made)
    }

    async fn update(
        &self,
        _ctx: &OpContext,
        req: &UpdateRequest,
    ) -> Result<Observed, ProviderError> {
        self.call("update", &req.address, |inner| {
            let o = inner
                .cloud
                .get_mut(&req.id)
                .ok_or_else(|| ProviderError::NotFound {
                    message: format!("{} does not exist", req.id),
                })?;
            for k in &req.changed {
                if let Some(v) = req.properties.get(k) {
                    o.properties.insert(k.clone(), v.clone());
                }
            }
            self.contradicted(&req.address, &mut o.properties);
            Ok(Self::observed(&req.id, o))
        })
        .await
    }

    async fn delete(&self, _ctx: &OpContext, req: &DeleteRequest) -> Result<(), ProviderError> {
        self.call("delete", &req.address, |inner| {
            inner.cloud.remove(&req.id);
            Ok(())
        })
        .await
    }

    async fn find_created(
        &self,
        _ctx: &OpContext,
        req: &CreateRequest,
    ) -> Result<Option<Observed>, ProviderError> {
        let inner = self.inner.lock().unwrap();
        Ok(inner
            .cloud
            .iter()
            .find(|(_, o)| o.token == req.token)
            .map(|(id, o)| Self::observed(id, o)))
    }
}

/// `fake_thing`: `name` forces replacement, `size` and `input` update in place, `replicas` is
/// the system's after create (like a node group's desired size); `arn`, `out` (changes with
/// `size`) and a sensitive `secret` are computed.
pub fn fake_type() -> ResourceType {
    ResourceType::new(
        FAKE_TYPE,
        "A thing in the fake cloud",
        vec![
            AttributeSpec::optional("name", ValueType::String, None).force_new(),
            AttributeSpec::optional("size", ValueType::Integer, Some(Value::int(1))),
            AttributeSpec::optional("input", ValueType::Any, None),
            AttributeSpec::optional("replicas", ValueType::Integer, None).owned_after_create(),
            AttributeSpec::computed("arn", ValueType::String),
            AttributeSpec::computed("out", ValueType::String).changes_with(&["size"]),
            AttributeSpec::computed("secret", ValueType::String).sensitive(),
        ],
    )
}

/// A `fake_thing` spec with literal properties and references to other fakes' `arn`.
pub fn thing(address: &str, props: &[(&str, Value)], refs: &[&str]) -> ResourceSpec {
    let mut properties: BTreeMap<String, Expr> = props
        .iter()
        .map(|(k, v)| (k.to_string(), Expr::Literal(v.clone())))
        .collect();
    properties
        .entry("size".into())
        .or_insert(Expr::Literal(Value::int(1)));
    if !refs.is_empty() {
        properties.insert(
            "input".into(),
            Expr::List(
                refs.iter()
                    .map(|r| {
                        Expr::Ref(Reference {
                            address: (*r).into(),
                            attribute: "arn".into(),
                        })
                    })
                    .collect(),
            ),
        );
    }
    ResourceSpec {
        address: address.into(),
        type_name: FAKE_TYPE.into(),
        properties,
        depends_on: Vec::new(),
        lifecycle: Lifecycle::default(),
    }
}

/// State kept in memory, counting saves; locking is exclusive like a real store's.
#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<Option<State>>,
    lock: Mutex<Option<LockInfo>>,
    saves: AtomicUsize,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn saves(&self) -> usize {
        self.saves.load(Ordering::SeqCst)
    }

    pub fn current(&self) -> Option<State> {
        self.state.lock().unwrap().clone()
    }
}

#[async_trait]
impl StateStore for MemoryStore {
    fn location(&self) -> String {
        "memory".into()
    }

    async fn lock(&self, info: &LockInfo) -> Result<(), StoreError> {
        let mut l = self.lock.lock().unwrap();
        if let Some(holder) = l.as_ref() {
            return Err(StoreError::Locked {
                holder: holder.clone(),
            });
        }
        *l = Some(info.clone());
        Ok(())
    }

    async fn unlock(&self, info: &LockInfo) -> Result<(), StoreError> {
        self.force_unlock(&info.id).await
    }

    async fn force_unlock(&self, id: &str) -> Result<(), StoreError> {
        let mut l = self.lock.lock().unwrap();
        match l.as_ref() {
            Some(h) if h.id == id => {
                *l = None;
                Ok(())
            }
            other => Err(StoreError::LockMismatch {
                id: id.into(),
                current: other.map_or_else(|| "none".into(), |h| h.id.clone()),
            }),
        }
    }

    async fn load(&self) -> Result<Option<State>, StoreError> {
        Ok(self.state.lock().unwrap().clone())
    }

    async fn save(&self, state: &State) -> Result<(), StoreError> {
        let mut s = self.state.lock().unwrap();
        if let Some(old) = s.as_ref() {
            if old.lineage != state.lineage || old.serial >= state.serial {
                return Err(StoreError::Conflict {
                    location: "memory".into(),
                    detail: format!("serial {} after {}", state.serial, old.serial),
                });
            }
        }
        *s = Some(state.clone());
        self.saves.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

/// Shared handle for tests that need both the provider registry and the fake's records.
pub fn providers_with(fake: Arc<FakeProvider>) -> crate::provider::Providers {
    let mut p = crate::provider::Providers::new();
    p.register(fake);
    p
}

/// A lock taken as `id` by a test: no wait for a held one, and a failed release fails the test.
pub fn lock_request(id: &str) -> crate::run::LockRequest<'static> {
    crate::run::LockRequest {
        info: test_lock(id),
        timeout: Duration::ZERO,
        waiting: Box::new(|_| {}),
        on_unlock_error: |_, _, e| panic!("release failed: {e}"),
    }
}

/// The lock a test takes as `id`.
pub fn test_lock(id: &str) -> LockInfo {
    LockInfo {
        id: id.into(),
        holder: "test@host".into(),
        pid: 1,
        operation: "apply".into(),
        created: "2026-12-01T00:00:00Z".into(),
        version: "0".into(),
    }
}
