//! `local_file`: a file on the local disk with given content and mode (e.g. a config file that
//! interpolates secrets). Refresh reads the real file, so edits on disk show up in the plan.
//!
//! Relative paths are resolved against the provider's base directory (the CLI passes the config
//! file's directory), so a stack applies the same way from any working directory. The `path`
//! attribute keeps the text the user wrote; the id is the resolved path, the file actually
//! managed.
//!
//! Invariants:
//! - Content is never put in an error message or log: it may hold a secret.
//! - Files are replaced atomically (see [`crate::atomic_write`]).
//! - `mode` reads back as the user's own spelling when it denotes the mode the file has
//!   ("644" stays "644"), so an unchanged file never shows a spurious change.

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use hdh_engine::provider::{CreateRequest, DeleteRequest, ReadRequest, UpdateRequest};
use hdh_engine::{Observed, ProviderError, ResourceType, Value, ValueMap};
use sha2::{Digest, Sha256};

use crate::atomic_write::{remove_leftovers, write_atomic};
use crate::local::{Local, LocalType};
use crate::props::{self, Check};
use crate::{Answer, Found};

/// The resource type name.
pub const TYPE: &str = "local_file";

/// File mode when `mode` is not set.
pub const DEFAULT_MODE: &str = "0644";

/// `local_file`, with the directory relative paths resolve against.
#[derive(Debug, Clone)]
pub struct LocalFile {
    base_dir: PathBuf,
}

/// Serves `local_file`.
pub type LocalFileProvider = Local<LocalFile>;

impl LocalFileProvider {
    /// A provider resolving relative `path`s against `base_dir` (itself relative to the process's
    /// working directory if not absolute). The CLI passes the config file's directory.
    pub fn new(base_dir: PathBuf) -> Self {
        Local(LocalFile { base_dir })
    }

    pub fn base_dir(&self) -> &Path {
        &self.0.base_dir
    }

    /// The declaration of `local_file`.
    pub fn resource_type() -> ResourceType {
        LocalFile::schema()
    }
}

impl LocalFile {
    /// The file a `path` input denotes.
    fn resolve(&self, path: &str) -> PathBuf {
        let p = Path::new(path);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base_dir.join(p)
        }
    }

    /// The file a recorded resource manages: its id, or (for a damaged entry without one) its
    /// recorded path.
    fn managed_file(&self, id: &str, prior: &ValueMap) -> Answer<PathBuf> {
        if !id.is_empty() {
            return Ok(PathBuf::from(id));
        }
        Ok(self.resolve(&props::required_string(prior, "path")?))
    }
}

/// Validated inputs. No `Debug`: `content` may be secret.
struct Inputs {
    path: String,
    content: String,
    mode: u32,
    /// `mode` as the user wrote it.
    mode_text: String,
}

fn parse_path(v: &Value) -> Answer<String> {
    match v.as_str() {
        Some("") => Err(ProviderError::invalid("`path` must not be empty")),
        Some(s) if s.ends_with('/') => Err(ProviderError::invalid(format!(
            "`path` must name a file, not a directory: {s:?}"
        ))),
        Some(s) => Ok(s.to_string()),
        None => Err(props::wrong_type("path", "a string", v)),
    }
}

/// Parses an octal permission string of 3 or 4 digits ("644", "0600", "1777").
fn parse_mode(v: &Value) -> Answer<u32> {
    let Some(text) = v.as_str() else {
        return Err(props::wrong_type(
            "mode",
            "an octal string such as \"0644\"",
            v,
        ));
    };
    let valid = (3..=4).contains(&text.len()) && text.bytes().all(|b| (b'0'..=b'7').contains(&b));
    match u32::from_str_radix(text, 8) {
        Ok(mode) if valid => Ok(mode),
        _ => Err(ProviderError::invalid(format!(
            "`mode` must be 3 or 4 octal digits such as \"0644\", found {text:?}"
        ))),
    }
}

fn inputs(properties: &ValueMap) -> Answer<Inputs> {
    let path = match props::get(properties, "path") {
        Some(v) => parse_path(&v)?,
        None => return Err(ProviderError::invalid("`path` is required")),
    };
    let content = props::required_string(properties, "content")?;
    let mode_value = props::get(properties, "mode").unwrap_or_else(|| Value::str(DEFAULT_MODE));
    let mode = parse_mode(&mode_value)?;
    // parse_mode accepted it, so it is a string.
    let mode_text = mode_value.as_str().unwrap_or(DEFAULT_MODE).to_string();
    Ok(Inputs {
        path,
        content,
        mode,
        mode_text,
    })
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn io_error(doing: &str, file: &Path, e: io::Error) -> ProviderError {
    ProviderError::other(format!("could not {doing} {}: {e}", file.display()))
}

fn attributes(path: &str, content: String, mode_text: String, sha256: String) -> ValueMap {
    let mut a = ValueMap::new();
    a.insert("path".into(), Value::str(path));
    a.insert("content".into(), Value::String(content));
    a.insert("mode".into(), Value::String(mode_text));
    a.insert("sha256".into(), Value::String(sha256));
    a
}

/// The file at `file` as it really is; `None` when it does not exist. `path` is the input text
/// to report; `mode_hint` the user's spelling of the mode, used when it matches.
fn observe(file: &Path, path: &str, mode_hint: Option<&str>) -> Found {
    let meta = match fs::metadata(file) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error("read", file, e)),
    };
    if !meta.is_file() {
        return Err(ProviderError::Conflict {
            message: format!("{} exists but is not a regular file", file.display()),
        });
    }
    let bytes = match fs::read(file) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error("read", file, e)),
    };
    let mode = meta.permissions().mode() & 0o7777;
    let hinted = mode_hint.filter(|h| parse_mode(&Value::str(*h)).ok() == Some(mode));
    let mode_text = hinted.map_or_else(|| format!("{mode:04o}"), str::to_string);
    let sha256 = sha256_hex(&bytes);
    // Not UTF-8 (edited on disk): shown as text with replacement characters, which differs
    // from any desired content, so the plan rewrites the file.
    let content = String::from_utf8(bytes)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
    Ok(Some(Observed {
        id: file.display().to_string(),
        attributes: attributes(path, content, mode_text, sha256),
    }))
}

/// Writes the file for `inputs` at `file` and describes it.
fn write(file: &Path, inputs: Inputs) -> Answer<Observed> {
    write_atomic(file, inputs.content.as_bytes(), inputs.mode)
        .map_err(|e| io_error("write", file, e))?;
    let sha256 = sha256_hex(inputs.content.as_bytes());
    Ok(Observed {
        id: file.display().to_string(),
        attributes: attributes(&inputs.path, inputs.content, inputs.mode_text, sha256),
    })
}

impl LocalType for LocalFile {
    const TYPE: &'static str = TYPE;
    /// A file others wrote can be imported by its path.
    const IMPORTABLE: bool = true;
    const CHECKS: &'static [(&'static str, Check)] = &[
        ("path", |v| parse_path(v).map(drop)),
        ("mode", |v| parse_mode(v).map(drop)),
    ];

    fn read(&self, r: &ReadRequest) -> Found {
        let file = self.managed_file(&r.id, &r.prior)?;
        let path = props::string(&r.prior, "path")?.unwrap_or_else(|| r.id.clone());
        let mode_hint = props::string(&r.prior, "mode").ok().flatten();
        observe(&file, &path, mode_hint.as_deref())
    }

    fn create(&self, req: &CreateRequest) -> Answer<Observed> {
        let inputs = inputs(&req.properties)?;
        let file = self.resolve(&inputs.path);
        write(&file, inputs)
    }

    fn update(&self, req: &UpdateRequest) -> Answer<Observed> {
        let inputs = inputs(&req.properties)?;
        // `path` forces a replacement, so the managed file is still the one to write.
        let file = self.managed_file(&req.id, &req.prior)?;
        write(&file, inputs)
    }

    fn delete(&self, req: &DeleteRequest) -> Answer<()> {
        let file = self.managed_file(&req.id, &req.prior)?;
        remove_leftovers(&file).map_err(|e| io_error("delete", &file, e))?;
        match fs::remove_file(&file) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_error("delete", &file, e)),
        }
    }

    /// A file already at the path with exactly the requested content is the one an interrupted
    /// create wrote (or one identical to it): adopt it. A file with other content is not ours
    /// to claim; the create that follows overwrites it.
    fn find_created(&self, req: &CreateRequest) -> Found {
        let inputs = inputs(&req.properties)?;
        let file = self.resolve(&inputs.path);
        let wanted = sha256_hex(inputs.content.as_bytes());
        // What the interrupted create may have left half-written goes either way.
        remove_leftovers(&file).map_err(|e| io_error("recover", &file, e))?;
        let found = observe(&file, &inputs.path, Some(&inputs.mode_text))?;
        Ok(found.filter(|o| o.attributes.get("sha256").and_then(Value::as_str) == Some(&wanted)))
    }
}
