//! A store process killed with SIGKILL in the middle of a large import reopens,
//! verifies, and holds either the whole import or none of it.
use std::{
    os::unix::process::ExitStatusExt,
    path::Path,
    process::{Child, Stdio},
    time::{Duration, Instant, SystemTime},
};

use chrono::NaiveDate;
use serde_json::json;
use uuid::Uuid;

use crate::helpers::{annals, open, run};

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

/// sled extends its log file to one 512 KiB segment when it opens a store; the file
/// grows past that only once pages of the import's batch reach it.
const OPENED_LOG_BYTES: u64 = 512 * 1024;

/// The length of sled's log file.
fn log_size(store: &Path) -> u64 {
    std::fs::metadata(store.join("sled").join("db")).map_or(0, |m| m.len())
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
    /// Killed before the batch reached sled's log file; held none of it.
    before_write: u32,
    /// Killed while the batch was reaching sled's log file; held none of it.
    mid_write: u32,
    /// Killed after the batch was flushed, before the process exited; held all of it.
    after_commit: u32,
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
        let mut child = start_import(&store, &file);
        let started = Instant::now();
        if i % 2 == 0 {
            // Timed: stratified over the whole import, from start-up to the end.
            let slice = f64::from(i / 2) + rng.next_unit();
            std::thread::sleep(typical.mul_f64(slice / f64::from(KILLS / 2) * 1.05));
        } else {
            // At the write: once the batch starts reaching sled's log file, a little
            // later, so kills land while it is written, flushed, and just after.
            while log_size(&store) <= OPENED_LOG_BYTES && child.try_wait().unwrap().is_none() {
                std::thread::sleep(Duration::from_micros(500));
            }
            std::thread::sleep(Duration::from_secs_f64(0.2 * rng.next_unit()));
        }
        let at = started.elapsed();
        let already_done = child.try_wait().unwrap().is_some();
        let written = log_size(&store) > OPENED_LOG_BYTES;
        child.kill().ok();
        let status = child.wait().unwrap();
        let killed = !already_done && status.signal() == Some(9);
        let held = check(&store, i + 1);
        let outcome = match (killed, held, written) {
            (true, Held::Nothing, false) => {
                tally.before_write += 1;
                "none"
            }
            (true, Held::Nothing, true) => {
                tally.mid_write += 1;
                "none, mid-write"
            }
            (true, Held::Everything, _) => {
                tally.after_commit += 1;
                "all, after commit"
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
         of {KILLS} runs, killed before the batch reached the disk: {} (held none of it), \
         killed while it was being written: {} (held none of it), \
         killed after it was flushed: {} (held all of it), finished before the kill: {}",
        typical.as_millis(),
        tally.before_write,
        tally.mid_write,
        tally.after_commit,
        tally.finished,
    );
    println!(
        "crash test runs (time of the kill, outcome): {}",
        runs.join("; ")
    );
    assert!(tally.before_write > 0, "no kill landed before the write");
    assert!(
        tally.mid_write > 0,
        "no kill landed while the batch was being written"
    );
}
