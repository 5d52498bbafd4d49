//! `verify` against tampering: a changed, removed or last event named by its seq, the
//! note of how far the log reached, and a verify that walks only what came since.
use super::*;

/// A closed store of five meetings, attendees 10, 20, …, 50, that verifies.
fn five_meetings() -> tempfile::TempDir {
    let s = TestStore::new();
    for n in 1..=5 {
        let mut d = meeting(&format!("2023-03-0{n}"));
        d["data"]["attendees"] = json!(n * 10);
        s.record(d);
    }
    let report = s
        .store
        .verify()
        .unwrap()
        .expect("the untouched log verifies");
    assert_eq!(report.count, 5);
    s.close()
}

#[test]
fn verify_names_the_seq_of_an_event_whose_stored_payload_was_changed() {
    // The log file rewritten with valid checksums: only the hash can tell.
    let dir = five_meetings();
    tamper(dir.path(), |events| {
        assert_eq!(events[2].data["attendees"], json!(30));
        events[2].data["attendees"] = json!(31);
    });
    let failure = open(dir.path())
        .verify()
        .unwrap()
        .expect_err("the log must not verify");
    assert_eq!(failure.seq, 3);
    assert!(
        failure.reason.contains("content does not match its hash"),
        "{failure}"
    );
}

#[test]
fn an_event_removed_from_the_middle_is_named_by_its_seq() {
    let dir = five_meetings();
    // Its key removed from sled: the next key no longer follows.
    tamper(dir.path(), |events| {
        assert_eq!(events.remove(2).seq, 3);
    });
    let failure = open(dir.path())
        .verify()
        .unwrap()
        .expect_err("the log must not verify");
    assert_eq!(failure.seq, 3, "{failure}");
    assert!(failure.reason.contains("seq 3 is missing"), "{failure}");
    // Cut out, the rest renumbered and the store's note of its length forged: each
    // record's place gives it a seq and a predecessor its hash was not made with.
    tamper(dir.path(), |events| {
        assert_eq!(events.len(), 4);
        for (i, e) in events.iter_mut().enumerate() {
            e.seq = i as u64 + 1;
        }
    });
    forge_seen(dir.path(), 4);
    let failure = open(dir.path())
        .verify()
        .unwrap()
        .expect_err("the log must not verify");
    assert_eq!(failure.seq, 3);
    assert!(
        failure.reason.contains("content does not match its hash"),
        "{failure}"
    );
}

#[test]
fn the_last_event_removed_is_caught_by_the_note_of_how_far_the_log_reached() {
    // Nothing in four events says a fifth existed; the note beside the log does. (A
    // forger who rewrites the note too is caught only by a seal: see `trust::tamper`.)
    let dir = five_meetings();
    tamper(dir.path(), |events| {
        assert_eq!(events.pop().map(|e| e.seq), Some(5));
    });
    let message = open_damaged(dir.path());
    assert!(
        message.contains("sled holds 4 events but this store has held at least 5"),
        "{message}"
    );
}

/// Found by the hostile review of issue 13: the page verified the whole log at every new
/// head. What a verification proved is not walked again: `verify_after` walks only the
/// events after a proved head, and refuses a head that no longer holds.
#[test]
fn verify_after_a_proved_head_walks_only_what_came_since() {
    let dir = five_meetings();
    let store = open(dir.path());
    let proved = store.get_seq(3).unwrap().unwrap();
    let head = |e: &events::Envelope| annals::store::Head {
        seq: e.seq,
        hash: e.hash,
        recorded_at: Some(e.recorded_at),
    };
    let report = store.verify_after(head(&proved)).unwrap().unwrap();
    assert_eq!(report.count, 5);
    let mut wrong = head(&proved);
    wrong.hash = events::GENESIS;
    let failure = store.verify_after(wrong).unwrap().unwrap_err();
    assert_eq!(failure.seq, 3, "{failure}");
}

/// Found by the hostile review of issue 13: a note of how far the store reached that
/// does not read as a seq was taken as no note, so the guard failed open.
#[test]
fn a_garbled_note_of_how_far_the_store_reached_is_refused() {
    let dir = five_meetings();
    for garbled in ["", "garbage", "-1"] {
        std::fs::write(dir.path().join("annals.seen"), garbled).unwrap();
        let message = open_damaged(dir.path());
        assert!(message.contains("annals.seen"), "{garbled:?}: {message}");
    }
    std::fs::write(dir.path().join("annals.seen"), "5").unwrap();
    assert_eq!(open(dir.path()).head_seq(), 5);
}
