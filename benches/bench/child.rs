//! What the benchmark runs in a fresh process of its own (`bench --child WHAT PATH …`):
//! cold starts, full scans and imports, each printing one JSON line. A fresh process is
//! what makes a start cold and gives an import's peak memory alone.
use std::{
    path::Path,
    process::Command,
    sync::Arc,
    time::{Duration, Instant},
};

use annals::{
    intake,
    store::{Filter, Options, Store},
};
use chrono::Utc;
use events::Catalog;
use projections::{metric::Metrics, progress};
use serde_json::{json, Value};

use crate::{
    agree,
    peer::Sqlite,
    rawsled::{self, RawSled},
    serve::{load, peak_rss_mb},
    synth::{Rng, LAST_YEAR, SEED},
};

/// Runs the child `what` on `path` (and `extra`), in this process.
pub fn run(what: &str, path: &Path, extra: Option<&str>) {
    let start = Instant::now();
    let catalog = Arc::new(Catalog::embedded());
    let metrics = Metrics::embedded(&catalog).expect("the embedded metrics");
    let q = agree::year_query(Utc::now());
    let out = match what {
        // A cold rebuild: open, fold (or query), every default metric. The wall time
        // and this process's CPU time are taken up to the figures (nothing is dropped
        // before the clock stops).
        "cold-annals" => {
            let store = Store::open(path, catalog, Options::default()).expect("the store opens");
            let opened = start.elapsed();
            let facts = annals::views::fold(&store).expect("the log folds");
            let values = agree::annals_values(&facts, &metrics, &q);
            let (ms, cpu) = (start.elapsed().as_secs_f64() * 1e3, cpu_ms());
            json!({ "ms": ms, "cpu_ms": cpu, "open_ms": opened.as_secs_f64() * 1e3, "values": values })
        }
        "cold-sqlite" => {
            let db = Sqlite::open(path).expect("the database opens");
            let values = agree::sqlite_values(&db, &metrics, &q);
            json!({ "ms": start.elapsed().as_secs_f64() * 1e3, "cpu_ms": cpu_ms(), "values": values })
        }
        // Open and read every event once: through the store (each record decoded into
        // an envelope, its link checked), and through bare sled (each value touched).
        "scan-annals" => {
            let store = Store::open(path, catalog, Options::default()).expect("the store opens");
            let opened = start.elapsed();
            let mut count = 0u64;
            for e in store.scan(Filter::default()) {
                e.expect("an event");
                count += 1;
            }
            json!({ "open_ms": opened.as_secs_f64() * 1e3, "scan_ms": (start.elapsed() - opened).as_secs_f64() * 1e3, "count": count })
        }
        "scan-raw" => {
            let db = RawSled::open(path).expect("raw sled opens");
            let opened = start.elapsed();
            let (count, crc) = db.scan().expect("raw sled scans");
            json!({ "open_ms": opened.as_secs_f64() * 1e3, "scan_ms": (start.elapsed() - opened).as_secs_f64() * 1e3, "count": count, "crc": crc })
        }
        // An import into an empty store, timed from the file in memory to the answer;
        // then the process's peak memory.
        "import-annals" => {
            let bytes = std::fs::read(extra.expect("the JSONL file")).expect("the JSONL file");
            let store = Store::open(path, catalog, Options::default()).expect("the store opens");
            let t = Instant::now();
            let outcome = intake::jsonl::import(
                &store,
                &bytes,
                "bench.jsonl",
                "bench",
                intake::Trust::Operator,
                false,
                &mut |_, _| {},
            )
            .expect("the synthetic log imports");
            let ms = t.elapsed().as_secs_f64() * 1e3;
            drop(store);
            json!({ "ms": ms, "added": outcome.added, "rss_mb": peak_rss_mb(std::process::id()) })
        }
        "import-raw" => {
            let file = Path::new(extra.expect("the records file"));
            let records = rawsled::load(file).expect("the records file");
            let db = RawSled::open(path).expect("raw sled opens");
            let t = Instant::now();
            db.write(&records).expect("raw sled writes");
            let ms = t.elapsed().as_secs_f64() * 1e3;
            drop(db);
            json!({ "ms": ms, "added": records.len(), "rss_mb": peak_rss_mb(std::process::id()) })
        }
        // For `perf record`: measure 2 alone, on a store the bench left, for about ten
        // seconds (rounds of 16 writers × 250 single appends); prints each round's rate.
        "writers-annals" | "writers-raw" => {
            // New ids each time, never the synthetic log's.
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .expect("after 1970")
                .as_nanos() as u64;
            let mut rng = Rng::new(SEED ^ nanos);
            let store = (what == "writers-annals").then(|| {
                Store::open(path, catalog.clone(), Options::default()).expect("the store opens")
            });
            let mut raw =
                (what == "writers-raw").then(|| RawSled::open(path).expect("raw sled opens"));
            let t = Instant::now();
            while t.elapsed() < Duration::from_secs(10) {
                let rate = match (&store, raw.take()) {
                    (Some(store), _) => crate::writers::annals_writers(
                        store,
                        crate::writers::writer_events(&catalog, &mut rng, 250),
                    ),
                    (None, Some(db)) => {
                        let (rate, db) = crate::writers::raw_writers(
                            db,
                            crate::writers::writer_records(&catalog, &mut rng, 250),
                        );
                        raw = Some(db);
                        rate
                    }
                    (None, None) => unreachable!(),
                };
                eprintln!("{rate:.0} events/s");
            }
            return;
        }
        // For `perf`: measure 1 alone, a store's or raw sled's writer thread answering
        // 2 000 single appends from one caller; prints the rate, p50 and p99.
        "singles-annals" | "singles-raw" => {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .expect("after 1970")
                .as_nanos() as u64;
            let mut rng = Rng::new(SEED ^ nanos);
            let mut evs = crate::writers::writer_events(&catalog, &mut rng, 125).concat();
            let mut lat = crate::stats::Latencies::default();
            let t = Instant::now();
            if what == "singles-annals" {
                let store = Store::open(path, catalog.clone(), Options::default())
                    .expect("the store opens");
                for ev in evs.drain(..) {
                    let one = Instant::now();
                    crate::append_one(&store, ev);
                    lat.record(one.elapsed().as_secs_f64() * 1e3);
                }
            } else {
                let group =
                    rawsled::GroupWriter::start(RawSled::open(path).expect("raw sled opens"));
                let appender = group.handle();
                for ev in evs.drain(..) {
                    let r = crate::raw_record(&ev, 0);
                    let one = Instant::now();
                    appender.append(r).expect("the raw append");
                    lat.record(one.elapsed().as_secs_f64() * 1e3);
                }
            }
            let rate = lat.len() as f64 / t.elapsed().as_secs_f64();
            eprintln!(
                "{rate:.0}/s p50 {:.3} ms p99 {:.3} ms",
                lat.quantile(0.5),
                lat.quantile(0.99)
            );
            return;
        }
        "profile-progress" => {
            // For `perf record`: warm progress queries for five seconds.
            let store = Store::open(path, catalog, Options::default()).expect("the store opens");
            let facts = annals::views::fold(&store).expect("the log folds");
            let mut rng = Rng::new(SEED);
            let mut n = 0;
            let t = Instant::now();
            while t.elapsed() < Duration::from_secs(5) {
                let on = agree::random_on(&mut rng);
                let year = chrono::Datelike::year(&on);
                n += progress::progress(&facts, &metrics, year, on, Utc::now()).len();
            }
            eprintln!("{n} progress lines");
            return;
        }
        "load" => {
            // For `perf record -p` on a running server: ten seconds of GET /api/progress.
            let addr = path.to_string_lossy().into_owned();
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            let query = format!("/api/progress?year={LAST_YEAR}&on={LAST_YEAR}-06-30");
            let (rps, p99, _) = runtime.block_on(load(&addr, &query, 16, Duration::from_secs(10)));
            println!("{rps:.0} requests/s, p99 {p99:.2} ms");
            return;
        }
        other => panic!("unknown child {other}"),
    };
    println!("{out}");
}

/// Runs the child `what` in a fresh process and returns its JSON line.
pub fn spawn(what: &str, path: &Path, extra: Option<&Path>) -> Value {
    let mut cmd = Command::new(std::env::current_exe().expect("this program"));
    cmd.args(["--child", what]).arg(path);
    if let Some(extra) = extra {
        cmd.arg(extra);
    }
    let out = cmd.output().expect("the child runs");
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the child's JSON")
}

/// A number from a child's JSON.
pub fn num(v: &Value, key: &str) -> f64 {
    v[key].as_f64().unwrap_or(f64::NAN)
}

/// CPU time (user + system) this process has used so far, from /proc.
fn cpu_ms() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command's closing parenthesis; utime and stime are 14 and 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        f.get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    // Fields are counted from 1 with pid and comm as 1 and 2; `rest` starts at field 3.
    (ticks(11) + ticks(12)) * 10.0
}
