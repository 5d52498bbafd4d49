//! `cargo bench`: Annals against SQLite in the same run, on a deterministic synthetic
//! log of N events, for each N given (issue 5; BENCHMARKS.md says how to read it).
//!
//! ```sh
//! cargo bench --bench bench -- --n 10000,100000,1000000 --runs 5
//! ```
//!
//! Options: `--n LIST` (sizes), `--runs R` (repetitions; medians quoted), `--appends K`
//! (single appends per run; the 16 writers do 4×K in all), `--queries Q` (progress
//! queries per kind), `--http-secs S` and `--connections C` (the load generator),
//! `--dir DIR` (scratch space, default `target/bench-data`), `--markdown FILE` (append
//! the tables there too). Both systems must agree on every figure before any timing is
//! printed; otherwise the run fails.
#[path = "common/agree.rs"]
mod agree;
#[path = "common/peer.rs"]
mod peer;
#[path = "common/synth.rs"]
mod synth;

use std::{
    collections::BTreeMap,
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

use annals::{
    import,
    store::{Batch, Options, Store},
    views::Cache,
};
use chrono::Utc;
use events::{Catalog, Draft, NewEvent};
use projections::{metric::Metrics, progress};
use serde_json::{json, Value};

use peer::{Row, Sqlite};
use synth::{Rng, LAST_YEAR, SEED};

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
        child(&argv[2], Path::new(&argv[3]));
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

/// A cold rebuild in this fresh process: open, fold or query, every default metric.
/// Prints the wall time and this process's CPU time up to the figures (nothing is
/// dropped before the clock stops), and the figures.
fn child(what: &str, path: &Path) {
    let start = Instant::now();
    let catalog = Arc::new(Catalog::embedded());
    let metrics = Metrics::embedded(&catalog).expect("the embedded metrics");
    let q = agree::year_query(Utc::now());
    let (ms, cpu_ms, values) = match what {
        "cold-annals" => {
            let store = Store::open(path, catalog, Options::default()).expect("the store opens");
            let opened = start.elapsed();
            let facts = annals::views::fold(&store).expect("the log folds");
            let folded = start.elapsed();
            let values = agree::annals_values(&facts, &metrics, &q);
            let (ms, cpu) = (start.elapsed().as_secs_f64() * 1e3, cpu_ms());
            eprintln!(
                "open {opened:?}, fold {:?}, metrics {:?}",
                folded - opened,
                start.elapsed() - folded
            );
            (ms, cpu, values)
        }
        "cold-sqlite" => {
            let db = Sqlite::open(path).expect("the database opens");
            let values = agree::sqlite_values(&db, &metrics, &q);
            (start.elapsed().as_secs_f64() * 1e3, cpu_ms(), values)
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
        "import-annals" => {
            let jsonl = std::env::args().nth(4).expect("the JSONL file");
            let bytes = std::fs::read(jsonl).expect("the JSONL file");
            let store = Store::open(path, catalog, Options::default()).expect("the store opens");
            let t = Instant::now();
            let outcome = import::import(
                &store,
                &bytes,
                "bench.jsonl",
                "bench",
                import::Trust::Operator,
                false,
                &mut |_, _| {},
            )
            .expect("the synthetic log imports");
            let ms = t.elapsed().as_secs_f64() * 1e3;
            drop(store);
            let rss = peak_rss_mb(std::process::id());
            println!(
                "{}",
                json!({ "ms": ms, "added": outcome.added, "rss_mb": rss })
            );
            return;
        }
        other => panic!("unknown child {other}"),
    };
    println!(
        "{}",
        json!({ "ms": ms, "cpu_ms": cpu_ms, "values": values })
    );
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

fn run_child(what: &str, path: &Path) -> (f64, f64, BTreeMap<String, u64>) {
    let out = Command::new(std::env::current_exe().expect("this program"))
        .args(["--child", what])
        .arg(path)
        .output()
        .expect("the child runs");
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("the child's JSON");
    (
        v["ms"].as_f64().expect("ms"),
        v["cpu_ms"].as_f64().unwrap_or(f64::NAN),
        serde_json::from_value(v["values"].clone()).expect("values"),
    )
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    if xs.is_empty() {
        return f64::NAN;
    }
    xs[xs.len() / 2]
}

fn percentile(xs: &mut [f64], p: f64) -> f64 {
    xs.sort_by(f64::total_cmp);
    if xs.is_empty() {
        return f64::NAN;
    }
    let i = ((xs.len() as f64 - 1.0) * p).round() as usize;
    xs[i]
}

/// One row of the table.
struct Line {
    measure: &'static str,
    unit: &'static str,
    annals: f64,
    sqlite: Option<f64>,
    higher_is_better: bool,
    bar: Option<(String, bool)>,
}

impl Line {
    fn new(measure: &'static str, unit: &'static str, annals: f64, sqlite: Option<f64>) -> Self {
        let higher_is_better = unit.ends_with("/s");
        Line {
            measure,
            unit,
            annals,
            sqlite,
            higher_is_better,
            bar: None,
        }
    }

    fn bar(mut self, text: impl Into<String>, met: bool) -> Self {
        self.bar = Some((text.into(), met));
        self
    }
}

fn fmt(v: f64) -> String {
    if v.is_nan() {
        "—".into()
    } else if v >= 100.0 {
        format!("{:.0}", v)
    } else if v >= 10.0 {
        format!("{:.1}", v)
    } else if v >= 0.1 {
        format!("{:.2}", v)
    } else {
        format!("{:.3}", v)
    }
}

fn table(n: usize, lines: &[Line]) -> String {
    let mut t = format!(
        "### N = {n}\n\n| measure | unit | Annals | SQLite | Annals ÷ SQLite (× better) | bar (at 1 000 000) | met? |\n| --- | --- | ---: | ---: | ---: | --- | --- |\n"
    );
    for l in lines {
        let ratio = match l.sqlite {
            Some(s) if s > 0.0 && l.annals > 0.0 => {
                let r = if l.higher_is_better {
                    l.annals / s
                } else {
                    s / l.annals
                };
                format!("{}×", fmt(r))
            }
            _ => "—".into(),
        };
        let (bar, met) = match &l.bar {
            Some((text, met)) => (text.clone(), if *met { "met" } else { "**missed**" }),
            None => ("—".into(), ""),
        };
        t += &format!(
            "| {} | {} | {} | {} | {} | {} | {} |\n",
            l.measure,
            l.unit,
            fmt(l.annals),
            l.sqlite.map_or("—".into(), fmt),
            ratio,
            bar,
            met
        );
    }
    t.push('\n');
    t
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

fn open(dir: &Path, catalog: &Arc<Catalog>) -> Store {
    Store::open(dir, catalog.clone(), Options::default()).expect("the store opens")
}

fn fresh(path: &Path) {
    let _ = std::fs::remove_dir_all(path);
    let _ = std::fs::remove_file(path);
    for suffix in ["-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
}

#[allow(clippy::too_many_lines)]
fn measure(n: usize, args: &Args) -> String {
    let runs = args.runs;
    let say = |what: &str| eprintln!("[N={n}] {what}");
    let load_before = loadavg();
    let catalog = Arc::new(Catalog::embedded());
    let metrics = Metrics::embedded(&catalog).expect("the embedded metrics");
    let log = synth::generate(n, SEED);
    let bytes = log.jsonl();
    let span = log.recorded_span();
    drop(log);
    say(&format!(
        "generated {n} events ({} bytes of JSONL)",
        bytes.len()
    ));
    let work = args.dir.join(n.to_string());
    std::fs::create_dir_all(&work).expect("the scratch folder");
    // Kept for profiling (`annals import`, perf) and for the record.
    std::fs::write(work.join("log.jsonl"), &bytes).expect("the JSONL file");
    let adir = work.join("annals");
    let sfile = work.join("sqlite.db");

    // 3. Import (Annals) and batched inserts (SQLite), each into an empty store.
    // Annals imports in a fresh process each time, which also gives its peak memory.
    let (mut a_import, mut s_import, mut import_rss) = (Vec::new(), Vec::new(), Vec::new());
    let jsonl = work.join("log.jsonl");
    for run in 0..runs {
        fresh(&adir);
        let out = Command::new(std::env::current_exe().expect("this program"))
            .args(["--child", "import-annals"])
            .arg(&adir)
            .arg(&jsonl)
            .output()
            .expect("the child runs");
        assert!(
            out.status.success(),
            "the import failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).expect("the child's JSON");
        assert_eq!(v["added"], json!(n), "{v}");
        a_import.push(n as f64 / (v["ms"].as_f64().expect("ms") / 1e3));
        import_rss.push(v["rss_mb"].as_f64().unwrap_or(f64::NAN));
        fresh(&sfile);
        let mut db = Sqlite::open(&sfile).expect("SQLite opens");
        let t = Instant::now();
        db.import(&bytes, 10_000).expect("SQLite imports");
        s_import.push(n as f64 / t.elapsed().as_secs_f64());
        say(&format!(
            "import run {}: Annals {:.0}/s, SQLite {:.0}/s",
            run + 1,
            a_import[run],
            s_import[run]
        ));
    }

    // 7a. Bytes on disk per event, each store closed and flushed.
    let a_disk = agree::disk_usage(&adir) as f64 / n as f64;
    let s_disk = Sqlite::open(&sfile)
        .and_then(|db| db.bytes_on_disk())
        .expect("SQLite's size") as f64
        / n as f64;

    // 4. Cold rebuild in a fresh process; both must give the same values. The first
    // open after the import folds the whole log (and leaves the fold's snapshot beside
    // it); the runs after it start from that snapshot, as every later start does.
    let (a_cold_first, _, first_values) = run_child("cold-annals", &adir);
    let a_disk_snapshot = agree::disk_usage(&adir) as f64 / n as f64;
    let (mut a_cold, mut s_cold, mut a_cold_cpu, mut s_cold_cpu) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        let (ms, cpu, a_values) = run_child("cold-annals", &adir);
        a_cold.push(ms);
        a_cold_cpu.push(cpu);
        let (ms, cpu, s_values) = run_child("cold-sqlite", &sfile);
        s_cold.push(ms);
        s_cold_cpu.push(cpu);
        assert_eq!(
            a_values, s_values,
            "the cold rebuilds disagree on the current year's metrics"
        );
        assert_eq!(
            a_values, first_values,
            "the fold from the snapshot disagrees with the fold of the whole log"
        );
    }
    say(&format!(
        "cold rebuild: Annals {:.0} ms, SQLite {:.0} ms",
        median(a_cold.clone()),
        median(s_cold.clone())
    ));

    // The figures must agree before any timing is shown.
    let store = open(&adir, &catalog);
    let db = Sqlite::open(&sfile).expect("SQLite opens");
    let cache = Cache::default();
    let now = Utc::now();
    let mut rng = Rng::new(SEED ^ n as u64);
    {
        let facts = cache.read(&store).expect("the log folds");
        match agree::check(&facts, &db, &metrics, &mut rng, span, now) {
            Ok(a) => say(&format!(
                "both systems agree: {} metrics for {LAST_YEAR} (main_sessions = {}), {} progress lines (on {}, known now and at {})",
                a.metrics, a.values["main_sessions"], a.progress_lines, a.on, a.known_at
            )),
            Err(diffs) => {
                eprintln!("the systems disagree; no timing is shown:\n{diffs}");
                std::process::exit(1);
            }
        }
    }

    // 5. Progress, warm: random `on` known now, then random `known_at` too.
    let budget = Duration::from_secs(20);
    let mut timed = |system: &str, with_known_at: bool| -> Vec<f64> {
        let mut lat = Vec::new();
        let started = Instant::now();
        while lat.len() < args.queries && (lat.len() < 3 || started.elapsed() < budget) {
            let on = agree::random_on(&mut rng);
            let at = if with_known_at {
                agree::random_known_at(&mut rng, span)
            } else {
                Utc::now()
            };
            let year = chrono::Datelike::year(&on);
            let t = Instant::now();
            let lines = if system == "annals" {
                let facts = cache.read(&store).expect("the cache");
                progress::progress(&facts, &metrics, year, on, at).len()
            } else {
                db.progress(&metrics, year, on, at)
                    .expect("SQLite progress")
                    .len()
            };
            lat.push(t.elapsed().as_secs_f64() * 1e3);
            assert!(lines > 0 || with_known_at, "progress without targets");
        }
        lat
    };
    let mut a_on = timed("annals", false);
    let mut s_on = timed("sqlite", false);
    let mut a_at = timed("annals", true);
    let mut s_at = timed("sqlite", true);
    say(&format!(
        "progress p50: Annals {:.3} ms (any known_at {:.3} ms), SQLite {:.1} ms ({:.1} ms)",
        percentile(&mut a_on, 0.5),
        percentile(&mut a_at, 0.5),
        percentile(&mut s_on, 0.5),
        percentile(&mut s_at, 0.5)
    ));

    // 1. Durable single appends, one writer.
    let k = args.appends;
    let (mut a_single, mut a_p50, mut a_p99) = (Vec::new(), Vec::new(), Vec::new());
    let (mut s_single, mut s_p50, mut s_p99) = (Vec::new(), Vec::new(), Vec::new());
    let mut floor = Vec::new();
    for _ in 0..runs {
        let drafts: Vec<Value> = (0..k).map(|_| meeting(&mut rng)).collect();
        let evs: Vec<NewEvent> = drafts.iter().map(|d| new_event(&catalog, d)).collect();
        let mut lat = Vec::with_capacity(k);
        let t = Instant::now();
        for ev in evs {
            let one = Instant::now();
            store
                .append(Batch {
                    events: vec![ev],
                    author: "bench".into(),
                    ..Batch::default()
                })
                .expect("the append");
            lat.push(one.elapsed().as_secs_f64() * 1e3);
        }
        a_single.push(k as f64 / t.elapsed().as_secs_f64());
        a_p50.push(percentile(&mut lat, 0.5));
        a_p99.push(percentile(&mut lat, 0.99));
        // The disk's floor: one small write plus fdatasync, in a file whose blocks are
        // already allocated (as a log's are), so no metadata needs journalling.
        let floor_path = work.join("floor");
        let mut floor_file = std::fs::File::create(&floor_path).expect("a scratch file");
        {
            use std::io::Write;
            floor_file
                .write_all(&vec![0u8; 256 * 4096])
                .and_then(|()| floor_file.sync_all())
                .expect("a preallocated scratch file");
        }
        let mut lat = Vec::with_capacity(k);
        for i in 0..k {
            use std::io::{Seek, SeekFrom, Write};
            let one = Instant::now();
            floor_file
                .seek(SeekFrom::Start((i as u64 % 256) * 4096))
                .and_then(|_| floor_file.write_all(&[b'x'; 300]))
                .and_then(|()| floor_file.sync_data())
                .expect("write and fdatasync");
            lat.push(one.elapsed().as_secs_f64() * 1e3);
        }
        floor.push(percentile(&mut lat, 0.5));
        let _ = std::fs::remove_file(&floor_path);
        let rows: Vec<Row> = drafts.iter().map(|d| Row::of(d, Utc::now())).collect();
        let mut lat = Vec::with_capacity(k);
        let t = Instant::now();
        for row in &rows {
            let one = Instant::now();
            db.append(row).expect("the insert");
            lat.push(one.elapsed().as_secs_f64() * 1e3);
        }
        s_single.push(k as f64 / t.elapsed().as_secs_f64());
        s_p50.push(percentile(&mut lat, 0.5));
        s_p99.push(percentile(&mut lat, 0.99));
    }
    say(&format!(
        "single appends: Annals {:.0}/s p99 {:.2} ms, SQLite {:.0}/s p99 {:.2} ms",
        median(a_single.clone()),
        median(a_p99.clone()),
        median(s_single.clone()),
        median(s_p99.clone())
    ));

    // 2. Durable concurrent appends: 16 writers through Store::append (and 16 SQLite
    //    connections, one insert per transaction each).
    let writers = 16;
    let per = (k * 4 / writers).max(1);
    let (mut a_conc, mut s_conc) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let batches: Vec<Vec<NewEvent>> = (0..writers)
            .map(|_| {
                (0..per)
                    .map(|_| new_event(&catalog, &meeting(&mut rng)))
                    .collect()
            })
            .collect();
        let t = Instant::now();
        std::thread::scope(|s| {
            for evs in batches {
                let store = store.clone();
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
        a_conc.push((writers * per) as f64 / t.elapsed().as_secs_f64());
        let rows: Vec<Vec<Row>> = (0..writers)
            .map(|_| {
                (0..per)
                    .map(|_| Row::of(&meeting(&mut rng), Utc::now()))
                    .collect()
            })
            .collect();
        let t = Instant::now();
        std::thread::scope(|s| {
            for rows in rows {
                let path = sfile.clone();
                s.spawn(move || {
                    let db = Sqlite::open(&path).expect("SQLite opens");
                    for row in &rows {
                        db.append(row).expect("the insert");
                    }
                });
            }
        });
        s_conc.push((writers * per) as f64 / t.elapsed().as_secs_f64());
    }
    say(&format!(
        "16 writers: Annals {:.0}/s, SQLite {:.0}/s",
        median(a_conc.clone()),
        median(s_conc.clone())
    ));
    drop(cache);
    drop(store);
    drop(db);

    // 6 and 7b. GET /api/progress on `annals serve`, and its peak memory.
    say("serving");
    let (rps, p99, first_ms, rss_mb) = http(&adir, args);
    say(&format!(
        "http: {rps:.0} requests/s, p99 {p99:.2} ms, first request {first_ms:.0} ms, peak RSS {rss_mb:.0} MB"
    ));

    let med = median;
    let lines = vec![
        {
            let (a, s) = (med(a_single), med(s_single.clone()));
            Line::new("1. durable single appends", "events/s", a, Some(s)).bar("≥ SQLite's", a >= s)
        },
        Line::new(
            "1. single append latency p50",
            "ms",
            med(a_p50),
            Some(med(s_p50)),
        ),
        {
            let a = med(a_p99);
            Line::new(
                "1. single append latency p99",
                "ms",
                a,
                Some(med(s_p99.clone())),
            )
            .bar("≤ 2 ms", a <= 2.0)
        },
        Line::new(
            "1. disk floor: 300-byte write + fdatasync, p50",
            "ms",
            med(floor),
            None,
        ),
        {
            let a = med(a_conc);
            Line::new(
                "2. durable appends, 16 writers",
                "events/s",
                a,
                Some(med(s_conc)),
            )
            .bar("≥ 50 000/s", a >= 50_000.0)
        },
        {
            let a = med(a_import);
            Line::new(
                "3. import (SQLite: batched inserts)",
                "events/s",
                a,
                Some(med(s_import)),
            )
            .bar("≥ 150 000/s", a >= 150_000.0)
        },
        {
            let (a, s) = (med(a_cold), med(s_cold));
            Line::new("4. cold rebuild, every default metric", "ms", a, Some(s))
                .bar("≤ 500 ms and ≤ ⅓ SQLite", a <= 500.0 && a * 3.0 <= s)
        },
        Line::new(
            "4. cold rebuild, first open after the import (no snapshot yet)",
            "ms",
            a_cold_first,
            None,
        ),
        Line::new(
            "4. cold rebuild, CPU time (user + system)",
            "ms",
            med(a_cold_cpu),
            Some(med(s_cold_cpu)),
        ),
        {
            let (a, s) = (percentile(&mut a_on, 0.5), percentile(&mut s_on, 0.5));
            Line::new("5. progress, any on, p50", "ms", a, Some(s))
                .bar("≤ 1 ms and ≥ 100× SQLite", a <= 1.0 && a * 100.0 <= s)
        },
        Line::new(
            "5. progress, any on, p99",
            "ms",
            percentile(&mut a_on, 0.99),
            Some(percentile(&mut s_on, 0.99)),
        ),
        {
            let (a, s) = (percentile(&mut a_at, 0.5), percentile(&mut s_at, 0.5));
            Line::new("5. progress, any known_at, p50", "ms", a, Some(s))
                .bar("≤ 10 ms and ≥ 100× SQLite", a <= 10.0 && a * 100.0 <= s)
        },
        Line::new(
            "5. progress, any known_at, p99",
            "ms",
            percentile(&mut a_at, 0.99),
            Some(percentile(&mut s_at, 0.99)),
        ),
        Line::new("6. GET /api/progress", "requests/s", rps, None)
            .bar("≥ 15 000/s", rps >= 15_000.0),
        Line::new("6. GET /api/progress p99", "ms", p99, None),
        Line::new("6. first GET after start (fold)", "ms", first_ms, None),
        Line::new(
            "3. import peak RSS (fresh process)",
            "MB",
            med(import_rss),
            None,
        ),
        Line::new("7. disk per event", "bytes", a_disk, Some(s_disk))
            .bar("≤ 300 bytes", a_disk <= 300.0),
        Line::new(
            "7. disk per event with the fold's snapshot beside the log",
            "bytes",
            a_disk_snapshot,
            Some(s_disk),
        ),
        Line::new("7. peak RSS of annals serve", "MB", rss_mb, None)
            .bar("≤ 300 MB", rss_mb <= 300.0),
    ];
    let mut t = table(n, &lines);
    t += &format!(
        "Load average (1, 5, 15 min) at the start: {load_before}; at the end: {}.\n\n",
        loadavg()
    );
    t
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

/// Starts `annals serve` on the store, warms it, drives `GET /api/progress` from
/// keep-alive connections for a fixed time, reads its peak RSS and stops it.
/// Returns (requests/s, p99 ms, first request ms, peak RSS MB).
fn http(dir: &Path, args: &Args) -> (f64, f64, f64, f64) {
    let mut server = Command::new(env!("CARGO_BIN_EXE_annals"))
        .arg("--store")
        .arg(dir)
        .args([
            "--lang",
            "en",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--open-reads",
            "--no-demo",
        ])
        .env("ANNALS_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("annals serve starts");
    let pid = server.id();
    let mut stdout = BufReader::new(server.stdout.take().expect("its output"));
    let mut addr = String::new();
    let mut line = String::new();
    while stdout.read_line(&mut line).expect("its output") > 0 {
        if let Some(i) = line.find("http://") {
            addr = line[i + 7..].trim().to_owned();
            break;
        }
        line.clear();
    }
    assert!(!addr.is_empty(), "annals serve printed no address");
    // Keep draining its output so it never blocks on a full pipe.
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    let path = format!("/api/progress?year={LAST_YEAR}&on={LAST_YEAR}-06-30");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let (rps, p99, first_ms) = runtime.block_on(load(
        &addr,
        &path,
        args.connections,
        Duration::from_secs(args.http_secs),
    ));
    drop(runtime);
    let rss = peak_rss_mb(pid);
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status();
    let _ = server.wait();
    (rps, p99, first_ms, rss)
}

fn peak_rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// The load generator: `connections` keep-alive connections, each sending the next
/// request when the last answer is read, until `duration` has passed (and at most a
/// million requests). Loopback only.
async fn load(addr: &str, path: &str, connections: usize, duration: Duration) -> (f64, f64, f64) {
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").into_bytes();
    async fn one(
        conn: &mut tokio::net::TcpStream,
        request: &[u8],
        buf: &mut Vec<u8>,
    ) -> std::io::Result<()> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        conn.write_all(request).await?;
        buf.clear();
        let mut chunk = [0u8; 16 * 1024];
        loop {
            let n = conn.read(&mut chunk).await?;
            if n == 0 {
                return Err(std::io::Error::other("the server closed the connection"));
            }
            buf.extend_from_slice(&chunk[..n]);
            let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                continue;
            };
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            if !head.starts_with("http/1.1 200") {
                return Err(std::io::Error::other(format!("answer: {head}")));
            }
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .ok_or_else(|| std::io::Error::other("no content-length"))?;
            while buf.len() < end + 4 + length {
                let n = conn.read(&mut chunk).await?;
                if n == 0 {
                    return Err(std::io::Error::other("the body was cut short"));
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            return Ok(());
        }
    }
    // The first request folds the log into the server's cache.
    let mut conn = tokio::net::TcpStream::connect(addr)
        .await
        .expect("the server accepts");
    let mut buf = Vec::new();
    let t = Instant::now();
    one(&mut conn, &request, &mut buf)
        .await
        .expect("the first request");
    let first_ms = t.elapsed().as_secs_f64() * 1e3;
    drop(conn);
    let budget = 1_000_000 / connections;
    let started = Instant::now();
    let tasks: Vec<_> = (0..connections)
        .map(|_| {
            let request = request.clone();
            let addr = addr.to_owned();
            tokio::spawn(async move {
                let mut conn = tokio::net::TcpStream::connect(&addr)
                    .await
                    .expect("the server accepts");
                conn.set_nodelay(true).expect("nodelay");
                let mut buf = Vec::new();
                let mut lat = Vec::new();
                while started.elapsed() < duration && lat.len() < budget {
                    let t = Instant::now();
                    one(&mut conn, &request, &mut buf).await.expect("a request");
                    lat.push(t.elapsed().as_secs_f64() * 1e3);
                }
                lat
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("a connection"));
    }
    let secs = started.elapsed().as_secs_f64();
    let rps = all.len() as f64 / secs;
    (rps, percentile(&mut all, 0.99), first_ms)
}
