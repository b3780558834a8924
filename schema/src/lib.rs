//! hdh's config language: reads `hdh.yaml` into the engine's desired state
//! ([`hdh_engine::Desired`]), checking it against the resource types the providers declare.
//! Every error names file, line and column and says what was expected; all errors are
//! reported at once, sorted by location. Nothing here touches the network.

mod blueprint;
mod compile;
mod config;
pub mod diag;
pub mod interp;
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
        whole_file(format!(
            "the config file is not valid UTF-8 (at byte {})",
            e.utf8_error().valid_up_to()
        ))
    })?;
    let base_dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    parse_with_path(&text, &file, path.to_path_buf(), base_dir, types)
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
