//! Issues 6 and 14, tampering with a closed store's sled trees through sled's own API,
//! as someone holding the files would. What `verify` catches (a stored byte changed,
//! records swapped, two events swapped and re-hashed, a forged event inserted in the
//! middle or put in another's place, a key that is not a seq), what the store refuses
//! at open (a sled folder replaced by an older copy), and what only a seal noted
//! elsewhere catches (a truncated tail with the store's note rewritten, a history
//! re-hashed from some point on), through the library and through `annals seal` /
//! `annals verify --against`. A changed payload and a removed event are in `store.rs`.
use std::path::Path;

use annals::store::{raw, Seal};
use events::{Envelope, GENESIS};
use serde_json::json;
use tempfile::TempDir;
use uuid::Uuid;

use crate::helpers::{annals, forge_seen, meeting, open, open_damaged, run, tamper, TestStore};

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

/// The stored record of `seq`.
fn record(dir: &Path, seq: u64) -> Vec<u8> {
    raw::record_bytes(dir, seq)
        .unwrap()
        .expect("the record is there")
}

/// Where `needle` first occurs in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[test]
fn issue_14_a_changed_stored_byte_is_named_by_verify() {
    let (dir, _, _) = six_meetings();
    let mut bytes = record(dir.path(), 3);
    // One byte of seq 3's data: attendees 30 becomes 31.
    let at = find(&bytes, b"\"attendees\":30").expect("seq 3's data is stored")
        + b"\"attendees\":3".len();
    bytes[at] = b'1';
    raw::set_record_bytes(dir.path(), 3, &bytes).unwrap();
    let failure = failure_of(dir.path());
    assert_eq!(failure.seq, 3, "{failure}");
    assert!(
        failure.reason.contains("content does not match its hash"),
        "{failure}"
    );
}

#[test]
fn issue_14_any_byte_of_a_record_changed_is_named_never_a_panic() {
    // Every byte of seq 3's fixed fields, then every seventh byte of the rest.
    let (dir, _, _) = six_meetings();
    let original = record(dir.path(), 3);
    for at in (0..60).chain((60..original.len()).step_by(7)) {
        let mut bytes = original.clone();
        bytes[at] ^= 0x81;
        raw::set_record_bytes(dir.path(), 3, &bytes).unwrap();
        let failure = failure_of(dir.path());
        assert_eq!(failure.seq, 3, "byte {at}: {failure}");
    }
}

#[test]
fn issue_14_records_swapped_under_their_keys_are_named_at_the_first() {
    let (dir, _, _) = six_meetings();
    let (second, fourth) = (record(dir.path(), 2), record(dir.path(), 4));
    raw::set_record_bytes(dir.path(), 2, &fourth).unwrap();
    raw::set_record_bytes(dir.path(), 4, &second).unwrap();
    let failure = failure_of(dir.path());
    assert_eq!(failure.seq, 2, "{failure}");
}

#[test]
fn issue_14_a_sled_folder_replaced_by_an_older_copy_is_refused() {
    let s = TestStore::new();
    for n in 1..=4 {
        s.record(meeting(&format!("2023-03-0{n}")));
    }
    let dir = s.close();
    let older = tempfile::tempdir().unwrap();
    let cp = |from: &Path, to: &Path| {
        let ok = std::process::Command::new("cp")
            .arg("-a")
            .arg(from)
            .arg(to)
            .status();
        assert!(ok.unwrap().success());
    };
    cp(&dir.path().join("sled"), older.path());
    {
        let store = open(dir.path());
        let more = (5..=6).map(|n| crate::helpers::new_event(meeting(&format!("2023-03-0{n}"))));
        for e in more {
            store
                .append(annals::store::Batch {
                    events: vec![e],
                    author: crate::helpers::AUTHOR.into(),
                    ..Default::default()
                })
                .unwrap();
        }
    }
    std::fs::remove_dir_all(dir.path().join("sled")).unwrap();
    cp(&older.path().join("sled"), dir.path());
    let message = open_damaged(dir.path());
    assert!(message.contains("has held at least 6"), "{message}");
}

#[test]
fn verify_names_the_first_seq_of_two_events_swapped_renumbered_and_rehashed() {
    // The swapped events carry the seqs they are stored at and each was hashed anew,
    // but each with its old predecessor's hash; a record's predecessor is its place in
    // the log, so its hash no longer matches.
    let (dir, events, _) = six_meetings();
    tamper(dir.path(), |stored| {
        let mut second = events[3].clone();
        second.seq = 2;
        let mut fourth = events[1].clone();
        fourth.seq = 4;
        stored[1] = second.sealed();
        stored[3] = fourth.sealed();
    });
    let failure = failure_of(dir.path());
    assert_eq!(failure.seq, 2, "{failure}");
    assert!(
        failure.reason.contains("content does not match its hash"),
        "{failure}"
    );
}

#[test]
fn a_forged_event_inserted_in_the_middle_breaks_the_chain_right_after_it() {
    // A meeting forged at seq 3, chained onto seq 2 with its hash recomputed; the old
    // 3–6 moved to 4–7, renumbered and re-hashed (each with its old predecessor), the
    // file rewritten with valid checksums. The one after the forgery no longer links.
    let (dir, events, _) = six_meetings();
    tamper(dir.path(), |stored| {
        stored.truncate(2);
        stored.push(forged(3, &events[1]));
        for old in &events[2..] {
            let mut moved = old.clone();
            moved.seq += 1;
            stored.push(moved.sealed());
        }
    });
    let failure = failure_of(dir.path());
    assert_eq!(failure.seq, 4, "{failure}");
    assert!(
        failure.reason.contains("content does not match its hash"),
        "{failure}"
    );
}

#[test]
fn a_forged_event_put_in_another_s_place_breaks_the_chain_right_after_it() {
    // A valid record (seq 3, a hash chained onto seq 2) put in place of the real seq 3:
    // it verifies itself, and the real seq 4 no longer follows.
    let (dir, events, _) = six_meetings();
    let fake = forged(3, &events[1]);
    tamper(dir.path(), |stored| stored[2] = fake.clone());
    assert_eq!(raw::record_hash(&record(dir.path(), 3)).unwrap(), fake.hash);
    let failure = failure_of(dir.path());
    assert_eq!(failure.seq, 4, "{failure}");
}

/// Regression, issue 6 (first seen as a key shorter than a seq in the old sled tree,
/// which made `verify` panic): a key in the events tree that is not a seq is named as
/// damage when it sorts among the events, and dropped at open with anything else past
/// the committed head when it sorts after them (only a batch that never finished
/// writes there); never a panic.
#[test]
fn issue_6_a_key_that_is_not_a_seq_is_named_not_a_panic() {
    let (dir, _, _) = six_meetings();
    raw::insert(dir.path(), "events", &[0, 0, 0], b"junk").unwrap();
    let failure = failure_of(dir.path());
    assert!(failure.reason.contains("not a seq"), "{failure}");

    let (dir, _, _) = six_meetings();
    raw::insert(dir.path(), "events", &[0xff; 3], b"junk").unwrap();
    assert_eq!(open(dir.path()).verify().unwrap().unwrap().count, 6);
    assert_eq!(raw::read_events(dir.path()).unwrap().len(), 6, "dropped");
}

#[test]
fn a_truncated_tail_with_the_note_rewritten_passes_verify_but_not_the_seal() {
    let (dir, _, seal) = six_meetings();
    assert_eq!(seal.seq, 6);
    tamper(dir.path(), |events| events.truncate(4));
    // The store notes beside the log how far it reached, so a careless cut is caught
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
    tamper(dir.path(), |stored| {
        for i in 2..stored.len() {
            let mut e = stored[i].clone();
            if e.seq == 3 {
                e.data["attendees"] = json!(300);
            }
            e.prev_hash = stored[i - 1].hash;
            stored[i] = e.sealed();
        }
        assert_ne!(stored[5].hash, events[5].hash);
    });
    let store = open(dir.path());
    assert_eq!(store.verify().unwrap().unwrap().count, 6);
    assert_eq!(store.get_seq(3).unwrap().unwrap().data["attendees"], 300);
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

    // Cut back to four events. Cut carelessly, the store's note of how far its log
    // reached refuses it at open; with the note rewritten too, it opens and verifies.
    tamper(dir.path(), |stored| {
        assert_eq!(stored.len(), 7);
        stored.truncate(4);
    });
    let careless = run(annals(dir.path()).arg("verify")).failed();
    assert!(
        careless.stderr.contains("has held at least 7"),
        "{careless:?}"
    );
    forge_seen(dir.path(), 4);
    let plain = run(annals(dir.path()).args(["verify", "--json"])).ok();
    let report: serde_json::Value = serde_json::from_str(&plain.stdout).unwrap();
    assert_eq!(report["count"], 4, "{plain:?}");
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
