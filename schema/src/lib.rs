//! hdh's config language: reads `hdh.yaml` into the engine's desired state
//! ([`hdh_engine::Desired`]), checking it against the resource types the providers declare.
//! Every error names file, line and column and says what was expected; all errors are
//! reported at once, sorted by location. Nothing here touches the network.

mod blueprint;
mod compile;
mod config;
pub mod diag;
pub mod interp;
pub mod json_schema;
pub mod keys;
pub mod rules;
mod shape;
pub mod suggest;
pub mod yaml;

#[cfg(test)]
mod test_types;

use std::path::{Path, PathBuf};

use hdh_engine::Providers;
use sha2::{Digest, Sha256};

pub use compile::valid_resource_name;
pub use config::{valid_region, valid_stack_name, Config, StateConfig, VERSION};
pub use diag::{Diagnostic, Diagnostics, Location};
pub use yaml::Node;

use crate::diag::Problems;

/// Hex sha256 of a config file's bytes (what [`Config::config_hash`] holds).
pub fn config_hash(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Reads and validates the config file at `path`. Relative paths inside it (the local state
/// file) are resolved against the file's directory; diagnostics name the file as `path` is
/// written.
pub fn load(path: &Path, types: &Providers) -> Result<Config, Diagnostics> {
    let file = path.display().to_string();
    let whole_file = |message: String| {
        let mut p = Problems::default();
        p.error(Location::WHOLE_FILE, message);
        p.into_diagnostics(&file)
    };
    let bytes =
        std::fs::read(path).map_err(|e| whole_file(format!("cannot read the config file: {e}")))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let mut p = Problems::default();
        let (at, message) = not_utf8(e.as_bytes(), e.utf8_error());
        p.error_hint(at, message, Some("save the file as UTF-8".into()));
        p.into_diagnostics(&file)
    })?;
    let base_dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    parse_with_path(&text, &file, path.to_path_buf(), base_dir, types)
}

/// Where the first byte that is not UTF-8 is (line, and column in characters), and what it is.
fn not_utf8(bytes: &[u8], e: std::str::Utf8Error) -> (Location, String) {
    let good = &bytes[..e.valid_up_to()];
    let line_start = good.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    let line = good.iter().filter(|b| **b == b'\n').count() + 1;
    // `good` is valid UTF-8 by definition of `valid_up_to`.
    let column = std::str::from_utf8(&good[line_start..]).map_or(1, |t| t.chars().count() + 1);
    let bad: Vec<String> = bytes[e.valid_up_to()..]
        .iter()
        .take(
            e.error_len()
                .unwrap_or(bytes.len() - e.valid_up_to())
                .clamp(1, 4),
        )
        .map(|b| format!("0x{b:02x}"))
        .collect();
    (
        Location::new(line, column),
        format!(
            "the config file is not valid UTF-8: {} here is not a UTF-8 character",
            bad.join(" ")
        ),
    )
}

/// Validates config text. `file_name` is used in diagnostics and as [`Config::path`];
/// `base_dir` is where relative paths inside the config are resolved.
pub fn parse_str(
    text: &str,
    file_name: &str,
    base_dir: &Path,
    types: &Providers,
) -> Result<Config, Diagnostics> {
    parse_with_path(text, file_name, PathBuf::from(file_name), base_dir, types)
}

fn parse_with_path(
    text: &str,
    file: &str,
    path: PathBuf,
    base_dir: &Path,
    types: &Providers,
) -> Result<Config, Diagnostics> {
    let mut p = Problems::default();
    let (root, yaml_problems) = yaml::parse(text);
    p.extend(yaml_problems);
    let config = root.and_then(|root| {
        let src = config::Source {
            path,
            base_dir,
            hash: config_hash(text.as_bytes()),
            types,
        };
        config::read(&root, src, &mut p)
    });
    match config {
        Some(c) if p.is_empty() => Ok(c),
        _ => {
            if p.is_empty() {
                p.error(Location::new(1, 1), "the config could not be read");
            }
            Err(p.into_diagnostics(file))
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn bytes_that_are_not_utf8_are_located() {
        let bytes = b"version: 1\nname: d\xc3\xa9mo\xff\n".to_vec();
        let bytes = &bytes[..];
        let e = std::str::from_utf8(bytes).unwrap_err();
        let (at, message) = super::not_utf8(bytes, e);
        assert_eq!((at.line, at.column), (2, 11));
        assert!(message.contains(": 0xff here"), "{message}");
        let bytes = b"\xe2\x82".to_vec();
        let bytes = &bytes[..];
        let e = std::str::from_utf8(bytes).unwrap_err();
        let (at, message) = super::not_utf8(bytes, e);
        assert_eq!((at.line, at.column), (1, 1));
        assert!(message.contains("0xe2 0x82"), "{message}");
    }
}
