//! Issue 14: a store of the old log file moved into sled on open, a move killed part
//! way, and an export exactly what sled's events tree holds.
use super::*;

/// A sealed chain of `n` meetings, as a store would have written them.
fn chain_of(n: u64) -> Vec<events::Envelope> {
    let mut out: Vec<events::Envelope> = Vec::new();
    let start: DateTime<Utc> = "2023-01-01T01:00:00Z".parse().unwrap();
    for seq in 1..=n {
        let e = events::Envelope {
            id: Uuid::from_u128(0xA000_0000 + u128::from(seq)),
            seq,
            kind: "meeting_held".into(),
            version: 1,
            occurred: "2023-03-01".parse().unwrap(),
            recorded_at: start + chrono::TimeDelta::seconds(seq as i64),
            recorded_by: "办公室".into(),
            data: json!({"type": "school_committee", "attendees": seq % 50}),
            prev_hash: out.last().map_or(events::GENESIS, |p| p.hash),
            hash: events::GENESIS,
        };
        out.push(e.sealed());
    }
    out
}

/// Issue 14: a store made by the release before (its events in `events.log`) has them
/// moved into sled on its first open, checked link by link, every seq, hash, time and
/// author kept; the old file is put aside, not deleted.
#[test]
fn issue_14_a_store_with_the_old_log_file_is_moved_into_sled_on_open() {
    let s = TestStore::with_example();
    let events = s.events();
    let dir = s.close();
    std::fs::remove_dir_all(dir.path().join("sled")).unwrap();
    annals::store::raw::write_legacy_log(dir.path(), &events).unwrap();
    let store = crate::helpers::open(dir.path());
    assert_eq!(scan(&store, Filter::default()), events);
    assert_eq!(store.verify().unwrap().unwrap().count, events.len() as u64);
    let last = events.last().unwrap();
    assert_eq!(store.get(last.id).unwrap().unwrap().hash, last.hash);
    drop(store);
    assert!(!dir.path().join(annals::store::LOG_FILE).exists());
    assert!(dir.path().join("events.log.moved").exists(), "kept aside");
    assert_eq!(annals::store::raw::read_events(dir.path()).unwrap(), events);
    // Opened again, nothing more happens.
    assert_eq!(
        crate::helpers::open(dir.path()).head_seq(),
        events.len() as u64
    );
}

/// Issue 14: a move killed part of the way (the process gone mid-copy) starts again at
/// the next open and completes; an old log that does not verify is not moved.
#[test]
fn issue_14_a_move_killed_part_way_starts_again_and_completes() {
    let events = chain_of(60_000);
    let dir = tempfile::tempdir().unwrap();
    let mut landed = None;
    for attempt in 0..30u64 {
        let _ = std::fs::remove_dir_all(dir.path().join("sled"));
        annals::store::raw::write_legacy_log(dir.path(), &events).unwrap();
        let mut child = crate::helpers::annals(dir.path())
            .arg("verify")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Wait until sled has begun to take the events, then a little more each time.
        let started = std::time::Instant::now();
        while !dir.path().join("sled").join("db").exists()
            && started.elapsed() < std::time::Duration::from_secs(20)
        {
            std::thread::sleep(std::time::Duration::from_micros(200));
        }
        std::thread::sleep(std::time::Duration::from_millis(5 * attempt));
        let _ = child.kill();
        let status = child.wait().unwrap();
        // Killed, and the old file not yet put aside: the move was under way.
        if status.code().is_none() && dir.path().join(annals::store::LOG_FILE).exists() {
            landed = Some(attempt);
            break;
        }
    }
    let attempt = landed.expect("a kill landed while the events were being moved");
    println!("a move killed part way on attempt {attempt}");
    let store = crate::helpers::open(dir.path());
    assert_eq!(store.head_seq(), events.len() as u64);
    assert_eq!(
        store.verify().unwrap().unwrap().head_hash,
        events.last().unwrap().hash
    );
    drop(store);

    // What a move cut off after some chunks reached sled's file leaves: events, no
    // committed head. The next open starts the move again from the file.
    let partial = tempfile::tempdir().unwrap();
    let some = chain_of(3_000);
    annals::store::raw::write_legacy_log(partial.path(), &some).unwrap();
    let moved: Vec<(Vec<u8>, Vec<u8>)> = some[..1_500]
        .iter()
        .map(|e| {
            let mut record = Vec::new();
            annals::store::raw::encode(e, &mut record);
            (e.seq.to_be_bytes().to_vec(), record)
        })
        .collect();
    annals::store::raw::insert_many(partial.path(), "events", &moved).unwrap();
    let store = crate::helpers::open(partial.path());
    assert_eq!(store.verify().unwrap().unwrap().count, 3_000);
    drop(store);

    // A log whose chain breaks is refused, and nothing is moved.
    let broken = tempfile::tempdir().unwrap();
    let mut bad = chain_of(10);
    bad[4].data["attendees"] = json!(999);
    annals::store::raw::write_legacy_log(broken.path(), &bad).unwrap();
    let message = open_damaged(broken.path());
    assert!(message.contains("seq 5"), "{message}");
    assert!(broken.path().join(annals::store::LOG_FILE).exists());
}

/// Issue 14: no event is kept anywhere but sled: an export of the store is exactly what
/// sled's `events` tree holds, one key per event, and the folder has no other log.
#[test]
fn issue_14_an_export_is_exactly_what_sleds_events_tree_holds() {
    let s = TestStore::with_example();
    let exported = s.export();
    let dir = s.close();
    let in_sled = annals::store::raw::read_events(dir.path()).unwrap();
    let lines: Vec<events::Envelope> = exported
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    assert_eq!(lines, in_sled);
    assert_eq!(
        in_sled.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (1..=in_sled.len() as u64).collect::<Vec<_>>()
    );
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names
            .iter()
            .all(|n| ["sled", "annals.lock", "annals.seen"].contains(&n.as_str())),
        "{names:?}"
    );
}
