//! Measure 5: warm progress questions, the same ones asked of Annals and of SQLite.
use std::time::{Duration, Instant};

use annals::{store::Store, views::Cache};
use chrono::Utc;
use projections::{metric::Metrics, progress};

use crate::{agree, peer::Sqlite, stats::Latencies, synth::Rng};

/// Measure 5: progress, warm: random `on` known now, then random `known_at` too, in both
/// systems (bounded at 20 s per kind). Returns (Annals, SQLite) for each kind.
pub fn progress_queries(
    store: &Store,
    cache: &Cache,
    db: &Sqlite,
    metrics: &Metrics,
    seed: u64,
    span: (chrono::DateTime<Utc>, chrono::DateTime<Utc>),
    queries: usize,
) -> ((Latencies, Latencies), (Latencies, Latencies)) {
    let budget = Duration::from_secs(20);
    // Each kind of question draws from a seed of its own, so both systems are asked the
    // same questions and every run the same ones, however many SQLite answers in its
    // time (as-of questions fall in two groups, a moment before the year asked about
    // and one after it, and a draw that moves the median across the border moves it
    // a hundredfold).
    let timed = |system: &str, with_known_at: bool| -> Latencies {
        let mut rng = Rng::new(seed ^ u64::from(with_known_at));
        let rng = &mut rng;
        let mut lat = Latencies::default();
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
            lat.record(t.elapsed().as_secs_f64() * 1e3);
            assert!(lines > 0 || with_known_at, "progress without targets");
        }
        lat
    };
    let on = (timed("annals", false), timed("sqlite", false));
    let at = (timed("annals", true), timed("sqlite", true));
    (on, at)
}
