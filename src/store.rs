//! The append-only event store, in sled: one key per event in the `events` tree (its
//! seq, big-endian, so sled's order is the log's), an `ids` and a `corrections` tree for
//! lookups, the committed head in `meta` (see `trees`). One writer thread assigns seq,
//! time and hash, checks each batch as a whole and makes every batch waiting durable
//! with one sled flush and one `fdatasync`. What sled cannot know stays ours: the hash
//! chain, `verify`, seals, and the guard against a store that comes back shorter.
use std::{
    fs::File,
    io::{Read, Seek, Write},
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicU64, Ordering},
        mpsc, Arc, Mutex,
    },
    thread,
    time::{Duration, Instant},
};

use chrono::{DateTime, FixedOffset, Utc};
use events::{catalog::Correction, Catalog, Envelope, FieldError, Hash, NewEvent, GENESIS};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

mod damage;
mod legacy;
mod lookup;
mod migrate;
pub mod raw;
mod read;
mod record;
mod rules;
mod tokens;
mod trees;
mod verify;
mod writer;

use trees::Trees;

pub use damage::Damage;
pub use read::{Filter, Scan};
pub use tokens::{NotARole, Role, TokenError, TokenInfo, MAX_TOKEN_DAYS};
pub use verify::{NotASeal, Seal, VerifyFailure, VerifyReport};
pub use writer::{gather, CHUNK};

/// The old log file's name: a store that still has one is moved into sled on open.
pub const LOG_FILE: &str = legacy::FILE;

/// Everything the store can refuse or fail at.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another process holds the store. Handling: stop that process, or use another folder.
    #[error("the store at {path} is in use by pid {pid}")]
    Locked {
        /// The store folder.
        path: PathBuf,
        /// The holder's pid as it wrote it.
        pid: String,
    },
    /// The folder cannot be created, locked or opened. Handling: check the path and permissions.
    #[error("cannot open the store at {path}: {source}")]
    Open {
        /// The store folder.
        path: PathBuf,
        /// The underlying failure.
        source: std::io::Error,
    },
    /// sled refused to open or read its files. Handling: restore the folder from a backup
    /// (the export or backup you keep), then run `annals verify`.
    #[error("the store at {path} is damaged ({reason}); restore it from a backup or an export, then run `annals verify`")]
    Damaged {
        /// The store folder.
        path: PathBuf,
        /// sled's or the decoder's words.
        reason: String,
    },
    /// Some events of a batch were refused; nothing of the batch was written.
    /// Handling: show each item's error to the submitter.
    #[error("{}", describe_items(.0))]
    Rejected(Vec<ItemError>),
    /// The head moved past the `expected_seq` the batch was based on. Handling: re-read and retry.
    #[error("the log's head is at seq {actual}, not the expected {expected}")]
    HeadMoved {
        /// What the caller expected.
        expected: u64,
        /// Where the head is.
        actual: u64,
    },
    /// A read, write or flush failed; a batch in flight was not acknowledged. Handling:
    /// report it; check the disk (space, permissions) and retry later.
    #[error("the store could not read or write its files: {0}")]
    Io(#[from] sled::Error),
    /// Reading or syncing a file failed. Handling: as for `Io`.
    #[error("the store could not read or write its files: {0}")]
    LogIo(#[from] std::io::Error),
    /// The disk is (nearly) full: the batch was refused before anything was written.
    /// Handling: free space or move the store, then retry; reads go on working.
    #[error("the disk holding {path} is full: {available} bytes free, {needed} needed (the store keeps a reserve); nothing was written")]
    DiskFull {
        /// The store folder.
        path: PathBuf,
        /// Bytes free.
        available: u64,
        /// Bytes this batch needs, reserve included.
        needed: u64,
    },
    /// The writer thread is gone (the store is closing). Handling: reopen the store.
    #[error("the store is closed")]
    Closed,
}

/// One refused event of a batch, by its position (0-based).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemError {
    /// The event's position in the batch.
    pub index: usize,
    /// The failing field and reason.
    #[serde(flatten)]
    pub error: FieldError,
}

fn describe_items(items: &[ItemError]) -> String {
    items
        .iter()
        .map(|i| format!("event {}: {}", i.index + 1, i.error))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The last event of the log: what a seal or a report cites.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    /// Its seq (0 for an empty log).
    pub seq: u64,
    /// Its hash ([`GENESIS`] for an empty log).
    pub hash: Hash,
    /// When it was recorded.
    pub recorded_at: Option<DateTime<Utc>>,
}

impl Default for Head {
    fn default() -> Self {
        Head {
            seq: 0,
            hash: GENESIS,
            recorded_at: None,
        }
    }
}

/// What the store did with one event of a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Receipt {
    /// The event's id.
    pub id: Uuid,
    /// Its seq.
    pub seq: u64,
    /// Its hash.
    pub hash: Hash,
    /// True when an identical event with this id was already there and nothing was written.
    pub existing: bool,
}

/// What an import adds at the end so backfilled history stays visible as such.
#[derive(Debug, Clone)]
pub struct ImportNote {
    /// SHA-256 of the file.
    pub file_hash: Hash,
    /// Its name as given.
    pub file_name: String,
    /// How many event lines it held.
    pub lines: usize,
}

/// One atomic append.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    /// New events, validated against the catalog.
    pub events: Vec<NewEvent>,
    /// Refuse the batch unless the head is at this seq.
    pub expected_seq: Option<u64>,
    /// The author for events that name none.
    pub author: String,
    /// Set by imports: adds an `import_completed` event when anything new was written.
    pub import: Option<ImportNote>,
}

enum Job {
    Append(Batch, mpsc::SyncSender<Result<Vec<Receipt>, StoreError>>),
    Restore(
        Vec<Envelope>,
        mpsc::SyncSender<Result<Vec<Receipt>, StoreError>>,
    ),
}

/// The free space kept in reserve unless a deployment says otherwise.
pub const DEFAULT_MIN_FREE_BYTES: u64 = 16 * 1024 * 1024;

/// Options for opening a store.
#[derive(Debug, Clone)]
pub struct Options {
    /// The school's UTC offset, for the date of corrections and imports (Asia/Shanghai: +08:00).
    pub offset: FixedOffset,
    /// Appends are refused while the disk has less free space than this. sled does not
    /// recover well from running out of space mid-write, so the store stops short of it.
    pub min_free_bytes: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            min_free_bytes: DEFAULT_MIN_FREE_BYTES,
            offset: FixedOffset::east_opt(events::occurred::DEFAULT_UTC_OFFSET_SECONDS)
                .expect("+08:00 is a valid offset"),
        }
    }
}

/// An open store. Cloning is cheap; all clones share one writer.
#[derive(Clone)]
pub struct Store {
    trees: Trees,
    catalog: Arc<Catalog>,
    /// The highest seq that is on disk; readers never see past it.
    durable: Arc<AtomicU64>,
    /// The same, published to subscribers as each group commits.
    published: tokio::sync::watch::Receiver<u64>,
    writer: Arc<WriterHandle>,
    path: PathBuf,
    _lock: Arc<File>,
}

/// The way to the writer thread. When the last store handle drops, the thread is
/// stopped and waited for, so sled's files are closed before the store's lock is
/// released and the folder can be reopened at once.
struct WriterHandle {
    sender: Mutex<Option<mpsc::Sender<Job>>>,
    thread: Option<thread::JoinHandle<()>>,
    /// sled's own file, which sled locks while any of its threads holds it.
    sled_file: PathBuf,
}

/// How long a dropped store waits, at most, for sled's threads to let go of its file.
const SLED_RELEASE: Duration = Duration::from_secs(2);

impl Drop for WriterHandle {
    fn drop(&mut self) {
        if let Ok(sender) = self.sender.get_mut() {
            sender.take();
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        wait_for_sled(&self.sled_file);
    }
}

/// The last handle on sled is gone, but sled's I/O threads can keep its file open a
/// moment longer: waits until its lock is free, so that a closed store has closed every
/// file it opened and the folder can be opened again at once.
fn wait_for_sled(sled_file: &Path) {
    let started = Instant::now();
    while let Ok(file) = File::open(sled_file) {
        if file.try_lock().is_ok() || started.elapsed() > SLED_RELEASE {
            break;
        }
        thread::sleep(Duration::from_millis(1));
    }
}

/// sled's page cache. sled keeps what it reads and writes there until it is full, so
/// this bounds the store's memory beside the fold; its resident cost is about twice
/// this figure. Chosen by measurement at 1 000 000 events (BENCHMARKS.md, issue 14): a
/// JSONL import peaked at 1 011–1 013 MB with 64 MiB, 942 MB with 32, 903 MB with 16;
/// `annals serve` at 361, 326 and 307 MB. 32 MiB keeps the import under its 1 GB bar
/// with room; below it the saving is small and more of the writer's id lookups miss.
/// Public for the benchmark's raw sled, configured alike.
pub const SLED_CACHE_BYTES: u64 = 32 << 20;

/// sled's folder inside the store's.
const SLED_DIR: &str = "sled";

impl Store {
    /// Opens (creating if needed) the store in `dir`, taking an exclusive lock on it.
    /// A store that still keeps its events in the old log file has them moved into sled
    /// first; events a batch wrote past the committed head (a crash mid-write) are
    /// dropped; a store that comes back shorter than it was is refused.
    #[tracing::instrument(skip_all, fields(path = %dir.display()))]
    pub fn open(dir: &Path, catalog: Arc<Catalog>, options: Options) -> Result<Self, StoreError> {
        let open_err = |source| StoreError::Open {
            path: dir.to_owned(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(open_err)?;
        crate::private::restrict(dir).map_err(open_err)?;
        let lock = lock(dir)?;
        let damaged = |e: &dyn std::fmt::Display| StoreError::Damaged {
            path: dir.to_owned(),
            reason: e.to_string(),
        };
        drop_unfinished_sled_snapshots(&dir.join(SLED_DIR)).map_err(open_err)?;
        // sled may panic rather than err on some damaged files; either way the answer
        // is the same: the store is damaged, restore it.
        let opened = std::panic::catch_unwind(|| {
            // No background flusher: the writer flushes each group itself, and a
            // flusher thread can still hold sled's files a moment after the last
            // handle is dropped.
            sled::Config::new()
                .path(dir.join(SLED_DIR))
                .cache_capacity(SLED_CACHE_BYTES)
                .flush_every_ms(None)
                .open()
        })
        .map_err(|_| damaged(&"sled could not read its files"))?;
        let db = opened.map_err(|e| match e {
            sled::Error::Io(io) => open_err(io),
            other => damaged(&other),
        })?;
        let trees = Trees::open(db).map_err(|e| damaged(&e))?;
        migrate::from_log_file(&trees, &catalog, dir).map_err(|e| damaged(&e))?;
        let head = trees
            .head()
            .map_err(|e| damaged(&e))?
            .map_err(|e| damaged(&e))?;
        // A batch that was being written when the process stopped left events past the
        // committed head: they were never acknowledged.
        trees::remove_after(&trees, &catalog, head.seq)?;
        check_head(&trees, &head).map_err(|e| damaged(&e))?;
        let seen = read_seen(dir).map_err(|e| damaged(&e))?;
        if let Some(held) = seen.filter(|held| *held > head.seq) {
            return Err(damaged(&format!(
                "sled holds {} events but this store has held at least {held}: its files lost data or were replaced by an older copy",
                head.seq
            )));
        }
        // Again, now that sled has made its files.
        crate::private::restrict(dir).map_err(open_err)?;
        let data_file = File::open(dir.join(SLED_DIR).join("db")).map_err(open_err)?;
        let durable = Arc::new(AtomicU64::new(head.seq));
        let (publish, published) = tokio::sync::watch::channel(head.seq);
        let (tx, rx) = mpsc::channel();
        let writer = writer::Writer::new(
            trees.clone(),
            catalog.clone(),
            durable.clone(),
            head,
            options.offset,
            dir.to_owned(),
            options.min_free_bytes,
            data_file,
            publish,
        );
        let thread = thread::Builder::new()
            .name("annals-writer".into())
            .spawn(move || writer.run(rx))
            .map_err(open_err)?;
        Ok(Store {
            trees,
            catalog,
            durable,
            published,
            writer: Arc::new(WriterHandle {
                sender: Mutex::new(Some(tx)),
                thread: Some(thread),
                sled_file: dir.join(SLED_DIR).join("db"),
            }),
            path: dir.to_owned(),
            _lock: Arc::new(lock),
        })
    }

    /// The catalog events are validated against.
    pub fn catalog(&self) -> &Arc<Catalog> {
        &self.catalog
    }

    /// The folder the store lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends a batch atomically and returns once it is on disk. Blocks: async callers
    /// use `spawn_blocking`.
    #[tracing::instrument(skip_all, fields(events = batch.events.len()))]
    pub fn append(&self, batch: Batch) -> Result<Vec<Receipt>, StoreError> {
        self.submit(|reply| Job::Append(batch, reply))
    }

    /// Appends exported envelopes as they are (seq, times, authors and hashes kept),
    /// each held to the store's rules. The first must follow the head exactly.
    pub fn restore(&self, envelopes: Vec<Envelope>) -> Result<Vec<Receipt>, StoreError> {
        self.submit(|reply| Job::Restore(envelopes, reply))
    }

    fn submit(
        &self,
        job: impl FnOnce(mpsc::SyncSender<Result<Vec<Receipt>, StoreError>>) -> Job,
    ) -> Result<Vec<Receipt>, StoreError> {
        let (tx, rx) = mpsc::sync_channel(1);
        {
            let writer = self.writer.sender.lock().expect("writer lock poisoned");
            let sender = writer.as_ref().ok_or(StoreError::Closed)?;
            sender.send(job(tx)).map_err(|_| StoreError::Closed)?;
        }
        rx.recv().map_err(|_| StoreError::Closed)?
    }

    /// The seq of the last durable event (0 for an empty log).
    pub fn head_seq(&self) -> u64 {
        self.durable.load(Ordering::Acquire)
    }

    /// The head as readers may see it: the last event that is on disk.
    pub fn head(&self) -> Result<Head, StoreError> {
        let seq = self.durable.load(Ordering::Acquire);
        if seq == 0 {
            return Ok(Head::default());
        }
        let bytes = self.record(seq)?;
        let e = self.decode(seq, GENESIS, &bytes)?;
        Ok(Head {
            seq,
            hash: e.hash,
            recorded_at: Some(e.recorded_at),
        })
    }

    /// The stored record of a durable `seq`.
    fn record(&self, seq: u64) -> Result<sled::IVec, StoreError> {
        self.trees
            .events
            .get(trees::seq_key(seq))?
            .ok_or_else(|| self.damaged(format!("seq {seq} is missing")))
    }

    /// The head seq as each group of appends commits: the store publishes what it
    /// committed, and a subscriber reads the events up to it from the log at its own
    /// pace, so a slow one falls behind without missing any.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.published.clone()
    }

    /// The event with that seq, if it is durable.
    pub fn get_seq(&self, seq: u64) -> Result<Option<Envelope>, StoreError> {
        if seq == 0 || seq > self.durable.load(Ordering::Acquire) {
            return Ok(None);
        }
        let prev = match seq {
            1 => GENESIS,
            _ => record::hash(&self.record(seq - 1)?)
                .map_err(|e| self.damaged(format!("seq {} cannot be decoded: {e}", seq - 1)))?,
        };
        self.decode(seq, prev, &self.record(seq)?).map(Some)
    }

    /// The event with that id, if any.
    pub fn get(&self, id: Uuid) -> Result<Option<Envelope>, StoreError> {
        match self
            .trees
            .ids
            .get(id.as_bytes())?
            .and_then(|v| trees::seq_of(&v))
        {
            Some(seq) => self.get_seq(seq),
            None => Ok(None),
        }
    }

    /// Every correction (amendment or void) recorded against an event, in order.
    pub fn corrections_of(&self, id: Uuid) -> Result<Vec<Envelope>, StoreError> {
        let mut out = Vec::new();
        for item in self.trees.corrections.scan_prefix(id.as_bytes()) {
            let (key, value) = item?;
            let Some((seq, _)) = trees::correction_entry(&key, &value) else {
                return Err(self.damaged("a correction entry is garbled".into()));
            };
            if let Some(e) = self.get_seq(seq)? {
                out.push(e);
            }
        }
        Ok(out)
    }

    /// Streams the durable log in seq order, filtered, without loading it whole.
    pub fn scan(&self, filter: Filter) -> Scan {
        Scan::new(self.clone(), filter)
    }

    /// The fold's snapshot, if one was kept.
    pub fn snapshot(&self) -> Result<Option<sled::IVec>, StoreError> {
        Ok(self.trees.snapshot.get(trees::SNAPSHOT_KEY)?)
    }

    /// Keeps the fold's snapshot beside the events, replacing the last one. Refused
    /// (nothing written) while the disk is short of its reserve.
    pub fn put_snapshot(&self, bytes: &[u8]) -> Result<(), StoreError> {
        self.check_reserve(2 * bytes.len() as u64)?;
        self.trees.snapshot.insert(trees::SNAPSHOT_KEY, bytes)?;
        self.trees.snapshot.flush()?;
        Ok(())
    }

    /// Refuses a write of about `bytes` outside the writer (the snapshot, a token)
    /// unless the disk keeps the store's reserve after it: sled does not recover well
    /// from running out of space mid-write.
    fn check_reserve(&self, bytes: u64) -> Result<(), StoreError> {
        let needed = DEFAULT_MIN_FREE_BYTES + bytes;
        let available = fs4::available_space(&self.path)?;
        if available < needed {
            return Err(StoreError::DiskFull {
                path: self.path.clone(),
                available,
                needed,
            });
        }
        Ok(())
    }

    /// Stops the writer after the batches already queued; later appends get `Closed`.
    pub fn close(&self) {
        self.writer
            .sender
            .lock()
            .expect("writer lock poisoned")
            .take();
    }

    fn decode(&self, seq: u64, prev: Hash, bytes: &[u8]) -> Result<Envelope, StoreError> {
        record::decode(bytes, seq, prev)
            .map_err(|e| self.damaged(format!("seq {seq} cannot be decoded: {e}")))
    }

    fn damaged(&self, reason: String) -> StoreError {
        StoreError::Damaged {
            path: self.path.clone(),
            reason,
        }
    }
}

/// Removes the page-table snapshots sled was still writing when its process stopped.
/// sled 0.34 writes `snap.<lsn>.generating`, syncs it and only then renames it to
/// `snap.<lsn>`, but on open it reads the newest `snap.*` file whatever its suffix, so a
/// kill mid-snapshot leaves a store that fails with "Read corrupted data" (sled issues
/// 1527 and 1533; seen here under the SIGKILL tests). An unfinished snapshot was never
/// the one in force: without it sled starts from the last finished one and replays its
/// log from there, which is what it would have done had the kill come a moment earlier.
fn drop_unfinished_sled_snapshots(sled_dir: &Path) -> std::io::Result<()> {
    let Ok(entries) = std::fs::read_dir(sled_dir) else {
        return Ok(());
    };
    for entry in entries {
        let path = entry?.path();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if name.starts_with("snap.") && name.ends_with(".generating") {
            tracing::warn!(file = %path.display(), "removing a snapshot sled did not finish writing");
            std::fs::remove_file(&path)?;
        }
    }
    Ok(())
}

/// The committed head must be the last event sled holds, with that hash.
fn check_head(trees: &Trees, head: &Head) -> Result<(), Damage> {
    let last = trees.events.last()?;
    match (head.seq, last) {
        (0, None) => Ok(()),
        (0, Some(_)) => Err(Damage::inconsistent(
            "sled holds events but no committed head",
        )),
        (seq, None) => Err(Damage::inconsistent(format!(
            "the committed head is seq {seq} but sled holds no events"
        ))),
        (seq, Some((key, bytes))) => {
            if trees::seq_of(&key) != Some(seq) {
                return Err(Damage::inconsistent(format!(
                    "the committed head is seq {seq} but sled's last event is another"
                )));
            }
            match record::hash(&bytes) {
                Ok(h) if h == head.hash => Ok(()),
                _ => Err(Damage::inconsistent(format!(
                    "the event at the committed head (seq {seq}) does not carry its hash"
                ))),
            }
        }
    }
}

/// The file, beside sled's folder, that remembers how far the log has reached. It is
/// written at most once a second and when the writer stops (synced, then renamed into
/// place, so it may lag behind but is never torn): a lower bound that catches a sled
/// folder removed, cut short or replaced by an older copy, which sled itself reopens
/// as smaller or empty without complaint.
const SEEN_FILE: &str = "annals.seen";

/// How far the store has reached, as its note says: `None` when there is no note (a new
/// store); an error when there is one that does not read as a seq, which is refused
/// rather than taken as no note, or the guard would fail open.
fn read_seen(dir: &Path) -> Result<Option<u64>, Damage> {
    match std::fs::read_to_string(dir.join(SEEN_FILE)) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Damage::inconsistent(format!("its note of how far it reached ({SEEN_FILE}) cannot be read: {e}"))),
        Ok(text) => text.trim().parse().map(Some).map_err(|_| {
            Damage::inconsistent(format!("its note of how far it reached ({SEEN_FILE}) is garbled; restore the folder whole from a backup"))
        }),
    }
}

fn write_seen(dir: &Path, seq: u64) {
    let tmp = dir.join(format!("{SEEN_FILE}.tmp"));
    // Synced before the rename, so a power cut leaves the old note or the new one, never
    // an empty one (which the store would refuse to open on).
    let written = crate::private::create(&tmp)
        .and_then(|mut f| {
            f.write_all(seq.to_string().as_bytes())?;
            f.sync_data()
        })
        .and_then(|()| std::fs::rename(&tmp, dir.join(SEEN_FILE)));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        // Only a check is lost, never data: the events themselves are already flushed.
        tracing::warn!(error = %e, "could not note the head seq beside the store");
    }
}

/// Takes the store's lock file, or says which process holds it.
fn lock(dir: &Path) -> Result<File, StoreError> {
    let path = dir.join("annals.lock");
    let open_err = |source| StoreError::Open {
        path: dir.to_owned(),
        source,
    };
    let mut file = crate::private::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(open_err)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut pid = String::new();
            let _ = file.read_to_string(&mut pid);
            return Err(StoreError::Locked {
                path: dir.to_owned(),
                pid: if pid.trim().is_empty() {
                    "unknown".into()
                } else {
                    pid.trim().to_owned()
                },
            });
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(open_err(e)),
    }
    file.set_len(0).map_err(open_err)?;
    file.rewind().map_err(open_err)?;
    write!(file, "{}", std::process::id()).map_err(open_err)?;
    file.sync_all().map_err(open_err)?;
    Ok(file)
}

/// The event a correction targets, if `e` is one, and whether it voids it.
fn correction_target(catalog: &Catalog, e: &Envelope) -> Option<(Uuid, bool)> {
    catalog
        .kind(&e.kind)?
        .correction_target(&e.data)
        .map(target_and_voids)
}

/// The correction a stored record makes, if it is one.
fn correction_of(catalog: &Catalog, bytes: &[u8]) -> Option<(Uuid, bool)> {
    correction_target(catalog, &record::decode(bytes, 0, GENESIS).ok()?)
}

/// A correction's target as the trees keep it: the event, and whether it is voided.
fn target_and_voids((correction, target): (Correction, Uuid)) -> (Uuid, bool) {
    (target, correction == Correction::Void)
}
