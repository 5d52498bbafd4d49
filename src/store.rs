//! The append-only event store: the events in one log file of checksummed frames (see
//! `log`), sled for the tokens. One writer thread assigns seq, time and hash, checks
//! each batch as a whole and makes every batch waiting durable with one write and one
//! `fdatasync`.
use std::{
    fs::File,
    io::{Read, Seek, Write},
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicU64, Ordering},
        mpsc, Arc, Mutex, RwLock,
    },
    thread,
    time::{Duration, Instant},
};

use chrono::{DateTime, FixedOffset, Utc};
use events::{
    canonical,
    catalog::Correction,
    envelope::{truncate, ChainCheck},
    Catalog, Envelope, FieldError, Hash, NewEvent, Occurred, Unsealed, GENESIS,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

mod log;
mod migrate;
mod read;
mod record;
mod rules;
mod tokens;
mod verify;

use log::{FrameWriter, Index, LogFile, OpenError};

pub(crate) use log::IdHasher;
pub use log::{read_file as read_log_file, write_file as write_log_file, FILE as LOG_FILE};
pub use read::{Filter, Scan};
pub use tokens::{Role, TokenError, TokenInfo, MAX_TOKEN_DAYS};
pub use verify::{Seal, VerifyFailure, VerifyReport};

/// The most batches one flush may cover; bounds the latency of the first in line.
const MAX_GROUP: usize = 256;

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
    /// Reading or writing the log file failed. Handling: as for `Io`.
    #[error("the store could not read or write its log: {0}")]
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
    /// The batch is larger than one write of the log can hold; nothing was written.
    /// Handling: split it (import the file in parts).
    #[error("the batch is too large for one write of the log (over {limit} bytes at event {index}); split it into smaller files; nothing was written")]
    TooLarge {
        /// The event (0-based, in the batch) at which the limit was passed.
        index: usize,
        /// The limit in bytes.
        limit: usize,
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
    /// The most bytes one group of batches may take in the log: a frame's length is a
    /// 32-bit number. A batch that would pass it (an import of some 15 million events
    /// in one file) is refused, and can be split.
    pub max_group_bytes: usize,
}

/// A frame's length is 32 bits; stop a little short of it.
pub const DEFAULT_MAX_GROUP_BYTES: usize = (u32::MAX as usize) - (64 << 20);

impl Default for Options {
    fn default() -> Self {
        Options {
            min_free_bytes: DEFAULT_MIN_FREE_BYTES,
            max_group_bytes: DEFAULT_MAX_GROUP_BYTES,
            offset: FixedOffset::east_opt(events::occurred::DEFAULT_UTC_OFFSET_SECONDS)
                .expect("+08:00 is a valid offset"),
        }
    }
}

/// The sled trees: only the tokens live there; the events are in the log file.
#[derive(Clone)]
struct Trees {
    tokens: sled::Tree,
}

/// An open store. Cloning is cheap; all clones share one writer.
#[derive(Clone)]
pub struct Store {
    trees: Trees,
    log: Arc<LogFile>,
    index: Arc<RwLock<Index>>,
    catalog: Arc<Catalog>,
    /// The highest seq that is on disk; readers never see past it.
    durable: Arc<AtomicU64>,
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
        // The writer held the last handle on sled, but sled's I/O threads can keep its
        // file open a moment longer; wait until its lock is free, so that a dropped
        // store has closed every file it opened.
        let started = Instant::now();
        while let Ok(file) = File::open(&self.sled_file) {
            if file.try_lock().is_ok() || started.elapsed() > SLED_RELEASE {
                break;
            }
            thread::sleep(Duration::from_millis(1));
        }
    }
}

/// sled's page cache: it holds only tokens, so a little is plenty.
const SLED_CACHE_BYTES: u64 = 8 << 20;

/// A large batch's frame goes to the file in pieces of this size as it is staged.
const EARLY_BYTES: usize = 8 << 20;

/// How long the writer waits for the batches it expects before it writes a group.
const GATHER: Duration = Duration::from_micros(200);

/// How often, at most, the writer refreshes the `annals.seen` note.
const SEEN_EVERY: Duration = Duration::from_secs(1);

impl Store {
    /// Opens (creating if needed) the store in `dir`, taking an exclusive lock on it.
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
        // sled may panic rather than err on some damaged files; either way the answer
        // is the same: the store is damaged, restore it.
        let opened = std::panic::catch_unwind(|| {
            // No background flusher: the tokens flush as they are written, and a
            // flusher thread can still hold sled's files a moment after the last
            // handle is dropped.
            sled::Config::new()
                .path(dir.join("sled"))
                .cache_capacity(SLED_CACHE_BYTES)
                .flush_every_ms(None)
                .open()
        })
        .map_err(|_| damaged(&"sled could not read its files"))?;
        let db = opened.map_err(|e| match e {
            sled::Error::Io(io) => open_err(io),
            other => damaged(&other),
        })?;
        let trees = Trees {
            tokens: db.open_tree("tokens").map_err(|e| damaged(&e))?,
        };
        migrate::from_sled(&db, &dir.join(log::FILE)).map_err(|e| damaged(&e))?;
        let seen = read_seen(dir);
        let opened = LogFile::open(&dir.join(log::FILE), &catalog, seen).map_err(|e| match e {
            OpenError::Io(io) => open_err(io),
            OpenError::Damaged(reason) => damaged(&reason),
        })?;
        let (log, index) = (Arc::new(opened.log), opened.index);
        let head = index.head;
        if let Some(held) = seen.filter(|held| *held > head.seq) {
            return Err(damaged(&format!(
                "the log holds {} events but this store has held at least {held}: its files lost data",
                head.seq
            )));
        }
        let durable = Arc::new(AtomicU64::new(head.seq));
        let index = Arc::new(RwLock::new(index));
        let (tx, rx) = mpsc::channel();
        let writer = Writer {
            log: log.clone(),
            index: index.clone(),
            catalog: catalog.clone(),
            durable: durable.clone(),
            head,
            written: index.read().expect("index lock poisoned").end,
            pending: Vec::new(),
            early: 0,
            frame: None,
            offset: options.offset,
            dir: dir.to_owned(),
            min_free_bytes: options.min_free_bytes,
            max_group_bytes: options.max_group_bytes,
            seen_at: None,
            db,
        };
        // Again, now that sled and the log have made their files.
        crate::private::restrict(dir).map_err(open_err)?;
        let thread = thread::Builder::new()
            .name("annals-writer".into())
            .spawn(move || writer.run(rx))
            .map_err(open_err)?;
        Ok(Store {
            trees,
            log,
            index,
            catalog,
            durable,
            writer: Arc::new(WriterHandle {
                sender: Mutex::new(Some(tx)),
                thread: Some(thread),
                sled_file: dir.join("sled").join("db"),
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

    /// Appends exported envelopes verbatim (seq, times, authors and hashes kept). The
    /// first must follow the head exactly; the caller has checked their chain.
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
        let e = self
            .get_seq(seq)?
            .ok_or_else(|| self.damaged(format!("seq {seq} is missing")))?;
        Ok(Head {
            seq,
            hash: e.hash,
            recorded_at: Some(e.recorded_at),
        })
    }

    /// The event with that seq, if it is durable.
    pub fn get_seq(&self, seq: u64) -> Result<Option<Envelope>, StoreError> {
        if seq == 0 || seq > self.durable.load(Ordering::Acquire) {
            return Ok(None);
        }
        let (at, before) = {
            let index = self.index.read().expect("index lock poisoned");
            (index.offset(seq), index.offset(seq - 1))
        };
        let Some(at) = at else {
            return Err(self.damaged(format!("seq {seq} is missing")));
        };
        let prev = match before {
            Some(b) => self.log.hash(b)?,
            None => GENESIS,
        };
        let bytes = self.log.record(at)?;
        self.decode(seq, prev, &bytes).map(Some)
    }

    /// The event with that id, if any.
    pub fn get(&self, id: Uuid) -> Result<Option<Envelope>, StoreError> {
        let seq = self.index.read().expect("index lock poisoned").seq_of(&id);
        match seq {
            Some(seq) => self.get_seq(seq),
            None => Ok(None),
        }
    }

    /// Every correction (amendment or void) recorded against an event, in order.
    pub fn corrections_of(&self, id: Uuid) -> Result<Vec<Envelope>, StoreError> {
        let seqs: Vec<u64> = self
            .index
            .read()
            .expect("index lock poisoned")
            .corrections(&id)
            .iter()
            .map(|(seq, _)| *seq)
            .collect();
        let mut out = Vec::with_capacity(seqs.len());
        for seq in seqs {
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

/// The file, beside the log, that remembers how far the log has reached. It is written
/// at most once a second and when the writer stops (atomically, by rename, but without
/// its own fsync, so it may lag behind): a lower bound that catches a log file cut
/// short, replaced or lost.
const SEEN_FILE: &str = "annals.seen";

fn read_seen(dir: &Path) -> Option<u64> {
    std::fs::read_to_string(dir.join(SEEN_FILE))
        .ok()?
        .trim()
        .parse()
        .ok()
}

fn write_seen(dir: &Path, seq: u64) {
    let tmp = dir.join(format!("{SEEN_FILE}.tmp"));
    let written = crate::private::create(&tmp)
        .and_then(|mut f| f.write_all(seq.to_string().as_bytes()))
        .and_then(|()| std::fs::rename(&tmp, dir.join(SEEN_FILE)));
    if let Err(e) = written {
        // Only a check is lost, never data: the log itself is already flushed.
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

/// The single writer: the only code that assigns seq and writes to the log.
struct Writer {
    log: Arc<LogFile>,
    index: Arc<RwLock<Index>>,
    catalog: Arc<Catalog>,
    durable: Arc<AtomicU64>,
    /// The last event accepted, durable or still in `pending`.
    head: Head,
    /// The log file's length: everything before it is on disk.
    written: u64,
    /// This group's frame, not yet written.
    pending: Vec<u8>,
    /// How much of `pending` a large batch has already written to the file (0: none).
    early: usize,
    frame: Option<FrameWriter>,
    offset: FixedOffset,
    dir: PathBuf,
    min_free_bytes: u64,
    max_group_bytes: usize,
    seen_at: Option<Instant>,
    /// Kept open as long as the writer runs, so sled's files close before the lock goes.
    db: sled::Db,
}

/// A batch while it is staged: what it has found and how to take it back.
struct Staging {
    author: String,
    now: DateTime<Utc>,
    errors: Vec<ItemError>,
    receipts: Vec<Receipt>,
    /// Events looked at so far: the next one's index in the batch.
    seen: usize,
    /// Events staged as new.
    added: usize,
    undo: Undo,
}

/// Where the group stood before a batch: its head, its frame's length and count.
#[derive(Clone, Copy)]
struct Undo {
    head: Head,
    pending: usize,
    count: Option<u32>,
}

impl Writer {
    fn run(mut self, rx: mpsc::Receiver<Job>) {
        // As many batches as the last group held are likely to be on their way again
        // (each writer sends its next one once the last was acknowledged): wait a
        // moment for them, so they share one write and one fdatasync.
        let mut expect = 1;
        while let Ok(first) = rx.recv() {
            let mut group = vec![first];
            let deadline = Instant::now() + GATHER;
            while group.len() < MAX_GROUP {
                match rx.try_recv() {
                    Ok(job) => group.push(job),
                    Err(mpsc::TryRecvError::Empty) if group.len() < expect => {
                        let left = deadline.saturating_duration_since(Instant::now());
                        match rx.recv_timeout(left) {
                            Ok(job) => group.push(job),
                            Err(_) => break,
                        }
                    }
                    Err(_) => break,
                }
            }
            expect = group.len();
            let start = self.head;
            let mut results = Vec::with_capacity(group.len());
            for job in group {
                let (result, reply) = match job {
                    Job::Append(batch, reply) => (self.append(batch), reply),
                    Job::Restore(envs, reply) => (self.restore(envs), reply),
                };
                results.push((result, reply));
            }
            match self.commit() {
                Ok(()) => {
                    self.durable.store(self.head.seq, Ordering::Release);
                    self.note_seen(false);
                    for (result, reply) in results {
                        let _ = reply.send(result);
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "the log write failed; the group is not acknowledged");
                    // Nothing past `written` counts: cut it off and forget it, so the
                    // next batch chains onto what is on disk.
                    if let Err(cut) = self.log.cut(self.written) {
                        tracing::error!(error = %cut, "could not cut the failed write off the log");
                    }
                    self.index
                        .write()
                        .expect("index lock poisoned")
                        .rollback(start, self.written);
                    self.head = start;
                    for (_, reply) in results {
                        let _ = reply.send(Err(StoreError::LogIo(std::io::Error::new(
                            e.kind(),
                            e.to_string(),
                        ))));
                    }
                }
            }
        }
        self.note_seen(true);
        // sled writes on threads of its own; waiting for them here means its files are
        // closed once this thread is joined.
        let _ = self.db.flush();
    }

    /// Writes this group's frame, if it has one, and waits for the disk.
    fn commit(&mut self) -> std::io::Result<()> {
        let Some(frame) = self.frame.take() else {
            return Ok(());
        };
        frame.finish(&mut self.pending);
        let result = match self.early {
            0 => self.log.append(&self.pending, self.written),
            early => self
                .log
                .write_early(&self.pending[..log::FRAME_HEADER], self.written)
                .and_then(|()| {
                    self.log
                        .append(&self.pending[early..], self.written + early as u64)
                }),
        };
        self.early = 0;
        if result.is_ok() {
            self.written += self.pending.len() as u64;
        }
        self.pending.clear();
        if self.pending.capacity() > 1 << 24 {
            self.pending = Vec::new();
        }
        result
    }

    /// Refreshes `annals.seen` when it is a second old, or `now`.
    fn note_seen(&mut self, now: bool) {
        if now || self.seen_at.is_none_or(|t| t.elapsed() >= SEEN_EVERY) {
            write_seen(&self.dir, self.durable.load(Ordering::Acquire));
            self.seen_at = Some(Instant::now());
        }
    }

    /// What the log (staged events included) says about `id`.
    fn known(&self, id: Uuid) -> Result<Option<rules::Known>, StoreError> {
        let (seq, voided) = {
            let index = self.index.read().expect("index lock poisoned");
            let Some(seq) = index.seq_of(&id) else {
                return Ok(None);
            };
            (seq, index.corrections(&id).iter().any(|(_, void)| *void))
        };
        let bytes = self.record(seq)?;
        let def = record::kind(&bytes).ok().and_then(|k| self.catalog.kind(k));
        Ok(Some(rules::Known {
            seq,
            voided,
            correction: def.is_some_and(|d| d.correction.is_some()),
            system: def.is_some_and(|d| d.system),
        }))
    }

    /// The record of `seq`, from the disk or, if it is in this group, from `pending`.
    fn record(&self, seq: u64) -> Result<Vec<u8>, StoreError> {
        let at = self
            .index
            .read()
            .expect("index lock poisoned")
            .offset(seq)
            .ok_or_else(|| StoreError::Damaged {
                path: self.dir.clone(),
                reason: format!("seq {seq} is indexed but missing"),
            })?;
        if at < self.written {
            return Ok(self.log.record(at)?);
        }
        let start = usize::try_from(at - self.written).expect("a group fits in memory");
        let len = u32::from_le_bytes(self.pending[start..start + 4].try_into().expect("4 bytes"))
            as usize;
        Ok(self.pending[start + 4..start + 4 + len].to_vec())
    }

    /// The event of `seq` (its `prev_hash` left unset: callers compare content).
    fn load(&self, seq: u64) -> Result<Envelope, StoreError> {
        record::decode(&self.record(seq)?, seq, GENESIS).map_err(|e| StoreError::Damaged {
            path: self.dir.clone(),
            reason: format!("seq {seq} cannot be decoded: {e}"),
        })
    }

    fn append(&mut self, batch: Batch) -> Result<Vec<Receipt>, StoreError> {
        if let Some(expected) = batch.expected_seq {
            if expected != self.head.seq {
                return Err(StoreError::HeadMoved {
                    expected,
                    actual: self.head.seq,
                });
            }
        }
        let mut staging = self.begin(batch.author);
        let staged = self.stage(&mut staging, batch.events);
        self.finish(staging, staged, batch.import)
    }

    /// Starts staging a batch into this group's frame, noting how to undo it.
    fn begin(&self, author: String) -> Staging {
        Staging {
            author,
            now: truncate(Utc::now()),
            errors: Vec::new(),
            receipts: Vec::new(),
            seen: 0,
            added: 0,
            undo: self.mark(),
        }
    }

    /// Where the group stands now, to come back to.
    fn mark(&self) -> Undo {
        Undo {
            head: self.head,
            pending: self.pending.len(),
            count: self.frame.as_ref().map(FrameWriter::count),
        }
    }

    /// Checks each event against the log and the events staged before it, and stages
    /// it (sealed, encoded, indexed). A refused event is listed and staging goes on, so
    /// that every refusal is found; `finish` then undoes the batch.
    fn stage(&mut self, st: &mut Staging, events: Vec<NewEvent>) -> Result<(), StoreError> {
        self.check_space(events.len())?;
        st.receipts.reserve(events.len());
        for ev in events {
            let index = st.seen;
            st.seen += 1;
            if self.pending.len() > self.max_group_bytes {
                return Err(StoreError::TooLarge {
                    index,
                    limit: self.max_group_bytes,
                });
            }
            let mut fail = |field: &str, reason: String| {
                st.errors.push(ItemError {
                    index,
                    error: FieldError::new(field, reason),
                })
            };
            // Idempotency first: a retry of something already there is never an error.
            if let Some(known) = self.known(ev.id())? {
                let existing = self.load(known.seq)?;
                if existing.same_content(&ev) {
                    st.receipts.push(Receipt {
                        id: existing.id,
                        seq: existing.seq,
                        hash: existing.hash,
                        existing: true,
                    });
                } else {
                    fail(
                        "id",
                        format!(
                            "{} already exists at seq {} with different content",
                            ev.id(),
                            known.seq
                        ),
                    );
                }
                continue;
            }
            if let Err(e) = rules::kind(
                &self.catalog,
                ev.kind(),
                ev.version(),
                rules::Writer::Person,
            ) {
                fail(&e.field, e.reason);
            }
            if let Some((correction, target)) = ev.correction() {
                match rules::target(target, self.known(target)?) {
                    Err(e) => fail(&e.field, e.reason),
                    Ok(k) if correction == Correction::Amend => {
                        let target_env = self.load(k.seq)?;
                        let replacement = ev.data().get("data").cloned().unwrap_or_default();
                        if let Some(def) = self.catalog.kind(&target_env.kind) {
                            for e in def.validate_data(&replacement) {
                                fail(
                                    &format!("data.data.{}", e.field.trim_start_matches("data.")),
                                    e.reason,
                                );
                            }
                        }
                    }
                    Ok(_) => {}
                }
            }
            let recorded_at = rules::recorded_at(ev.recorded_at(), self.head.recorded_at, st.now)
                .unwrap_or_else(|e| {
                    fail(&e.field, e.reason);
                    st.now
                });
            let occurred = ev.occurred().unwrap_or_else(|| {
                Occurred::on(recorded_at.with_timezone(&self.offset).date_naive())
            });
            let e = Unsealed {
                id: ev.id(),
                seq: self.head.seq + 1,
                kind: ev.kind(),
                version: ev.version(),
                occurred,
                recorded_at,
                recorded_by: ev.recorded_by().unwrap_or(&st.author),
                data: ev.data_json(),
                prev_hash: self.head.hash,
            };
            let hash = e.hash();
            st.receipts.push(Receipt {
                id: e.id,
                seq: e.seq,
                hash,
                existing: false,
            });
            st.added += 1;
            let target = ev.correction().map(target_and_voids);
            self.push(&e, hash, target);
        }
        if self
            .pending
            .len()
            .saturating_sub(self.early.max(log::FRAME_HEADER))
            >= EARLY_BYTES
        {
            let from = self.early.max(log::FRAME_HEADER);
            self.log
                .write_early(&self.pending[from..], self.written + from as u64)?;
            self.early = self.pending.len();
        }
        Ok(())
    }

    /// Ends a staged batch: undone if anything was refused, else closed with the
    /// `import_completed` record when it is an import that added something.
    fn finish(
        &mut self,
        st: Staging,
        staged: Result<(), StoreError>,
        import: Option<ImportNote>,
    ) -> Result<Vec<Receipt>, StoreError> {
        let refused = match staged {
            Err(e) => Some(e),
            Ok(()) if !st.errors.is_empty() => Some(StoreError::Rejected(st.errors)),
            Ok(()) => None,
        };
        if let Some(e) = refused {
            self.undo(st.undo);
            return Err(e);
        }
        if let (Some(note), true) = (&import, st.added > 0) {
            let at = self.head.recorded_at.map_or(st.now, |l| l.max(st.now));
            let system = NewEvent::system(
                &self.catalog,
                "import_completed",
                Occurred::on(at.with_timezone(&self.offset).date_naive()),
                json!({
                    "file_sha256": note.file_hash.to_string(),
                    "file_name": note.file_name.chars().take(200).collect::<String>(),
                    "lines": note.lines,
                    "added": st.added,
                }),
            );
            let ev = match system {
                Ok(ev) => ev,
                Err(e) => {
                    self.undo(st.undo);
                    return Err(StoreError::Rejected(vec![ItemError {
                        index: st.seen,
                        error: FieldError::new("import_completed", e.to_string()),
                    }]));
                }
            };
            let e = Unsealed {
                id: ev.id(),
                seq: self.head.seq + 1,
                kind: ev.kind(),
                version: ev.version(),
                occurred: ev.occurred().expect("system events carry a date"),
                recorded_at: at,
                recorded_by: &st.author,
                data: ev.data_json(),
                prev_hash: self.head.hash,
            };
            self.push(&e, e.hash(), None);
        }
        Ok(st.receipts)
    }

    /// Takes a refused batch back out of the frame and the index.
    fn undo(&mut self, undo: Undo) {
        if self.early > undo.pending {
            // Its bytes went to the file early: cut them off again.
            if let Err(e) = self.log.cut(self.written + undo.pending as u64) {
                tracing::error!(error = %e, "could not cut a refused batch off the log");
            }
            self.early = undo.pending;
        }
        self.pending.truncate(undo.pending);
        match (undo.count, &mut self.frame) {
            (Some(count), Some(frame)) => frame.rewind(count),
            _ => {
                self.frame = None;
                self.pending.clear();
            }
        }
        self.index
            .write()
            .expect("index lock poisoned")
            .rollback(undo.head, self.written + self.pending.len() as u64);
        self.head = undo.head;
    }

    /// Adds one sealed event that chains onto the head to the frame and the index; it
    /// becomes durable (and visible) when the group is committed.
    /// `target` is the event a correction targets and whether it voids it.
    fn push(&mut self, e: &Unsealed, hash: Hash, target: Option<(Uuid, bool)>) {
        let first_seq = self.head.seq + 1;
        let frame = self
            .frame
            .get_or_insert_with(|| FrameWriter::begin(&mut self.pending, first_seq));
        let at = frame.record(&mut self.pending, |out| record::encode(e, hash, out));
        let head = Head {
            seq: e.seq,
            hash,
            recorded_at: Some(e.recorded_at),
        };
        let mut index = self.index.write().expect("index lock poisoned");
        let clash = index.push(e.seq, self.written + at as u64, e.id, target);
        debug_assert!(clash.is_none(), "staging checked that {} is new", e.id);
        index.head = head;
        index.end = self.written + self.pending.len() as u64;
        self.head = head;
    }

    /// Appends exported envelopes as they are, each held to the same rules as a new
    /// event (its kind and version, its recording time against the one before and the
    /// clock, its correction's target as the log stands when it comes); one refused
    /// envelope refuses them all.
    fn restore(&mut self, envs: Vec<Envelope>) -> Result<Vec<Receipt>, StoreError> {
        if let Some(first) = envs.first() {
            if first.seq != self.head.seq + 1 || first.prev_hash != self.head.hash {
                return Err(StoreError::HeadMoved {
                    expected: first.seq.saturating_sub(1),
                    actual: self.head.seq,
                });
            }
        }
        self.check_space(envs.len())?;
        let mark = self.mark();
        let now = truncate(Utc::now());
        let mut errors = Vec::new();
        for (index, e) in envs.iter().enumerate() {
            if self.pending.len() > self.max_group_bytes {
                self.undo(mark);
                return Err(StoreError::TooLarge {
                    index,
                    limit: self.max_group_bytes,
                });
            }
            let mut fail = |error: FieldError| errors.push(ItemError { index, error });
            // The caller checked the file's chain; the store checks the link it makes.
            if let Err(err) = ChainCheck::after(self.head.seq, self.head.hash).check(e) {
                fail(FieldError::new("hash", err.to_string()));
            }
            if self.known(e.id)?.is_some() {
                fail(FieldError::new(
                    "id",
                    format!("{} is already in the log", e.id),
                ));
            }
            if let Err(err) = rules::kind(&self.catalog, &e.kind, e.version, rules::Writer::Restore)
            {
                fail(err);
            }
            if let Err(err) = rules::recorded_at(Some(e.recorded_at), self.head.recorded_at, now) {
                fail(err);
            }
            let target = correction_target(&self.catalog, e);
            if let Some((id, _)) = target {
                if let Err(err) = rules::target(id, self.known(id)?) {
                    fail(err);
                }
            }
            if errors.is_empty() {
                let data = canonical::to_vec(&e.data);
                self.push(&e.unsealed(&data), e.hash, target);
            }
        }
        if !errors.is_empty() {
            self.undo(mark);
            return Err(StoreError::Rejected(errors));
        }
        Ok(envs
            .iter()
            .map(|e| Receipt {
                id: e.id,
                seq: e.seq,
                hash: e.hash,
                existing: false,
            })
            .collect())
    }

    /// Refuses to stage `events` more unless the disk keeps its reserve after them.
    fn check_space(&self, events: usize) -> Result<(), StoreError> {
        // Each event takes about 250 bytes in the log; count generously.
        let needed = self.min_free_bytes + self.pending.len() as u64 + events as u64 * 2048;
        let available = fs2::available_space(&self.dir)?;
        if available < needed {
            return Err(StoreError::DiskFull {
                path: self.dir.clone(),
                available,
                needed,
            });
        }
        Ok(())
    }
}

/// The event a correction targets, if `e` is one, and whether it voids it.
fn correction_target(catalog: &Catalog, e: &Envelope) -> Option<(Uuid, bool)> {
    catalog
        .kind(&e.kind)?
        .correction_target(&e.data)
        .map(target_and_voids)
}

/// A correction's target as the index keeps it: the event, and whether it is voided.
fn target_and_voids((correction, target): (Correction, Uuid)) -> (Uuid, bool) {
    (target, correction == Correction::Void)
}
