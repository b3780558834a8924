//! The S3 backend's intent journal, as data: how journal objects are named and framed, and how
//! the objects found beside a state object are checked and replayed onto it. The S3 calls that
//! list, read, write and delete them live in [`crate::store`].
//!
//! Invariants:
//! - A journal object is `<key>.journal/<lineage>/<serial, 20 digits>`: one record (one group
//!   commit of a run) that brings the state to that serial. Zero-padded serials list in order,
//!   and a state of a new lineage never meets the names of an old one.
//! - Its body is the local journal's framing ([`hdh_state::journal`]): a header line (journal
//!   version, lineage, the serial of the state object it continues) then the record line, each
//!   checksummed. Its name, header and record must agree.
//! - Objects at or below the state object's serial are already in it (a compaction stopped
//!   before it deleted them) and are skipped. Those above it must continue it without a gap.
//! - Only the last object may be damaged (it is ignored, like a torn last journal line); a
//!   damaged object before it is refused, never skipped.

use hdh_engine::state::Changes;
use hdh_engine::State;

use hdh_state::format;
use hdh_state::journal as framing;

/// `<key>.journal/`: where every journal object of the state at `key` lives.
pub(crate) fn prefix(key: &str) -> String {
    format!("{key}.journal/")
}

/// The name of the journal object that brings lineage `lineage` to `serial`.
pub(crate) fn object_key(prefix: &str, lineage: &str, serial: u64) -> String {
    format!("{prefix}{lineage}/{serial:020}")
}

/// A listed journal object, named by its lineage and serial.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Listed {
    pub lineage: String,
    pub serial: u64,
    pub key: String,
}

/// Reads a listed key back into lineage and serial; `None` for anything else under the prefix.
pub(crate) fn parse_key(prefix: &str, key: &str) -> Option<Listed> {
    let rest = key.strip_prefix(prefix)?;
    let (lineage, serial) = rest.split_once('/')?;
    if lineage.is_empty() || serial.len() != 20 || !serial.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(Listed {
        lineage: lineage.to_string(),
        serial: serial.parse().ok()?,
        key: key.to_string(),
    })
}

/// The body of the journal object holding `changes` of `state` (at its new serial), continuing
/// the state object written at `base_serial`.
pub(crate) fn encode(state: &State, changes: &Changes, base_serial: u64) -> Vec<u8> {
    let mut body = framing::header_line(&state.lineage, base_serial);
    body.extend_from_slice(&framing::line(&format::encode_record(state, changes)));
    body
}

/// The record inside a journal object's body and the serial its header says it continues;
/// `Err` says why the object is damaged.
pub(crate) fn decode(listed: &Listed, body: &[u8]) -> Result<(Vec<u8>, u64), String> {
    let contents = framing::parse(body).map_err(|e| e.to_string())?;
    if contents.header.lineage != listed.lineage {
        return Err(format!(
            "its header says lineage {}, its name {}",
            contents.header.lineage, listed.lineage
        ));
    }
    let [record] = <[Vec<u8>; 1]>::try_from(contents.records)
        .map_err(|r| format!("{} complete records, not one", r.len()))?;
    let serial = format::record_serial(&record)?;
    if serial != listed.serial {
        return Err(format!(
            "its record is serial {serial}, its name {}",
            listed.serial
        ));
    }
    Ok((record, contents.header.base_serial))
}

/// Why the journal objects beside a state object cannot be replayed onto it.
#[derive(Debug, PartialEq)]
pub(crate) enum Problem {
    /// An object other than the last is damaged.
    Damaged { key: String, reason: String },
    /// The objects continue a later state than the one stored: the state went backwards (or
    /// was rewritten while it was read).
    Behind { key: String, base_serial: u64 },
    /// Serials are missing between the state and an object.
    Gap { key: String, expected: u64 },
}

/// Applies the journal objects of the state's lineage (sorted by serial, each with its body)
/// to `state`. Returns the keys of objects the state object already contained.
pub(crate) fn replay(
    state: &mut State,
    objects: &[(Listed, Vec<u8>)],
) -> Result<Vec<String>, Problem> {
    let file_serial = state.serial;
    let mut stale = Vec::new();
    let newer: Vec<&(Listed, Vec<u8>)> = objects
        .iter()
        .filter(|(l, _)| {
            let old = l.serial <= file_serial;
            if old {
                stale.push(l.key.clone());
            }
            !old
        })
        .collect();
    for (n, (listed, body)) in newer.iter().enumerate() {
        let last = n + 1 == newer.len();
        let decoded = decode(listed, body).and_then(|(record, base)| {
            if base > file_serial {
                return Ok(Err(Problem::Behind {
                    key: listed.key.clone(),
                    base_serial: base,
                }));
            }
            if listed.serial != state.serial + 1 {
                return Ok(Err(Problem::Gap {
                    key: listed.key.clone(),
                    expected: state.serial + 1,
                }));
            }
            format::apply_record(state, &record).map(Ok)
        });
        match decoded {
            Ok(Ok(())) => {}
            Ok(Err(problem)) => return Err(problem),
            // A damaged last object: the batch never counted.
            Err(_) if last => break,
            Err(reason) => {
                return Err(Problem::Damaged {
                    key: listed.key.clone(),
                    reason,
                })
            }
        }
    }
    Ok(stale)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hdh_engine::{Lifecycle, ResourceState};

    fn with(state: &State, address: &str, id: &str) -> (State, Changes) {
        let mut next = state.clone();
        next.serial += 1;
        next.resources.insert(
            address.into(),
            ResourceState {
                type_name: "random_secret".into(),
                id: id.into(),
                attributes: Default::default(),
                dependencies: vec![],
                lifecycle: Lifecycle::default(),
            },
        );
        let mut changes = Changes::default();
        changes.touch(address);
        (next, changes)
    }

    fn object(state: &State, changes: &Changes, base: u64) -> (Listed, Vec<u8>) {
        let key = object_key("k.journal/", &state.lineage, state.serial);
        (
            parse_key("k.journal/", &key).expect("own names parse"),
            encode(state, changes, base),
        )
    }

    #[test]
    fn names_sort_by_serial_and_read_back() {
        let a = object_key("s.json.journal/", "lin", 9);
        let b = object_key("s.json.journal/", "lin", 10);
        assert!(a < b);
        assert_eq!(
            parse_key("s.json.journal/", &b),
            Some(Listed {
                lineage: "lin".into(),
                serial: 10,
                key: b.clone()
            })
        );
        assert_eq!(parse_key("s.json.journal/", "s.json.journal/lin/12"), None);
        assert_eq!(
            parse_key("s.json.journal/", "other/lin/00000000000000000012"),
            None
        );
    }

    #[test]
    fn objects_replay_in_order_skip_old_and_ignore_a_damaged_last() {
        let mut base = State::new();
        base.serial = 3;
        let (s4, c4) = with(&base, "a", "1");
        let (s5, c5) = with(&s4, "b", "2");
        let (s6, c6) = with(&s5, "c", "3");
        let mut old = base.clone();
        old.serial = 2;
        let (s3, c3) = with(&old, "z", "old");
        let mut damaged = object(&s6, &c6, 3);
        let len = damaged.1.len();
        damaged.1.truncate(len - 5);
        let objects = vec![
            object(&s3, &c3, 2),
            object(&s4, &c4, 3),
            object(&s5, &c5, 3),
            damaged.clone(),
        ];
        let mut state = base.clone();
        let stale = replay(&mut state, &objects).expect("replays");
        assert_eq!(stale, vec![objects[0].0.key.clone()]);
        assert_eq!(state, s5, "the damaged last batch never counted");

        // The same damage before another object is refused.
        let objects = vec![object(&s4, &c4, 3), damaged, object(&s5, &c5, 3)];
        let mut state = base.clone();
        assert!(matches!(
            replay(&mut state, &objects),
            Err(Problem::Damaged { .. })
        ));
    }

    #[test]
    fn a_gap_or_a_journal_ahead_of_the_state_is_refused() {
        let mut base = State::new();
        base.serial = 3;
        let (s4, c4) = with(&base, "a", "1");
        let (s5, c5) = with(&s4, "b", "2");
        let mut state = base.clone();
        assert_eq!(
            replay(&mut state, &[object(&s5, &c5, 3)]),
            Err(Problem::Gap {
                key: object_key("k.journal/", &base.lineage, 5),
                expected: 4
            })
        );
        let mut state = base.clone();
        assert!(matches!(
            replay(&mut state, &[object(&s4, &c4, 4)]),
            Err(Problem::Behind { base_serial: 4, .. })
        ));
    }
}
