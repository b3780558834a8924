//! The state file format: versioned JSON, shared by every backend (local file, S3), so a state
//! file can be moved between them unchanged.
//!
//! Invariants:
//! - `encode` is deterministic: fields in a fixed order, maps sorted by key, two-space
//!   indentation, one trailing newline. Equal states give equal bytes.
//! - `decode(encode(s)) == s` for every state whose values are known (unknown values cannot be
//!   stored and become null); sensitive marks survive through `sensitive_paths`.
//! - Unknown fields are refused rather than dropped: a field this hdh does not know about would
//!   otherwise vanish on the next save. Adding a field therefore means a new format version.
//! - The file is written from this module's own structs, never from the engine's types: renaming
//!   an engine field or variant cannot change format version 1 (`tests/format.rs` pins the
//!   whole document against a golden file).

use std::collections::BTreeMap;

use hdh_engine::state::{Changes, Intent, IntentAction, Retained, MAX_SERIAL};
use hdh_engine::{Lifecycle, ResourceState, State, StoreError, Value, ValueMap};
use serde::{Deserialize, Serialize};

/// The format version this hdh writes and the only one it reads.
pub const FORMAT_VERSION: u32 = 1;

/// Path segments (map keys or list indices) of values that were sensitive.
type SensitivePaths = Vec<Vec<String>>;
type JsonObject = serde_json::Map<String, serde_json::Value>;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StateFile {
    format_version: u32,
    lineage: String,
    serial: u64,
    /// The hdh that wrote the file; informational only.
    hdh_version: String,
    resources: BTreeMap<String, ResourceEntry>,
    intents: Vec<IntentEntry>,
    retained: BTreeMap<String, RetainedEntry>,
    /// Objects replaced with `create_before_destroy` whose deletion has not finished.
    deposed: BTreeMap<String, ResourceEntry>,
    outputs: JsonObject,
    outputs_sensitive_paths: SensitivePaths,
}

/// A resource's `lifecycle:` settings as the file holds them.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LifecycleEntry {
    retain: bool,
    protect: bool,
    create_before_destroy: bool,
    ignore_changes: Vec<String>,
}

impl From<&Lifecycle> for LifecycleEntry {
    fn from(l: &Lifecycle) -> Self {
        LifecycleEntry {
            retain: l.retain,
            protect: l.protect,
            create_before_destroy: l.create_before_destroy,
            ignore_changes: l.ignore_changes.clone(),
        }
    }
}

impl From<LifecycleEntry> for Lifecycle {
    fn from(l: LifecycleEntry) -> Self {
        Lifecycle {
            retain: l.retain,
            protect: l.protect,
            create_before_destroy: l.create_before_destroy,
            ignore_changes: l.ignore_changes,
        }
    }
}

/// What an intent was about to do, by the names the file uses.
#[derive(Serialize, Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum ActionEntry {
    Create,
    Update,
    Delete,
}

impl From<IntentAction> for ActionEntry {
    fn from(a: IntentAction) -> Self {
        match a {
            IntentAction::Create => ActionEntry::Create,
            IntentAction::Update => ActionEntry::Update,
            IntentAction::Delete => ActionEntry::Delete,
        }
    }
}

impl From<ActionEntry> for IntentAction {
    fn from(a: ActionEntry) -> Self {
        match a {
            ActionEntry::Create => IntentAction::Create,
            ActionEntry::Update => IntentAction::Update,
            ActionEntry::Delete => IntentAction::Delete,
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResourceEntry {
    #[serde(rename = "type")]
    type_name: String,
    id: String,
    attributes: JsonObject,
    sensitive_paths: SensitivePaths,
    dependencies: Vec<String>,
    lifecycle: LifecycleEntry,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RetainedEntry {
    #[serde(rename = "type")]
    type_name: String,
    id: String,
    attributes: JsonObject,
    sensitive_paths: SensitivePaths,
    dependencies: Vec<String>,
    lifecycle: LifecycleEntry,
    retained_at: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct IntentEntry {
    address: String,
    #[serde(rename = "type")]
    type_name: String,
    action: ActionEntry,
    token: String,
    properties: JsonObject,
    sensitive_paths: SensitivePaths,
    dependencies: Vec<String>,
    lifecycle: LifecycleEntry,
    started_at: String,
}

/// Serializes a state: pretty JSON with a trailing newline. Sensitive values are stored in the
/// clear (state is the one place they live) with their paths listed beside them.
pub fn encode(state: &State) -> Vec<u8> {
    let (outputs, outputs_sensitive_paths) = map_to_json(&state.outputs);
    let file = StateFile {
        format_version: FORMAT_VERSION,
        lineage: state.lineage.clone(),
        serial: state.serial,
        hdh_version: env!("CARGO_PKG_VERSION").to_string(),
        resources: state
            .resources
            .iter()
            .map(|(address, r)| (address.clone(), resource_entry(r)))
            .collect(),
        intents: state.intents.iter().map(intent_entry).collect(),
        retained: state
            .retained
            .iter()
            .map(|(address, r)| (address.clone(), retained_entry(r)))
            .collect(),
        deposed: state
            .deposed
            .iter()
            .map(|(address, r)| (address.clone(), resource_entry(r)))
            .collect(),
        outputs,
        outputs_sensitive_paths,
    };
    // Serializing plain structs, strings and JSON values cannot fail.
    let mut bytes = serde_json::to_vec_pretty(&file).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

/// Parses a state file. `location` names the file in errors ("./.hdh/demo.state.json").
pub fn decode(bytes: &[u8], location: &str) -> Result<State, StoreError> {
    let invalid = |reason: String| StoreError::Invalid {
        location: location.to_string(),
        reason,
    };

    // Syntax first, so a damaged file is reported as such (with line and column), not as a
    // version or field problem. The probe skips everything but the version without building a
    // tree, so a large state is not parsed into memory twice.
    #[derive(Deserialize)]
    struct Probe {
        format_version: Option<serde_json::Value>,
    }
    // A struct also deserializes from a JSON array; only an object is a state file.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(
            match serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
                Ok(_) => invalid("expected a JSON object at the top level".into()),
                Err(e) => invalid(format!("not valid JSON ({e})")),
            },
        );
    }
    let probe: Probe = serde_json::from_slice(bytes).map_err(|e| {
        if e.is_data() {
            invalid("expected a JSON object at the top level".into())
        } else {
            invalid(format!("not valid JSON ({e})"))
        }
    })?;
    // The version before the fields: a newer format may have other fields entirely.
    match probe.format_version {
        None => return Err(invalid("missing field `format_version`".into())),
        Some(v) => match v.as_u64() {
            Some(n) if n == u64::from(FORMAT_VERSION) => {}
            Some(n) if n > u64::from(FORMAT_VERSION) => {
                return Err(invalid(format!(
                    "written by a newer hdh: format version {n}, this hdh reads {FORMAT_VERSION}"
                )))
            }
            _ => {
                return Err(invalid(format!(
                    "unknown format version {v}, this hdh reads {FORMAT_VERSION}"
                )))
            }
        },
    }
    // Parsed again from the bytes (not from `json`) so field errors carry line and column.
    let file: StateFile = serde_json::from_slice(bytes).map_err(|e| invalid(e.to_string()))?;
    if file.lineage.is_empty() {
        return Err(invalid("field `lineage` is empty".into()));
    }
    if file.serial > MAX_SERIAL {
        return Err(invalid(format!(
            "serial {} is out of range (the largest is {MAX_SERIAL})",
            file.serial
        )));
    }

    let mut state = State {
        lineage: file.lineage,
        serial: file.serial,
        ..State::default()
    };
    for (address, e) in file.resources {
        let r = resource_state(e).map_err(|r| invalid(format!("resource {address}: {r}")))?;
        state.resources.insert(address, r);
    }
    for (address, e) in file.deposed {
        let r =
            resource_state(e).map_err(|r| invalid(format!("deposed object of {address}: {r}")))?;
        state.deposed.insert(address, r);
    }
    for e in file.intents {
        let address = e.address.clone();
        let intent = intent_from(e).map_err(|r| invalid(format!("intent for {address}: {r}")))?;
        state.intents.push(intent);
    }
    for (address, e) in file.retained {
        let r =
            retained_from(e).map_err(|r| invalid(format!("retained resource {address}: {r}")))?;
        state.retained.insert(address, r);
    }
    state.outputs = map_from_json(file.outputs, &file.outputs_sensitive_paths)
        .map_err(|r| invalid(format!("outputs: {r}")))?;
    Ok(state)
}

/// The lineage and serial of a state file, if it has readable ones; nothing else is checked.
/// For the files only consulted as history (the backup), where a damaged file is no reason to
/// refuse the state itself.
pub fn lineage_and_serial(bytes: &[u8]) -> Option<(String, u64)> {
    #[derive(Deserialize)]
    struct Probe {
        lineage: String,
        serial: u64,
    }
    serde_json::from_slice::<Probe>(bytes)
        .ok()
        .filter(|p| !p.lineage.is_empty())
        .map(|p| (p.lineage, p.serial))
}

fn resource_entry(r: &ResourceState) -> ResourceEntry {
    let (attributes, sensitive_paths) = map_to_json(&r.attributes);
    ResourceEntry {
        type_name: r.type_name.clone(),
        id: r.id.clone(),
        attributes,
        sensitive_paths,
        dependencies: r.dependencies.clone(),
        lifecycle: (&r.lifecycle).into(),
    }
}

fn retained_entry(r: &Retained) -> RetainedEntry {
    let e = resource_entry(&r.resource);
    RetainedEntry {
        type_name: e.type_name,
        id: e.id,
        attributes: e.attributes,
        sensitive_paths: e.sensitive_paths,
        dependencies: e.dependencies,
        lifecycle: e.lifecycle,
        retained_at: r.retained_at.clone(),
    }
}

fn retained_from(e: RetainedEntry) -> Result<Retained, String> {
    Ok(Retained {
        resource: ResourceState {
            type_name: e.type_name,
            id: e.id,
            attributes: map_from_json(e.attributes, &e.sensitive_paths)?,
            dependencies: e.dependencies,
            lifecycle: e.lifecycle.into(),
        },
        retained_at: e.retained_at,
    })
}

fn intent_from(e: IntentEntry) -> Result<Intent, String> {
    Ok(Intent {
        properties: map_from_json(e.properties, &e.sensitive_paths)?,
        address: e.address,
        type_name: e.type_name,
        action: e.action.into(),
        token: e.token,
        dependencies: e.dependencies,
        lifecycle: e.lifecycle.into(),
        started_at: e.started_at,
    })
}

fn resource_state(e: ResourceEntry) -> Result<ResourceState, String> {
    Ok(ResourceState {
        type_name: e.type_name,
        id: e.id,
        attributes: map_from_json(e.attributes, &e.sensitive_paths)?,
        dependencies: e.dependencies,
        lifecycle: e.lifecycle.into(),
    })
}

fn intent_entry(i: &Intent) -> IntentEntry {
    let (properties, sensitive_paths) = map_to_json(&i.properties);
    IntentEntry {
        address: i.address.clone(),
        type_name: i.type_name.clone(),
        action: i.action.into(),
        token: i.token.clone(),
        properties,
        sensitive_paths,
        dependencies: i.dependencies.clone(),
        lifecycle: (&i.lifecycle).into(),
        started_at: i.started_at.clone(),
    }
}

/// An attribute map as a JSON object plus the paths (relative to the map) that were sensitive.
fn map_to_json(map: &ValueMap) -> (JsonObject, SensitivePaths) {
    let (json, paths) = Value::Map(map.clone()).to_state_json();
    match json {
        serde_json::Value::Object(o) => (o, paths),
        // A map always serializes to an object.
        _ => (JsonObject::new(), paths),
    }
}

/// The inverse of [`map_to_json`]. Every path must name a value below the map (an empty path
/// would mark the whole map, which an attribute map cannot be).
fn map_from_json(object: JsonObject, paths: &SensitivePaths) -> Result<ValueMap, String> {
    if paths.iter().any(Vec::is_empty) {
        return Err("`sensitive_paths` holds an empty path".into());
    }
    match Value::from_state_json(&serde_json::Value::Object(object), paths) {
        Value::Map(m) => Ok(m),
        // Only an empty path could change the outer kind, and those are refused above.
        other => Err(format!(
            "expected a map of attributes, found {}",
            other.kind()
        )),
    }
}

/// One journal record: the serial it brings the state to, and the new value of everything
/// recorded under each changed address (an absent entry is a removal).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Record {
    serial: u64,
    addresses: BTreeMap<String, AddressEntry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    outputs: Option<OutputsEntry>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AddressEntry {
    resource: Option<ResourceEntry>,
    deposed: Option<ResourceEntry>,
    retained: Option<RetainedEntry>,
    intents: Vec<IntentEntry>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct OutputsEntry {
    values: JsonObject,
    sensitive_paths: SensitivePaths,
}

/// A journal record of `changes`, taken from `state` (compact JSON, no newline inside).
pub fn encode_record(state: &State, changes: &Changes) -> Vec<u8> {
    let addresses = changes
        .addresses
        .iter()
        .map(|address| {
            let entry = AddressEntry {
                resource: state.resources.get(address).map(resource_entry),
                deposed: state.deposed.get(address).map(resource_entry),
                retained: state.retained.get(address).map(retained_entry),
                intents: state
                    .intents
                    .iter()
                    .filter(|i| &i.address == address)
                    .map(intent_entry)
                    .collect(),
            };
            (address.clone(), entry)
        })
        .collect();
    let outputs = changes.outputs.then(|| {
        let (values, sensitive_paths) = map_to_json(&state.outputs);
        OutputsEntry {
            values,
            sensitive_paths,
        }
    });
    let record = Record {
        serial: state.serial,
        addresses,
        outputs,
    };
    // Plain structs and JSON values: serializing cannot fail.
    serde_json::to_vec(&record).unwrap_or_default()
}

/// The serial a record brings the state to, without applying it.
pub fn record_serial(bytes: &[u8]) -> Result<u64, String> {
    #[derive(Deserialize)]
    struct Probe {
        serial: u64,
    }
    serde_json::from_slice::<Probe>(bytes)
        .map(|p| p.serial)
        .map_err(|e| e.to_string())
}

/// Applies a record made by [`encode_record`] to `state`.
pub fn apply_record(state: &mut State, bytes: &[u8]) -> Result<(), String> {
    let record: Record = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    if record.serial > MAX_SERIAL {
        return Err(format!("serial {} is out of range", record.serial));
    }
    for (address, e) in record.addresses {
        let at = |what: &str, r: String| format!("{what} of {address}: {r}");
        match e.resource {
            Some(r) => {
                let r = resource_state(r).map_err(|r| at("resource", r))?;
                state.resources.insert(address.clone(), r);
            }
            None => {
                state.resources.remove(&address);
            }
        }
        match e.deposed {
            Some(r) => {
                let r = resource_state(r).map_err(|r| at("deposed object", r))?;
                state.deposed.insert(address.clone(), r);
            }
            None => {
                state.deposed.remove(&address);
            }
        }
        match e.retained {
            Some(r) => {
                let r = retained_from(r).map_err(|r| at("retained resource", r))?;
                state.retained.insert(address.clone(), r);
            }
            None => {
                state.retained.remove(&address);
            }
        }
        state.intents.retain(|i| i.address != address);
        for i in e.intents {
            let i = intent_from(i).map_err(|r| at("intent", r))?;
            state.intents.push(i);
        }
    }
    if let Some(o) = record.outputs {
        state.outputs = map_from_json(o.values, &o.sensitive_paths)?;
    }
    state.serial = record.serial;
    Ok(())
}
