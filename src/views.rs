//! Read models for the CLI and the server: the log folded into the facts every figure,
//! progress line, timeline and report is computed from, and the snapshot of that fold
//! kept beside the log so a cold start folds only what came after it.
use std::{
    collections::HashMap,
    sync::{mpsc, Arc, Mutex, RwLock, RwLockReadGuard},
};

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use events::{Catalog, Envelope, Hash};
use projections::{
    facts::Facts,
    metric::Metrics,
    period::{Lang, Query},
    progress,
    report::{self, Report},
};

use crate::store::{Filter, Head, Store, StoreError, VerifyFailure, VerifyReport};

/// Below this many events a fold runs on the calling thread alone.
const PIPELINE_FROM: u64 = 20_000;
/// Envelopes handed from the reading thread to the folding thread at a time.
const CHUNK: usize = 2_048;

/// The snapshot's first eight bytes.
const SNAPSHOT_MAGIC: &[u8; 8] = b"ANNALSFS";
/// The snapshot's header, before [`Facts::to_snapshot`]'s bytes: the magic, the head seq
/// (u64 LE), that event's hash, the catalog's fingerprint.
const SNAPSHOT_HEADER: usize = 8 + 8 + 32 + 32;

/// The report over `facts` as of now, sealed with the last event they hold so a reader
/// can check it against the log later (`annals verify --against`): what the CLI prints
/// and the server sends.
pub fn report(
    store: &Store,
    facts: &Facts,
    metrics: &Metrics,
    q: &Query,
    lang: Lang,
    offset: FixedOffset,
) -> Result<Report, StoreError> {
    let seq = facts.head_seq();
    let hash = store.get_seq(seq)?.map_or(events::GENESIS, |e| e.hash);
    let seal = report::Seal {
        seq,
        hash: hash.to_string(),
    };
    Ok(report::build(
        facts,
        metrics,
        q,
        lang,
        Some(seal),
        Utc::now(),
        offset,
    ))
}

/// Whether a fold starts from the snapshot beside the log and when it writes one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Snapshots {
    /// Always fold the whole log; never read or write a snapshot.
    Off,
    /// Start from the snapshot when it still belongs to the log; write a new one after
    /// a fold that applied at least `write_after` events.
    On {
        /// The fewest events a fold must apply to be worth a new snapshot.
        write_after: u64,
    },
}

impl Default for Snapshots {
    /// On, writing after 50 000 events: below that a fold takes well under a second,
    /// and a snapshot of a small log would only be rewritten often.
    fn default() -> Self {
        Snapshots::On {
            write_after: 50_000,
        }
    }
}

/// Folds the whole durable log, each event lifted to its kind's current version:
/// from the snapshot beside the log when there is a good one (see [`fold_with`]).
pub fn fold(store: &Store) -> Result<Facts, StoreError> {
    fold_with(store, Snapshots::default())
}

/// Folds the whole durable log. With snapshots on, a snapshot whose head seq is still
/// in the log with the same hash (and made with the same catalog) is read and only the
/// events after it are folded; any other (missing, from another store, cut or damaged)
/// is ignored with a warning and the log folded from the start. The result is the
/// same either way: a snapshot is exactly the facts of the log up to its head.
#[tracing::instrument(skip_all)]
pub fn fold_with(store: &Store, snapshots: Snapshots) -> Result<Facts, StoreError> {
    let mut facts = match snapshots {
        Snapshots::On { .. } => read_snapshot(store).unwrap_or_default(),
        Snapshots::Off => Facts::default(),
    };
    let applied = extend(store, &mut facts)?;
    after_fold(store, &facts, applied, snapshots);
    if applied >= PIPELINE_FROM {
        facts.shrink_to_fit();
    }
    Ok(facts)
}

/// Writes a snapshot when the fold that just ran applied enough events to be worth
/// one. Never fails: a snapshot is only a shortcut.
fn after_fold(store: &Store, facts: &Facts, applied: u64, snapshots: Snapshots) {
    if let Snapshots::On { write_after } = snapshots {
        if applied > 0 && applied >= write_after {
            if let Err(error) = write_snapshot(store, facts) {
                tracing::warn!(
                    %error,
                    "could not write the facts snapshot; the next cold start folds the whole log"
                );
            }
        }
    }
}

/// A fingerprint of the catalog: the facts hold data upcast by it, so a snapshot made
/// under another catalog (a new version of a kind, a deployment's own files) is stale
/// even though the log is the same.
fn catalog_fingerprint(catalog: &Catalog) -> Hash {
    Hash::of(&serde_json::to_vec(catalog).expect("the catalog serialises"))
}

/// The snapshot kept beside the events, if it belongs to them; `None` (with a warning
/// unless there is none) otherwise.
fn read_snapshot(store: &Store) -> Option<Facts> {
    let bytes = match store.snapshot() {
        Ok(Some(bytes)) => bytes,
        Ok(None) => {
            tracing::debug!("no facts snapshot; folding the whole log");
            return None;
        }
        Err(e) => {
            tracing::warn!(error = %e, "could not read the facts snapshot; folding the whole log");
            return None;
        }
    };
    match load_snapshot(store, &bytes) {
        Ok(facts) => {
            tracing::debug!(seq = facts.head_seq(), "starting from the facts snapshot");
            Some(facts)
        }
        Err(reason) => {
            tracing::warn!(%reason, "ignoring the facts snapshot; folding the whole log");
            None
        }
    }
}

/// Why the snapshot beside the log is not started from; the fold then reads the whole
/// log, so each is only logged.
#[derive(Debug, thiserror::Error)]
enum Unfit {
    #[error("it is too short to be a facts snapshot")]
    TooShort,
    #[error("it is not a facts snapshot")]
    NotASnapshot,
    #[error("it was taken at seq {seq}, past the log's head {head}")]
    PastHead { seq: u64, head: u64 },
    #[error("the log's event {0} is not the one it was taken at")]
    OtherEvent(u64),
    #[error("the log's event {seq} could not be read: {source}")]
    Unreadable { seq: u64, source: StoreError },
    #[error("it was taken with another catalog")]
    OtherCatalog,
    #[error(transparent)]
    Facts(#[from] projections::error::SnapshotError),
    #[error("its header says seq {header} but it holds the facts to seq {held}")]
    OtherHead { header: u64, held: u64 },
}

/// The facts in a snapshot, if its header matches the log and the catalog.
fn load_snapshot(store: &Store, bytes: &[u8]) -> Result<Facts, Unfit> {
    let header = bytes.get(..SNAPSHOT_HEADER).ok_or(Unfit::TooShort)?;
    if &header[..8] != SNAPSHOT_MAGIC {
        return Err(Unfit::NotASnapshot);
    }
    let seq = u64::from_le_bytes(header[8..16].try_into().expect("8 bytes"));
    let hash = Hash(header[16..48].try_into().expect("32 bytes"));
    if seq > store.head_seq() {
        return Err(Unfit::PastHead {
            seq,
            head: store.head_seq(),
        });
    }
    match store.get_seq(seq) {
        Ok(Some(e)) if e.hash == hash => {}
        Ok(_) => return Err(Unfit::OtherEvent(seq)),
        Err(source) => return Err(Unfit::Unreadable { seq, source }),
    }
    if header[48..80] != catalog_fingerprint(store.catalog()).0 {
        return Err(Unfit::OtherCatalog);
    }
    let facts = Facts::from_snapshot_vec(bytes[SNAPSHOT_HEADER..].to_vec())?;
    if facts.head_seq() != seq {
        return Err(Unfit::OtherHead {
            header: seq,
            held: facts.head_seq(),
        });
    }
    Ok(facts)
}

/// Keeps the facts' snapshot in the store, replacing the last one. Folds call it
/// themselves (see [`Snapshots`]) and only log a failure: a snapshot is a shortcut,
/// never a reason to refuse anything.
pub fn write_snapshot(store: &Store, facts: &Facts) -> Result<(), StoreError> {
    // Two folds in one process (the server's cache and a command) may finish together.
    static WRITING: Mutex<()> = Mutex::new(());
    let _one_at_a_time = WRITING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let seq = facts.head_seq();
    let head = store.get_seq(seq)?.ok_or_else(|| StoreError::Damaged {
        path: store.path().to_owned(),
        reason: format!("the log has no event {seq}"),
    })?;
    let body = facts.to_snapshot();
    let mut bytes = Vec::with_capacity(SNAPSHOT_HEADER + body.len());
    bytes.extend_from_slice(SNAPSHOT_MAGIC);
    bytes.extend_from_slice(&seq.to_le_bytes());
    bytes.extend_from_slice(&head.hash.0);
    bytes.extend_from_slice(&catalog_fingerprint(store.catalog()).0);
    bytes.extend_from_slice(&body);
    store.put_snapshot(&bytes)?;
    proven().remove(store.path());
    tracing::debug!(seq, "wrote the facts snapshot");
    Ok(())
}

/// Verifies the log (every hash and link, see [`Store::verify`]) and then the figures:
/// a snapshot of the fold that a fold would start from must give exactly the facts a
/// fold of every event from scratch gives, so a snapshot edited in place (its checksum
/// made good again) is named instead of changing every figure.
pub fn verify(store: &Store) -> Result<Result<VerifyReport, VerifyFailure>, StoreError> {
    verify_after(store, Head::default())
}

/// [`verify`], walking only the events after `from`, a head an earlier verification
/// in this process proved (see [`Store::verify_after`]).
pub fn verify_after(
    store: &Store,
    from: Head,
) -> Result<Result<VerifyReport, VerifyFailure>, StoreError> {
    let report = match store.verify_after(from)? {
        Ok(report) => report,
        failure => return Ok(failure),
    };
    let Some(mut from_snapshot) = read_snapshot(store) else {
        return Ok(Ok(report));
    };
    let taken = from_snapshot.head_seq();
    // While this process holds the store, only its own folds write the snapshot, so one
    // already proven need not be folded again at every new head (the page verifies at
    // each one); a snapshot written since, or a new process, proves it once more.
    let key = store.path().to_owned();
    if proven().get(&key) == Some(&taken) {
        return Ok(Ok(report));
    }
    extend(store, &mut from_snapshot)?;
    let mut from_scratch = Facts::default();
    extend(store, &mut from_scratch)?;
    if from_snapshot.to_snapshot() != from_scratch.to_snapshot() {
        return Ok(Err(VerifyFailure {
            seq: taken,
            reason: format!(
                "the fold's snapshot taken at seq {taken} does not give the facts of the events it covers: it was changed after it was written"
            ),
        }));
    }
    proven().insert(key, taken);
    Ok(Ok(report))
}

/// The snapshots `verify` has proven in this process: the store's folder and the seq
/// the snapshot was taken at.
fn proven() -> std::sync::MutexGuard<'static, HashMap<std::path::PathBuf, u64>> {
    static PROVEN: std::sync::LazyLock<Mutex<HashMap<std::path::PathBuf, u64>>> =
        std::sync::LazyLock::new(Mutex::default);
    PROVEN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Applies every durable event past `facts.head_seq()`, in seq order; how many. A long
/// stretch is read and decoded on a second thread while this one folds, which changes
/// nothing but the time taken: the same events are applied in the same order.
fn extend(store: &Store, facts: &mut Facts) -> Result<u64, StoreError> {
    let before = facts.head_seq();
    let catalog = store.catalog();
    let filter = Filter {
        from_seq: Some(facts.head_seq() + 1),
        ..Filter::default()
    };
    if store.head_seq().saturating_sub(facts.head_seq()) < PIPELINE_FROM {
        for e in store.scan(filter) {
            facts.apply_owned(e?.upcast(catalog));
        }
        return Ok(facts.head_seq() - before);
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
        Ok(facts.head_seq() - before)
    })
}

/// The fold kept in memory and brought up to date before each read. It equals a fold
/// from scratch because it applies the same events in the same order: the first time
/// all of them, later only those past the last seq it saw.
#[derive(Debug, Default)]
pub struct Cache {
    facts: RwLock<Facts>,
    progress: Mutex<Memo>,
    snapshots: Snapshots,
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
    /// An empty cache that starts from the snapshot beside the log (or not) as
    /// `snapshots` says; `Cache::default()` uses the default [`Snapshots`].
    pub fn new(snapshots: Snapshots) -> Self {
        Cache {
            snapshots,
            ..Cache::default()
        }
    }

    /// The facts as of the store's durable head. Blocking: call from `spawn_blocking`.
    pub fn read(&self, store: &Store) -> Result<RwLockReadGuard<'_, Facts>, StoreError> {
        let head = store.head_seq();
        {
            let facts = self.facts.read().expect("facts lock poisoned");
            if facts.head_seq() >= head {
                return Ok(facts);
            }
        }
        let applied = {
            let mut facts = self.facts.write().expect("facts lock poisoned");
            if facts.head_seq() == 0 && matches!(self.snapshots, Snapshots::On { .. }) {
                if let Some(snapshot) = read_snapshot(store) {
                    *facts = snapshot;
                }
            }
            let applied = extend(store, &mut facts)?;
            if applied >= PIPELINE_FROM {
                facts.shrink_to_fit();
            }
            applied
        };
        let facts = self.facts.read().expect("facts lock poisoned");
        // Under the read lock: other readers go on while the snapshot is written.
        after_fold(store, &facts, applied, self.snapshots);
        Ok(facts)
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
