//! The store: refusals that write nothing, idempotency, optimistic concurrency, reads,
//! group commit and `verify` against tampering through the library API; a killed
//! import (`crash`), full and damaged disks (`faults`), backups (`backup`) and the
//! fold's snapshot beside the log (`snapshot`).
use std::{collections::BTreeSet, sync::Arc};

use annals::store::{Batch, Filter, Options, Store, StoreError};
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{
    amend, catalog, class_with, forge_seen, meeting, new_event, open, open_damaged, scan, tamper,
    void, TestStore, AUTHOR,
};

mod appends;
mod backup;
mod crash;
mod faults;
mod migrate;
mod open;
mod reads;
mod refusals;
mod snapshot;
mod tamper;

/// Submits `draft` to a store that already holds one event and asserts it is refused
/// with a message containing every `expected` part, and that nothing was written.
fn assert_refused(draft: Value, expected: &[&str]) {
    let s = TestStore::new();
    s.record(meeting("2023-03-01"));
    let head = s.store.head().unwrap();
    let err = s
        .try_record(draft)
        .expect_err("the event should be refused");
    for part in expected {
        assert!(
            err.contains(part),
            "the message {err:?} should contain {part:?}"
        );
    }
    assert_eq!(s.store.head().unwrap(), head, "nothing may be written");
    assert_eq!(s.events().len(), 1);
}

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn moment(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// `draft` with a backfilled recording time.
fn recorded(mut draft: Value, at: &str) -> Value {
    draft["recorded_at"] = json!(at);
    draft
}

fn seqs(events: &[events::Envelope]) -> Vec<u64> {
    events.iter().map(|e| e.seq).collect()
}
