//! Issue 6, tampering: what `verify` catches on its own (two events swapped, a forged
//! event inserted in the middle, keys that are not seqs), and what only a seal noted
//! elsewhere catches (a truncated tail with a rewritten head, a history re-hashed from
//! some point on), through the library and through `annals seal` / `annals verify
//! --against`. A changed byte and a removed event are in `store.rs`.
use std::path::Path;

use annals::store::{Head, Seal};
use events::{Envelope, GENESIS};
use serde_json::json;
use tempfile::TempDir;
use uuid::Uuid;

use crate::helpers::{annals, meeting, open, run, seq_key, TestStore};

/// A closed store of six meetings (attendees 10, 20, …, 60) that verifies, with its
/// events and its seal.
fn six_meetings() -> (TempDir, Vec<Envelope>, Seal) {
    let s = TestStore::new();
    for n in 1..=6 {
        let mut d = meeting(&format!("2023-03-0{n}"));
        d["data"]["attendees"] = json!(n * 10);
        s.record(d);
    }
    assert_eq!(s.store.verify().unwrap().unwrap().count, 6);
    let events = s.events();
    let seal = s.store.seal().unwrap();
    (s.close(), events, seal)
}

/// Opens the closed store's sled directly, as someone with the disk would, and hands
/// over the `events`, `ids` and `meta` trees.
fn with_trees(dir: &Path, f: impl FnOnce(&sled::Tree, &sled::Tree, &sled::Tree)) {
    let db = sled::open(dir.join("sled")).expect("sled opens the closed store");
    let tree = |name: &str| db.open_tree(name).expect("the tree");
    f(&tree("events"), &tree("ids"), &tree("meta"));
    db.flush().expect("sled flushes");
}

fn put(events: &sled::Tree, ids: &sled::Tree, key: &[u8], e: &Envelope) {
    events
        .insert(key, serde_json::to_vec(e).unwrap())
        .expect("written");
    ids.insert(e.id.as_bytes(), key).expect("indexed");
}

/// Rewrites the note of how far the log reached, as a thorough forger would.
fn forge_seen(dir: &Path, seq: u64) {
    std::fs::write(dir.join("annals.seen"), seq.to_string()).expect("the note is rewritten");
}

/// Rewrites the head record as the store itself writes it.
fn set_head(meta: &sled::Tree, last: &Envelope) {
    let head = Head {
        seq: last.seq,
        hash: last.hash,
        recorded_at: Some(last.recorded_at),
    };
    meta.insert(b"head", serde_json::to_vec(&head).unwrap())
        .expect("written");
}

/// A meeting that never happened, sealed to follow `prev` at `seq`.
fn forged(seq: u64, prev: &Envelope) -> Envelope {
    Envelope {
        id: Uuid::now_v7(),
        seq,
        kind: "meeting_held".into(),
        version: 1,
        occurred: "2023-03-02".parse().unwrap(),
        recorded_at: prev.recorded_at,
        recorded_by: prev.recorded_by.clone(),
        data: json!({"type": "school_committee", "title": "补记的会议", "attendees": 99}),
        prev_hash: prev.hash,
        hash: GENESIS,
    }
    .sealed()
}

fn failure_of(dir: &Path) -> annals::store::VerifyFailure {
    open(dir)
        .verify()
        .expect("the store is readable")
        .expect_err("the log must not verify")
}

#[test]
fn verify_names_the_first_seq_of_two_stored_events_swapped() {
    let (dir, events, _) = six_meetings();
    with_trees(dir.path(), |tree, _, _| {
        tree.insert(seq_key(2), serde_json::to_vec(&events[3]).unwrap())
            .unwrap();
        tree.insert(seq_key(4), serde_json::to_vec(&events[1]).unwrap())
            .unwrap();
    });
    let failure = failure_of(dir.path());
    assert_eq!(failure.seq, 2, "{failure}");
    assert!(
        failure.reason.contains("stored under seq 2 but says seq 4"),
        "{failure}"
    );
}

#[test]
fn verify_names_the_first_seq_of_two_events_swapped_renumbered_and_rehashed() {
    // The swapped events say the seqs they are stored under and each hashes to its
    // content, but each still links to its old predecessor.
    let (dir, events, _) = six_meetings();
    with_trees(dir.path(), |tree, ids, _| {
        let mut second = events[3].clone();
        second.seq = 2;
        let mut fourth = events[1].clone();
        fourth.seq = 4;
        put(tree, ids, &seq_key(2), &second.sealed());
        put(tree, ids, &seq_key(4), &fourth.sealed());
    });
    let failure = failure_of(dir.path());
    assert_eq!(failure.seq, 2, "{failure}");
    assert!(failure.reason.contains("prev_hash"), "{failure}");
}

#[test]
fn a_forged_event_inserted_in_the_middle_breaks_the_chain_right_after_it() {
    // A meeting forged at seq 3, chained onto seq 2 with its hash recomputed; the old
    // 3–6 moved to 4–7, renumbered and re-hashed, the id index and head made to match.
    // Every event hashes to its content; the one after the forgery no longer links.
    let (dir, events, _) = six_meetings();
    with_trees(dir.path(), |tree, ids, meta| {
        let fake = forged(3, &events[1]);
        let mut last = fake.clone();
        for old in &events[2..] {
            let mut moved = old.clone();
            moved.seq += 1;
            let moved = moved.sealed();
            put(tree, ids, &seq_key(moved.seq), &moved);
            last = moved;
        }
        put(tree, ids, &seq_key(3), &fake);
        set_head(meta, &last);
    });
    let failure = failure_of(dir.path());
    assert_eq!(failure.seq, 4, "{failure}");
    assert!(
        failure
            .reason
            .contains("does not match the previous event's hash"),
        "{failure}"
    );
}

#[test]
fn a_forged_event_under_a_key_between_two_seqs_is_named() {
    // sled orders keys by bytes: seq 2's key with one more byte sorts between seq 2
    // and seq 3, so a forged event there would be read as part of the log.
    let (dir, events, _) = six_meetings();
    with_trees(dir.path(), |tree, ids, _| {
        let mut key = seq_key(2).to_vec();
        key.push(0x80);
        put(tree, ids, &key, &forged(3, &events[1]));
    });
    let failure = failure_of(dir.path());
    assert_eq!(failure.seq, 3, "{failure}");
    assert!(failure.reason.contains("not a seq"), "{failure}");
}

/// Regression, issue 6: a key shorter than a seq in the events tree (sorting before
/// seq 1) made `verify` panic on a slice index instead of naming the seq.
#[test]
fn issue_6_a_short_key_in_the_events_tree_is_named_not_a_panic() {
    let (dir, events, _) = six_meetings();
    with_trees(dir.path(), |tree, _, _| {
        tree.insert([0u8, 0, 0], serde_json::to_vec(&events[0]).unwrap())
            .unwrap();
    });
    let failure = failure_of(dir.path());
    assert_eq!(failure.seq, 1, "{failure}");
    assert!(failure.reason.contains("not a seq"), "{failure}");
}

#[test]
fn a_truncated_tail_with_a_rewritten_head_passes_verify_but_not_the_seal() {
    let (dir, events, seal) = six_meetings();
    assert_eq!(seal.seq, 6);
    with_trees(dir.path(), |tree, ids, meta| {
        for e in &events[4..] {
            tree.remove(seq_key(e.seq)).unwrap();
            ids.remove(e.id.as_bytes()).unwrap();
        }
        set_head(meta, &events[3]);
    });
    // The store notes beside sled how far its log reached, so a careless cut is caught
    // at once; a forger rewrites that note too, and then only the seal can tell.
    let careless = run(annals(dir.path()).arg("verify")).failed();
    assert!(
        careless.stderr.contains("has held at least 6"),
        "{careless:?}"
    );
    forge_seen(dir.path(), 4);
    let store = open(dir.path());
    // On its own the log is a consistent log of four events: verify cannot know.
    let report = store.verify().unwrap().expect("a cut log verifies alone");
    assert_eq!(report.count, 4);
    let failure = store
        .verify_against(&seal)
        .unwrap()
        .expect_err("the seal vouches for six events");
    assert_eq!(failure.seq, 5, "{failure}");
    assert!(
        failure
            .reason
            .contains("the log ends at seq 4 but the seal vouches for seq 6"),
        "{failure}"
    );
}

#[test]
fn a_history_rehashed_from_some_point_on_passes_verify_but_not_a_seal_past_that_point() {
    // The attacker changes seq 3 and re-chains everything after it: a consistent log,
    // but not the one sealed.
    let (dir, events, seal_at_6) = six_meetings();
    let seal_at = |e: &Envelope| Seal {
        seq: e.seq,
        hash: e.hash,
        at: e.recorded_at,
    };
    let (seal_at_2, seal_at_4) = (seal_at(&events[1]), seal_at(&events[3]));
    with_trees(dir.path(), |tree, ids, meta| {
        let mut prev = events[1].clone();
        for old in &events[2..] {
            let mut e = old.clone();
            if e.seq == 3 {
                e.data["attendees"] = json!(300);
            }
            e.prev_hash = prev.hash;
            let e = e.sealed();
            put(tree, ids, &seq_key(e.seq), &e);
            prev = e;
        }
        set_head(meta, &prev);
    });
    let store = open(dir.path());
    assert_eq!(store.verify().unwrap().unwrap().count, 6);
    assert!(
        store.verify_against(&seal_at_2).unwrap().is_ok(),
        "the history up to seq 2 is untouched"
    );
    for seal in [seal_at_4, seal_at_6] {
        let failure = store
            .verify_against(&seal)
            .unwrap()
            .expect_err("the sealed history was rewritten");
        assert_eq!(failure.seq, seal.seq, "{failure}");
        assert!(
            failure.reason.contains("the history was rewritten"),
            "{failure}"
        );
    }
}

#[test]
fn annals_seal_and_verify_against_catch_a_truncated_tail_that_plain_verify_misses() {
    let (dir, events, _) = six_meetings();
    let out = run(annals(dir.path()).arg("seal")).ok();
    let printed = out.stdout.trim().to_owned();
    let seal: Seal = printed.parse().expect("annals seal prints a seal");
    assert_eq!((seal.seq, seal.hash), (6, events[5].hash));
    assert!(printed.starts_with("ANNALS-SEAL 6 "), "{printed}");
    run(annals(dir.path()).args(["verify", "--against", &printed])).ok();

    // A log that grew since still extends the seal.
    run(annals(dir.path()).args([
        "record",
        "meeting_held",
        "--occurred",
        "2023-03-07",
        "--set",
        "type=校委会",
    ]))
    .ok();
    run(annals(dir.path()).args(["verify", "--against", &printed])).ok();

    // Cut back to four events, the head rewritten to match.
    let store = open(dir.path());
    let seventh = store.get_seq(7).unwrap().expect("the seventh event");
    drop(store);
    with_trees(dir.path(), |tree, ids, meta| {
        for e in events[4..].iter().chain([&seventh]) {
            tree.remove(seq_key(e.seq)).unwrap();
            ids.remove(e.id.as_bytes()).unwrap();
        }
        set_head(meta, &events[3]);
    });
    forge_seen(dir.path(), 4);
    let plain = run(annals(dir.path()).arg("verify")).ok();
    assert!(plain.stdout.contains('4'), "{plain:?}");
    let against = run(annals(dir.path()).args(["verify", "--against", &printed])).failed();
    assert!(
        against.stderr.contains("seq 5") && against.stderr.contains("the seal vouches for seq 6"),
        "{against:?}"
    );

    // Something that is not a seal is refused with the form it should take.
    let bad = run(annals(dir.path()).args(["verify", "--against", "ANNALS-SEAL six"])).failed();
    assert!(
        bad.stderr.contains("ANNALS-SEAL <seq> <hash> <time>"),
        "{bad:?}"
    );
}
