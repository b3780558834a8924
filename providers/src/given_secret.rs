//! `given_secret`: a secret the admin supplies (an API token a site already uses) instead of one
//! hdh generates, read from an environment variable or a file each time hdh runs and kept in
//! state like `random_secret`'s.
//!
//! Invariants:
//! - The config names only where the secret comes from, never the secret itself.
//! - Refresh reads the source again: a rotated value becomes the state's, so everything that
//!   uses it plans an update (the secret itself has no inputs that changed). A source that cannot
//!   be read at refresh (a CI plan role without the variable) keeps what state holds; at create
//!   it is an error naming the source.
//! - One trailing line break is not part of the secret (`echo token > file`).

use std::path::{Path, PathBuf};

use hdh_engine::provider::{CreateRequest, Finding, ReadRequest, UpdateRequest};
use hdh_engine::{Observed, ProviderError, ResourceType, Value, ValueMap};

use crate::local::{Local, LocalType};
use crate::props;
use crate::{Answer, Found};

/// The resource type name.
pub const TYPE: &str = "given_secret";

/// `given_secret`; relative file paths resolve against `base_dir` (the config's).
#[derive(Debug, Clone)]
pub struct GivenSecret {
    base_dir: PathBuf,
}

/// Serves `given_secret`.
pub type GivenSecretProvider = Local<GivenSecret>;

/// Where the secret comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    Env(String),
    File(PathBuf),
}

impl GivenSecretProvider {
    pub fn new(base_dir: PathBuf) -> Self {
        Local(GivenSecret { base_dir })
    }

    /// The declaration of `given_secret`.
    pub fn resource_type() -> ResourceType {
        GivenSecret::schema()
    }
}

impl GivenSecret {
    /// The secret read from the source `p` names, observed.
    fn fetched(&self, p: &ValueMap) -> Answer<Observed> {
        let source = self.source(p)?;
        let value = fetch(&source)?;
        Ok(observed(id_of(&source), p, value))
    }

    fn source(&self, p: &ValueMap) -> Answer<Source> {
        match (
            props::string(p, "from_env")?,
            props::string(p, "from_file")?,
        ) {
            (Some(name), None) if valid_env_name(&name) => Ok(Source::Env(name)),
            (Some(name), None) => Err(ProviderError::invalid(format!(
                "`from_env`: {name:?} is not an environment variable name (letters, digits and \
                 `_`, not starting with a digit)"
            ))),
            (None, Some(path)) if !path.is_empty() => Ok(Source::File(self.base_dir.join(path))),
            (None, Some(_)) => Err(ProviderError::invalid("`from_file` is empty")),
            (Some(_), Some(_)) => Err(ProviderError::invalid(
                "set one of `from_env` and `from_file`, not both",
            )),
            (None, None) => Err(ProviderError::invalid(
                "set `from_env` (a variable name) or `from_file` (a path)",
            )),
        }
    }
}

fn valid_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The secret, or why it cannot be had (never the secret itself in a message).
fn fetch(source: &Source) -> Answer<String> {
    let raw = match source {
        Source::Env(name) => std::env::var(name).map_err(|e| {
            ProviderError::invalid(match e {
                std::env::VarError::NotPresent => {
                    format!("environment variable {name} is not set")
                }
                std::env::VarError::NotUnicode(_) => {
                    format!("environment variable {name} is not UTF-8 text")
                }
            })
        })?,
        Source::File(path) => read_file(path)?,
    };
    let value = raw
        .strip_suffix("\r\n")
        .or_else(|| raw.strip_suffix('\n'))
        .unwrap_or(&raw);
    if value.is_empty() {
        return Err(ProviderError::invalid(format!(
            "{} holds an empty secret",
            describe(source)
        )));
    }
    Ok(value.to_string())
}

fn read_file(path: &Path) -> Answer<String> {
    let bytes = std::fs::read(path)
        .map_err(|e| ProviderError::invalid(format!("cannot read {}: {e}", path.display())))?;
    String::from_utf8(bytes)
        .map_err(|_| ProviderError::invalid(format!("{} is not UTF-8 text", path.display())))
}

/// The id: where the secret comes from (ids are shown; the secret never is).
fn id_of(source: &Source) -> String {
    match source {
        Source::Env(name) => format!("env:{name}"),
        Source::File(path) => format!("file:{}", path.display()),
    }
}

fn describe(source: &Source) -> String {
    match source {
        Source::Env(name) => format!("environment variable {name}"),
        Source::File(path) => path.display().to_string(),
    }
}

fn observed(id: String, p: &ValueMap, value: String) -> Observed {
    let mut attributes: ValueMap = p
        .iter()
        .filter(|(k, _)| *k == "from_env" || *k == "from_file")
        .map(|(k, v)| (k.clone(), v.unmarked()))
        .collect();
    attributes.insert("value".into(), Value::String(value));
    Observed { id, attributes }
}

impl LocalType for GivenSecret {
    const TYPE: &'static str = TYPE;

    fn read(&self, r: &ReadRequest) -> Found {
        let prior = props::string(&r.prior, "value")?.unwrap_or_default();
        // Unreadable now (a plan run without the secret): what state holds stands.
        let value = self
            .source(&r.prior)
            .and_then(|s| fetch(&s))
            .unwrap_or(prior);
        Ok(Some(observed(r.id.clone(), &r.prior, value)))
    }

    fn create(&self, req: &CreateRequest) -> Answer<Observed> {
        self.fetched(&req.properties)
    }

    /// Only the source changed: the secret is read from the new one.
    fn update(&self, req: &UpdateRequest) -> Answer<Observed> {
        self.fetched(&req.properties)
    }

    /// Each source that cannot be used, named (its value is read only at apply).
    fn preflight(&self, resources: &[(String, String, ValueMap)]) -> Vec<Finding> {
        resources
            .iter()
            .filter(|(_, t, _)| t == TYPE)
            .filter_map(|(address, _, p)| {
                let problem = self.source(p).err()?;
                Some(Finding {
                    address: address.clone(),
                    attribute: None,
                    message: problem.to_string(),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> ValueMap {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), Value::str(*v)))
            .collect()
    }

    #[test]
    fn a_file_secret_loses_one_trailing_line_break_and_an_empty_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("t"), "s3cr3t\n").unwrap();
        std::fs::write(dir.path().join("e"), "\n").unwrap();
        let p = GivenSecretProvider::new(dir.path().to_path_buf()).0;
        let src = p.source(&props(&[("from_file", "t")])).unwrap();
        assert_eq!(fetch(&src).unwrap(), "s3cr3t");
        let empty = p.source(&props(&[("from_file", "e")])).unwrap();
        assert!(fetch(&empty)
            .unwrap_err()
            .to_string()
            .contains("empty secret"));
    }

    #[test]
    fn exactly_one_valid_source_is_accepted() {
        let p = GivenSecretProvider::new(PathBuf::from(".")).0;
        assert!(p.source(&props(&[])).is_err());
        assert!(p
            .source(&props(&[("from_env", "A"), ("from_file", "f")]))
            .is_err());
        assert!(p.source(&props(&[("from_env", "1BAD")])).is_err());
        assert_eq!(
            p.source(&props(&[("from_env", "HDH_TOKEN_1")])).unwrap(),
            Source::Env("HDH_TOKEN_1".into())
        );
        let unset = Source::Env("HDH_SURELY_UNSET_VARIABLE_FOR_TESTS".into());
        assert_eq!(
            fetch(&unset).unwrap_err().to_string(),
            "environment variable HDH_SURELY_UNSET_VARIABLE_FOR_TESTS is not set"
        );
    }
}
