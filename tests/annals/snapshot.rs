//! Issue 5: the snapshot of the fold beside the log. A fold starts from it only while
//! it still belongs to the log (same hash at its seq), extends it with the events
//! after it, and otherwise (another store's, cut, damaged, unreadable) ignores it and
//! folds the whole log; the answers are a fresh fold's either way.
use std::fs;

use annals::views::{self, Cache, Snapshots, SNAPSHOT_FILE};
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

fn snapshot_path(s: &TestStore) -> std::path::PathBuf {
    s.path().join(SNAPSHOT_FILE)
}

#[test]
fn a_fold_writes_a_snapshot_that_the_next_fold_starts_from() {
    let s = TestStore::with_example();
    let written = views::fold_with(&s.store, ALWAYS).unwrap();
    assert!(snapshot_path(&s).exists());
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
    let taken = fs::read(snapshot_path(&s)).unwrap();
    grow(&s);
    let extended = views::fold_with(&s.store, READ_ONLY).unwrap();
    assert_eq!(answers(&extended, &s.events()), fresh(&s));
    assert_eq!(
        fs::read(snapshot_path(&s)).unwrap(),
        taken,
        "four events are not worth a new one"
    );
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
    fs::copy(snapshot_path(&ours), snapshot_path(&other)).unwrap();
    let folded = views::fold_with(&other.store, ALWAYS).unwrap();
    assert_eq!(answers(&folded, &other.events()), fresh(&other));
    // And it was replaced by one of this store's.
    assert_ne!(
        fs::read(snapshot_path(&other)).unwrap(),
        fs::read(snapshot_path(&ours)).unwrap()
    );
    let again = views::fold_with(&other.store, READ_ONLY).unwrap();
    assert_eq!(answers(&again, &other.events()), fresh(&other));
}

#[test]
fn a_snapshot_past_the_head_is_ignored() {
    // The store was restored from an older backup: the snapshot is ahead of the log.
    let s = TestStore::with_example();
    grow(&s);
    views::fold_with(&s.store, ALWAYS).unwrap();
    let snapshot = fs::read(snapshot_path(&s)).unwrap();
    let shorter = TestStore::with_example();
    fs::write(snapshot_path(&shorter), snapshot).unwrap();
    let folded = views::fold_with(&shorter.store, READ_ONLY).unwrap();
    assert_eq!(answers(&folded, &shorter.events()), fresh(&shorter));
}

#[test]
fn a_corrupt_snapshot_is_ignored_and_replaced() {
    let s = TestStore::with_example();
    views::fold_with(&s.store, ALWAYS).unwrap();
    let good = fs::read(snapshot_path(&s)).unwrap();
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
        fs::write(snapshot_path(&s), &bad).unwrap();
        let folded = views::fold_with(&s.store, ALWAYS).unwrap();
        assert_eq!(answers(&folded, &s.events()), expected, "damage {i}");
        assert_eq!(
            fs::read(snapshot_path(&s)).unwrap(),
            good,
            "damage {i}: rewritten whole"
        );
    }
}

#[test]
fn a_snapshot_that_cannot_be_read_or_written_refuses_nothing() {
    let s = TestStore::with_example();
    // A folder where the file should be: reading it and renaming over it both fail.
    fs::create_dir(snapshot_path(&s)).unwrap();
    let folded = views::fold_with(&s.store, ALWAYS).unwrap();
    assert_eq!(answers(&folded, &s.events()), fresh(&s));
    assert!(views::write_snapshot(&s.store, &folded).is_err());
    let cache = Cache::new(ALWAYS);
    assert_eq!(
        answers(&cache.read(&s.store).unwrap(), &s.events()),
        fresh(&s)
    );
}
