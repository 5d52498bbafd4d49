//! Issue 5: the snapshot of the fold beside the log. A fold starts from it only while
//! it still belongs to the log (same hash at its seq), extends it with the events
//! after it, and otherwise (another store's, cut, damaged, unreadable) ignores it and
//! folds the whole log; the answers are a fresh fold's either way.
use annals::views::{self, Cache, Snapshots};
use chrono::{NaiveDate, Utc};
use events::Envelope;
use projections::{
    facts::Facts,
    metric::Metrics,
    people,
    period::{Period, Query},
    timeline,
};
use serde_json::{json, Value};

use crate::helpers::{amend, class_with, meeting, void, TestStore};

/// Snapshots written after any fold, so the small example log gets one.
const ALWAYS: Snapshots = Snapshots::On { write_after: 1 };
/// Snapshots read but never written.
const READ_ONLY: Snapshots = Snapshots::On {
    write_after: u64::MAX,
};

/// Every figure, the timeline, the people and every fact with its revisions, over the
/// years of the example and moments along the log.
fn answers(facts: &Facts, events: &[Envelope]) -> Value {
    let metrics = Metrics::embedded(&events::Catalog::embedded()).unwrap();
    let mut moments: Vec<_> = events.iter().step_by(25).map(|e| e.recorded_at).collect();
    moments.push(Utc::now());
    let mut figures = Vec::new();
    for period in ["2022", "2023", "2023H1", "2023Q3"] {
        for &known_at in &moments {
            let q = Query {
                period: period.parse().unwrap(),
                on: NaiveDate::from_ymd_opt(2023, 8, 31).unwrap(),
                known_at,
            };
            figures.push(
                metrics
                    .iter()
                    .map(|m| m.value(facts, &q))
                    .collect::<Vec<_>>(),
            );
        }
    }
    let now = Utc::now();
    json!({
        "figures": figures,
        "timeline": timeline::events(facts, &Period::year(2023), now),
        "people": people::everyone(facts, now)
            .iter()
            .map(|p| people::person(facts, p, 2023, NaiveDate::from_ymd_opt(2023, 12, 31).unwrap(), now))
            .collect::<Vec<_>>(),
        "facts": facts.iter().collect::<Vec<_>>(),
        "head_seq": facts.head_seq(),
    })
}

/// The answers of a fold that ignores any snapshot.
fn fresh(s: &TestStore) -> Value {
    answers(
        &views::fold_with(&s.store, Snapshots::Off).unwrap(),
        &s.events(),
    )
}

/// A few more events: a meeting, a class, an amendment and a void of the example's.
fn grow(s: &TestStore) {
    let classes: Vec<_> = s
        .events()
        .into_iter()
        .filter(|e| e.kind == "class_held")
        .map(|e| e.id)
        .collect();
    s.record(meeting("2023-07-03"));
    s.record(class_with(
        "2023-07-10..2023-07-14",
        json!({"class_id": "2023-ZT-99", "trainees": 61}),
    ));
    s.record(amend(
        classes[0],
        json!({"class_id": "2023-ZT-01", "class_name": "改名", "category": "main", "session": 1, "trainees": 12}),
    ));
    s.record(void(classes[1]));
}

/// The snapshot the store keeps, as bytes.
fn snapshot(s: &TestStore) -> Vec<u8> {
    s.store.snapshot().unwrap().expect("a snapshot").to_vec()
}

/// Puts `bytes` in the snapshot's place.
fn put(s: &TestStore, bytes: &[u8]) {
    s.store.put_snapshot(bytes).unwrap();
}

#[test]
fn a_fold_writes_a_snapshot_that_the_next_fold_starts_from() {
    let s = TestStore::with_example();
    let written = views::fold_with(&s.store, ALWAYS).unwrap();
    assert!(s.store.snapshot().unwrap().is_some());
    // A snapshot that still belongs to the log is trusted: doctor one (the facts
    // without the log's second event, at the same head) and a fold answers from it.
    let events = s.events();
    let mut doctored = Facts::default();
    for e in events.iter().filter(|e| e.seq != 2) {
        doctored.apply(e);
    }
    views::write_snapshot(&s.store, &doctored).unwrap();
    let started = views::fold_with(&s.store, READ_ONLY).unwrap();
    assert_eq!(
        started.len(),
        written.len() - 1,
        "the fold started from the snapshot"
    );
    assert_eq!(answers(&written, &events), fresh(&s));
}

#[test]
fn a_stale_snapshot_is_extended_with_the_events_after_it() {
    let s = TestStore::with_example();
    views::fold_with(&s.store, ALWAYS).unwrap();
    let taken = snapshot(&s);
    grow(&s);
    let extended = views::fold_with(&s.store, READ_ONLY).unwrap();
    assert_eq!(answers(&extended, &s.events()), fresh(&s));
    assert_eq!(snapshot(&s), taken, "four events are not worth a new one");
    // The server's cache starts from it too, and keeps extending.
    let cache = Cache::new(READ_ONLY);
    assert_eq!(
        answers(&cache.read(&s.store).unwrap(), &s.events()),
        fresh(&s)
    );
    s.record(meeting("2023-07-20"));
    assert_eq!(
        answers(&cache.read(&s.store).unwrap(), &s.events()),
        fresh(&s)
    );
}

#[test]
fn a_snapshot_from_another_store_is_ignored() {
    let ours = TestStore::with_example();
    views::fold_with(&ours.store, ALWAYS).unwrap();
    // Another log, longer, whose first event differs (so does every hash after it).
    let other = TestStore::new();
    let changed = annals::EXAMPLE_DATASET.replacen("\"value\":18", "\"value\":19", 1);
    assert_ne!(changed, annals::EXAMPLE_DATASET);
    other
        .import(changed.as_bytes())
        .expect("the example imports");
    grow(&other);
    put(&other, &snapshot(&ours));
    let folded = views::fold_with(&other.store, ALWAYS).unwrap();
    assert_eq!(answers(&folded, &other.events()), fresh(&other));
    // And it was replaced by one of this store's.
    assert_ne!(snapshot(&other), snapshot(&ours));
    let again = views::fold_with(&other.store, READ_ONLY).unwrap();
    assert_eq!(answers(&again, &other.events()), fresh(&other));
}

#[test]
fn a_snapshot_past_the_head_is_ignored() {
    // The store was restored from an older backup: the snapshot is ahead of the log.
    let s = TestStore::with_example();
    grow(&s);
    views::fold_with(&s.store, ALWAYS).unwrap();
    let taken = snapshot(&s);
    let shorter = TestStore::with_example();
    put(&shorter, &taken);
    let folded = views::fold_with(&shorter.store, READ_ONLY).unwrap();
    assert_eq!(answers(&folded, &shorter.events()), fresh(&shorter));
}

#[test]
fn a_corrupt_snapshot_is_ignored_and_replaced() {
    let s = TestStore::with_example();
    views::fold_with(&s.store, ALWAYS).unwrap();
    let good = snapshot(&s);
    let mut flipped = good.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x10;
    let damaged: Vec<Vec<u8>> = vec![
        flipped,
        good[..good.len() - 9].to_vec(),
        good[..40].to_vec(),
        Vec::new(),
        b"not a snapshot at all".to_vec(),
    ];
    let expected = fresh(&s);
    for (i, bad) in damaged.into_iter().enumerate() {
        put(&s, &bad);
        let folded = views::fold_with(&s.store, ALWAYS).unwrap();
        assert_eq!(answers(&folded, &s.events()), expected, "damage {i}");
        assert_eq!(snapshot(&s), good, "damage {i}: rewritten whole");
    }
}

/// Issue 14: a snapshot edited in place at the same head (so a fold trusts it) changes
/// no verified figure unseen: `verify` folds the events from scratch and names it.
#[test]
fn issue_14_a_snapshot_edited_at_its_head_is_named_by_verify() {
    let s = TestStore::with_example();
    views::fold_with(&s.store, ALWAYS).unwrap();
    assert!(
        views::verify(&s.store).unwrap().is_ok(),
        "a true snapshot verifies"
    );
    let mut doctored = Facts::default();
    for e in s.events().iter().filter(|e| e.seq != 2) {
        doctored.apply(e);
    }
    views::write_snapshot(&s.store, &doctored).unwrap();
    let failure = views::verify(&s.store).unwrap().unwrap_err();
    assert_eq!(failure.seq, s.head_seq(), "{failure}");
    assert!(failure.reason.contains("snapshot"), "{failure}");
    assert!(
        s.store.verify().unwrap().is_ok(),
        "the events themselves are whole"
    );
    let dir = s.close();
    let out = crate::helpers::run(crate::helpers::annals(dir.path()).arg("verify")).failed();
    assert!(
        out.stdout.contains("snapshot") || out.stderr.contains("snapshot"),
        "{out:?}"
    );
}

/// Issue 15: the snapshot's checksum became a CRC-32 and its format version 2; a
/// snapshot an earlier release wrote (version 1) is ignored, the whole log folded, and
/// a snapshot of this version written in its place.
#[test]
fn issue_15_a_snapshot_of_an_older_format_version_is_ignored_and_rewritten() {
    let s = TestStore::with_example();
    views::fold_with(&s.store, ALWAYS).unwrap();
    let good = snapshot(&s);
    // The facts' own bytes start after the store's 80-byte header: "ANNFACTS", then
    // the format version (u32 LE).
    let version = 80 + 8;
    assert_eq!(&good[80..version], b"ANNFACTS");
    assert_eq!(
        good[version..version + 4],
        projections::facts::SNAPSHOT_VERSION.to_le_bytes()
    );
    let mut older = good.clone();
    older[version..version + 4].copy_from_slice(&1u32.to_le_bytes());
    put(&s, &older);
    let folded = views::fold_with(&s.store, ALWAYS).unwrap();
    assert_eq!(answers(&folded, &s.events()), fresh(&s));
    assert_eq!(snapshot(&s), good, "rewritten in this version");
}
