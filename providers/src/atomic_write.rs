//! Writes a file so that readers (and a crash at any instant) see either the old content or the
//! new content, complete, with the requested mode: never a truncated or half-written file.
//!
//! Invariant: content goes to a temporary file in the target's own directory (same filesystem,
//! so the rename is atomic), is flushed, gets its mode (by fchmod, so the umask does not
//! interfere), then is renamed over the target; the directory is flushed last.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rand::RngCore;

/// Replaces (or creates) `path` with `bytes` and file mode `mode`, creating missing parent
/// directories.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let dir = dir_of(path);
    fs::create_dir_all(&dir)?;
    let tmp = temp_path(path);
    let written = (|| {
        // Private while being written; the final mode is set once the content is complete.
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.set_permissions(fs::Permissions::from_mode(mode))?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written?;
    File::open(&dir)?.sync_all()
}

/// The directory holding `path` (`.` for a bare file name).
pub(crate) fn dir_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// A hidden, unused name beside `path`: `.<name>.hdh-tmp-<random>`.
fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut unique = [0u8; 8];
    rand::thread_rng().fill_bytes(&mut unique);
    dir_of(path).join(format!(".{name}.hdh-tmp-{}", hex::encode(unique)))
}
