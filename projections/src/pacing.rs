//! Whether the year's work keeps pace with the calendar ("时间过半、任务过半"), judged
//! over every target at once with a stated tolerance, and what lags by how much.
use serde::Serialize;

use crate::{
    period::Lang,
    progress::{Pace, Progress},
};

/// How far a target's share done may fall below the share of the year elapsed and the
/// work still count as broadly on pace (基本实现): five percentage points. The seed's own
/// half-year, sessions 10 of 21 (47.6%) with 49.6% of the year gone, is within it, and the
/// seed says 基本实现.
pub const TOLERANCE: f64 = 0.05;

/// The judgement over every target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Every target is done or on pace (实现).
    Met,
    /// Some lag, each within the tolerance (基本实现).
    Broadly,
    /// At least one lags by more than the tolerance (未实现).
    NotMet,
}

/// One target that lags the calendar.
#[derive(Debug, Clone, Serialize)]
pub struct Lag {
    /// The metric's name.
    pub metric: String,
    /// Its label in the report's language.
    pub label: String,
    /// Its unit in the report's language.
    pub unit: String,
    /// What is done.
    pub actual: u64,
    /// The year's target.
    pub target: u64,
    /// Share done, as `47.6%`.
    pub done_pct: String,
    /// Percentage points below the share of the year elapsed, as `2.0`.
    pub points: String,
    /// How many more it would take to be on pace.
    pub behind_by: u64,
    /// How many days of the year the work lags the calendar.
    pub behind_by_days: u32,
    /// Whether the lag is within [`TOLERANCE`].
    pub within_tolerance: bool,
}

/// The pace of the year's work as a whole.
#[derive(Debug, Clone, Serialize)]
pub struct Pacing {
    /// Met, broadly met or not met.
    pub verdict: Verdict,
    /// The tolerance in percentage points, as `5`.
    pub tolerance_points: String,
    /// Every target behind the calendar, in the metrics' order.
    pub lagging: Vec<Lag>,
}

/// Judges every target's progress together; `None` when the year has no targets.
pub fn judge(lines: &[Progress], lang: Lang) -> Option<Pacing> {
    if lines.is_empty() {
        return None;
    }
    let lagging: Vec<Lag> = lines
        .iter()
        .filter(|p| p.pace == Pace::Behind)
        .map(|p| {
            let gap = p.share_elapsed - p.share_done;
            Lag {
                metric: p.metric.clone(),
                label: lang.pick(&p.label_zh, &p.label_en).to_owned(),
                unit: lang.pick(&p.unit_zh, &p.unit_en).to_owned(),
                actual: p.actual,
                target: p.target,
                done_pct: format!("{:.1}%", p.share_done * 100.0),
                points: format!("{:.1}", gap * 100.0),
                behind_by: p.behind_by,
                behind_by_days: p.behind_by_days,
                within_tolerance: gap <= TOLERANCE + 1e-12,
            }
        })
        .collect();
    let verdict = if lagging.is_empty() {
        Verdict::Met
    } else if lagging.iter().all(|l| l.within_tolerance) {
        Verdict::Broadly
    } else {
        Verdict::NotMet
    };
    Some(Pacing {
        verdict,
        tolerance_points: format!("{}", (TOLERANCE * 100.0).round()),
        lagging,
    })
}
