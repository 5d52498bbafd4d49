//! `cargo bench`: Annals, raw sled and SQLite in the same run, on a deterministic
//! synthetic log of N events, for each N given (issues 5 and 14; BENCHMARKS.md says how
//! to read it). Raw sled writes the records Annals stored with bare sled calls, in the
//! same trees and transactions, so the store's own overhead is a measured ratio.
//!
//! ```sh
//! cargo bench --bench bench -- --n 10000,100000,1000000 --runs 5
//! ```
//!
//! Options (`-- --help` lists them, `args.rs`): `--n LIST` (sizes), `--runs R`
//! (repetitions; medians quoted), `--appends K` (single appends per run; the 16 writers
//! do 4×K in all), `--queries Q` (progress queries per kind), `--http-secs S` and
//! `--connections C` (the load generator), `--dir DIR` (scratch space, default
//! `target/bench-data`), `--markdown FILE` (append the tables there too). Annals and
//! SQLite must agree on every figure, and raw sled must hold exactly Annals' records,
//! before any timing is printed; otherwise the run fails.
//!
//! Layout: one file per measure (`appends.rs` 1, `writers.rs` 2, `imports.rs` 3,
//! `cold.rs` 4, `progress.rs` 5, `serve.rs` 6 and 7b), what runs in a fresh process
//! (`child.rs`), latencies (`stats.rs`), the table and its rows (`table.rs`, `rows.rs`);
//! this file generates the log, checks the systems agree and runs the measures in turn.
#[path = "../common/agree.rs"]
mod agree;
mod appends;
mod args;
mod child;
mod cold;
mod imports;
#[path = "../common/peer.rs"]
mod peer;
mod progress;
#[path = "../common/rawsled.rs"]
mod rawsled;
mod rows;
mod serve;
mod stats;
#[path = "../common/synth.rs"]
mod synth;
mod table;
mod writers;

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

use annals::{
    store::{raw, Batch, Options, Store},
    views::Cache,
};
use chrono::Utc;
use events::{Catalog, Draft, Envelope, Hash, NewEvent, GENESIS};
use projections::metric::Metrics;
use serde_json::{json, Value};

use args::Args;
use peer::Sqlite;
use rawsled::{RawSled, Record};
use synth::{Rng, LAST_YEAR, SEED};
use table::median;

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    if argv.get(1).map(String::as_str) == Some("--child") {
        child::run(
            &argv[2],
            Path::new(&argv[3]),
            argv.get(4).map(String::as_str),
        );
        return;
    }
    let args = Args::parse_and_floor();
    std::fs::create_dir_all(args.dir()).expect("the scratch folder");
    let mut out = String::new();
    out += &format!(
        "cargo bench --bench bench -- --n {} --runs {} --appends {} --queries {} --http-secs {} --connections {}\n\n",
        args.sizes
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(","),
        args.runs,
        args.appends,
        args.queries,
        args.http_secs,
        args.connections
    );
    print!("{out}");
    for &n in &args.sizes {
        let table = measure(n, &args);
        print!("{table}");
        out += &table;
        if let Some(path) = &args.markdown {
            std::fs::write(path, &out).expect("the markdown file");
        }
    }
}

pub fn meeting(rng: &mut Rng) -> Value {
    json!({
        "id": rng.uuid().to_string(),
        "kind": "meeting_held",
        "occurred": "2026-01-05",
        "recorded_by": "办公室",
        "data": {"type": "branch_committee", "title": "支委会", "attendees": 7},
    })
}

pub fn new_event(catalog: &Catalog, draft: &Value) -> NewEvent {
    let d: Draft = serde_json::from_value(draft.clone()).expect("a draft");
    NewEvent::parse(catalog, d).expect("a valid draft")
}

/// The record the store would write for a new event at `seq`, made beforehand for raw
/// sled (the hash is left as zeros: raw sled neither computes nor checks one).
pub fn raw_record(ev: &NewEvent, seq: u64) -> Record {
    let e = Envelope {
        id: ev.id(),
        seq,
        kind: ev.kind().to_owned(),
        version: ev.version(),
        occurred: ev.occurred().expect("the bench's drafts carry a date"),
        recorded_at: events::envelope::truncate(Utc::now()),
        recorded_by: ev.recorded_by().unwrap_or("bench").to_owned(),
        data: ev.data(),
        prev_hash: GENESIS,
        hash: Hash([0; 32]),
    };
    let mut bytes = Vec::new();
    raw::encode(&e, &mut bytes);
    Record {
        seq,
        id: e.id,
        target: None,
        bytes,
    }
}

/// One durable single append through `Store::append`, as the bench's writers make them.
pub fn append_one(store: &Store, ev: NewEvent) {
    store
        .append(Batch {
            events: vec![ev],
            author: "bench".into(),
            ..Batch::default()
        })
        .expect("the append");
}

pub fn open(dir: &Path, catalog: &Arc<Catalog>) -> Store {
    Store::open(dir, catalog.clone(), Options::default()).expect("the store opens")
}

pub fn fresh(path: &Path) {
    let _ = std::fs::remove_dir_all(path);
    let _ = std::fs::remove_file(path);
    // SQLite's journal files; the admin token `annals serve` writes beside a new store.
    for suffix in ["-wal", "-shm", ".admin-token"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
}

/// The machine's load average, to judge how much else was running.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Where one size's stores live.
pub struct Work {
    pub n: usize,
    pub annals: PathBuf,
    pub raw: PathBuf,
    pub sqlite: PathBuf,
    pub jsonl: PathBuf,
    /// Annals' records, for raw sled's import child.
    pub records: PathBuf,
}

/// Runs per system of one measure, in events/s unless said otherwise.
#[derive(Default)]
pub struct Runs {
    pub annals: Vec<f64>,
    pub raw: Vec<f64>,
    pub sqlite: Vec<f64>,
}

impl Runs {
    pub fn medians(&self) -> (f64, f64, f64) {
        (
            median(self.annals.clone()),
            median(self.raw.clone()),
            median(self.sqlite.clone()),
        )
    }
}

pub fn say(n: usize, what: &str) {
    eprintln!("[N={n}] {what}");
}

fn measure(n: usize, args: &Args) -> String {
    let runs = args.runs;
    let load_before = loadavg();
    let catalog = Arc::new(Catalog::embedded());
    let metrics = Metrics::embedded(&catalog).expect("the embedded metrics");
    let log = synth::generate(n, SEED);
    let bytes = log.jsonl();
    let span = log.recorded_span();
    drop(log);
    say(
        n,
        &format!("generated {n} events ({} bytes of JSONL)", bytes.len()),
    );
    let dir = args.dir().join(n.to_string());
    std::fs::create_dir_all(&dir).expect("the scratch folder");
    let w = Work {
        n,
        annals: dir.join("annals"),
        raw: dir.join("raw-sled"),
        sqlite: dir.join("sqlite.db"),
        jsonl: dir.join("log.jsonl"),
        records: dir.join("records.bin"),
    };
    // Kept for profiling (`annals import`, perf) and for the record.
    std::fs::write(&w.jsonl, &bytes).expect("the JSONL file");

    let (import, import_rss, expected) = imports::imports(&w, &bytes, runs);

    // 7a. Bytes on disk per event, each store closed and flushed.
    let disk = |path: &Path| agree::disk_usage(path) as f64 / n as f64;
    let (a_disk, r_disk) = (disk(&w.annals), disk(&w.raw));
    let s_disk = Sqlite::open(&w.sqlite)
        .and_then(|db| db.bytes_on_disk())
        .expect("SQLite's size") as f64
        / n as f64;

    let cold = cold::cold(&w, runs, expected);
    let a_disk_snapshot = disk(&w.annals);

    // The figures must agree before any timing is shown.
    let store = open(&w.annals, &catalog);
    let db = Sqlite::open(&w.sqlite).expect("SQLite opens");
    let cache = Cache::default();
    let now = Utc::now();
    let mut rng = Rng::new(SEED ^ n as u64);
    {
        let facts = cache.read(&store).expect("the log folds");
        match agree::check(&facts, &db, &metrics, &mut rng, span, now) {
            Ok(a) => say(n, &format!(
                "Annals and SQLite agree: {} metrics for {LAST_YEAR} (main_sessions = {}), {} progress lines (on {}, known now and at {}); raw sled holds Annals' {} records",
                a.metrics, a.values["main_sessions"], a.progress_lines, a.on, a.known_at, expected.0
            )),
            Err(diffs) => {
                eprintln!("the systems disagree; no timing is shown:\n{diffs}");
                std::process::exit(1);
            }
        }
    }

    let ((a_on, s_on), (a_at, s_at)) = progress::progress_queries(
        &store,
        &cache,
        &db,
        &metrics,
        SEED ^ n as u64,
        span,
        args.queries,
    );
    say(
        n,
        &format!(
            "progress p50: Annals {:.3} ms (any known_at {:.3} ms), SQLite {:.1} ms ({:.1} ms)",
            a_on.quantile(0.5),
            a_at.quantile(0.5),
            s_on.quantile(0.5),
            s_at.quantile(0.5)
        ),
    );

    let raw_db = RawSled::open(&w.raw).expect("raw sled opens");
    let k = args.appends;
    let (single, raw_db) =
        appends::single_appends(&w, &store, raw_db, &db, &catalog, &mut rng, k, runs);
    let (conc, raw_db) = writers::writers(&w, &store, raw_db, &catalog, &mut rng, k, runs);
    drop(raw_db);
    drop(cache);
    drop(store);
    drop(db);

    // 6 and 7b. GET /api/progress on `annals serve`, and its peak memory.
    say(n, "serving");
    let (rps, p99, first_ms, serve_rss) =
        serve::http(&w.annals, args.connections, args.http_secs as u64);
    say(
        n,
        &format!(
            "http: {rps:.0} requests/s, p99 {p99:.2} ms, first request {first_ms:.0} ms, peak RSS {serve_rss:.0} MB"
        ),
    );

    let lines = rows::lines(
        &single,
        &conc,
        &import,
        &import_rss,
        &cold,
        [&a_on, &s_on, &a_at, &s_at],
        (rps, p99, first_ms, serve_rss),
        (a_disk, r_disk, s_disk, a_disk_snapshot),
    );
    let mut t = table::table(n, &lines);
    t += &format!(
        "Load average (1, 5, 15 min) at the start: {load_before}; at the end: {}.\n\n",
        loadavg()
    );
    t
}
