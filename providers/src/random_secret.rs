//! `random_secret`: a secret generated once from the OS's CSPRNG and kept in state (the DaskHub
//! API tokens). It exists nowhere but in state, so refresh returns what state holds.
//!
//! Invariants:
//! - The value is generated at create only; every input forces a new one, so there is no update.
//! - The id is a separate random string, never derived from the value: ids are shown, values
//!   are not.

use base64::Engine as _;
use hdh_engine::provider::{CreateRequest, ReadRequest, UpdateRequest};
use hdh_engine::{Observed, ProviderError, ResourceType, Value, ValueMap};
use rand::rngs::OsRng;
use rand::RngCore;

use crate::local::{Local, LocalType};
use crate::props::{self, Check};
use crate::{Answer, Found};

/// The resource type name.
pub const TYPE: &str = "random_secret";

/// Bytes of randomness when `bytes` is not set.
pub const DEFAULT_BYTES: i64 = 32;
/// The accepted range of `bytes`: at least 64 bits, at most what any token field needs.
pub const BYTES_RANGE: std::ops::RangeInclusive<i64> = 8..=1024;

/// `random_secret` (served by [`RandomSecretProvider`]).
#[derive(Debug, Default, Clone)]
pub struct RandomSecret;

/// Serves `random_secret`.
pub type RandomSecretProvider = Local<RandomSecret>;

impl RandomSecretProvider {
    pub fn new() -> Self {
        Local(RandomSecret)
    }

    /// The declaration of `random_secret`.
    pub fn resource_type() -> ResourceType {
        RandomSecret::schema()
    }
}

impl LocalType for RandomSecret {
    const TYPE: &'static str = TYPE;
    const CHECKS: &'static [(&'static str, Check)] = &[
        ("bytes", |v| parse_bytes(v).map(drop)),
        ("encoding", |v| parse_encoding(v).map(drop)),
    ];

    /// The secret lives only in state: what state holds is what exists.
    fn read(&self, r: &ReadRequest) -> Found {
        let attributes = r
            .prior
            .iter()
            .map(|(k, v)| (k.clone(), v.unmarked()))
            .collect();
        Ok(Some(Observed {
            id: r.id.clone(),
            attributes,
        }))
    }

    fn create(&self, req: &CreateRequest) -> Answer<Observed> {
        let s = settings(&req.properties)?;
        // In BYTES_RANGE, so the conversion cannot fail.
        let secret = os_random(usize::try_from(s.bytes).unwrap_or(32))?;
        let id = hex::encode(os_random(8)?);
        let mut attributes = ValueMap::new();
        attributes.insert("bytes".into(), Value::int(s.bytes));
        attributes.insert("encoding".into(), Value::str(s.encoding.name()));
        attributes.insert("value".into(), Value::String(s.encoding.encode(&secret)));
        Ok(Observed { id, attributes })
    }

    fn update(&self, _req: &UpdateRequest) -> Answer<Observed> {
        Err(ProviderError::Unsupported {
            message: "random_secret cannot change in place; every input forces a new secret".into(),
        })
    }
}

/// How the random bytes become text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Hex,
    /// Standard alphabet, padded.
    Base64,
}

impl Encoding {
    fn name(self) -> &'static str {
        match self {
            Encoding::Hex => "hex",
            Encoding::Base64 => "base64",
        }
    }

    fn encode(self, bytes: &[u8]) -> String {
        match self {
            Encoding::Hex => hex::encode(bytes),
            Encoding::Base64 => base64::engine::general_purpose::STANDARD.encode(bytes),
        }
    }
}

/// Validated inputs.
struct Settings {
    bytes: i64,
    encoding: Encoding,
}

fn parse_bytes(v: &Value) -> Answer<i64> {
    match v.as_i64() {
        Some(n) if BYTES_RANGE.contains(&n) => Ok(n),
        Some(n) => Err(ProviderError::invalid(format!(
            "`bytes` must be between {} and {}, found {n}",
            BYTES_RANGE.start(),
            BYTES_RANGE.end()
        ))),
        None => Err(props::wrong_type("bytes", "an integer", v)),
    }
}

fn parse_encoding(v: &Value) -> Answer<Encoding> {
    match v.as_str() {
        Some("hex") => Ok(Encoding::Hex),
        Some("base64") => Ok(Encoding::Base64),
        Some(other) => Err(ProviderError::invalid(format!(
            "`encoding` must be `hex` or `base64`, found {:?}",
            other
        ))),
        None => Err(props::wrong_type("encoding", "a string", v)),
    }
}

fn settings(properties: &ValueMap) -> Answer<Settings> {
    let bytes = props::get(properties, "bytes").map_or(Ok(DEFAULT_BYTES), |v| parse_bytes(&v))?;
    let encoding =
        props::get(properties, "encoding").map_or(Ok(Encoding::Hex), |v| parse_encoding(&v))?;
    Ok(Settings { bytes, encoding })
}

/// `n` bytes from the OS CSPRNG.
fn os_random(n: usize) -> Answer<Vec<u8>> {
    let mut buf = vec![0u8; n];
    OsRng.try_fill_bytes(&mut buf).map_err(|e| {
        ProviderError::other(format!("the operating system's random source failed: {e}"))
    })?;
    Ok(buf)
}
