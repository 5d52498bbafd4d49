//! Issue 6, crash and restart: a child process appends and logs every acknowledgement;
//! the harness kills it with SIGKILL at random moments and, after each kill, reopens the
//! store with no manual step and checks that it verifies, that every acknowledged event
//! is there exactly once at its acknowledged seq, that seq has no gap, and that no batch
//! is half there.
//!
//! Three writers, one test each: single events one per append and batches of varying
//! size, both through the library API (the child is this test binary run again, as
//! `crash_child`), and batches through the HTTP API of a real `annals serve`.
//!
//! The store is the same folder for every round of a test, so each round also starts on
//! a store the last round left after a kill. A round resumes with the first batch not
//! acknowledged before, sent again with the same ids, as a client that lost its answer
//! would: if the batch was committed but its answer lost, the retry must get the first
//! seqs back and write nothing.
//!
//! `ANNALS_CRASH_KILLS=N` sets the kills of the three tests together (default
//! [`DEFAULT_KILLS`]): two fifths each to the library writers, one fifth to HTTP.
use std::{
    collections::{BTreeMap, BTreeSet, HashMap, HashSet},
    fs::{File, OpenOptions},
    io::{BufRead, BufReader, Seek, SeekFrom, Write},
    os::unix::process::ExitStatusExt,
    path::Path,
    process::{Child, Command, Stdio},
    sync::{mpsc, Arc},
    time::{Duration, Instant, SystemTime},
};

use annals::store::{Batch, Filter, Store};
use events::{Catalog, Draft, NewEvent};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{annals, catalog, open};

mod check;
mod http;
mod library;

/// Kills of the three tests together in a plain `cargo test`.
pub const DEFAULT_KILLS: u32 = 55;
/// The most a round waits for its child to start appending.
const STARTUP_LIMIT: Duration = Duration::from_secs(30);
/// The child stops by itself after this long, should the harness die first.
const CHILD_LIFETIME: Duration = Duration::from_secs(60);

const CHILD_TEST: &str = "trust::crash::crash_child";
const CHILD_MODE: &str = "ANNALS_TRUST_CRASH_MODE";
const CHILD_STORE: &str = "ANNALS_TRUST_CRASH_STORE";
const CHILD_ACKS: &str = "ANNALS_TRUST_CRASH_ACKS";
const CHILD_FROM: &str = "ANNALS_TRUST_CRASH_FROM";

/// This test's share of the kills: `fifths` fifths of `ANNALS_CRASH_KILLS` (rounded up).
fn kills(fifths: u32) -> u32 {
    let total = std::env::var("ANNALS_CRASH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_KILLS);
    (total * fifths).div_ceil(5).max(1)
}

// ---------------------------------------------------------------------------------
// The events: each id says which writer and batch it belongs to, its place in the batch
// and the batch's size, so the checker can tell a whole batch from part of one.
// ---------------------------------------------------------------------------------

const MARK: u128 = 0xC4A5_11ED;

/// Where an event belongs: (writer, batch, index, size).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Slot {
    writer: u16,
    batch: u32,
    index: u16,
    size: u16,
}

impl Slot {
    fn id(self) -> Uuid {
        Uuid::from_u128(
            MARK << 96
                | u128::from(self.writer) << 80
                | u128::from(self.batch) << 48
                | u128::from(self.index) << 32
                | u128::from(self.size) << 16,
        )
    }

    fn of(id: Uuid) -> Option<Slot> {
        let n = id.as_u128();
        (n >> 96 == MARK).then_some(Slot {
            writer: (n >> 80) as u16,
            batch: (n >> 48) as u32,
            index: (n >> 32) as u16,
            size: (n >> 16) as u16,
        })
    }

    /// The draft, the same every time it is asked for, so a retry is an exact repeat.
    fn draft(self) -> Value {
        let day = 1 + (self.batch + u32::from(self.index)) % 28;
        json!({
            "id": self.id().to_string(),
            "kind": "meeting_held",
            "occurred": format!("2023-{:02}-{day:02}", 1 + self.batch % 12),
            "data": {
                "type": "branch_general",
                "title": format!("崩溃测试 w{} b{} {}/{}", self.writer, self.batch, self.index + 1, self.size),
                "attendees": (self.batch + u32::from(self.index)) % 100,
            },
        })
    }
}

/// A mixing function, so batch sizes look random but are the same on every retry.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// How many events a batch holds: one for the single writer; otherwise mostly 1–40,
/// one batch in eight 100–199, so some kills land while a large batch is written.
fn batch_size(mode: Mode, writer: u16, batch: u32) -> u16 {
    match mode {
        Mode::Single => 1,
        Mode::Batches | Mode::Http => {
            let h = mix(u64::from(writer) << 40 | u64::from(batch));
            if h.is_multiple_of(8) {
                100 + ((h >> 8) % 100) as u16
            } else {
                1 + ((h >> 8) % 40) as u16
            }
        }
    }
}

fn slots(mode: Mode, writer: u16, batch: u32) -> Vec<Slot> {
    let size = batch_size(mode, writer, batch);
    (0..size)
        .map(|index| Slot {
            writer,
            batch,
            index,
            size,
        })
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Single,
    Batches,
    Http,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Single => "single",
            Mode::Batches => "batches",
            Mode::Http => "http",
        }
    }
}

/// A small xorshift generator seeded from the clock; the seed is printed so a failure
/// shows which delays it drew.
struct Rng(u64);

impl Rng {
    fn from_clock() -> Self {
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64;
        Rng(mix(nanos) | 1)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }

    fn millis(&mut self, from: u64, to: u64) -> Duration {
        Duration::from_millis(from + self.below(to - from + 1))
    }
}

// ---------------------------------------------------------------------------------
// The child: appends through the library until it is killed, logging each answer.
// ---------------------------------------------------------------------------------

/// Not a test of its own: the harness runs this test binary again with `--exact` and
/// `--ignored` to get a child process that appends. Without the harness's variables it
/// does nothing.
#[test]
#[ignore = "the crash harness's child process; the harness starts it"]
fn crash_child() {
    let Ok(mode) = std::env::var(CHILD_MODE) else {
        return;
    };
    let mode = if mode == "single" {
        Mode::Single
    } else {
        Mode::Batches
    };
    let store = open(Path::new(&std::env::var(CHILD_STORE).unwrap()));
    let mut acks = OpenOptions::new()
        .append(true)
        .create(true)
        .open(std::env::var(CHILD_ACKS).unwrap())
        .unwrap();
    let from: u32 = std::env::var(CHILD_FROM).unwrap().parse().unwrap();
    let catalog = catalog();
    let born = Instant::now();
    for batch in from.. {
        if born.elapsed() > CHILD_LIFETIME {
            return;
        }
        let events = slots(mode, 0, batch)
            .into_iter()
            .map(|s| parse(&catalog, s.draft()))
            .collect();
        let receipts = store
            .append(Batch {
                events,
                expected_seq: None,
                author: "崩溃测试".into(),
                import: None,
            })
            .expect("the append is acknowledged");
        // One write per acknowledgement, so a kill leaves whole lines, or at worst a
        // last line without its newline, which the harness ignores.
        let mut line = String::new();
        for r in receipts {
            line.push_str(&format!("{} {} {}\n", r.id, r.seq, u8::from(r.existing)));
        }
        acks.write_all(line.as_bytes()).unwrap();
    }
}

fn parse(catalog: &Catalog, draft: Value) -> NewEvent {
    let draft: Draft = serde_json::from_value(draft).unwrap();
    NewEvent::parse(catalog, draft).expect("the draft is valid")
}
