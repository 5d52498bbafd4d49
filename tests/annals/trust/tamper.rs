//! Issue 6, tampering with the log file (`events.log`) of a closed store. What the store
//! refuses at open (a changed byte under its frame's checksum, frames spliced in, swapped
//! or out of order), what `verify` catches (a byte changed with its checksum fixed, two
//! events swapped and re-hashed, a forged event inserted in the middle), and what only a
//! seal noted elsewhere catches (a truncated tail with the store's note rewritten, a
//! history re-hashed from some point on), through the library and through `annals seal`
//! / `annals verify --against`. A changed payload and a removed event are in `store.rs`.
use std::path::Path;

use annals::store::{Seal, LOG_FILE};
use events::{Envelope, GENESIS};
use serde_json::json;
use tempfile::TempDir;
use uuid::Uuid;

use crate::helpers::{
    annals, fix_checksum, forge_seen, frame_spans, frames_of, meeting, open, open_damaged, run,
    tamper, TestStore, HEADER_LEN,
};

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

/// The log file's bytes.
fn log_bytes(dir: &Path) -> Vec<u8> {
    std::fs::read(dir.join(LOG_FILE)).expect("the log file reads")
}

fn write_log_bytes(dir: &Path, bytes: &[u8]) {
    std::fs::write(dir.join(LOG_FILE), bytes).expect("the log file is written");
}

/// Whether a refusal names `seq` as where the log goes bad: that seq, or the log
/// breaking off after the one before it.
fn names_the_break_at(message: &str, seq: u64) -> bool {
    [format!("seq {seq} "), format!("seq {seq}:")]
        .iter()
        .any(|s| message.contains(s.as_str()))
        || message.contains(&format!("breaks off after seq {}", seq - 1))
}

/// Where `needle` first occurs in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[test]
fn a_changed_byte_is_refused_at_open_and_with_its_checksum_fixed_is_named_by_verify() {
    let (dir, _, _) = six_meetings();
    let original = log_bytes(dir.path());
    let third = frame_spans(&original)[2].clone();
    // One byte of seq 3's payload: attendees 30 becomes 31.
    let at = third.start
        + find(&original[third.clone()], b"\"attendees\":30").expect("seq 3's data is stored")
        + b"\"attendees\":3".len();
    let mut bytes = original.clone();
    bytes[at] = b'1';

    // As a bad disk or a careless hand would leave it: the frame's checksum fails.
    write_log_bytes(dir.path(), &bytes);
    let message = open_damaged(dir.path());
    assert!(
        names_the_break_at(&message, 3) && message.contains("fails its checksum"),
        "{message}"
    );
    assert_eq!(
        log_bytes(dir.path()),
        bytes,
        "a refused log is left as it was"
    );

    // With the checksum recomputed the store opens; the event's hash still tells.
    fix_checksum(&mut bytes, third);
    write_log_bytes(dir.path(), &bytes);
    let failure = failure_of(dir.path());
    assert_eq!(failure.seq, 3, "{failure}");
    assert!(
        failure.reason.contains("content does not match its hash"),
        "{failure}"
    );
}

#[test]
fn any_byte_of_a_frame_in_the_middle_changed_is_refused_at_open_naming_its_seq() {
    // Each byte of seq 3's frame header and its record's length in turn, then every
    // seventh byte of the record (all under the same checksum): a bad frame with more
    // of the log after it is damage, never a torn write to cut off, and never a panic.
    let (dir, _, _) = six_meetings();
    let original = log_bytes(dir.path());
    let third = frame_spans(&original)[2].clone();
    let fields = third.start..third.start + HEADER_LEN + 4;
    for at in fields.clone().chain((fields.end..third.end).step_by(7)) {
        // Both the lowest and the highest bit, so a length grows past the file's end.
        let mut bytes = original.clone();
        bytes[at] ^= 0x81;
        write_log_bytes(dir.path(), &bytes);
        let message = open_damaged(dir.path());
        assert!(names_the_break_at(&message, 3), "byte {at}: {message}");
        assert_eq!(
            log_bytes(dir.path()),
            bytes,
            "byte {at}: a refused log is left as it was"
        );
    }
}

#[test]
fn a_garbled_frame_length_in_the_middle_is_damage_even_without_the_note_of_the_head() {
    // The note beside the log (`annals.seen`) lags up to a second, is not synced and
    // may be missing (a folder copied without it). A frame in the middle whose length
    // now runs past the end of the file still has whole frames after it: it is not a
    // torn write, and seqs 3–6 must not be cut off as one.
    let (dir, _, _) = six_meetings();
    let original = log_bytes(dir.path());
    let third = frame_spans(&original)[2].clone();
    let mut bytes = original.clone();
    bytes[third.start + 3] ^= 0x40;
    write_log_bytes(dir.path(), &bytes);
    std::fs::remove_file(dir.path().join("annals.seen")).expect("the note is there");
    let message = open_damaged(dir.path());
    assert!(names_the_break_at(&message, 3), "{message}");
    assert_eq!(log_bytes(dir.path()), bytes, "nothing was cut off");
}

#[test]
fn two_events_swapped_as_stored_are_refused_at_open_naming_the_first() {
    let (dir, _, _) = six_meetings();
    tamper(dir.path(), |events| events.swap(1, 3));
    let message = open_damaged(dir.path());
    assert!(
        message.contains("seq 2:") && message.contains("starts at seq 4"),
        "{message}"
    );
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
fn a_forged_frame_spliced_in_between_two_frames_is_refused_naming_the_seq() {
    // A whole valid frame (checksum, seq 3, a hash chained onto seq 2) put between the
    // frames of seq 2 and seq 3: it reads as seq 3, and the real seq 3 no longer follows.
    let (dir, events, _) = six_meetings();
    let original = log_bytes(dir.path());
    let after_second = frame_spans(&original)[1].end;
    let mut bytes = original[..after_second].to_vec();
    bytes.extend(frames_of(&[forged(3, &events[1])]));
    bytes.extend(&original[after_second..]);
    write_log_bytes(dir.path(), &bytes);
    let message = open_damaged(dir.path());
    assert!(
        message.contains("seq 4:") && message.contains("starts at seq 3"),
        "{message}"
    );
}

/// Regression, issue 6 (first seen as a key shorter than a seq in the old sled tree,
/// which made `verify` panic): a few stray bytes in front of the first frame, shorter
/// than a frame header, are named as damage at seq 1, not a panic and not a torn tail.
#[test]
fn issue_6_stray_bytes_before_the_first_frame_are_named_not_a_panic() {
    let (dir, _, _) = six_meetings();
    let original = log_bytes(dir.path());
    let first = frame_spans(&original)[0].start;
    for stray in [&[0u8, 0, 0][..], &[0xff; 3], &[7; HEADER_LEN - 1]] {
        let mut bytes = original[..first].to_vec();
        bytes.extend(stray);
        bytes.extend(&original[first..]);
        write_log_bytes(dir.path(), &bytes);
        let message = open_damaged(dir.path());
        assert!(names_the_break_at(&message, 1), "{stray:?}: {message}");
        assert_eq!(
            log_bytes(dir.path()),
            bytes,
            "{stray:?}: nothing was cut off"
        );
    }
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
