//! The fold at the heart of every figure: each event once, with the history of its
//! corrections, so any question can be asked "as known at" any moment.
//!
//! A server holds the fold of the whole log, so it is kept small: one fixed-size row
//! per event; every text (kind, author, field name, value) stored once; each
//! revision's data encoded as a few bytes in one shared buffer and read in place
//! through [`Data`]; corrections, about one event in a hundred, kept beside the rows.
//! [`Facts::to_snapshot`] writes the whole fold as bytes and [`Facts::from_snapshot`]
//! reads it back, so a cold start need not fold the whole log again.
use std::collections::HashMap;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use events::{
    catalog::{AMENDED, VOIDED},
    Envelope, Occurred,
};
use serde::{ser::SerializeStruct, Serialize, Serializer};
use serde_json::Value;
use uuid::Uuid;

mod data;
mod snapshot;
mod table;

pub use data::Data;
use data::Strings;
pub use snapshot::SNAPSHOT_VERSION;
use table::IdTable;

/// No correction group, reason or text.
const NONE: u32 = u32::MAX;
/// No data: a void.
const VOID: u64 = u64::MAX;

/// One event as folded: what never changes about it. 64 bytes.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    id: Uuid,
    seq: u64,
    /// Where its data as first recorded starts in [`Facts::data`].
    data: u64,
    occurred: Occurred,
    at: DateTime<Utc>,
    /// Its kind's text id.
    kind: u32,
    /// Its author's text id.
    by: u32,
    /// Its corrections' group in [`Facts::corrections`], or [`NONE`].
    corrections: u32,
}

/// An amendment or a void of an event.
#[derive(Debug, Clone, PartialEq)]
struct Correction {
    seq: u64,
    /// Where the replacement data starts in [`Facts::data`], or [`VOID`].
    data: u64,
    at: DateTime<Utc>,
    by: u32,
    /// The reason's text id, or [`NONE`].
    reason: u32,
}

/// One version of an event's data: the original, an amendment, or a void.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Revision<'a> {
    /// The seq of the event that made this version (the original's own seq first).
    pub seq: u64,
    /// When the log learned of this version.
    pub at: DateTime<Utc>,
    /// Who recorded it.
    pub by: &'a str,
    /// The data from then on; `None` once voided.
    pub data: Option<Data<'a>>,
    /// The reason a correction gave.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'a str>,
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

/// One event with its corrections, as the facts hold it (a cheap handle: copy it).
#[derive(Clone, Copy)]
pub struct Fact<'a> {
    facts: &'a Facts,
    row: &'a Row,
}

impl<'a> Fact<'a> {
    /// Its id.
    pub fn id(&self) -> Uuid {
        self.row.id
    }

    /// Its seq.
    pub fn seq(&self) -> u64 {
        self.row.seq
    }

    /// Its kind.
    pub fn kind(&self) -> &'a str {
        self.facts.strings.get(self.row.kind)
    }

    /// When it happened.
    pub fn occurred(&self) -> Occurred {
        self.row.occurred
    }

    /// When it was first recorded.
    pub fn recorded_at(&self) -> DateTime<Utc> {
        self.row.at
    }

    /// Who first recorded it.
    pub fn recorded_by(&self) -> &'a str {
        self.facts.strings.get(self.row.by)
    }

    /// Its data as first recorded.
    pub fn original(&self) -> Data<'a> {
        self.facts.data(self.row.data)
    }

    /// Its corrections, in the order recorded.
    pub fn corrections(
        &self,
    ) -> impl DoubleEndedIterator<Item = Revision<'a>> + ExactSizeIterator + 'a {
        let facts = self.facts;
        self.group().iter().map(move |c| Revision {
            seq: c.seq,
            at: c.at,
            by: facts.strings.get(c.by),
            data: (c.data != VOID).then(|| facts.data(c.data)),
            reason: (c.reason != NONE).then(|| facts.strings.get(c.reason)),
        })
    }

    /// The original and every correction, in the order recorded.
    pub fn revisions(&self) -> impl DoubleEndedIterator<Item = Revision<'a>> + 'a {
        std::iter::once(self.first()).chain(self.corrections())
    }

    fn first(&self) -> Revision<'a> {
        Revision {
            seq: self.row.seq,
            at: self.row.at,
            by: self.recorded_by(),
            data: Some(self.original()),
            reason: None,
        }
    }

    fn group(&self) -> &'a [Correction] {
        match self.row.corrections {
            NONE => &[],
            g => &self.facts.corrections[g as usize],
        }
    }

    /// The revision in force at `t`, if the event was known then.
    pub fn revision_at(&self, t: DateTime<Utc>) -> Option<Revision<'a>> {
        if self.row.corrections == NONE {
            return (self.row.at <= t).then(|| self.first());
        }
        self.revisions().rev().find(|r| r.at <= t)
    }

    /// Its data as known at `t`: `None` before it was recorded or once voided.
    pub fn data_at(&self, t: DateTime<Utc>) -> Option<Data<'a>> {
        if self.row.corrections == NONE {
            return (self.row.at <= t).then(|| self.original());
        }
        self.revision_at(t)?.data
    }

    /// Its data with every correction known: `None` once voided.
    pub fn latest(&self) -> Option<Data<'a>> {
        match self.group().last() {
            None => Some(self.original()),
            Some(c) => (c.data != VOID).then(|| self.facts.data(c.data)),
        }
    }

    /// How it stood at `t`.
    pub fn status_at(&self, t: DateTime<Utc>) -> Status {
        let known = self.revisions().filter(|r| r.at <= t).count();
        match self.revision_at(t) {
            None => Status::Unknown,
            Some(r) if r.data.is_none() => Status::Voided,
            Some(_) if known > 1 => Status::Amended,
            Some(_) => Status::Original,
        }
    }

    /// A text field of its data at `t`.
    pub fn text_at(&self, t: DateTime<Utc>, field: &str) -> Option<&'a str> {
        self.data_at(t)?.get(field)?.as_str()
    }
}

impl std::fmt::Debug for Fact<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fact")
            .field("id", &self.id())
            .field("seq", &self.seq())
            .field("kind", &self.kind())
            .field("occurred", &self.occurred())
            .field("recorded_at", &self.recorded_at())
            .field("recorded_by", &self.recorded_by())
            .field("revisions", &self.revisions().collect::<Vec<_>>())
            .finish()
    }
}

impl Serialize for Fact<'_> {
    /// The event with every revision: `id, seq, kind, occurred, recorded_at,
    /// recorded_by, revisions`.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Fact", 7)?;
        st.serialize_field("id", &self.id())?;
        st.serialize_field("seq", &self.seq())?;
        st.serialize_field("kind", self.kind())?;
        st.serialize_field("occurred", &self.occurred())?;
        st.serialize_field("recorded_at", &self.recorded_at())?;
        st.serialize_field("recorded_by", self.recorded_by())?;
        st.serialize_field("revisions", &self.revisions().collect::<Vec<_>>())?;
        st.end()
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

/// The facts of one kind (row numbers) by the year of their first day, each year's in
/// seq order, so a question about a period reads only the years it covers; all of
/// them in seq order is a merge of the years'. Those whose last day falls in a later
/// year than their first are listed again in `spanning`, for questions by last day:
/// few events span a New Year, so that costs less than a second index by the year of
/// the last day.
#[derive(Debug, Clone, Default, PartialEq)]
struct KindIndex {
    /// Ascending by year; a log spans a few years, so a list beats a map.
    by_start_year: Vec<(i32, Vec<u32>)>,
    spanning: Vec<u32>,
}

/// Runs of row numbers, each ascending, merged into one ascending sequence.
struct Merge<'a>(Vec<&'a [u32]>);

impl Iterator for Merge<'_> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        // A kind has a run a year: a linear look for the least head is enough.
        let (run, &i) = self
            .0
            .iter()
            .enumerate()
            .filter_map(|(j, run)| Some((j, run.first()?)))
            .min_by_key(|&(_, i)| *i)?;
        self.0[run] = &self.0[run][1..];
        Some(i)
    }
}

impl KindIndex {
    fn push(&mut self, i: u32, occurred: Occurred) {
        let (start, end) = (occurred.start().year(), occurred.end().year());
        // Events come roughly in order of time: usually the last year's run.
        let run = match self.by_start_year.last_mut() {
            Some((year, run)) if *year == start => run,
            _ => {
                let at = self.by_start_year.partition_point(|(y, _)| *y < start);
                if self.by_start_year.get(at).is_none_or(|(y, _)| *y != start) {
                    self.by_start_year.insert(at, (start, Vec::new()));
                }
                &mut self.by_start_year[at].1
            }
        };
        run.push(i);
        if end != start {
            self.spanning.push(i);
        }
    }

    fn shrink_to_fit(&mut self) {
        self.spanning.shrink_to_fit();
        self.by_start_year.shrink_to_fit();
        self.by_start_year
            .iter_mut()
            .for_each(|(_, run)| run.shrink_to_fit());
    }
}

/// Every event of the log, folded. `Default` plus [`Facts::apply`] in seq order; it
/// cannot fail and does no I/O. Feed it envelopes already upcast to current versions.
#[derive(Clone, Default)]
pub struct Facts {
    rows: Vec<Row>,
    /// The corrections of each corrected event, in the order recorded.
    corrections: Vec<Vec<Correction>>,
    /// Every revision's data, encoded (see [`data`]).
    data: Vec<u8>,
    strings: Strings,
    /// Row numbers by event id.
    ids: IdTable,
    /// By kind's text id.
    by_kind: HashMap<u32, KindIndex>,
    head_seq: u64,
    head_recorded_at: Option<DateTime<Utc>>,
    windows: Windows,
}

impl std::fmt::Debug for Facts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Facts")
            .field("facts", &self.rows.len())
            .field("corrected", &self.corrections.len())
            .field("texts", &self.strings.len())
            .field("data_bytes", &self.data.len())
            .field("head_seq", &self.head_seq)
            .finish_non_exhaustive()
    }
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

impl Facts {
    /// Folds one more event.
    pub fn apply(&mut self, e: &Envelope) {
        self.head_seq = self.head_seq.max(e.seq);
        self.windows
            .0
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
        self.head_recorded_at = self.head_recorded_at.max(Some(e.recorded_at));
        match e.kind.as_str() {
            AMENDED => return self.correct(e, e.data.get("data")),
            VOIDED => return self.correct(e, None),
            _ => {}
        }
        let i = u32::try_from(self.rows.len())
            .ok()
            .filter(|&i| i != NONE)
            .expect("fewer than 4 billion events");
        let kind = self.strings.intern(&e.kind);
        let by = self.strings.intern(&e.recorded_by);
        let data = self.encode(&e.data);
        self.by_kind.entry(kind).or_default().push(i, e.occurred);
        self.rows.push(Row {
            id: e.id,
            seq: e.seq,
            data,
            occurred: e.occurred,
            at: e.recorded_at,
            kind,
            by,
            corrections: NONE,
        });
        let rows = &self.rows;
        self.ids.insert(i, |j| &rows[j as usize].id);
    }

    /// Folds one more event, taking it: the same as [`Facts::apply`] (the data is
    /// encoded either way), for callers that own their envelopes.
    pub fn apply_owned(&mut self, e: Envelope) {
        self.apply(&e);
    }

    /// Adds a correction (`replacement` is `None` for a void) to the event it targets.
    fn correct(&mut self, e: &Envelope, replacement: Option<&Value>) {
        let target = e
            .data
            .get("target")
            .and_then(Value::as_str)
            .and_then(|t| t.parse::<Uuid>().ok())
            .and_then(|id| self.row_of(id));
        // A correction of an unknown event cannot be in a verified log; ignore it.
        let Some(i) = target else { return };
        let data = replacement.map_or(VOID, |d| self.encode(d));
        let reason = match e.data.get("reason") {
            Some(Value::String(r)) => self.strings.intern(r),
            _ => NONE,
        };
        let by = self.strings.intern(&e.recorded_by);
        let row = &mut self.rows[i];
        if row.corrections == NONE {
            row.corrections = u32::try_from(self.corrections.len())
                .ok()
                .filter(|&g| g != NONE)
                .expect("fewer than 4 billion corrected events");
            self.corrections.push(Vec::new());
        }
        self.corrections[row.corrections as usize].push(Correction {
            seq: e.seq,
            data,
            at: e.recorded_at,
            by,
            reason,
        });
    }

    /// Encodes a value at the end of the data buffer; where it starts.
    fn encode(&mut self, v: &Value) -> u64 {
        let at = self.data.len() as u64;
        data::encode(v, &mut self.strings, &mut self.data);
        at
    }

    fn data(&self, at: u64) -> Data<'_> {
        Data::new(&self.strings, &self.data[at as usize..])
    }

    fn row_of(&self, id: Uuid) -> Option<usize> {
        self.ids
            .find(&id, |j| &self.rows[j as usize].id)
            .map(|i| i as usize)
    }

    fn fact(&self, i: u32) -> Fact<'_> {
        Fact {
            facts: self,
            row: &self.rows[i as usize],
        }
    }

    /// Folds a whole log.
    pub fn from_log<'a>(log: impl IntoIterator<Item = &'a Envelope>) -> Self {
        let mut facts = Facts::default();
        for e in log {
            facts.apply(e);
        }
        facts
    }

    /// Gives back the room its buffers grew into beyond what they hold: after folding
    /// a long log, when no more than a few events are expected soon.
    pub fn shrink_to_fit(&mut self) {
        self.rows.shrink_to_fit();
        self.corrections.shrink_to_fit();
        self.data.shrink_to_fit();
        self.strings.shrink_to_fit();
        let rows = &self.rows;
        self.ids.shrink_to_fit(|j| &rows[j as usize].id);
        self.by_kind.values_mut().for_each(KindIndex::shrink_to_fit);
    }

    fn kind_index(&self, kind: &str) -> Option<&KindIndex> {
        self.by_kind.get(&self.strings.find(kind)?)
    }

    /// Every fact of a kind, in seq order.
    pub fn of_kind<'a>(&'a self, kind: &str) -> impl Iterator<Item = Fact<'a>> + 'a {
        let runs = self.kind_index(kind).map_or_else(Vec::new, |k| {
            k.by_start_year
                .iter()
                .map(|(_, run)| run.as_slice())
                .collect()
        });
        Merge(runs).map(move |i| self.fact(i))
    }

    /// The facts of a kind whose `day` may fall in `from..=to`, in runs, each run in
    /// seq order (so `recorded_at` never decreases along a run). Every fact whose day
    /// is in `from..=to` is in exactly one run; others may be too, so callers still
    /// check the day itself.
    pub fn of_kind_in<'a>(
        &'a self,
        kind: &str,
        day: Day,
        from: NaiveDate,
        to: NaiveDate,
    ) -> impl Iterator<Item = impl Iterator<Item = Fact<'a>> + 'a> + 'a {
        let index = self.kind_index(kind).filter(|_| from <= to);
        let (first, last) = (from.year(), to.year());
        // By first day's year; for the last day, the same runs (an event ends no
        // earlier than it starts) and the events that start before the first year and
        // end in it or later.
        let years = index
            .into_iter()
            .flat_map(move |k| {
                let runs = &k.by_start_year;
                let from = runs.partition_point(|(y, _)| *y < first);
                let to = runs.partition_point(|(y, _)| *y <= last);
                &runs[from..to]
            })
            .map(|(_, run)| (run.as_slice(), false));
        let spanning = index
            .filter(|_| day == Day::End)
            .map(|k| (k.spanning.as_slice(), true));
        years.chain(spanning).map(move |(run, spanning)| {
            run.iter().map(move |&i| self.fact(i)).filter(move |f| {
                !spanning
                    || (f.row.occurred.start().year() < first
                        && f.row.occurred.end().year() >= first)
            })
        })
    }

    /// Every fact, in seq order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = Fact<'_>> + ExactSizeIterator {
        self.rows.iter().map(move |row| Fact { facts: self, row })
    }

    /// How many facts (events other than corrections).
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether no event was folded.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The fact with that id.
    pub fn get(&self, id: Uuid) -> Option<Fact<'_>> {
        self.row_of(id).map(|i| Fact {
            facts: self,
            row: &self.rows[i],
        })
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

#[cfg(test)]
mod tests;
