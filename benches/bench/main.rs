//! `cargo bench`: Annals, raw sled and SQLite in the same run, on a deterministic
//! synthetic log of N events, for each N given (issues 5 and 14; BENCHMARKS.md says how
//! to read it). Raw sled writes the records Annals stored with bare sled calls, in the
//! same trees and transactions, so the store's own overhead is a measured ratio.
//!
//! ```sh
//! cargo bench --bench bench -- --n 10000,100000,1000000 --runs 5
//! ```
//!
//! Options: `--n LIST` (sizes), `--runs R` (repetitions; medians quoted), `--appends K`
//! (single appends per run; the 16 writers do 4×K in all), `--queries Q` (progress
//! queries per kind), `--http-secs S` and `--connections C` (the load generator),
//! `--dir DIR` (scratch space, default `target/bench-data`), `--markdown FILE` (append
//! the tables there too). Annals and SQLite must agree on every figure, and raw sled
//! must hold exactly Annals' records, before any timing is printed; otherwise the run
//! fails.
#[path = "../common/agree.rs"]
mod agree;
mod child;
#[path = "../common/peer.rs"]
mod peer;
#[path = "../common/rawsled.rs"]
mod rawsled;
mod serve;
#[path = "../common/synth.rs"]
mod synth;
mod table;

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, Instant},
};

use annals::{
    store::{raw, Batch, Options, Store},
    views::Cache,
};
use chrono::Utc;
use events::{Catalog, Draft, Envelope, Hash, NewEvent, GENESIS};
use projections::{metric::Metrics, progress};
use serde_json::{json, Value};

use child::num;
use peer::{Row, Sqlite};
use rawsled::{RawSled, Record};
use synth::{Rng, LAST_YEAR, SEED};
use table::{median, percentile, Line};

struct Args {
    sizes: Vec<usize>,
    runs: usize,
    appends: usize,
    queries: usize,
    http_secs: u64,
    connections: usize,
    dir: PathBuf,
    markdown: Option<PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        sizes: vec![10_000, 100_000],
        runs: 5,
        appends: 1000,
        queries: 200,
        http_secs: 5,
        connections: 16,
        dir: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-data"),
        markdown: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        let num = |s: String| -> Result<usize, String> {
            s.replace('_', "")
                .parse()
                .map_err(|_| format!("'{s}' is not a number"))
        };
        match arg.as_str() {
            "--n" => {
                a.sizes = value("--n")?
                    .split(',')
                    .map(|s| num(s.trim().to_owned()))
                    .collect::<Result<_, _>>()?
            }
            "--runs" => a.runs = num(value("--runs")?)?.max(1),
            "--appends" => a.appends = num(value("--appends")?)?.max(16),
            "--queries" => a.queries = num(value("--queries")?)?.max(3),
            "--http-secs" => a.http_secs = num(value("--http-secs")?)? as u64,
            "--connections" => a.connections = num(value("--connections")?)?.max(1),
            "--dir" => a.dir = value("--dir")?.into(),
            "--markdown" => a.markdown = Some(value("--markdown")?.into()),
            // cargo bench passes --bench; libtest filters mean nothing here.
            "--bench" => {}
            other if other.starts_with("--") => return Err(format!("unknown option {other}")),
            _ => {}
        }
    }
    Ok(a)
}

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
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    std::fs::create_dir_all(&args.dir).expect("the scratch folder");
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

fn meeting(rng: &mut Rng) -> Value {
    json!({
        "id": rng.uuid().to_string(),
        "kind": "meeting_held",
        "occurred": "2026-01-05",
        "recorded_by": "办公室",
        "data": {"type": "branch_committee", "title": "支委会", "attendees": 7},
    })
}

fn new_event(catalog: &Catalog, draft: &Value) -> NewEvent {
    let d: Draft = serde_json::from_value(draft.clone()).expect("a draft");
    NewEvent::parse(catalog, d).expect("a valid draft")
}

/// The record the store would write for a new event at `seq`, made beforehand for raw
/// sled (the hash is left as zeros: raw sled neither computes nor checks one).
fn raw_record(ev: &NewEvent, seq: u64) -> Record {
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

fn open(dir: &Path, catalog: &Arc<Catalog>) -> Store {
    Store::open(dir, catalog.clone(), Options::default()).expect("the store opens")
}

fn fresh(path: &Path) {
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
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Where one size's stores live.
struct Work {
    n: usize,
    annals: PathBuf,
    raw: PathBuf,
    sqlite: PathBuf,
    jsonl: PathBuf,
    /// Annals' records, for raw sled's import child.
    records: PathBuf,
}

/// Runs per system of one measure, in events/s unless said otherwise.
#[derive(Default)]
struct Runs {
    annals: Vec<f64>,
    raw: Vec<f64>,
    sqlite: Vec<f64>,
}

impl Runs {
    fn medians(&self) -> (f64, f64, f64) {
        (
            median(self.annals.clone()),
            median(self.raw.clone()),
            median(self.sqlite.clone()),
        )
    }
}

fn say(n: usize, what: &str) {
    eprintln!("[N={n}] {what}");
}

/// Measure 3: import into an empty store, each system in turn in every run: Annals' JSONL
/// import and raw sled's writes of the same records in fresh processes (which also
/// give their peak memory), SQLite's batched inserts of the JSONL here. After Annals'
/// first import its records are read back for raw sled. Returns the rates and the
/// peak memory (Annals, raw sled), and raw sled's count and checksum to check against.
fn imports(w: &Work, bytes: &[u8], runs: usize) -> (Runs, Runs, (u64, u32)) {
    let (mut rate, mut rss) = (Runs::default(), Runs::default());
    let mut expected = (0, 0);
    for run in 0..runs {
        fresh(&w.annals);
        let v = child::spawn("import-annals", &w.annals, Some(&w.jsonl));
        assert_eq!(v["added"], json!(w.n), "{v}");
        rate.annals.push(w.n as f64 / (num(&v, "ms") / 1e3));
        rss.annals.push(num(&v, "rss_mb"));
        if run == 0 {
            let catalog = Arc::new(Catalog::embedded());
            let records = rawsled::records_of(&open(&w.annals, &catalog));
            assert_eq!(records.len(), w.n + 1, "the events and the import's record");
            rawsled::save(&records, &w.records).expect("the records file");
            expected = rawsled::checksum(&records);
        }
        fresh(&w.raw);
        let v = child::spawn("import-raw", &w.raw, Some(&w.records));
        assert_eq!(v["added"], json!(w.n + 1), "{v}");
        rate.raw.push(w.n as f64 / (num(&v, "ms") / 1e3));
        rss.raw.push(num(&v, "rss_mb"));
        fresh(&w.sqlite);
        let mut db = Sqlite::open(&w.sqlite).expect("SQLite opens");
        let t = Instant::now();
        db.import(bytes, 10_000).expect("SQLite imports");
        rate.sqlite.push(w.n as f64 / t.elapsed().as_secs_f64());
        say(
            w.n,
            &format!(
                "import run {}: Annals {:.0}/s ({:.0} MB), raw sled {:.0}/s ({:.0} MB), SQLite {:.0}/s",
                run + 1,
                rate.annals[run],
                rss.annals[run],
                rate.raw[run],
                rss.raw[run],
                rate.sqlite[run]
            ),
        );
    }
    (rate, rss, expected)
}

/// Measure 4: cold starts, each in a fresh process: every default metric (Annals from its
/// snapshot, SQLite by its queries), and opening the store and reading every event
/// once (Annals through `Store::scan`, raw sled bare). The first Annals start after the
/// import folds the whole log and leaves the snapshot; it is returned on its own.
struct Cold {
    first_ms: f64,
    metrics: Runs,
    cpu: Runs,
    open: Runs,
    scan: Runs,
}

fn cold(w: &Work, runs: usize, expected: (u64, u32)) -> Cold {
    let first = child::spawn("cold-annals", &w.annals, None);
    let first_values: BTreeMap<String, u64> =
        serde_json::from_value(first["values"].clone()).expect("values");
    let mut c = Cold {
        first_ms: num(&first, "ms"),
        metrics: Runs::default(),
        cpu: Runs::default(),
        open: Runs::default(),
        scan: Runs::default(),
    };
    for _ in 0..runs {
        let a = child::spawn("cold-annals", &w.annals, None);
        let s = child::spawn("cold-sqlite", &w.sqlite, None);
        let values = |v: &Value| -> BTreeMap<String, u64> {
            serde_json::from_value(v["values"].clone()).expect("values")
        };
        assert_eq!(
            values(&a),
            values(&s),
            "the cold rebuilds disagree on the current year's metrics"
        );
        assert_eq!(
            values(&a),
            first_values,
            "the fold from the snapshot disagrees with the fold of the whole log"
        );
        c.metrics.annals.push(num(&a, "ms"));
        c.metrics.sqlite.push(num(&s, "ms"));
        c.cpu.annals.push(num(&a, "cpu_ms"));
        c.cpu.sqlite.push(num(&s, "cpu_ms"));
        let a = child::spawn("scan-annals", &w.annals, None);
        let r = child::spawn("scan-raw", &w.raw, None);
        assert_eq!(a["count"], json!(expected.0), "Annals' scan: {a}");
        assert_eq!(
            (r["count"].clone(), r["crc"].clone()),
            (json!(expected.0), json!(expected.1)),
            "raw sled holds other records than Annals"
        );
        c.open.annals.push(num(&a, "open_ms"));
        c.open.raw.push(num(&r, "open_ms"));
        c.scan.annals.push(num(&a, "scan_ms"));
        c.scan.raw.push(num(&r, "scan_ms"));
    }
    say(
        w.n,
        &format!(
            "cold: every metric Annals {:.0} ms, SQLite {:.0} ms; open + scan Annals {:.0} + {:.0} ms, raw sled {:.0} + {:.0} ms",
            median(c.metrics.annals.clone()),
            median(c.metrics.sqlite.clone()),
            median(c.open.annals.clone()),
            median(c.scan.annals.clone()),
            median(c.open.raw.clone()),
            median(c.scan.raw.clone()),
        ),
    );
    c
}

/// Measure 5: progress, warm: random `on` known now, then random `known_at` too, in both
/// systems (bounded at 20 s per kind). Returns (Annals, SQLite) for each kind.
#[allow(clippy::type_complexity)]
fn progress_queries(
    store: &Store,
    cache: &Cache,
    db: &Sqlite,
    metrics: &Metrics,
    seed: u64,
    span: (chrono::DateTime<Utc>, chrono::DateTime<Utc>),
    queries: usize,
) -> ((Vec<f64>, Vec<f64>), (Vec<f64>, Vec<f64>)) {
    let budget = Duration::from_secs(20);
    // Each kind of question draws from a seed of its own, so both systems are asked the
    // same questions and every run the same ones, however many SQLite answers in its
    // time (as-of questions fall in two groups, a moment before the year asked about
    // and one after it, and a draw that moves the median across the border moves it
    // a hundredfold).
    let timed = |system: &str, with_known_at: bool| -> Vec<f64> {
        let mut rng = Rng::new(seed ^ u64::from(with_known_at));
        let rng = &mut rng;
        let mut lat = Vec::new();
        let started = Instant::now();
        while lat.len() < queries && (lat.len() < 3 || started.elapsed() < budget) {
            let on = agree::random_on(rng);
            let at = if with_known_at {
                agree::random_known_at(rng, span)
            } else {
                Utc::now()
            };
            let year = chrono::Datelike::year(&on);
            let t = Instant::now();
            let lines = if system == "annals" {
                let facts = cache.read(store).expect("the cache");
                progress::progress(&facts, metrics, year, on, at).len()
            } else {
                db.progress(metrics, year, on, at)
                    .expect("SQLite progress")
                    .len()
            };
            lat.push(t.elapsed().as_secs_f64() * 1e3);
            assert!(lines > 0 || with_known_at, "progress without targets");
        }
        lat
    };
    let on = (timed("annals", false), timed("sqlite", false));
    let at = (timed("annals", true), timed("sqlite", true));
    (on, at)
}

/// Rounds each run's appends are cut into. The systems take turns, in the opposite
/// order every other round, so that a change in the machine's load during a run falls
/// on each of them alike (this machine is shared; its speed moves within seconds).
const ROUNDS: usize = 4;

/// One system's latencies (ms) and time appending (s), summed over a run's rounds.
#[derive(Default)]
struct Timed {
    lat: Vec<f64>,
    secs: f64,
}

impl Timed {
    /// Times `f`, which appends and notes each append's latency.
    fn time(&mut self, f: impl FnOnce(&mut Vec<f64>)) {
        let t = Instant::now();
        f(&mut self.lat);
        self.secs += t.elapsed().as_secs_f64();
    }

    /// Appends per second, p50 and p99 (ms).
    fn figures(mut self) -> (f64, f64, f64) {
        let rate = self.lat.len() as f64 / self.secs;
        let p50 = percentile(&mut self.lat, 0.5);
        (rate, p50, percentile(&mut self.lat, 0.99))
    }
}

/// Times `f` once, in ms.
fn ms(f: impl FnOnce()) -> f64 {
    let t = Instant::now();
    f();
    t.elapsed().as_secs_f64() * 1e3
}

/// Measure 1: durable single appends, one writer, the systems taking turns in
/// [`ROUNDS`] rounds of every run; and the disk's floor in the same runs. Raw sled
/// appends twice: by bare calls on the caller's thread (the floor of the design), and
/// through its writer thread as the store's appends go (each handed to the writer and
/// answered), which tells the hand-over's cost apart from the store's own work.
struct Single {
    rate: Runs,
    p50: Runs,
    p99: Runs,
    floor: Vec<f64>,
    /// Raw sled through its writer thread: events/s, p50 and p99 ms.
    handed: (Vec<f64>, Vec<f64>, Vec<f64>),
}

#[allow(clippy::too_many_arguments)]
fn single_appends(
    w: &Work,
    store: &Store,
    mut raw_db: RawSled,
    db: &Sqlite,
    catalog: &Catalog,
    rng: &mut Rng,
    k: usize,
    runs: usize,
) -> (Single, RawSled) {
    let mut s = Single {
        rate: Runs::default(),
        p50: Runs::default(),
        p99: Runs::default(),
        floor: Vec::new(),
        handed: (Vec::new(), Vec::new(), Vec::new()),
    };
    let per = (k / ROUNDS).max(1);
    for _ in 0..runs {
        s.floor.push(floor(w, k));
        // Annals, raw sled by bare calls, raw sled through its writer, SQLite.
        let mut timed: [Timed; 4] = Default::default();
        for round in 0..ROUNDS {
            let drafts: Vec<Value> = (0..per).map(|_| meeting(rng)).collect();
            let mut evs: Vec<NewEvent> = drafts.iter().map(|d| new_event(catalog, d)).collect();
            let mut direct: Vec<Record> = evs.iter().map(|ev| raw_record(ev, 0)).collect();
            let mut handed: Vec<Record> = (0..per)
                .map(|_| raw_record(&new_event(catalog, &meeting(rng)), 0))
                .collect();
            let rows: Vec<Row> = drafts.iter().map(|d| Row::of(d, Utc::now())).collect();
            let mut order = [0, 1, 2, 3];
            if round % 2 == 1 {
                order.reverse();
            }
            for system in order {
                let t = &mut timed[system];
                match system {
                    0 => t.time(|lat| {
                        for ev in std::mem::take(&mut evs) {
                            lat.push(ms(|| {
                                store
                                    .append(Batch {
                                        events: vec![ev],
                                        author: "bench".into(),
                                        ..Batch::default()
                                    })
                                    .expect("the append");
                            }));
                        }
                    }),
                    1 => {
                        let mut seq = raw_db.last_seq().expect("raw sled reads");
                        t.time(|lat| {
                            for mut r in std::mem::take(&mut direct) {
                                seq += 1;
                                r.seq = seq;
                                lat.push(ms(|| {
                                    raw_db
                                        .write(std::slice::from_ref(&r))
                                        .expect("the raw append");
                                }));
                            }
                        });
                    }
                    2 => {
                        let group = rawsled::GroupWriter::start(raw_db);
                        let appender = group.handle();
                        t.time(|lat| {
                            for r in std::mem::take(&mut handed) {
                                lat.push(ms(|| appender.append(r).expect("the raw append")));
                            }
                        });
                        drop(appender);
                        raw_db = group.stop();
                    }
                    _ => t.time(|lat| {
                        for row in &rows {
                            lat.push(ms(|| db.append(row).expect("the insert")));
                        }
                    }),
                }
            }
        }
        let [annals, raw, handed, sqlite] = timed;
        for (runs, t) in [(0, annals), (1, raw), (2, sqlite)] {
            let (rate, p50, p99) = t.figures();
            for (fig, v) in [(&mut s.rate, rate), (&mut s.p50, p50), (&mut s.p99, p99)] {
                [&mut fig.annals, &mut fig.raw, &mut fig.sqlite][runs].push(v);
            }
        }
        let (rate, p50, p99) = handed.figures();
        s.handed.0.push(rate);
        s.handed.1.push(p50);
        s.handed.2.push(p99);
    }
    let (a, r, q) = s.rate.medians();
    say(
        w.n,
        &format!(
            "single appends: Annals {a:.0}/s p99 {:.2} ms, raw sled {r:.0}/s p99 {:.2} ms (through its writer {:.0}/s p99 {:.2} ms), SQLite {q:.0}/s p99 {:.2} ms",
            median(s.p99.annals.clone()),
            median(s.p99.raw.clone()),
            median(s.handed.0.clone()),
            median(s.handed.2.clone()),
            median(s.p99.sqlite.clone())
        ),
    );
    (s, raw_db)
}

/// The disk's floor: one small write plus fdatasync, in a file whose blocks are
/// already allocated (as a log's are), so no metadata needs journalling. The median
/// of `k`, in ms.
fn floor(w: &Work, k: usize) -> f64 {
    use std::io::{Seek, SeekFrom, Write};
    let floor_path = w.annals.with_file_name("floor");
    let mut floor_file = std::fs::File::create(&floor_path).expect("a scratch file");
    floor_file
        .write_all(&vec![0u8; 256 * 4096])
        .and_then(|()| floor_file.sync_all())
        .expect("a preallocated scratch file");
    let mut lat = Vec::with_capacity(k);
    for i in 0..k {
        let one = Instant::now();
        floor_file
            .seek(SeekFrom::Start((i as u64 % 256) * 4096))
            .and_then(|_| floor_file.write_all(&[b'x'; 300]))
            .and_then(|()| floor_file.sync_data())
            .expect("write and fdatasync");
        lat.push(one.elapsed().as_secs_f64() * 1e3);
    }
    let _ = std::fs::remove_file(&floor_path);
    percentile(&mut lat, 0.5)
}

/// Measure 2: durable concurrent appends: 16 threads each appending single events
/// through `Store::append`, through a group-committing writer over raw sled, and through
/// 16 SQLite connections (one insert per transaction each); the systems take turns in
/// [`ROUNDS`] rounds of every run, as in measure 1.
#[allow(clippy::too_many_arguments)]
fn writers(
    w: &Work,
    store: &Store,
    raw_db: RawSled,
    catalog: &Catalog,
    rng: &mut Rng,
    k: usize,
    runs: usize,
) -> (Runs, RawSled) {
    let per = (k * 4 / WRITERS / ROUNDS).max(1);
    let count = (WRITERS * per * ROUNDS) as f64;
    let mut rate = Runs::default();
    let mut raw_db = Some(raw_db);
    for _ in 0..runs {
        let mut secs = [0.0; 3];
        for round in 0..ROUNDS {
            let mut batches = Some(writer_events(catalog, rng, per));
            let mut records = Some(writer_records(catalog, rng, per));
            let mut rows: Option<Vec<Vec<Row>>> = Some(
                (0..WRITERS)
                    .map(|_| {
                        (0..per)
                            .map(|_| Row::of(&meeting(rng), Utc::now()))
                            .collect()
                    })
                    .collect(),
            );
            let mut order = [0, 1, 2];
            if round % 2 == 1 {
                order.reverse();
            }
            for system in order {
                let t = Instant::now();
                match system {
                    0 => {
                        annals_writers(store, batches.take().expect("once"));
                    }
                    1 => {
                        let db = raw_db.take().expect("raw sled");
                        let (_, db) = raw_writers(db, records.take().expect("once"));
                        raw_db = Some(db);
                    }
                    _ => std::thread::scope(|s| {
                        for rows in rows.take().expect("once") {
                            let path = w.sqlite.clone();
                            s.spawn(move || {
                                let db = Sqlite::open(&path).expect("SQLite opens");
                                for row in &rows {
                                    db.append(row).expect("the insert");
                                }
                            });
                        }
                    }),
                }
                secs[system] += t.elapsed().as_secs_f64();
            }
        }
        rate.annals.push(count / secs[0]);
        rate.raw.push(count / secs[1]);
        rate.sqlite.push(count / secs[2]);
    }
    let (a, r, s) = rate.medians();
    say(
        w.n,
        &format!("16 writers: Annals {a:.0}/s, raw sled {r:.0}/s, SQLite {s:.0}/s"),
    );
    (rate, raw_db.expect("raw sled"))
}

/// How many threads append at once in measure 2.
const WRITERS: usize = 16;

/// `per` new events for each of the [`WRITERS`].
fn writer_events(catalog: &Catalog, rng: &mut Rng, per: usize) -> Vec<Vec<NewEvent>> {
    (0..WRITERS)
        .map(|_| {
            (0..per)
                .map(|_| new_event(catalog, &meeting(rng)))
                .collect()
        })
        .collect()
}

/// `per` records of new events for each of the [`WRITERS`] (the writer gives each its
/// seq).
fn writer_records(catalog: &Catalog, rng: &mut Rng, per: usize) -> Vec<Vec<Record>> {
    writer_events(catalog, rng, per)
        .iter()
        .map(|evs| evs.iter().map(|ev| raw_record(ev, 0)).collect())
        .collect()
}

/// Each thread appends its events one by one through `Store::append`; events/s.
fn annals_writers(store: &Store, batches: Vec<Vec<NewEvent>>) -> f64 {
    let count: usize = batches.iter().map(Vec::len).sum();
    let t = Instant::now();
    std::thread::scope(|s| {
        for evs in batches {
            s.spawn(move || {
                for ev in evs {
                    store
                        .append(Batch {
                            events: vec![ev],
                            author: "bench".into(),
                            ..Batch::default()
                        })
                        .expect("the append");
                }
            });
        }
    });
    count as f64 / t.elapsed().as_secs_f64()
}

/// Each thread appends its records one by one through raw sled's group-committing
/// writer; events/s, and the database back.
fn raw_writers(db: RawSled, records: Vec<Vec<Record>>) -> (f64, RawSled) {
    let count: usize = records.iter().map(Vec::len).sum();
    let group = rawsled::GroupWriter::start(db);
    let t = Instant::now();
    std::thread::scope(|s| {
        for records in records {
            let appender = group.handle();
            s.spawn(move || {
                for r in records {
                    appender.append(r).expect("the raw append");
                }
            });
        }
    });
    let rate = count as f64 / t.elapsed().as_secs_f64();
    (rate, group.stop())
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
    let dir = args.dir.join(n.to_string());
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

    let (import, import_rss, expected) = imports(&w, &bytes, runs);

    // 7a. Bytes on disk per event, each store closed and flushed.
    let disk = |path: &Path| agree::disk_usage(path) as f64 / n as f64;
    let (a_disk, r_disk) = (disk(&w.annals), disk(&w.raw));
    let s_disk = Sqlite::open(&w.sqlite)
        .and_then(|db| db.bytes_on_disk())
        .expect("SQLite's size") as f64
        / n as f64;

    let cold = cold(&w, runs, expected);
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

    let ((mut a_on, mut s_on), (mut a_at, mut s_at)) = progress_queries(
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
            percentile(&mut a_on, 0.5),
            percentile(&mut a_at, 0.5),
            percentile(&mut s_on, 0.5),
            percentile(&mut s_at, 0.5)
        ),
    );

    let raw_db = RawSled::open(&w.raw).expect("raw sled opens");
    let k = args.appends;
    let (single, raw_db) = single_appends(&w, &store, raw_db, &db, &catalog, &mut rng, k, runs);
    let (conc, raw_db) = writers(&w, &store, raw_db, &catalog, &mut rng, k, runs);
    drop(raw_db);
    drop(cache);
    drop(store);
    drop(db);

    // 6 and 7b. GET /api/progress on `annals serve`, and its peak memory.
    say(n, "serving");
    let (rps, p99, first_ms, serve_rss) = serve::http(&w.annals, args.connections, args.http_secs);
    say(
        n,
        &format!(
            "http: {rps:.0} requests/s, p99 {p99:.2} ms, first request {first_ms:.0} ms, peak RSS {serve_rss:.0} MB"
        ),
    );

    let lines = lines(
        &single,
        &conc,
        &import,
        &import_rss,
        &cold,
        [&mut a_on, &mut s_on, &mut a_at, &mut s_at],
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

/// The table's rows, each with issue 14's bar where it sets one (issue 5's for the
/// HTTP rate).
#[allow(clippy::too_many_arguments)]
fn lines(
    single: &Single,
    conc: &Runs,
    import: &Runs,
    import_rss: &Runs,
    cold: &Cold,
    [a_on, s_on, a_at, s_at]: [&mut Vec<f64>; 4],
    (rps, http_p99, first_ms, serve_rss): (f64, f64, f64, f64),
    (a_disk, r_disk, s_disk, a_disk_snapshot): (f64, f64, f64, f64),
) -> Vec<Line> {
    let three = |name, unit, runs: &Runs| {
        let (a, r, s) = runs.medians();
        Line::new(name, unit, a).raw(r).sqlite(s)
    };
    let (a1, r1, s1) = single.rate.medians();
    let (a2, r2, s2) = conc.medians();
    let (a3, r3, _) = import.medians();
    let a4 = median(cold.metrics.annals.clone());
    let a_p99 = median(single.p99.annals.clone());
    let (on_a, on_s) = (percentile(a_on, 0.5), percentile(s_on, 0.5));
    let (at_a, at_s) = (percentile(a_at, 0.5), percentile(s_at, 0.5));
    let import_peak = median(import_rss.annals.clone());
    let open_scan = Runs {
        annals: cold
            .open
            .annals
            .iter()
            .zip(&cold.scan.annals)
            .map(|(a, b)| a + b)
            .collect(),
        raw: cold
            .open
            .raw
            .iter()
            .zip(&cold.scan.raw)
            .map(|(a, b)| a + b)
            .collect(),
        sqlite: Vec::new(),
    };
    let only = |name, unit, annals: f64, raw: f64| Line::new(name, unit, annals).raw(raw);
    vec![
        Line::new("1. durable single appends", "events/s", a1)
            .raw(r1)
            .sqlite(s1)
            .bar("≥ 0.9× raw sled's", a1 >= 0.9 * r1),
        three("1. single append latency p50", "ms", &single.p50),
        Line::new(
            "1. durable single appends, raw sled through its writer thread",
            "events/s",
            a1,
        )
        .raw(median(single.handed.0.clone())),
        Line::new(
            "1. single append latency p50, raw sled through its writer thread",
            "ms",
            median(single.p50.annals.clone()),
        )
        .raw(median(single.handed.1.clone())),
        Line::new(
            "1. single append latency p99, raw sled through its writer thread",
            "ms",
            a_p99,
        )
        .raw(median(single.handed.2.clone())),
        three("1. single append latency p99", "ms", &single.p99).bar("≤ 2 ms", a_p99 <= 2.0),
        Line::new(
            "1. disk floor: 300-byte write + fdatasync, p50",
            "ms",
            median(single.floor.clone()),
        ),
        Line::new("2. durable appends, 16 writers", "events/s", a2)
            .raw(r2)
            .sqlite(s2)
            .bar(
                "≥ 0.9× raw sled's and ≥ 3× SQLite's",
                a2 >= 0.9 * r2 && a2 >= 3.0 * s2,
            ),
        three(
            "3. import (raw sled: the same records; SQLite: batched inserts)",
            "events/s",
            import,
        )
        .bar("≥ 0.75× raw sled's", a3 >= 0.75 * r3),
        only(
            "3. import peak RSS (fresh process)",
            "MB",
            import_peak,
            median(import_rss.raw.clone()),
        )
        .bar("≤ 1 000 MB", import_peak <= 1000.0),
        Line::new("4. cold start, every default metric", "ms", a4)
            .sqlite(median(cold.metrics.sqlite.clone()))
            .bar("≤ 1 500 ms with the snapshot", a4 <= 1500.0),
        Line::new(
            "4. cold start, first after the import (no snapshot yet)",
            "ms",
            cold.first_ms,
        ),
        Line::new(
            "4. cold start, CPU time (user + system)",
            "ms",
            median(cold.cpu.annals.clone()),
        )
        .sqlite(median(cold.cpu.sqlite.clone())),
        three("4. cold open", "ms", &cold.open),
        three("4. full scan after the open", "ms", &cold.scan),
        three("4. cold open + full scan", "ms", &open_scan),
        Line::new("5. progress, any on, p50", "ms", on_a)
            .sqlite(on_s)
            .bar(
                "≤ 1 ms and ≥ 100× SQLite",
                on_a <= 1.0 && on_a * 100.0 <= on_s,
            ),
        Line::new("5. progress, any on, p99", "ms", percentile(a_on, 0.99))
            .sqlite(percentile(s_on, 0.99)),
        Line::new("5. progress, any known_at, p50", "ms", at_a)
            .sqlite(at_s)
            .bar(
                "≤ 1 ms and ≥ 100× SQLite",
                at_a <= 1.0 && at_a * 100.0 <= at_s,
            ),
        Line::new(
            "5. progress, any known_at, p99",
            "ms",
            percentile(a_at, 0.99),
        )
        .sqlite(percentile(s_at, 0.99)),
        Line::new("6. GET /api/progress", "requests/s", rps)
            .bar("≥ 15 000/s (issue 5)", rps >= 15_000.0),
        Line::new("6. GET /api/progress p99", "ms", http_p99),
        Line::new("6. first GET after start (fold)", "ms", first_ms),
        Line::new("7. disk per event", "bytes", a_disk)
            .raw(r_disk)
            .sqlite(s_disk)
            .bar("≤ 1.1× raw sled's", a_disk <= 1.1 * r_disk),
        Line::new(
            "7. disk per event with the fold's snapshot beside the log",
            "bytes",
            a_disk_snapshot,
        )
        .raw(r_disk)
        .sqlite(s_disk),
        Line::new("7. peak RSS of annals serve", "MB", serve_rss)
            .bar("≤ 400 MB", serve_rss <= 400.0),
    ]
}
