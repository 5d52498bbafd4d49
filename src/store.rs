//! The append-only event store on sled: one writer thread assigns seq, time and hash,
//! applies each batch atomically and shares one flush among every batch waiting.
use std::{
    collections::HashMap,
    fs::{File, OpenOptions},
    io::{Read, Seek, Write},
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicU64, Ordering},
        mpsc, Arc, Mutex,
    },
    thread,
};

use chrono::{DateTime, FixedOffset, Utc};
use events::{
    catalog::Correction, envelope::truncate, Catalog, Envelope, FieldError, Hash, NewEvent,
    Occurred, GENESIS,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sled::Transactional;
use uuid::Uuid;

mod read;
mod tokens;
mod verify;

pub use read::{Filter, Scan};
pub use tokens::{Role, TokenError, TokenInfo};
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

/// The sled trees, shared by the writer and readers.
#[derive(Clone)]
struct Trees {
    db: sled::Db,
    events: sled::Tree,
    ids: sled::Tree,
    corrections: sled::Tree,
    meta: sled::Tree,
    tokens: sled::Tree,
}

/// An open store. Cloning is cheap; all clones share one writer.
#[derive(Clone)]
pub struct Store {
    trees: Trees,
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
}

impl Drop for WriterHandle {
    fn drop(&mut self) {
        if let Ok(sender) = self.sender.get_mut() {
            sender.take();
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

const HEAD_KEY: &[u8] = b"head";

impl Store {
    /// Opens (creating if needed) the store in `dir`, taking an exclusive lock on it.
    #[tracing::instrument(skip_all, fields(path = %dir.display()))]
    pub fn open(dir: &Path, catalog: Arc<Catalog>, options: Options) -> Result<Self, StoreError> {
        let open_err = |source| StoreError::Open {
            path: dir.to_owned(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(open_err)?;
        let lock = lock(dir)?;
        let damaged = |e: &dyn std::fmt::Display| StoreError::Damaged {
            path: dir.to_owned(),
            reason: e.to_string(),
        };
        // sled may panic rather than err on some damaged files; either way the answer
        // is the same: the store is damaged, restore it.
        let opened = std::panic::catch_unwind(|| sled::Config::new().path(dir.join("sled")).open())
            .map_err(|_| damaged(&"sled could not read its files"))?;
        let db = opened.map_err(|e| match e {
            sled::Error::Io(io) => open_err(io),
            other => damaged(&other),
        })?;
        let tree = |name: &str| db.open_tree(name).map_err(|e| damaged(&e));
        let trees = Trees {
            events: tree("events")?,
            ids: tree("ids")?,
            corrections: tree("corrections")?,
            meta: tree("meta")?,
            tokens: tree("tokens")?,
            db: db.clone(),
        };
        let head = read_head(&trees.meta).map_err(|e| damaged(&e))?;
        if let Some(held) = read_seen(dir).filter(|held| *held > head.seq) {
            return Err(damaged(&format!(
                "sled holds {} events but this store has held at least {held}: its files lost data",
                head.seq
            )));
        }
        let durable = Arc::new(AtomicU64::new(head.seq));
        let (tx, rx) = mpsc::channel();
        let writer = Writer {
            trees: trees.clone(),
            catalog: catalog.clone(),
            durable: durable.clone(),
            head,
            offset: options.offset,
            dir: dir.to_owned(),
            min_free_bytes: options.min_free_bytes,
        };
        let thread = thread::Builder::new()
            .name("annals-writer".into())
            .spawn(move || writer.run(rx))
            .map_err(open_err)?;
        Ok(Store {
            trees,
            catalog,
            durable,
            writer: Arc::new(WriterHandle {
                sender: Mutex::new(Some(tx)),
                thread: Some(thread),
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
        match self.trees.events.get(seq.to_be_bytes())? {
            Some(bytes) => self.decode(seq, &bytes).map(Some),
            None => Ok(None),
        }
    }

    /// The event with that id, if any.
    pub fn get(&self, id: Uuid) -> Result<Option<Envelope>, StoreError> {
        match self.trees.ids.get(id.as_bytes())? {
            Some(seq) => self.get_seq(seq_of(&seq)),
            None => Ok(None),
        }
    }

    /// Every correction (amendment or void) recorded against an event, in order.
    pub fn corrections_of(&self, id: Uuid) -> Result<Vec<Envelope>, StoreError> {
        let mut out = Vec::new();
        for item in self.trees.corrections.scan_prefix(id.as_bytes()) {
            let (key, _) = item?;
            if let Some(e) = self.get_seq(seq_of(&key[16..]))? {
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

    fn decode(&self, seq: u64, bytes: &[u8]) -> Result<Envelope, StoreError> {
        serde_json::from_slice(bytes)
            .map_err(|e| self.damaged(format!("seq {seq} cannot be decoded: {e}")))
    }

    fn damaged(&self, reason: String) -> StoreError {
        StoreError::Damaged {
            path: self.path.clone(),
            reason,
        }
    }
}

fn seq_of(bytes: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&bytes[..8]);
    u64::from_be_bytes(b)
}

fn read_head(meta: &sled::Tree) -> Result<Head, String> {
    match meta.get(HEAD_KEY).map_err(|e| e.to_string())? {
        Some(bytes) => serde_json::from_slice(&bytes)
            .map_err(|e| format!("the head record is unreadable: {e}")),
        None => Ok(Head::default()),
    }
}

/// The file, beside sled's, that remembers how far the log has reached. It is written
/// after each flush (atomically, by rename, but without its own fsync, so it may lag
/// behind): a lower bound that catches sled reopening its files as a shorter, or an
/// empty, log after they were damaged.
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
    let written = std::fs::write(&tmp, seq.to_string())
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
    let mut file = OpenOptions::new()
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

/// The single writer: the only code that assigns seq and writes to the trees.
struct Writer {
    trees: Trees,
    catalog: Arc<Catalog>,
    durable: Arc<AtomicU64>,
    head: Head,
    offset: FixedOffset,
    dir: PathBuf,
    min_free_bytes: u64,
}

/// What the writer knows about an event id while preparing a batch.
#[derive(Clone, Copy)]
struct Known {
    seq: u64,
    voided: bool,
    correction: bool,
    system: bool,
}

impl Writer {
    fn run(mut self, rx: mpsc::Receiver<Job>) {
        // sled's flush on Linux ends in sync_file_range, which writes the pages but
        // neither flushes the disk's cache nor the file's metadata; an fdatasync of its
        // file after each flush makes an acknowledged append survive a power cut too.
        let sled_file = File::open(self.dir.join("sled").join("db")).ok();
        while let Ok(first) = rx.recv() {
            let mut group = vec![first];
            while group.len() < MAX_GROUP {
                match rx.try_recv() {
                    Ok(job) => group.push(job),
                    Err(_) => break,
                }
            }
            let start = self.head;
            let mut results = Vec::with_capacity(group.len());
            for job in group {
                let (result, reply) = match job {
                    Job::Append(batch, reply) => (self.append(batch), reply),
                    Job::Restore(envs, reply) => (self.restore(envs), reply),
                };
                results.push((result, reply));
            }
            let flushed = if self.head.seq != start.seq {
                self.trees.db.flush().map(|_| ()).and_then(|()| {
                    sled_file
                        .as_ref()
                        .map_or(Ok(()), File::sync_data)
                        .map_err(sled::Error::Io)
                })
            } else {
                Ok(())
            };
            match flushed {
                Ok(()) => {
                    self.durable.store(self.head.seq, Ordering::Release);
                    write_seen(&self.dir, self.head.seq);
                    for (result, reply) in results {
                        let _ = reply.send(result);
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "flush failed; the group is not acknowledged");
                    // What was applied may or may not be on disk; re-read the head so the
                    // next batch chains onto whatever sled holds.
                    self.head = read_head(&self.trees.meta).unwrap_or(start);
                    for (_, reply) in results {
                        let _ = reply.send(Err(StoreError::Io(sled::Error::Io(
                            std::io::Error::other(e.to_string()),
                        ))));
                    }
                }
            }
        }
        let _ = self.trees.db.flush();
    }

    fn known(&self, id: Uuid, pending: &HashMap<Uuid, Known>) -> Result<Option<Known>, StoreError> {
        if let Some(k) = pending.get(&id) {
            return Ok(Some(*k));
        }
        let Some(seq) = self.trees.ids.get(id.as_bytes())? else {
            return Ok(None);
        };
        let seq = seq_of(&seq);
        let env = self.load(seq)?;
        let def = self.catalog.kind(&env.kind);
        let mut voided = false;
        for item in self.trees.corrections.scan_prefix(id.as_bytes()) {
            let (_, kind) = item?;
            voided |= &*kind == b"event_voided";
        }
        Ok(Some(Known {
            seq,
            voided,
            correction: def.is_some_and(|d| d.correction.is_some()),
            system: def.is_some_and(|d| d.system),
        }))
    }

    fn load(&self, seq: u64) -> Result<Envelope, StoreError> {
        let bytes =
            self.trees
                .events
                .get(seq.to_be_bytes())?
                .ok_or_else(|| StoreError::Damaged {
                    path: PathBuf::new(),
                    reason: format!("seq {seq} is indexed but missing"),
                })?;
        serde_json::from_slice(&bytes).map_err(|e| StoreError::Damaged {
            path: PathBuf::new(),
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
        let now = truncate(Utc::now());
        let mut errors = Vec::new();
        let mut receipts = Vec::with_capacity(batch.events.len());
        let mut pending: HashMap<Uuid, Known> = HashMap::new();
        let mut new: Vec<Envelope> = Vec::new();
        // Where each new event of this batch sits in `new`, so lookups stay O(1) in big imports.
        let mut new_at: HashMap<Uuid, usize> = HashMap::new();
        let mut head = self.head;
        let mut last_time = head.recorded_at;
        for (index, ev) in batch.events.iter().enumerate() {
            let mut fail = |field: &str, reason: String| {
                errors.push(ItemError {
                    index,
                    error: FieldError::new(field, reason),
                })
            };
            // Idempotency first: a retry of something already there is never an error.
            if let Some(known) = self.known(ev.id(), &pending)? {
                let existing = match new_at.get(&ev.id()).map(|&i| &new[i]) {
                    Some(e) => e.clone(),
                    None => self.load(known.seq)?,
                };
                if existing.same_content(ev.kind(), ev.version(), ev.occurred(), ev.data()) {
                    receipts.push(Receipt {
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
            if let Some((correction, target)) = ev.correction(&self.catalog) {
                match self.known(target, &pending)? {
                    None => fail("data.target", format!("there is no event {target} to correct")),
                    Some(k) if k.voided => fail("data.target", format!("event {target} is already voided")),
                    Some(k) if k.correction || k.system => fail(
                        "data.target",
                        format!("event {target} is a correction or system record; correct the original instead"),
                    ),
                    Some(k) => {
                        if correction == Correction::Amend {
                            let target_env: Envelope = match new_at.get(&target).map(|&i| &new[i]) {
                                Some(e) => e.clone(),
                                None => self.load(k.seq)?,
                            };
                            let replacement = ev.data().get("data").cloned().unwrap_or_default();
                            if let Some(def) = self.catalog.kind(&target_env.kind) {
                                for e in def.validate_data(&replacement) {
                                    fail(
                                        &format!("data.data.{}", e.field.trim_start_matches("data.")),
                                        e.reason,
                                    );
                                }
                            }
                        } else {
                            pending.insert(target, Known { voided: true, ..k });
                        }
                    }
                }
            }
            let recorded_at = match ev.recorded_at() {
                Some(t) if t > now => {
                    fail("recorded_at", format!("{t} is in the future"));
                    now
                }
                Some(t) if last_time.is_some_and(|l| t < l) => {
                    fail(
                        "recorded_at",
                        format!(
                            "{t} is earlier than the event before it ({})",
                            last_time.unwrap_or(t)
                        ),
                    );
                    t
                }
                Some(t) => t,
                None => last_time.map_or(now, |l| l.max(now)),
            };
            last_time = Some(recorded_at);
            let occurred = ev.occurred().unwrap_or_else(|| {
                Occurred::on(recorded_at.with_timezone(&self.offset).date_naive())
            });
            let def = self.catalog.kind(ev.kind());
            let env = Envelope {
                id: ev.id(),
                seq: head.seq + 1,
                kind: ev.kind().to_owned(),
                version: ev.version(),
                occurred,
                recorded_at,
                recorded_by: ev.recorded_by().unwrap_or(&batch.author).to_owned(),
                data: ev.data().clone(),
                prev_hash: head.hash,
                hash: GENESIS,
            }
            .sealed();
            pending.insert(
                env.id,
                Known {
                    seq: env.seq,
                    voided: false,
                    correction: def.is_some_and(|d| d.correction.is_some()),
                    system: def.is_some_and(|d| d.system),
                },
            );
            head = Head {
                seq: env.seq,
                hash: env.hash,
                recorded_at: Some(recorded_at),
            };
            receipts.push(Receipt {
                id: env.id,
                seq: env.seq,
                hash: env.hash,
                existing: false,
            });
            new_at.insert(env.id, new.len());
            new.push(env);
        }
        if !errors.is_empty() {
            return Err(StoreError::Rejected(errors));
        }
        if let (Some(note), false) = (&batch.import, new.is_empty()) {
            let at = last_time.map_or(now, |l| l.max(now));
            let ev = NewEvent::system(
                &self.catalog,
                "import_completed",
                Occurred::on(at.with_timezone(&self.offset).date_naive()),
                json!({
                    "file_sha256": note.file_hash.to_string(),
                    "file_name": note.file_name.chars().take(200).collect::<String>(),
                    "lines": note.lines,
                    "added": new.len(),
                }),
            )
            .map_err(|e| {
                StoreError::Rejected(vec![ItemError {
                    index: batch.events.len(),
                    error: FieldError::new("import_completed", e.to_string()),
                }])
            })?;
            let env = Envelope {
                id: ev.id(),
                seq: head.seq + 1,
                kind: ev.kind().to_owned(),
                version: ev.version(),
                occurred: ev.occurred().expect("system events carry a date"),
                recorded_at: at,
                recorded_by: batch.author.clone(),
                data: ev.data().clone(),
                prev_hash: head.hash,
                hash: GENESIS,
            }
            .sealed();
            new.push(env);
        }
        self.write(new)?;
        Ok(receipts)
    }

    fn restore(&mut self, envs: Vec<Envelope>) -> Result<Vec<Receipt>, StoreError> {
        if let Some(first) = envs.first() {
            if first.seq != self.head.seq + 1 || first.prev_hash != self.head.hash {
                return Err(StoreError::HeadMoved {
                    expected: first.seq.saturating_sub(1),
                    actual: self.head.seq,
                });
            }
        }
        let mut errors = Vec::new();
        let mut seen = std::collections::HashSet::with_capacity(envs.len());
        for (index, e) in envs.iter().enumerate() {
            if self.trees.ids.contains_key(e.id.as_bytes())? || !seen.insert(e.id) {
                errors.push(ItemError {
                    index,
                    error: FieldError::new("id", format!("{} is already in the log", e.id)),
                });
            }
        }
        if !errors.is_empty() {
            return Err(StoreError::Rejected(errors));
        }
        let receipts = envs
            .iter()
            .map(|e| Receipt {
                id: e.id,
                seq: e.seq,
                hash: e.hash,
                existing: false,
            })
            .collect();
        self.write(envs)?;
        Ok(receipts)
    }

    /// Writes envelopes that already chain onto the head, in one sled transaction.
    fn write(&mut self, envs: Vec<Envelope>) -> Result<(), StoreError> {
        let Some(last) = envs.last() else {
            return Ok(());
        };
        // Each event takes a few hundred bytes in sled's log; count generously.
        let needed = self.min_free_bytes + envs.len() as u64 * 2048;
        let available =
            fs2::available_space(&self.dir).map_err(|e| StoreError::Io(sled::Error::Io(e)))?;
        if available < needed {
            return Err(StoreError::DiskFull {
                path: self.dir.clone(),
                available,
                needed,
            });
        }
        let head = Head {
            seq: last.seq,
            hash: last.hash,
            recorded_at: Some(last.recorded_at),
        };
        let mut events = sled::Batch::default();
        let mut ids = sled::Batch::default();
        let mut corrections = sled::Batch::default();
        for e in &envs {
            let seq = e.seq.to_be_bytes();
            events.insert(
                &seq,
                serde_json::to_vec(e).expect("an envelope always serialises"),
            );
            ids.insert(e.id.as_bytes(), &seq);
            if let Some(target) = correction_target(&self.catalog, e) {
                let mut key = target.as_bytes().to_vec();
                key.extend_from_slice(&seq);
                corrections.insert(key, e.kind.as_bytes());
            }
        }
        let head_bytes = serde_json::to_vec(&head).expect("a head always serialises");
        (
            &self.trees.events,
            &self.trees.ids,
            &self.trees.corrections,
            &self.trees.meta,
        )
            .transaction(|(t_events, t_ids, t_corr, t_meta)| {
                t_events.apply_batch(&events)?;
                t_ids.apply_batch(&ids)?;
                t_corr.apply_batch(&corrections)?;
                t_meta.insert(HEAD_KEY, head_bytes.as_slice())?;
                Ok::<_, sled::transaction::ConflictableTransactionError<()>>(())
            })
            .map_err(|e| match e {
                sled::transaction::TransactionError::Storage(s) => StoreError::Io(s),
                sled::transaction::TransactionError::Abort(()) => StoreError::Closed,
            })?;
        self.head = head;
        Ok(())
    }
}

/// The event a correction targets, if `e` is one.
fn correction_target(catalog: &Catalog, e: &Envelope) -> Option<Uuid> {
    catalog.kind(&e.kind)?.correction?;
    e.data.get("target")?.as_str()?.parse().ok()
}
