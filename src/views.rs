//! Read models for the CLI and the server: the log folded into the facts every figure,
//! progress line, timeline and report is computed from, and the snapshot of that fold
//! kept beside the log so a cold start folds only what came after it.
use std::{
    collections::HashMap,
    fs,
    io::{Read, Write},
    path::Path,
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

use crate::store::{Filter, Store, StoreError};

/// Below this many events a fold runs on the calling thread alone.
const PIPELINE_FROM: u64 = 20_000;
/// Envelopes handed from the reading thread to the folding thread at a time.
const CHUNK: usize = 2_048;

/// The snapshot's file, in the store's folder.
pub const SNAPSHOT_FILE: &str = "facts.snapshot";
/// The snapshot file's first eight bytes.
const SNAPSHOT_MAGIC: &[u8; 8] = b"ANNALSFS";
/// The file's header, before [`Facts::to_snapshot`]'s bytes: the magic, the head seq
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
                    path = %store.path().join(SNAPSHOT_FILE).display(),
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

/// The snapshot beside the log, if it belongs to it; `None` (with a warning unless
/// there is none) otherwise.
fn read_snapshot(store: &Store) -> Option<Facts> {
    let path = store.path().join(SNAPSHOT_FILE);
    let mut file = match fs::File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            tracing::debug!(path = %path.display(), "no facts snapshot; folding the whole log");
            return None;
        }
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "could not open the facts snapshot; folding the whole log");
            return None;
        }
    };
    match load_snapshot(store, &mut file) {
        Ok(facts) => {
            tracing::debug!(seq = facts.head_seq(), "starting from the facts snapshot");
            Some(facts)
        }
        Err(reason) => {
            tracing::warn!(path = %path.display(), %reason, "ignoring the facts snapshot; folding the whole log");
            None
        }
    }
}

/// The facts in a snapshot file, if its header matches the log and the catalog. The
/// header is checked before the rest is read, and the rest is read into one buffer
/// that becomes the facts' data, so a large snapshot costs little more memory than
/// the facts.
fn load_snapshot(store: &Store, file: &mut fs::File) -> Result<Facts, String> {
    let mut header = [0u8; SNAPSHOT_HEADER];
    file.read_exact(&mut header).map_err(|e| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => "it is too short to be a facts snapshot".into(),
        _ => format!("it could not be read: {e}"),
    })?;
    if &header[..8] != SNAPSHOT_MAGIC {
        return Err("it is not a facts snapshot".into());
    }
    let mut seq = [0u8; 8];
    seq.copy_from_slice(&header[8..16]);
    let seq = u64::from_le_bytes(seq);
    let mut hash = Hash([0; 32]);
    hash.0.copy_from_slice(&header[16..48]);
    if seq > store.head_seq() {
        return Err(format!(
            "it was taken at seq {seq}, past the log's head {}",
            store.head_seq()
        ));
    }
    match store.get_seq(seq) {
        Ok(Some(e)) if e.hash == hash => {}
        Ok(_) => {
            return Err(format!(
                "the log's event {seq} is not the one it was taken at"
            ))
        }
        Err(e) => return Err(format!("the log's event {seq} could not be read: {e}")),
    }
    if header[48..80] != catalog_fingerprint(store.catalog()).0 {
        return Err("it was taken with another catalog".into());
    }
    let size = file.metadata().map_or(0, |m| m.len() as usize);
    let mut body = Vec::with_capacity(size.saturating_sub(SNAPSHOT_HEADER));
    file.read_to_end(&mut body)
        .map_err(|e| format!("it could not be read: {e}"))?;
    let facts = Facts::from_snapshot_vec(body).map_err(|e| e.to_string())?;
    if facts.head_seq() != seq {
        return Err(format!(
            "its header says seq {seq} but it holds the facts to seq {}",
            facts.head_seq()
        ));
    }
    Ok(facts)
}

/// Writes the facts' snapshot beside the log (a temporary file, then renamed over the
/// old one, so a reader sees a whole file or the old one). Folds call it themselves
/// (see [`Snapshots`]) and only log a failure: a snapshot is a shortcut, never a
/// reason to refuse anything. No fsync: a snapshot cut short by a crash fails its
/// checksum and is ignored.
pub fn write_snapshot(store: &Store, facts: &Facts) -> std::io::Result<()> {
    // Two folds in one process (the server's cache and a command) may finish together.
    static WRITING: Mutex<()> = Mutex::new(());
    let _one_at_a_time = WRITING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let seq = facts.head_seq();
    let head = store
        .get_seq(seq)
        .map_err(std::io::Error::other)?
        .ok_or_else(|| std::io::Error::other(format!("the log has no event {seq}")))?;
    let body = facts.to_snapshot();
    let path = store.path().join(SNAPSHOT_FILE);
    let tmp = path.with_extension("snapshot.tmp");
    write_file(
        &tmp,
        seq,
        head.hash,
        catalog_fingerprint(store.catalog()),
        &body,
    )?;
    fs::rename(&tmp, &path)?;
    tracing::debug!(seq, path = %path.display(), "wrote the facts snapshot");
    Ok(())
}

fn write_file(
    path: &Path,
    seq: u64,
    hash: Hash,
    catalog: Hash,
    body: &[u8],
) -> std::io::Result<()> {
    let mut f = crate::private::create(path)?;
    f.write_all(SNAPSHOT_MAGIC)?;
    f.write_all(&seq.to_le_bytes())?;
    f.write_all(&hash.0)?;
    f.write_all(&catalog.0)?;
    f.write_all(body)
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
