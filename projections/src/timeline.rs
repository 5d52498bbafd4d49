//! Metrics as series over months, quarters or halves, and the chronological timeline of
//! events with their corrections beside them.
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::{
    facts::{Facts, Revision, Status},
    metric::{Metric, Scope},
    period::{Bucket, Lang, Period, Query},
};

/// One bucket of a series.
#[derive(Debug, Clone, Serialize)]
pub struct Point {
    /// The bucket (`2023-06`, `2023Q2`, …).
    pub period: Period,
    /// Its name in the requested language.
    pub label: String,
    /// The metric over the bucket (cumulative metrics: up to its end).
    pub value: u64,
}

/// A metric over each bucket of the query's period, counting only what occurred by `on`.
pub fn series(metric: &Metric, facts: &Facts, q: &Query, by: Bucket, lang: Lang) -> Vec<Point> {
    q.period
        .buckets(by)
        .into_iter()
        .map(|bucket| {
            let from = match metric.scope {
                Scope::Period => bucket.from(),
                Scope::Cumulative => NaiveDate::MIN,
            };
            let to = bucket.to().min(q.on);
            let value = if to < bucket.from() {
                0
            } else {
                metric.value_between(facts, from, to, q.known_at)
            };
            Point {
                period: bucket,
                label: bucket.label(lang),
                value,
            }
        })
        .collect()
}

/// One event in the timeline, with its corrections.
#[derive(Debug, Clone, Serialize)]
pub struct Entry<'a> {
    /// Its id.
    pub id: Uuid,
    /// Its seq.
    pub seq: u64,
    /// Its kind.
    pub kind: &'a str,
    /// When it happened.
    pub occurred: events::Occurred,
    /// When it was recorded.
    pub recorded_at: DateTime<Utc>,
    /// Who recorded it.
    pub recorded_by: &'a str,
    /// How it stands at `known_at`.
    pub status: Status,
    /// Its data as first recorded.
    pub original: Value,
    /// Its data as known at `known_at` (`null` when voided).
    pub current: Option<Value>,
    /// The corrections known at `known_at`, in order.
    pub corrections: Vec<Revision<'a>>,
}

/// Every event whose days overlap the period and which was known at `known_at`, in
/// order of occurrence (then seq), with corrections beside what they correct.
pub fn events<'a>(facts: &'a Facts, period: &Period, known_at: DateTime<Utc>) -> Vec<Entry<'a>> {
    let mut out: Vec<Entry> = facts
        .iter()
        .filter(|f| f.recorded_at() <= known_at)
        .filter(|f| f.occurred().start() <= period.to() && f.occurred().end() >= period.from())
        .map(|f| Entry {
            id: f.id(),
            seq: f.seq(),
            kind: f.kind(),
            occurred: f.occurred(),
            recorded_at: f.recorded_at(),
            recorded_by: f.recorded_by(),
            status: f.status_at(known_at),
            original: f.original().to_value(),
            current: f.data_at(known_at).map(|d| d.to_value()),
            corrections: f.corrections().filter(|r| r.at <= known_at).collect(),
        })
        .collect();
    out.sort_by_key(|e| (e.occurred.start(), e.seq));
    out
}
