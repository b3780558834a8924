//! The commit of each write a run makes: the serial one up, then the save or the append.
//!
//! Invariant: every write of a run goes through here, so the serial rises by exactly one per
//! write and never wraps (`State::bump_serial`).

use crate::state::{Changes, State, StateStore, StoreError};

/// One serial up, then the whole state written.
pub async fn commit(store: &dyn StateStore, state: &mut State) -> Result<(), StoreError> {
    state.bump_serial(&store.location())?;
    store.save(state).await
}

/// One serial up, then `changes` appended (or the whole state written, as the store does).
pub async fn commit_changes(
    store: &dyn StateStore,
    state: &mut State,
    changes: &Changes,
) -> Result<(), StoreError> {
    state.bump_serial(&store.location())?;
    store.append(state, changes).await
}

/// The state of a run whose write failed, as it is kept aside for `state push`: one serial past
/// the write that failed, since that write may still have landed (its answer lost), so the
/// copy is newer than anything the run may have stored.
pub fn rescued(state: &State) -> State {
    let mut copy = state.clone();
    copy.serial = copy.serial.saturating_add(1);
    copy
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::MemoryStore;

    #[tokio::test]
    async fn commit_takes_the_serial_one_up_and_saves() {
        let store = MemoryStore::new();
        let mut state = State::default();
        commit(&store, &mut state).await.unwrap();
        commit(&store, &mut state).await.unwrap();
        assert_eq!(store.current().unwrap().serial, 2);
        assert_eq!(store.saves(), 2);
    }
}
