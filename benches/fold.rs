//! `cargo bench --bench fold`: how much heap the fold of a large log takes, and how fast
//! its snapshot is written and read (issue 5: the fold of 1 000 000 events in at most
//! 120 MB, a snapshot of it read in at most 200 ms).
//!
//! ```sh
//! cargo bench --bench fold -- --jsonl target/bench-data/1000000/log.jsonl
//! cargo bench --bench fold -- --n 100000 --save /tmp/facts.bin   # keep the snapshot
//! cargo bench --bench fold -- --snapshot /tmp/facts.bin           # only read it
//! ```
//!
//! The log is folded straight from the import lines (no store), one line at a time,
//! so the heap counted around the fold is the fold's own. Heap is counted by this
//! binary's allocator: every byte asked for and not yet given back, capacity included.
// Shared with `bench/`; this bench uses only a part of each.
#[allow(dead_code)]
#[path = "common/agree.rs"]
mod agree;
#[allow(dead_code)]
#[path = "common/peer.rs"]
mod peer;
#[allow(dead_code)]
#[path = "common/synth.rs"]
mod synth;

use std::{
    alloc::{GlobalAlloc, Layout, System},
    io::{BufRead, BufReader},
    sync::atomic::{AtomicUsize, Ordering},
    time::Instant,
};

use chrono::{DateTime, Utc};
use events::{Envelope, GENESIS};
use projections::{facts::Facts, metric::Metrics};
use serde_json::Value;

/// The system allocator, counting the bytes in use.
struct Counting;

static IN_USE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is passed on to `System` unchanged; only a counter is kept beside.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        IN_USE.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's contract is `System`'s.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        IN_USE.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        IN_USE.fetch_add(new_size, Ordering::Relaxed);
        IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn heap() -> usize {
    IN_USE.load(Ordering::Relaxed)
}

fn mb(bytes: usize) -> f64 {
    bytes as f64 / 1e6
}

/// An import line as the envelope the store would make of it at `seq`.
fn envelope(seq: u64, mut d: Value) -> Envelope {
    let text = |d: &Value, k: &str| d[k].as_str().unwrap_or_default().to_owned();
    let at: DateTime<Utc> = synth::moment(d["recorded_at"].as_str().expect("a time"));
    Envelope {
        id: text(&d, "id").parse().expect("an id"),
        seq,
        kind: text(&d, "kind"),
        version: 1,
        occurred: d["occurred"]
            .as_str()
            .map_or_else(|| at.date_naive().to_string(), str::to_owned)
            .parse()
            .expect("a day"),
        recorded_at: at,
        recorded_by: text(&d, "recorded_by"),
        data: d["data"].take(),
        prev_hash: GENESIS,
        hash: GENESIS,
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
    };
    if let Some(path) = arg("--snapshot") {
        // Only read a snapshot saved with `--save`: for profiling the reading alone.
        let bytes = std::fs::read(path).expect("the snapshot file");
        let metrics = Metrics::embedded(&events::Catalog::embedded()).expect("the metrics");
        for _ in 0..5 {
            let t = Instant::now();
            let facts = Facts::from_snapshot(&bytes).expect("the snapshot reads back");
            let read = t.elapsed();
            agree::annals_values(&facts, &metrics, &agree::year_query(Utc::now()));
            println!(
                "{} facts read in {:.0} ms, every default metric for {} in {:.0} ms",
                facts.len(),
                read.as_secs_f64() * 1e3,
                synth::LAST_YEAR,
                (t.elapsed() - read).as_secs_f64() * 1e3
            );
        }
        return;
    }
    let start = heap();
    let t = Instant::now();
    let mut facts = Facts::default();
    let mut events = 0u64;
    let mut apply = |line: Value| {
        events += 1;
        facts.apply_owned(envelope(events, line));
    };
    if let Some(path) = arg("--jsonl") {
        let file = std::fs::File::open(path).expect("the JSONL file");
        for line in BufReader::new(file).lines() {
            apply(serde_json::from_str(&line.expect("a line")).expect("a JSON line"));
        }
    } else {
        let n = arg("--n").map_or(100_000, |n| n.parse().expect("--n N"));
        for d in synth::generate(n, synth::SEED).drafts {
            apply(d);
        }
    }
    let fold_s = t.elapsed().as_secs_f64();
    let grown = heap() - start;
    facts.shrink_to_fit();
    let folded = heap() - start;
    println!(
        "{events} events, {} facts: folded in {fold_s:.1} s (from JSON lines); heap {:.1} MB as grown, {:.1} MB after shrink_to_fit ({:.0} bytes a fact)",
        facts.len(),
        mb(grown),
        mb(folded),
        folded as f64 / facts.len() as f64
    );

    let t = Instant::now();
    let bytes = facts.to_snapshot();
    if let Some(path) = arg("--save") {
        std::fs::write(path, &bytes).expect("the snapshot file");
    }
    println!(
        "snapshot: {:.1} MB, written in {:.0} ms",
        mb(bytes.len()),
        t.elapsed().as_secs_f64() * 1e3
    );
    let mut times = Vec::new();
    let mut read = None;
    for _ in 0..5 {
        drop(read.take());
        let before = heap();
        let t = Instant::now();
        let back = Facts::from_snapshot(&bytes).expect("the snapshot reads back");
        times.push(t.elapsed().as_secs_f64() * 1e3);
        println!(
            "  read in {:.0} ms, heap {:.1} MB",
            times[times.len() - 1],
            mb(heap() - before)
        );
        read = Some(back);
    }
    times.sort_by(f64::total_cmp);
    println!("snapshot read: median {:.0} ms of 5", times[2]);

    let back = read.expect("read five times");
    let metrics = Metrics::embedded(&events::Catalog::embedded()).expect("the metrics");
    let q = agree::year_query(Utc::now());
    let t = Instant::now();
    let from_snapshot = agree::annals_values(&back, &metrics, &q);
    println!(
        "every default metric for {}, on the facts just read: {:.0} ms",
        synth::LAST_YEAR,
        t.elapsed().as_secs_f64() * 1e3
    );
    assert_eq!(
        from_snapshot,
        agree::annals_values(&facts, &metrics, &q),
        "the snapshot answers as the fold"
    );
    println!("the snapshot's figures equal the fold's");
}
