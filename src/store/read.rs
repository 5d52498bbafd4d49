//! Reading the log: a filtered stream in seq order that never holds the whole log.
use std::sync::atomic::Ordering;

use chrono::{DateTime, NaiveDate, Utc};
use events::{Envelope, Hash, GENESIS};

use super::{record, trees, Store, StoreError};
/// Which events a scan yields. Every bound is inclusive; `Default` yields everything.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Start at this seq.
    pub from_seq: Option<u64>,
    /// Stop after this seq.
    pub to_seq: Option<u64>,
    /// Only this kind.
    pub kind: Option<String>,
    /// Only events whose days overlap this range.
    pub occurred: Option<(NaiveDate, NaiveDate)>,
    /// Only events recorded in this range.
    pub recorded: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// At most this many events.
    pub limit: Option<usize>,
}

impl Filter {
    /// Whether an event passes every condition but the seq bounds and limit.
    pub fn matches(&self, e: &Envelope) -> bool {
        self.kind.as_ref().is_none_or(|k| *k == e.kind)
            && self
                .occurred
                .is_none_or(|(from, to)| e.occurred.start() <= to && e.occurred.end() >= from)
            && self
                .recorded
                .is_none_or(|(from, to)| e.recorded_at >= from && e.recorded_at <= to)
    }
}

/// A stream of envelopes in seq order, up to the head that was durable when it began,
/// read from sled's `events` tree in key order.
pub struct Scan {
    store: Store,
    range: Option<sled::Iter>,
    next: u64,
    to: u64,
    /// The hash of the event before `next`, once known.
    prev: Option<Hash>,
    filter: Filter,
    yielded: usize,
    failed: bool,
}

impl Scan {
    pub(super) fn new(store: Store, filter: Filter) -> Self {
        let durable = store.durable.load(Ordering::Acquire);
        let to = filter.to_seq.map_or(durable, |t| t.min(durable));
        let next = filter.from_seq.unwrap_or(1).max(1);
        Scan {
            store,
            range: None,
            next,
            to,
            prev: None,
            filter,
            yielded: 0,
            failed: false,
        }
    }

    fn step(&mut self) -> Result<Option<Envelope>, StoreError> {
        let seq = self.next;
        let prev = match self.prev {
            Some(h) => h,
            None if seq == 1 => GENESIS,
            None => record::hash(&self.store.record(seq - 1)?).map_err(|e| {
                self.store
                    .damaged(format!("seq {} cannot be decoded: {e}", seq - 1))
            })?,
        };
        let (from, to) = (trees::seq_key(seq), trees::seq_key(self.to));
        let range = self
            .range
            .get_or_insert_with(|| self.store.trees.events.range(from..=to));
        let (key, bytes) = match range.next() {
            Some(item) => item?,
            None => return Err(self.store.damaged(format!("seq {seq} is missing"))),
        };
        if trees::seq_of(&key) != Some(seq) {
            return Err(self.store.damaged(format!("seq {seq} is missing")));
        }
        self.next += 1;
        let damaged = |e: super::Damage| {
            self.store
                .damaged(format!("seq {seq} cannot be decoded: {e}"))
        };
        self.prev = Some(record::hash(&bytes).map_err(damaged)?);
        // A scan of one kind skips the others without decoding them.
        if let Some(kind) = &self.filter.kind {
            if record::kind(&bytes).map_err(damaged)? != kind {
                return Ok(None);
            }
        }
        let e = self.store.decode(seq, prev, &bytes)?;
        Ok(self.filter.matches(&e).then_some(e))
    }
}

impl Iterator for Scan {
    type Item = Result<Envelope, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.filter.limit.is_some_and(|l| self.yielded >= l) {
            return None;
        }
        while self.next <= self.to {
            match self.step() {
                Ok(Some(e)) => {
                    self.yielded += 1;
                    return Some(Ok(e));
                }
                Ok(None) => {}
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
            }
        }
        None
    }
}
