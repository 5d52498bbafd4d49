//! Reading the log: a filtered stream in seq order that never holds the whole log.
use std::sync::atomic::Ordering;

use chrono::{DateTime, NaiveDate, Utc};
use events::Envelope;

use super::{Store, StoreError};

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

/// A stream of envelopes in seq order, up to the head that was durable when it began.
pub struct Scan {
    store: Store,
    inner: sled::Iter,
    filter: Filter,
    yielded: usize,
}

impl Scan {
    pub(super) fn new(store: Store, filter: Filter) -> Self {
        let durable = store.durable.load(Ordering::Acquire);
        let to = filter.to_seq.map_or(durable, |t| t.min(durable));
        let from = filter.from_seq.unwrap_or(1).max(1);
        let inner = store
            .trees
            .events
            .range(from.to_be_bytes()..=to.to_be_bytes());
        Scan {
            store,
            inner,
            filter,
            yielded: 0,
        }
    }
}

impl Iterator for Scan {
    type Item = Result<Envelope, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.filter.limit.is_some_and(|l| self.yielded >= l) {
            return None;
        }
        loop {
            let (key, bytes) = match self.inner.next()? {
                Ok(kv) => kv,
                Err(e) => return Some(Err(e.into())),
            };
            let e = match self.store.decode(super::seq_of(&key), &bytes) {
                Ok(e) => e,
                Err(err) => return Some(Err(err)),
            };
            if self.filter.matches(&e) {
                self.yielded += 1;
                return Some(Ok(e));
            }
        }
    }
}
