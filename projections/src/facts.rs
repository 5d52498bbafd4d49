//! The fold at the heart of every figure: each event once, with the history of its
//! corrections, so any question can be asked "as known at" any moment.
use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use events::{
    catalog::{AMENDED, VOIDED},
    Envelope, Occurred,
};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

/// One version of an event's data: the original, an amendment, or a void.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Revision {
    /// The seq of the event that made this version (the original's own seq first).
    pub seq: u64,
    /// When the log learned of this version.
    pub at: DateTime<Utc>,
    /// Who recorded it.
    pub by: String,
    /// The data from then on; `None` once voided.
    pub data: Option<Value>,
    /// The reason a correction gave.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// How an event stands at some moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Not yet recorded then.
    Unknown,
    /// As first recorded.
    Original,
    /// Amended at least once.
    Amended,
    /// Voided: it no longer counts.
    Voided,
}

/// One event with its corrections.
#[derive(Debug, Clone, Serialize)]
pub struct Fact {
    /// Its id.
    pub id: Uuid,
    /// Its seq.
    pub seq: u64,
    /// Its kind.
    pub kind: String,
    /// When it happened.
    pub occurred: Occurred,
    /// When it was first recorded.
    pub recorded_at: DateTime<Utc>,
    /// Who first recorded it.
    pub recorded_by: String,
    /// The original and every correction, in the order recorded.
    pub revisions: Vec<Revision>,
}

impl Fact {
    /// The revision in force at `t`, if the event was known then.
    pub fn revision_at(&self, t: DateTime<Utc>) -> Option<&Revision> {
        self.revisions.iter().rev().find(|r| r.at <= t)
    }

    /// Its data as known at `t`: `None` before it was recorded or once voided.
    pub fn data_at(&self, t: DateTime<Utc>) -> Option<&Value> {
        self.revision_at(t)?.data.as_ref()
    }

    /// How it stood at `t`.
    pub fn status_at(&self, t: DateTime<Utc>) -> Status {
        let known: Vec<&Revision> = self.revisions.iter().filter(|r| r.at <= t).collect();
        match known.last() {
            None => Status::Unknown,
            Some(r) if r.data.is_none() => Status::Voided,
            Some(_) if known.len() > 1 => Status::Amended,
            Some(_) => Status::Original,
        }
    }

    /// A text field of its data at `t`.
    pub fn text_at(&self, t: DateTime<Utc>, field: &str) -> Option<&str> {
        self.data_at(t)?.get(field)?.as_str()
    }
}

/// Which day of an event's range an index is keyed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Day {
    /// Its first day.
    Start,
    /// Its last day.
    End,
}

/// The facts of one kind: all in seq order, and by the year of their first and of
/// their last day (each year's in seq order too), so a question about a period reads
/// only the years it covers.
#[derive(Debug, Clone, Default)]
struct KindIndex {
    all: Vec<usize>,
    by_start_year: BTreeMap<i32, Vec<u32>>,
    by_end_year: BTreeMap<i32, Vec<u32>>,
}

/// Every event of the log, folded. `Default` plus [`Facts::apply`] in seq order; it
/// cannot fail and does no I/O. Feed it envelopes already upcast to current versions.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    facts: Vec<Fact>,
    index: HashMap<Uuid, usize>,
    by_kind: HashMap<String, KindIndex>,
    head_seq: u64,
    head_recorded_at: Option<DateTime<Utc>>,
    windows: Windows,
}

/// Per-day running totals of one metric over one period, with everything known: the
/// value by any day of the period is a binary search. Built from the facts on first use
/// and dropped whenever another event is folded, so it always equals a scan.
#[derive(Debug, Clone, Default)]
pub struct Window {
    /// The anchor days of what counts, ascending (for a distinct count: the first day
    /// each value appears).
    pub days: Vec<NaiveDate>,
    /// `totals[i]`: the value by `days[i]` inclusive.
    pub totals: Vec<u64>,
}

impl Window {
    /// The value over the days up to `to` inclusive.
    pub fn value_to(&self, to: NaiveDate) -> u64 {
        match self.days.partition_point(|d| *d <= to) {
            0 => 0,
            n => self.totals[n - 1],
        }
    }
}

/// The windows built so far for the facts as they stand, by a caller's key.
#[derive(Default)]
struct Windows(std::sync::Mutex<HashMap<String, std::sync::Arc<Window>>>);

/// The most windows kept; past it they are built again as asked for.
const MAX_WINDOWS: usize = 4096;

impl Clone for Windows {
    fn clone(&self) -> Self {
        Windows::default()
    }
}

impl std::fmt::Debug for Windows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Windows")
    }
}

impl Facts {
    /// Folds one more event.
    pub fn apply(&mut self, e: &Envelope) {
        self.apply_owned(e.clone());
    }

    /// Folds one more event, taking it (no copy of its data): what a fold of a whole
    /// log uses. The same as [`Facts::apply`] in every other way.
    pub fn apply_owned(&mut self, e: Envelope) {
        let Envelope {
            id,
            seq,
            kind,
            occurred,
            recorded_at,
            recorded_by,
            mut data,
            ..
        } = e;
        self.head_seq = self.head_seq.max(seq);
        self.windows
            .0
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
        self.head_recorded_at = self.head_recorded_at.max(Some(recorded_at));
        let correction = match kind.as_str() {
            AMENDED => Some(data.as_object_mut().and_then(|m| m.remove("data"))),
            VOIDED => Some(None),
            _ => None,
        };
        if let Some(replacement) = correction {
            let target = data
                .get("target")
                .and_then(Value::as_str)
                .and_then(|t| t.parse::<Uuid>().ok())
                .and_then(|id| self.index.get(&id).copied());
            // A correction of an unknown event cannot be in a verified log; ignore it.
            if let Some(i) = target {
                let reason = match data.as_object_mut().and_then(|m| m.remove("reason")) {
                    Some(Value::String(r)) => Some(r),
                    _ => None,
                };
                self.facts[i].revisions.push(Revision {
                    seq,
                    at: recorded_at,
                    by: recorded_by,
                    data: replacement,
                    reason,
                });
            }
            return;
        }
        let i = self.facts.len();
        let slot = self.by_kind.entry(kind.clone()).or_default();
        slot.all.push(i);
        let small = u32::try_from(i).expect("fewer than 4 billion events");
        slot.by_start_year
            .entry(occurred.start().year())
            .or_default()
            .push(small);
        slot.by_end_year
            .entry(occurred.end().year())
            .or_default()
            .push(small);
        self.index.insert(id, i);
        self.facts.push(Fact {
            id,
            seq,
            kind,
            occurred,
            recorded_at,
            recorded_by: recorded_by.clone(),
            revisions: vec![Revision {
                seq,
                at: recorded_at,
                by: recorded_by,
                data: Some(data),
                reason: None,
            }],
        });
    }

    /// Folds a whole log.
    pub fn from_log<'a>(log: impl IntoIterator<Item = &'a Envelope>) -> Self {
        let mut facts = Facts::default();
        for e in log {
            facts.apply(e);
        }
        facts
    }

    /// Every fact of a kind, in seq order.
    pub fn of_kind<'a>(&'a self, kind: &str) -> impl Iterator<Item = &'a Fact> + 'a {
        self.by_kind
            .get(kind)
            .into_iter()
            .flat_map(|k| k.all.iter())
            .map(move |&i| &self.facts[i])
    }

    /// The facts of a kind whose `day` falls in the years of `from..=to`, one run per
    /// year, each run in seq order (so `recorded_at` never decreases along a run).
    /// Every fact whose day is in `from..=to` is in one of the runs; callers still
    /// check the day itself.
    pub fn of_kind_in<'a>(
        &'a self,
        kind: &str,
        day: Day,
        from: NaiveDate,
        to: NaiveDate,
    ) -> impl Iterator<Item = impl Iterator<Item = &'a Fact> + 'a> + 'a {
        let years = self.by_kind.get(kind).filter(|_| from <= to).map(|k| {
            let map = match day {
                Day::Start => &k.by_start_year,
                Day::End => &k.by_end_year,
            };
            map.range(from.year()..=to.year())
        });
        years
            .into_iter()
            .flatten()
            .map(move |(_, run)| run.iter().map(move |&i| &self.facts[i as usize]))
    }

    /// Every fact, in seq order.
    pub fn iter(&self) -> impl Iterator<Item = &Fact> {
        self.facts.iter()
    }

    /// The fact with that id.
    pub fn get(&self, id: Uuid) -> Option<&Fact> {
        self.index.get(&id).map(|&i| &self.facts[i])
    }

    /// The highest seq folded.
    pub fn head_seq(&self) -> u64 {
        self.head_seq
    }

    /// The window under `key`, built by `build` unless it already was for the facts as
    /// they stand (any fold clears them).
    pub fn window(&self, key: &str, build: impl FnOnce() -> Window) -> std::sync::Arc<Window> {
        let lock = || {
            self.windows
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        };
        if let Some(w) = lock().get(key) {
            return w.clone();
        }
        let w = std::sync::Arc::new(build());
        let mut windows = lock();
        if windows.len() >= MAX_WINDOWS {
            windows.clear();
        }
        windows.insert(key.to_owned(), w.clone());
        w
    }

    /// The latest recording time folded: every fact and correction was known by then.
    pub fn head_recorded_at(&self) -> Option<DateTime<Utc>> {
        self.head_recorded_at
    }
}
