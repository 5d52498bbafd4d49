//! Reading the log: a filtered stream in seq order that never holds the whole log.
use std::{
    collections::VecDeque,
    fs::File,
    io::{BufReader, Read, Seek, SeekFrom},
    sync::atomic::Ordering,
};

use chrono::{DateTime, NaiveDate, Utc};
use events::{Envelope, Hash, GENESIS};

use super::{record, Store, StoreError};

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
/// It reads the log file front to back through its own buffered handle.
pub struct Scan {
    store: Store,
    reader: Option<BufReader<File>>,
    /// Where `reader` stands in the file.
    pos: u64,
    next: u64,
    to: u64,
    /// The hash of the event before `next`, once known.
    prev: Option<Hash>,
    /// Offsets of the seqs from `next` on, fetched from the index a stretch at a time.
    offsets: VecDeque<u64>,
    filter: Filter,
    yielded: usize,
    failed: bool,
}

/// Offsets taken from the index at once (one lock per stretch, not per event).
const STRETCH: u64 = 4096;

impl Scan {
    pub(super) fn new(store: Store, filter: Filter) -> Self {
        let durable = store.durable.load(Ordering::Acquire);
        let to = filter.to_seq.map_or(durable, |t| t.min(durable));
        let next = filter.from_seq.unwrap_or(1).max(1);
        Scan {
            store,
            reader: None,
            pos: 0,
            next,
            to,
            prev: None,
            offsets: VecDeque::new(),
            filter,
            yielded: 0,
            failed: false,
        }
    }

    fn offset(&mut self) -> Result<u64, StoreError> {
        if self.offsets.is_empty() {
            let index = self.store.index.read().expect("index lock poisoned");
            let last = self.to.min(self.next + STRETCH - 1);
            for seq in self.next..=last {
                let at = index
                    .offset(seq)
                    .ok_or_else(|| self.store.damaged(format!("seq {seq} is missing")))?;
                self.offsets.push_back(at);
            }
        }
        Ok(self.offsets.pop_front().expect("fetched above"))
    }

    /// The next record's bytes, read where the index says it starts.
    fn read(&mut self, at: u64) -> Result<Vec<u8>, StoreError> {
        let reader = match &mut self.reader {
            Some(r) => r,
            None => {
                let mut r = BufReader::with_capacity(1 << 18, self.store.log.reopen()?);
                r.seek(SeekFrom::Start(at))?;
                self.pos = at;
                self.reader.insert(r)
            }
        };
        if at != self.pos {
            // Past a frame header: a short hop, inside the buffer.
            reader.seek_relative(at as i64 - self.pos as i64)?;
        }
        let mut len = [0; 4];
        reader.read_exact(&mut len)?;
        let mut bytes = vec![0; u32::from_le_bytes(len) as usize];
        reader.read_exact(&mut bytes)?;
        self.pos = at + 4 + bytes.len() as u64;
        Ok(bytes)
    }

    fn step(&mut self) -> Result<Option<Envelope>, StoreError> {
        let seq = self.next;
        let at = self.offset()?;
        let prev = match self.prev {
            Some(h) => h,
            None if seq == 1 => GENESIS,
            None => {
                let before = self
                    .store
                    .index
                    .read()
                    .expect("index lock poisoned")
                    .offset(seq - 1);
                let before = before
                    .ok_or_else(|| self.store.damaged(format!("seq {} is missing", seq - 1)))?;
                self.store.log.hash(before)?
            }
        };
        let bytes = self.read(at)?;
        self.next += 1;
        let damaged = |e: String| {
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
