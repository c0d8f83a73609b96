//! One writer at a time per SQLite database in this process, queued here rather than in SQLite.
//!
//! SQLite lets one connection write at a time. A connection that finds the write lock taken
//! gets `SQLITE_BUSY`, and its busy handler sleeps 1, 2, 5, 10, 15… ms before it tries again,
//! however soon the lock comes free. Under concurrent writes most of a write's time was those
//! sleeps (a create's p99 was 34 ms for an insert that holds the lock a fraction of a
//! millisecond), and every statement added to a write transaction (an audit row, a search
//! index entry) made collisions more likely, so it cost far more than its own work. Writers of
//! this process wait on this gate instead, first come first served, and each is woken the
//! moment the one before it is done. Every write of the runtime takes a turn: transactions
//! (`Db::begin`), single statements (`Db::execute`) and writes returning a row (`Db::write_row`:
//! unaudited entity writes, a worker claiming a queued run, an API key's revocation); the
//! `fetch` methods are for reads.
//!
//! The gate is taken before a pooled connection, never while holding one, so a writer waiting
//! here holds nothing another needs. It orders only this process: another process writing the
//! same file still meets this one at SQLite's lock (and its busy timeout), which stays what
//! makes writes correct. A writer that has waited as long as SQLite's busy timeout goes on to
//! SQLite's lock without its turn, so a transaction held open elsewhere in the process delays
//! writes as long as it did before the gate and no longer. PostgreSQL locks rows, not the
//! database, so it has no gate.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The queue of one database's writers (shared by every clone of its handle).
#[derive(Debug, Clone)]
pub struct WriteGate(Option<(Arc<Semaphore>, Duration)>);

/// A turn at writing, held until dropped.
#[derive(Debug)]
pub struct WriteTurn {
    _permit: Option<OwnedSemaphorePermit>,
}

impl WriteGate {
    /// One writer at a time, each waiting at most `patience` (SQLite's busy timeout).
    pub fn one_at_a_time(patience: Duration) -> WriteGate {
        WriteGate(Some((Arc::new(Semaphore::new(1)), patience)))
    }

    /// No gate: every writer goes straight on (PostgreSQL).
    pub fn open() -> WriteGate {
        WriteGate(None)
    }

    /// Waits for this writer's turn (or for the gate's patience to run out).
    pub async fn enter(&self) -> WriteTurn {
        let Some((gate, patience)) = &self.0 else { return WriteTurn { _permit: None } };
        // The semaphore is never closed: the only way not to get a permit is to time out.
        let permit = tokio::time::timeout(*patience, Arc::clone(gate).acquire_owned()).await;
        WriteTurn { _permit: permit.ok().and_then(Result::ok) }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    const PATIENT: Duration = Duration::from_secs(600);

    #[tokio::test]
    async fn a_writer_waits_while_another_has_its_turn_and_goes_once_it_ends() {
        let gate = WriteGate::one_at_a_time(PATIENT);
        let first = gate.enter().await;
        let waiting = tokio::time::timeout(Duration::from_millis(200), gate.enter()).await;
        assert!(waiting.is_err(), "a second writer got a turn while the first held one");
        drop(first);
        let second = tokio::time::timeout(PATIENT, gate.enter()).await;
        assert!(second.is_ok_and(|turn| turn._permit.is_some()), "the second writer did not get its turn");
    }

    #[tokio::test]
    async fn writers_take_their_turns_in_the_order_they_came() {
        let gate = WriteGate::one_at_a_time(PATIENT);
        let order = Arc::new(Mutex::new(Vec::new()));
        let held = gate.enter().await;
        let mut writers = Vec::new();
        for name in ["first", "second", "third"] {
            let (gate, order) = (gate.clone(), Arc::clone(&order));
            writers.push(tokio::spawn(async move {
                let _turn = gate.enter().await;
                order.lock().unwrap().push(name);
                // Hold the turn across a yield, so a writer that jumped the queue would show.
                tokio::task::yield_now().await;
            }));
            // Let it queue (this test's runtime has one thread) before the next one comes.
            tokio::task::yield_now().await;
        }
        drop(held);
        for writer in writers {
            writer.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), ["first", "second", "third"]);
    }

    #[tokio::test]
    async fn a_writer_that_waited_its_patience_out_goes_on_without_a_turn() {
        let gate = WriteGate::one_at_a_time(Duration::from_millis(50));
        let _held = gate.enter().await;
        let late = tokio::time::timeout(PATIENT, gate.enter()).await.expect("the gate kept a writer past its patience");
        assert!(late._permit.is_none());
    }

    #[tokio::test]
    async fn an_open_gate_never_waits() {
        let gate = WriteGate::open();
        let _first = gate.enter().await;
        let second = tokio::time::timeout(PATIENT, gate.enter()).await;
        assert!(second.is_ok_and(|turn| turn._permit.is_none()));
    }
}
