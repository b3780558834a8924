//! The local backend's intent journal: an append-only file beside the state
//! (`<path>.journal`) holding what changed since the state file was last written whole, so a
//! run makes each intent and result durable with one small fsync'd append instead of rewriting
//! the whole state.
//!
//! Invariants:
//! - Line-framed: each line is `<checksum> <record>\n`, the checksum (16 hex digits of SHA-256)
//!   covering the record. A line is written with one `write` and then `fsync`ed; a record
//!   counts only once its line is complete and checks out.
//! - The first line is the header: the lineage and the serial of the state file the journal
//!   continues. Records carry strictly increasing serials; a record at or below the state
//!   file's serial is already in it (a compaction that was interrupted after writing the state
//!   and before resetting the journal) and is skipped.
//! - Only the last line may be torn (a kill in the middle of an append): it is ignored. A
//!   damaged line before it is refused, never skipped.
//! - The file is 0600 (records hold secrets, like the state) and is only created whole
//!   (header first, atomically), so it never exists without a header.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::atomic;

/// The journal format this hdh writes and reads.
const JOURNAL_VERSION: u32 = 1;

#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Header {
    pub journal_version: u32,
    pub lineage: String,
    /// The serial of the state file this journal continues.
    pub base_serial: u64,
}

/// A journal as read: its header and its complete records, in order.
pub struct Contents {
    pub header: Header,
    pub records: Vec<Vec<u8>>,
}

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("{source}")]
    Io {
        #[from]
        source: io::Error,
    },
    #[error("line {line} is damaged ({reason}); only a torn last line is ignored")]
    Damaged { line: usize, reason: String },
}

fn checksum(record: &[u8]) -> String {
    hex::encode(&Sha256::digest(record)[..8])
}

/// `record` framed as one journal line.
pub fn line(record: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(record.len() + 18);
    out.extend_from_slice(checksum(record).as_bytes());
    out.push(b' ');
    out.extend_from_slice(record);
    out.push(b'\n');
    out
}

/// The record inside a complete line, if its checksum holds.
fn unframe(text: &[u8]) -> Result<&[u8], String> {
    if text.len() < 17 || text[16] != b' ' {
        return Err("no checksum".into());
    }
    let (sum, record) = (&text[..16], &text[17..]);
    if sum != checksum(record).as_bytes() {
        return Err("checksum mismatch".into());
    }
    Ok(record)
}

/// Reads the journal at `path`; `Ok(None)` when there is none.
pub fn read(path: &Path) -> Result<Option<Contents>, JournalError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    parse(&bytes).map(Some)
}

/// A journal's bytes as read: its header and the complete records after it (a torn last line
/// left out).
pub fn parse(bytes: &[u8]) -> Result<Contents, JournalError> {
    let mut lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
    // The piece after the last newline is empty for a complete file, else a torn append.
    let tail = lines.pop().unwrap_or_default();
    let mut torn_tail = !tail.is_empty();
    let mut records = Vec::with_capacity(lines.len());
    let last = lines.len();
    for (n, text) in lines.into_iter().enumerate() {
        match unframe(text) {
            Ok(record) => records.push(record.to_vec()),
            // A complete-looking last line that does not check out is a torn write too.
            Err(_) if n + 1 == last && !torn_tail && n > 0 => torn_tail = true,
            Err(reason) => {
                return Err(JournalError::Damaged {
                    line: n + 1,
                    reason,
                })
            }
        }
    }
    if records.is_empty() {
        return Err(JournalError::Damaged {
            line: 1,
            reason: "no header".into(),
        });
    }
    let header_bytes = records.remove(0);
    let header: Header =
        serde_json::from_slice(&header_bytes).map_err(|e| JournalError::Damaged {
            line: 1,
            reason: format!("header: {e}"),
        })?;
    if header.journal_version != JOURNAL_VERSION {
        return Err(JournalError::Damaged {
            line: 1,
            reason: format!(
                "journal version {}, this hdh reads {JOURNAL_VERSION}",
                header.journal_version
            ),
        });
    }
    Ok(Contents { header, records })
}

/// The header line of a journal continuing serial `base_serial` of `lineage`.
pub fn header_line(lineage: &str, base_serial: u64) -> Vec<u8> {
    let header = Header {
        journal_version: JOURNAL_VERSION,
        lineage: lineage.to_string(),
        base_serial,
    };
    line(&serde_json::to_vec(&header).unwrap_or_default())
}

/// An open journal that records are appended to.
pub struct Writer {
    file: File,
}

impl Writer {
    /// Replaces whatever journal is at `path` with a new one holding only its header, and opens
    /// it for appending.
    pub fn start(path: &Path, lineage: &str, base_serial: u64, mode: u32) -> io::Result<Writer> {
        atomic::replace(path, &header_line(lineage, base_serial), mode)?;
        let file = OpenOptions::new().append(true).open(path)?;
        Ok(Writer { file })
    }

    /// Appends one record and waits until it is on disk.
    pub fn append(&mut self, record: &[u8]) -> io::Result<()> {
        let framed = line(record);
        if crate::kill_point::reached(crate::kill_point::Point::JournalAppend) {
            // A test asked for a torn append: half a line on disk, then SIGKILL.
            self.file.write_all(&framed[..framed.len() / 2])?;
            self.file.sync_data()?;
            crate::kill_point::die();
        }
        self.file.write_all(&framed)?;
        self.file.sync_data()
    }
}

/// Removes the journal at `path` (if any), durably.
pub fn remove(path: &Path) -> io::Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => atomic::sync_dir(&atomic::dir_of(path)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}
