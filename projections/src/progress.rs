//! Targets and progress: this year's plan against what is done, with the share of the
//! year elapsed ("时间过半、任务过半"), and last year's figure on the same day.
use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use events::catalog::TARGET_SET;
use serde::Serialize;

use crate::{
    facts::Facts,
    metric::{Metric, Metrics},
    period::{Period, Query},
};

/// One value a target took, and when.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetRevision {
    /// The target value.
    pub value: u64,
    /// The seq of the `target_set` event (or of its amendment).
    pub seq: u64,
    /// The day it was set.
    pub set_on: NaiveDate,
    /// When the log learned of it.
    pub recorded_at: DateTime<Utc>,
    /// Who recorded it.
    pub recorded_by: String,
    /// The document it rests on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub basis: Option<String>,
}

/// The targets of a year as known at a moment: metric name → every revision, oldest
/// first; the last is the one in force.
pub fn targets(
    facts: &Facts,
    year: i32,
    known_at: DateTime<Utc>,
) -> BTreeMap<String, Vec<TargetRevision>> {
    let mut out: BTreeMap<String, Vec<TargetRevision>> = BTreeMap::new();
    for fact in facts.of_kind(TARGET_SET) {
        if fact.recorded_at() > known_at {
            break;
        }
        let Some(rev) = fact.revision_at(known_at) else {
            continue;
        };
        let Some(data) = rev.data else { continue };
        let (Some(y), Some(metric), Some(value)) = (
            data.get("year").and_then(|v| v.as_i64()),
            data.get("metric").and_then(|v| v.as_str()),
            data.get("value").and_then(|v| v.as_u64()),
        ) else {
            continue;
        };
        if y != i64::from(year) {
            continue;
        }
        out.entry(metric.to_owned())
            .or_default()
            .push(TargetRevision {
                value,
                seq: rev.seq,
                set_on: fact.occurred().start(),
                recorded_at: rev.at,
                recorded_by: rev.by.to_owned(),
                basis: data
                    .get("basis")
                    .and_then(|v| v.as_str())
                    .map(str::to_owned),
            });
    }
    out
}

/// Whether a metric keeps pace with the year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Pace {
    /// The target is reached.
    Done,
    /// The share done is at least the share of the year elapsed.
    OnTrack,
    /// The share done is below the share of the year elapsed.
    Behind,
}

/// One metric's progress against its target.
#[derive(Debug, Clone, Serialize)]
pub struct Progress {
    /// The metric's name.
    pub metric: String,
    /// Its figure number, if any.
    pub figure: Option<String>,
    /// Chinese label.
    pub label_zh: String,
    /// English label.
    pub label_en: String,
    /// Chinese unit.
    pub unit_zh: String,
    /// English unit.
    pub unit_en: String,
    /// The year.
    pub year: i32,
    /// The day computed for.
    pub on: NaiveDate,
    /// What is done by `on`.
    pub actual: u64,
    /// The target in force.
    pub target: u64,
    /// actual / target.
    pub share_done: f64,
    /// Days of the year elapsed by `on` (its ordinal), clipped to the year.
    pub elapsed_days: u32,
    /// Days in the year.
    pub days_in_year: u32,
    /// elapsed_days / days_in_year.
    pub share_elapsed: f64,
    /// Done, on track or behind.
    pub pace: Pace,
    /// How many more it would take to be on pace (0 unless behind).
    pub behind_by: u64,
    /// How many days of the year the work lags the calendar (0 unless behind).
    pub behind_by_days: u32,
    /// The same metric on the same day last year.
    pub last_year_actual: u64,
    /// Whether the log holds any of the metric's events for last year at all.
    pub last_year_recorded: bool,
    /// actual − last_year_actual.
    pub change: i64,
    /// Last year's target, if one was set.
    pub last_year_target: Option<u64>,
    /// Every revision of this year's target, oldest first.
    pub target_history: Vec<TargetRevision>,
}

/// Days elapsed in `year` by `on` (inclusive), clipped to 0..=days in the year.
pub fn elapsed(year: i32, on: NaiveDate) -> (u32, u32) {
    let days = Period::year(year).to().ordinal();
    let elapsed = if on.year() < year {
        0
    } else if on.year() > year {
        days
    } else {
        on.ordinal()
    };
    (elapsed, days)
}

/// Progress of every metric that has a target for `year`, on `on`, as known at `known_at`.
pub fn progress(
    facts: &Facts,
    metrics: &Metrics,
    year: i32,
    on: NaiveDate,
    known_at: DateTime<Utc>,
) -> Vec<Progress> {
    let this_year = targets(facts, year, known_at);
    let last_year = targets(facts, year - 1, known_at);
    metrics
        .iter()
        .filter_map(|m| {
            let history = this_year.get(&m.name)?;
            let query = Query {
                period: Period::year(year),
                on,
                known_at,
            };
            let last_target = last_year
                .get(&m.name)
                .and_then(|h| h.last())
                .map(|t| t.value);
            Some(one(facts, m, &query, history.clone(), last_target))
        })
        .collect()
}

fn one(
    facts: &Facts,
    m: &Metric,
    query: &Query,
    target_history: Vec<TargetRevision>,
    last_year_target: Option<u64>,
) -> Progress {
    let (year, on) = (query.period.from().year(), query.on);
    let target = target_history.last().map_or(0, |t| t.value);
    let actual = m.value(facts, query);
    let last_year_actual = m.value(facts, &query.year_before());
    let last_year_recorded = m.recorded(facts, &query.year_before());
    let (elapsed_days, days_in_year) = elapsed(year, on);
    let share_elapsed = f64::from(elapsed_days) / f64::from(days_in_year);
    let share_done = if target == 0 {
        1.0
    } else {
        actual as f64 / target as f64
    };
    let pace = if actual >= target {
        Pace::Done
    } else if share_done + 1e-12 >= share_elapsed {
        Pace::OnTrack
    } else {
        Pace::Behind
    };
    let (behind_by, behind_by_days) = if pace == Pace::Behind {
        let due = (target as f64 * share_elapsed).ceil() as u64;
        let reached_day = (share_done * f64::from(days_in_year)).floor() as u32;
        (
            due.saturating_sub(actual),
            elapsed_days.saturating_sub(reached_day),
        )
    } else {
        (0, 0)
    };
    Progress {
        metric: m.name.clone(),
        figure: m.figure.clone(),
        label_zh: m.label_zh.clone(),
        label_en: m.label_en.clone(),
        unit_zh: m.unit_zh.clone(),
        unit_en: m.unit_en.clone(),
        year,
        on,
        actual,
        target,
        share_done,
        elapsed_days,
        days_in_year,
        share_elapsed,
        pace,
        behind_by,
        behind_by_days,
        last_year_actual,
        last_year_recorded,
        change: actual as i64 - last_year_actual as i64,
        last_year_target,
        target_history,
    }
}
