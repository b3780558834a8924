//! Writes a file so that readers (and a crash at any instant) see either the old content or the
//! new content, complete, with the requested mode: never a truncated or half-written file.
//!
//! Invariant: content goes to a temporary file in the target's own directory (same filesystem,
//! so the rename is atomic; one fixed name per target, so what a killed writer left is found
//! and removed by the next), is flushed, gets its mode (by fchmod, so the umask does not
//! interfere), then is renamed over the target; the directory is flushed last.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Replaces (or creates) `path` with `bytes` and file mode `mode`, creating missing parent
/// directories.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let dir = dir_of(path);
    fs::create_dir_all(&dir)?;
    remove_leftovers(path)?;
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

/// Removes the temporary file a writer of `path` killed before its rename left beside it. Only
/// one writer of a path runs at a time (the state lock serialises runs, and a run manages each
/// path once), so the temporary name is fixed and whatever is there is debris.
pub(crate) fn remove_leftovers(path: &Path) -> io::Result<()> {
    match fs::remove_file(temp_path(path)) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// The directory holding `path` (`.` for a bare file name).
pub(crate) fn dir_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// The hidden name beside `path` its content is written under first: `.<name>.hdh-tmp`.
fn temp_path(path: &Path) -> PathBuf {
    let mut name = std::ffi::OsString::from(".");
    name.push(path.file_name().unwrap_or_default());
    name.push(".hdh-tmp");
    dir_of(path).join(name)
}
