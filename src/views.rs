//! Read models for the CLI and the server: the log folded into the facts every figure,
//! progress line, timeline and report is computed from.
use std::{
    collections::HashMap,
    sync::{mpsc, Arc, Mutex, RwLock, RwLockReadGuard},
};

use chrono::{DateTime, NaiveDate, Utc};
use events::Envelope;
use projections::{facts::Facts, metric::Metrics, progress};

use crate::store::{Filter, Store, StoreError};

/// Below this many events a fold runs on the calling thread alone.
const PIPELINE_FROM: u64 = 20_000;
/// Envelopes handed from the reading thread to the folding thread at a time.
const CHUNK: usize = 2_048;

/// Folds the whole durable log, each event lifted to its kind's current version.
#[tracing::instrument(skip_all)]
pub fn fold(store: &Store) -> Result<Facts, StoreError> {
    let mut facts = Facts::default();
    extend(store, &mut facts)?;
    Ok(facts)
}

/// Applies every durable event past `facts.head_seq()`, in seq order. A long stretch is
/// read and decoded on a second thread while this one folds, which changes nothing
/// but the time taken: the same events are applied in the same order.
fn extend(store: &Store, facts: &mut Facts) -> Result<(), StoreError> {
    let catalog = store.catalog();
    let filter = Filter {
        from_seq: Some(facts.head_seq() + 1),
        ..Filter::default()
    };
    if store.head_seq().saturating_sub(facts.head_seq()) < PIPELINE_FROM {
        for e in store.scan(filter) {
            facts.apply_owned(e?.upcast(catalog));
        }
        return Ok(());
    }
    std::thread::scope(|s| {
        let (tx, rx) = mpsc::sync_channel::<Result<Vec<Envelope>, StoreError>>(4);
        s.spawn(move || {
            let mut chunk = Vec::with_capacity(CHUNK);
            for e in store.scan(filter) {
                match e {
                    Ok(e) => chunk.push(e.upcast(catalog)),
                    Err(err) => {
                        let _ = tx.send(Err(err));
                        return;
                    }
                }
                if chunk.len() == CHUNK
                    && tx
                        .send(Ok(std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK))))
                        .is_err()
                {
                    return;
                }
            }
            let _ = tx.send(Ok(chunk));
        });
        for chunk in rx {
            for e in chunk? {
                facts.apply_owned(e);
            }
        }
        Ok(())
    })
}

/// The fold kept in memory and brought up to date before each read. It equals a fold
/// from scratch because it applies the same events in the same order: the first time
/// all of them, later only those past the last seq it saw.
#[derive(Debug, Default)]
pub struct Cache {
    facts: RwLock<Facts>,
    progress: Mutex<Memo>,
}

/// Progress answers for the fold at one head seq, by (year, on, known_at); emptied
/// when the head moves.
#[derive(Debug, Default)]
struct Memo {
    head: u64,
    answers: HashMap<MemoKey, Arc<str>>,
}

/// A progress question: the year, `on`, and `known_at` (`None` for "now").
type MemoKey = (i32, NaiveDate, Option<DateTime<Utc>>);

/// The most progress answers kept for one head.
const MEMO_SIZE: usize = 256;

impl Cache {
    /// The facts as of the store's durable head. Blocking: call from `spawn_blocking`.
    pub fn read(&self, store: &Store) -> Result<RwLockReadGuard<'_, Facts>, StoreError> {
        let head = store.head_seq();
        {
            let facts = self.facts.read().expect("facts lock poisoned");
            if facts.head_seq() >= head {
                return Ok(facts);
            }
        }
        {
            let mut facts = self.facts.write().expect("facts lock poisoned");
            extend(store, &mut facts)?;
        }
        Ok(self.facts.read().expect("facts lock poisoned"))
    }

    /// [`progress::progress`] over `facts` (as [`Cache::read`] gave them), as JSON text,
    /// remembered for the facts' head: asking again with the same year and day costs a
    /// look-up. Any `known_at` at or after the last recording gives the same answer
    /// (everything is known), so those share one entry.
    pub fn progress(
        &self,
        facts: &Facts,
        metrics: &Metrics,
        year: i32,
        on: NaiveDate,
        known_at: DateTime<Utc>,
    ) -> Arc<str> {
        let everything = facts.head_recorded_at().is_none_or(|last| known_at >= last);
        let key = (year, on, (!everything).then_some(known_at));
        {
            let memo = self.progress.lock().expect("memo lock poisoned");
            if memo.head == facts.head_seq() {
                if let Some(answer) = memo.answers.get(&key) {
                    return answer.clone();
                }
            }
        }
        let lines = progress::progress(facts, metrics, year, on, known_at);
        let answer: Arc<str> = serde_json::to_string(&lines)
            .expect("progress serialises")
            .into();
        let mut memo = self.progress.lock().expect("memo lock poisoned");
        if memo.head != facts.head_seq() || memo.answers.len() >= MEMO_SIZE {
            memo.head = facts.head_seq();
            memo.answers.clear();
        }
        memo.answers.insert(key, answer.clone());
        answer
    }
}
