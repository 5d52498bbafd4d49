//! A store process killed with SIGKILL in the middle of a large import reopens,
//! verifies, and holds either the whole import or none of it; events a batch wrote to
//! sled past the committed head, as a crash mid-write leaves them, are dropped at
//! reopen, and a store whose note says more was acknowledged is refused.
use std::{
    os::unix::process::ExitStatusExt,
    path::Path,
    process::{Child, Stdio},
    time::{Duration, Instant, SystemTime},
};

use annals::store::raw;
use chrono::NaiveDate;
use serde_json::json;
use uuid::Uuid;

use crate::helpers::{annals, meeting, open, open_damaged, run, TestStore};

/// Events in the imported file: enough that the import takes a while in a debug
/// build, few enough that twenty-odd runs stay well under a minute on two cores.
const EVENTS: usize = 2_500;
/// Runs whose import is killed.
const KILLS: u32 = 24;
/// The id of the file's first event; the others follow it.
const FIRST_ID: u128 = 0x0189_b7a2_0000_7000_8000_0000_0000_0000;

/// `EVENTS` valid meetings on days of 2023, with fixed ids.
fn large_file() -> Vec<u8> {
    let first = NaiveDate::from_ymd_opt(2023, 1, 1).unwrap();
    let mut out = Vec::with_capacity(EVENTS * 200);
    for i in 0..EVENTS {
        let line = json!({
            "id": Uuid::from_u128(FIRST_ID + i as u128),
            "kind": "meeting_held",
            "occurred": (first + chrono::Days::new((i % 365) as u64)).to_string(),
            "data": {"type": "branch_general", "title": format!("第{i}次支部党员大会"), "attendees": i % 60},
        });
        serde_json::to_writer(&mut out, &line).unwrap();
        out.push(b'\n');
    }
    out
}

/// A store holding one event recorded before the import, so "none of it" is a log
/// that still verifies with that event.
fn seeded_store(dir: &Path) {
    run(annals(dir).args([
        "record",
        "meeting_held",
        "--occurred",
        "2023-01-03",
        "--set",
        "type=校委会",
    ]))
    .ok();
}

/// The size of sled's data file after the seeded event.
fn seeded_end(store: &Path) -> u64 {
    std::fs::metadata(store.join("sled").join("db")).map_or(0, |m| m.len())
}

/// Whether the import has begun writing to sled: its data file has grown.
fn write_began(store: &Path, end: u64) -> bool {
    seeded_end(store) > end
}

fn start_import(store: &Path, file: &Path) -> Child {
    annals(store)
        .arg("import")
        .arg(file)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the import starts")
}

/// What the reopened store holds; panics unless it verifies and holds all or nothing.
#[derive(Debug, PartialEq)]
enum Held {
    Nothing,
    Everything,
}

fn check(store_dir: &Path, run: u32) -> Held {
    let store = open(store_dir);
    let report = store
        .verify()
        .unwrap()
        .unwrap_or_else(|f| panic!("run {run}: the reopened store does not verify: {f}"));
    let head = store.head().unwrap();
    assert_eq!(report.count, head.seq);
    match head.seq {
        1 => Held::Nothing,
        n if n == EVENTS as u64 + 2 => {
            let last = store.get_seq(n).unwrap().unwrap();
            assert_eq!(last.kind, "import_completed", "run {run}");
            assert_eq!(last.data["lines"], json!(EVENTS), "run {run}");
            assert_eq!(last.data["added"], json!(EVENTS), "run {run}");
            let first = store.get_seq(2).unwrap().unwrap();
            assert_eq!(first.id, Uuid::from_u128(FIRST_ID), "run {run}");
            Held::Everything
        }
        n => panic!("run {run}: the store holds {n} events: part of the import"),
    }
}

/// A small xorshift generator, so the test needs no dependency; it is seeded from the
/// clock and the seed is printed first, so a failure shows the delays it drew.
struct Rng(u64);

impl Rng {
    fn next_unit(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// How one killed run ended.
#[derive(Default)]
struct Tally {
    /// Killed before the batch reached sled's file; held none of it.
    before_write: u32,
    /// Killed after the batch began reaching sled's file, holding none of it: what it
    /// wrote past the committed head was dropped at reopen.
    mid_write: u32,
    /// Killed after the batch began reaching sled's file, before the process exited;
    /// held all of it.
    after_write: u32,
    /// Finished before the kill; held all of it.
    finished: u32,
}

#[test]
fn a_large_import_killed_at_any_moment_leaves_all_of_it_or_none() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("large.jsonl");
    std::fs::write(&file, large_file()).unwrap();

    // One run to the end: it holds everything, and tells how long an import takes here.
    let control = tmp.path().join("control");
    seeded_store(&control);
    let started = Instant::now();
    let status = start_import(&control, &file).wait().unwrap();
    let typical = started.elapsed();
    assert!(status.success(), "the uninterrupted import succeeds");
    assert_eq!(check(&control, 0), Held::Everything);

    let seed = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    println!("crash test seed {seed:#x}");
    let mut rng = Rng(seed);
    let mut tally = Tally::default();
    let mut runs = Vec::new();
    for i in 0..KILLS {
        let store = tmp.path().join(format!("run-{i}"));
        seeded_store(&store);
        // How large sled's file is before the import.
        let seeded = seeded_end(&store);
        let mut child = start_import(&store, &file);
        let started = Instant::now();
        if i % 2 == 0 {
            // Timed: stratified over the whole import, from start-up to the end.
            let slice = f64::from(i / 2) + rng.next_unit();
            std::thread::sleep(typical.mul_f64(slice / f64::from(KILLS / 2) * 1.05));
        } else {
            // At the write: kill as soon as the batch begins reaching sled's file, or a
            // few milliseconds later, before the process exits.
            while !write_began(&store, seeded) && child.try_wait().unwrap().is_none() {
                std::thread::sleep(Duration::from_micros(100));
            }
            std::thread::sleep(Duration::from_secs_f64(0.003 * rng.next_unit()));
        }
        let at = started.elapsed();
        let already_done = child.try_wait().unwrap().is_some();
        // Measured before the kill: a write that began just after still counts as before.
        let written = write_began(&store, seeded);
        child.kill().ok();
        let status = child.wait().unwrap();
        let killed = !already_done && status.signal() == Some(9);
        let held = check(&store, i + 1);
        let outcome = match (killed, held, written) {
            (true, Held::Nothing, false) => {
                tally.before_write += 1;
                "none, before the write"
            }
            (true, Held::Nothing, true) => {
                tally.mid_write += 1;
                "none, mid-write"
            }
            (true, Held::Everything, true) => {
                tally.after_write += 1;
                "all, after the write began"
            }
            (true, Held::Everything, false) => {
                // The write began between the measure and the kill.
                tally.after_write += 1;
                "all, the write began at the kill"
            }
            (false, held, _) => {
                assert!(
                    status.success(),
                    "run {}: the import failed on its own: {status:?}",
                    i + 1
                );
                assert_eq!(held, Held::Everything);
                tally.finished += 1;
                "all, finished"
            }
        };
        runs.push(format!("{}ms {outcome}", at.as_millis()));
        std::fs::remove_dir_all(&store).ok();
    }
    println!(
        "crash test (seed {seed:#x}): {EVENTS} events, an uninterrupted import took {} ms; \
         of {KILLS} runs, killed before the batch reached sled: {} (held none of it), \
         killed after it began reaching sled: {} holding none of it (dropped at reopen) \
         and {} holding all of it, finished before the kill: {}",
        typical.as_millis(),
        tally.before_write,
        tally.mid_write,
        tally.after_write,
        tally.finished,
    );
    println!(
        "crash test runs (time of the kill, outcome): {}",
        runs.join("; ")
    );
    assert!(tally.before_write > 0, "no kill landed before the write");
    assert!(
        tally.mid_write + tally.after_write > 0,
        "no kill landed after the batch began reaching sled"
    );
}

#[test]
fn issue_14_events_written_past_the_committed_head_are_dropped_unless_acknowledged() {
    let s = TestStore::new();
    for day in ["2023-03-01", "2023-03-02", "2023-03-03"] {
        s.record(meeting(day));
    }
    let before = s.events();
    let dir = s.close();
    // Two events that would follow seq 3, written to sled as a batch in flight would
    // have left them: in the events tree, with their ids, but the head not moved on.
    let mut next = before[2].clone();
    let mut written = before.clone();
    for seq in 4..=5 {
        next.id = Uuid::now_v7();
        next.seq = seq;
        next.prev_hash = next.hash;
        next = next.sealed();
        written.push(next.clone());
    }
    let with_tail = |dir: &Path| {
        raw::write_events(dir, &before).unwrap();
        for e in &written[3..] {
            let mut record = Vec::new();
            annals::store::raw::encode(e, &mut record);
            raw::insert(dir, "events", &e.seq.to_be_bytes(), &record).unwrap();
            raw::insert(dir, "ids", e.id.as_bytes(), &e.seq.to_be_bytes()).unwrap();
        }
    };
    with_tail(dir.path());
    assert_eq!(raw::read_events(dir.path()).unwrap().len(), 5);
    {
        let store = open(dir.path());
        assert_eq!(store.head_seq(), 3);
        assert_eq!(store.verify().unwrap().unwrap().count, 3);
        let after: Vec<_> = store
            .scan(Default::default())
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(after, before);
        assert!(
            store.get(written[3].id).unwrap().is_none(),
            "its id is gone too"
        );
    }
    assert_eq!(
        raw::read_events(dir.path()).unwrap(),
        before,
        "dropped from sled"
    );

    // The note says seq 5 was acknowledged: then it is lost, not unfinished.
    with_tail(dir.path());
    std::fs::write(dir.path().join("annals.seen"), "5").unwrap();
    let message = open_damaged(dir.path());
    assert!(message.contains("has held at least 5"), "{message}");
}
