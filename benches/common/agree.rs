//! The figures both systems must agree on before any timing is shown: every default
//! metric for the current year, and progress on a random day (as known now, and as
//! known at a random moment).
use std::{collections::BTreeMap, path::Path};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use projections::{
    facts::Facts,
    metric::Metrics,
    period::{Period, Query},
    progress,
};

use super::{
    peer::{ProgressLine, Sqlite},
    synth::{self, Rng, LAST_YEAR},
};

/// The query "every default metric for the current year": the whole year, as known now.
pub fn year_query(known_at: DateTime<Utc>) -> Query {
    Query {
        period: Period::year(LAST_YEAR),
        on: NaiveDate::from_ymd_opt(LAST_YEAR, 12, 31).expect("a real day"),
        known_at,
    }
}

/// Every metric's value for a query, from the fold.
pub fn annals_values(facts: &Facts, metrics: &Metrics, q: &Query) -> BTreeMap<String, u64> {
    metrics
        .iter()
        .map(|m| (m.name.clone(), m.value(facts, q)))
        .collect()
}

/// Every metric's value for a query, from SQLite.
pub fn sqlite_values(db: &Sqlite, metrics: &Metrics, q: &Query) -> BTreeMap<String, u64> {
    let all: Vec<_> = metrics.iter().collect();
    db.values(&all, q).expect("the metric queries run")
}

/// Progress from the fold, in the form both systems are compared in.
pub fn annals_progress(
    facts: &Facts,
    metrics: &Metrics,
    year: i32,
    on: NaiveDate,
    known_at: DateTime<Utc>,
) -> Vec<ProgressLine> {
    progress::progress(facts, metrics, year, on, known_at)
        .into_iter()
        .map(|p| ProgressLine {
            metric: p.metric,
            target: p.target,
            actual: p.actual,
            last_year_actual: p.last_year_actual,
            last_year_recorded: p.last_year_recorded,
            last_year_target: p.last_year_target,
        })
        .collect()
}

/// A random day of the log's years (never a day with nothing to show).
pub fn random_on(rng: &mut Rng) -> NaiveDate {
    let year = synth::FIRST_YEAR + 1 + rng.below((LAST_YEAR - synth::FIRST_YEAR) as u64) as i32;
    synth::random_day(rng, year)
}

/// A random moment between the log's first and last recording.
pub fn random_known_at(rng: &mut Rng, span: (DateTime<Utc>, DateTime<Utc>)) -> DateTime<Utc> {
    let seconds = (span.1 - span.0).num_seconds().max(1) as u64;
    span.0 + Duration::seconds(rng.below(seconds) as i64)
}

/// What the agreement check compared.
#[derive(Debug, Clone)]
pub struct Agreement {
    /// Metrics compared for the current year.
    pub metrics: usize,
    /// Their values, for the record.
    pub values: BTreeMap<String, u64>,
    /// Progress lines compared (as known now and as known at a random moment).
    pub progress_lines: usize,
    /// The random day and moment used.
    pub on: NaiveDate,
    /// The random moment used.
    pub known_at: DateTime<Utc>,
}

/// Every difference between the systems' figures, one a line.
#[derive(Debug, thiserror::Error)]
#[error("{}", .0.join("\n"))]
pub struct Disagreement(pub Vec<String>);

/// Checks that both systems give the same figures, naming every difference.
pub fn check(
    facts: &Facts,
    db: &Sqlite,
    metrics: &Metrics,
    rng: &mut Rng,
    span: (DateTime<Utc>, DateTime<Utc>),
    now: DateTime<Utc>,
) -> Result<Agreement, Disagreement> {
    let q = year_query(now);
    let ours = annals_values(facts, metrics, &q);
    let theirs = sqlite_values(db, metrics, &q);
    let mut diffs: Vec<String> = ours
        .iter()
        .filter(|(name, v)| theirs.get(*name) != Some(v))
        .map(|(name, v)| format!("{name}: Annals {v}, SQLite {:?}", theirs.get(name)))
        .collect();
    if ours.values().all(|v| *v == 0) {
        diffs.push("every metric is zero: the log did not load".into());
    }
    let on = random_on(rng);
    let known_at = random_known_at(rng, span);
    let year = chrono::Datelike::year(&on);
    let mut lines = 0;
    for at in [now, known_at] {
        let a = annals_progress(facts, metrics, year, on, at);
        let s = db
            .progress(metrics, year, on, at)
            .expect("the progress queries run");
        if a != s {
            diffs.push(format!(
                "progress on {on} known at {at}: Annals {a:?}, SQLite {s:?}"
            ));
        }
        lines += a.len();
    }
    if lines == 0 {
        diffs.push(format!("no targets for {year}: progress compared nothing"));
    }
    if diffs.is_empty() {
        Ok(Agreement {
            metrics: ours.len(),
            values: ours,
            progress_lines: lines,
            on,
            known_at,
        })
    } else {
        Err(Disagreement(diffs))
    }
}

/// Bytes a file or folder takes on disk (allocated blocks, as `du` counts them).
pub fn disk_usage(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return 0;
    };
    let mut total = meta.blocks() * 512;
    if meta.is_dir() {
        if let Ok(entries) = std::fs::read_dir(path) {
            for e in entries.flatten() {
                total += disk_usage(&e.path());
            }
        }
    }
    total
}
