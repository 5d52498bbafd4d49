//! The single writer: the only code that assigns seq, time and hash and writes events
//! to sled. It checks each batch against the log (and the events staged before it),
//! gathers every batch waiting into one group, writes the group in sled transactions
//! and makes it durable with one `flush` and one `fdatasync` before it answers.
use std::{
    collections::{HashMap, HashSet},
    fs::File,
    path::PathBuf,
    sync::{
        atomic::{AtomicU64, Ordering},
        mpsc, Arc,
    },
    time::{Duration, Instant},
};

use chrono::{DateTime, FixedOffset, Utc};
use events::{
    canonical,
    catalog::Correction,
    envelope::{truncate, ChainCheck},
    Catalog, Envelope, FieldError, Hash, NewEvent, Occurred, Reason, Unsealed, GENESIS,
};
use serde_json::json;
use uuid::Uuid;

use super::{
    record, rules,
    trees::{self, Trees},
    Batch, Head, ImportNote, ItemError, Job, Receipt, StoreError,
};

/// The most batches one flush may cover; bounds the latency of the first in line.
const MAX_GROUP: usize = 256;

/// How long the writer waits for the batches it expects before it writes a group.
const GATHER: Duration = Duration::from_micros(200);

/// Events written to sled per transaction. sled holds a transaction's writes in memory
/// until it commits; a thousand events keep that small while each transaction still
/// carries enough to be cheap per event (BENCHMARKS.md, issue 14).
pub const CHUNK: usize = 1024;

/// How often, at most, the writer refreshes the `annals.seen` note.
const SEEN_EVERY: Duration = Duration::from_secs(1);

/// Bytes counted per staged event when checking the disk's reserve: sled's log and
/// page images take several times a record's size before it compacts.
const BYTES_PER_EVENT: u64 = 4096;

/// The next group of jobs: the first to arrive, every one already waiting, and, while
/// fewer than `expect` (what the last group held) have come, those that arrive within
/// [`GATHER`] of it, up to [`MAX_GROUP`]. `None` once every sender is gone. The benchmark's
/// raw sled gathers with it too, so both commit groups alike.
pub fn gather<T>(rx: &mpsc::Receiver<T>, expect: usize) -> Option<Vec<T>> {
    let mut group = vec![rx.recv().ok()?];
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
    Some(group)
}

/// One event staged and not yet written to sled.
struct Staged {
    seq: u64,
    id: Uuid,
    record: Vec<u8>,
    /// The event it corrects, and whether it voids it.
    target: Option<(Uuid, bool)>,
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
    /// The head before the batch, to come back to.
    mark: Head,
}

pub(super) struct Writer {
    pub trees: Trees,
    pub catalog: Arc<Catalog>,
    pub durable: Arc<AtomicU64>,
    /// The last event accepted, durable or staged.
    pub head: Head,
    /// The last event durable: what `meta` says and readers see.
    pub committed: Head,
    /// The highest seq written to sled (durable or not).
    pub written: u64,
    /// Staged events past `written`, in seq order.
    chunk: Vec<Staged>,
    chunk_ids: HashMap<Uuid, usize>,
    chunk_voided: HashSet<Uuid>,
    pub offset: FixedOffset,
    pub dir: PathBuf,
    pub min_free_bytes: u64,
    seen_at: Option<Instant>,
    /// sled's data file, synced after each flush.
    pub data_file: File,
    /// Where each committed head is published.
    publish: tokio::sync::watch::Sender<u64>,
    /// Set when a failed write could not be taken back: every later batch is refused
    /// until the store is reopened (which drops what was not committed).
    broken: bool,
}

impl Writer {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        trees: Trees,
        catalog: Arc<Catalog>,
        durable: Arc<AtomicU64>,
        head: Head,
        offset: FixedOffset,
        dir: PathBuf,
        min_free_bytes: u64,
        data_file: File,
        publish: tokio::sync::watch::Sender<u64>,
    ) -> Self {
        Writer {
            trees,
            catalog,
            durable,
            head,
            committed: head,
            written: head.seq,
            chunk: Vec::new(),
            chunk_ids: HashMap::new(),
            chunk_voided: HashSet::new(),
            offset,
            dir,
            min_free_bytes,
            seen_at: None,
            data_file,
            publish,
            broken: false,
        }
    }

    pub fn run(mut self, rx: mpsc::Receiver<Job>) {
        // As many batches as the last group held are likely to be on their way again
        // (each writer sends its next one once the last was acknowledged): wait a
        // moment for them, so they share one flush.
        let mut expect = 1;
        while let Some(group) = gather(&rx, expect) {
            expect = group.len();
            let mut results = Vec::with_capacity(group.len());
            for job in group {
                let (result, reply) = match job {
                    Job::Append(batch, reply) => (self.guarded(|w| w.append(batch)), reply),
                    Job::Restore(envs, reply) => (self.guarded(|w| w.restore(envs)), reply),
                };
                results.push((result, reply));
            }
            match self.commit() {
                Ok(()) => {
                    self.durable.store(self.committed.seq, Ordering::Release);
                    self.publish.send_if_modified(|head| {
                        let moved = *head != self.committed.seq;
                        *head = self.committed.seq;
                        moved
                    });
                    self.note_seen(false);
                    for (result, reply) in results {
                        let _ = reply.send(result);
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "the write failed; the group is not acknowledged");
                    self.abandon_group();
                    for (_, reply) in results {
                        let _ = reply.send(Err(StoreError::Io(sled::Error::Io(
                            std::io::Error::other(e.to_string()),
                        ))));
                    }
                }
            }
        }
        self.note_seen(true);
        // sled writes on threads of its own; a last flush means its files are quiet
        // once this thread is joined.
        let _ = self.trees.db.flush();
    }

    fn guarded(
        &mut self,
        job: impl FnOnce(&mut Self) -> Result<Vec<Receipt>, StoreError>,
    ) -> Result<Vec<Receipt>, StoreError> {
        if self.broken {
            return Err(StoreError::Damaged {
                path: self.dir.clone(),
                reason: "a write failed and could not be taken back; reopen the store".into(),
            });
        }
        job(self)
    }

    /// Writes what this group staged and its head in one last transaction, then waits
    /// for the disk: sled 0.34's `flush` only asks Linux to start writing
    /// (`sync_file_range`), so the data file is `fdatasync`ed before anyone is told.
    fn commit(&mut self) -> Result<(), StoreError> {
        if self.head == self.committed {
            return Ok(());
        }
        self.write_chunk(Some(self.head))?;
        self.trees.db.flush()?;
        self.data_file.sync_data()?;
        self.committed = self.head;
        Ok(())
    }

    /// After a failed commit: forget everything past the committed head, in memory and,
    /// as far as sled still lets us, in sled (what is left is dropped at the next open).
    fn abandon_group(&mut self) {
        let committed = self.committed;
        let undone = self
            .remove_after(committed.seq)
            .and_then(|()| Ok(trees::write_head(&self.trees, &committed)?));
        if let Err(e) = undone {
            tracing::error!(error = %e, "could not take the failed write back; reopen the store");
            self.broken = true;
        }
        self.chunk.clear();
        self.chunk_ids.clear();
        self.chunk_voided.clear();
        self.head = committed;
        self.written = committed.seq;
    }

    /// Writes the staged chunk in one transaction over the trees it touches, with the
    /// head marked committed when `head` is given.
    fn write_chunk(&mut self, head: Option<Head>) -> Result<(), StoreError> {
        let entries: Vec<trees::Entry<'_>> = self
            .chunk
            .iter()
            .map(|s| trees::Entry {
                seq: s.seq,
                id: s.id,
                record: &s.record,
                target: s.target,
            })
            .collect();
        trees::write(&self.trees, &entries, head.as_ref())?;
        if let Some(last) = self.chunk.last() {
            self.written = last.seq;
        }
        self.chunk.clear();
        self.chunk_ids.clear();
        self.chunk_voided.clear();
        Ok(())
    }

    /// Removes every event past `seq` from sled (with its id and correction entries).
    fn remove_after(&self, seq: u64) -> Result<(), StoreError> {
        trees::remove_after(&self.trees, &self.catalog, seq)
    }

    /// Refreshes `annals.seen` when it is a second old, or `now`.
    fn note_seen(&mut self, now: bool) {
        if now || self.seen_at.is_none_or(|t| t.elapsed() >= SEEN_EVERY) {
            super::write_seen(&self.dir, self.durable.load(Ordering::Acquire));
            self.seen_at = Some(Instant::now());
        }
    }

    /// What the log (staged events included) says about `id`.
    fn known(&self, id: Uuid) -> Result<Option<rules::Known>, StoreError> {
        let seq = match self.chunk_ids.get(&id) {
            Some(i) => self.chunk[*i].seq,
            None => match self.trees.ids.get(id.as_bytes())? {
                Some(v) => {
                    trees::seq_of(&v).ok_or_else(|| self.damaged("an id entry is garbled"))?
                }
                None => return Ok(None),
            },
        };
        let voided = self.chunk_voided.contains(&id)
            || self
                .trees
                .corrections
                .scan_prefix(id.as_bytes())
                .values()
                .any(|v| v.is_ok_and(|v| v.first() == Some(&1)));
        let bytes = self.record(seq)?;
        let def = record::kind(&bytes).ok().and_then(|k| self.catalog.kind(k));
        Ok(Some(rules::Known {
            seq,
            voided,
            correction: def.is_some_and(|d| d.correction.is_some()),
            system: def.is_some_and(|d| d.system),
        }))
    }

    /// The record of `seq`, from the staged chunk or from sled.
    fn record(&self, seq: u64) -> Result<Vec<u8>, StoreError> {
        if seq > self.written {
            let first = self.written + 1;
            return self
                .chunk
                .get((seq - first) as usize)
                .map(|s| s.record.clone())
                .ok_or_else(|| self.damaged(&format!("seq {seq} is staged but missing")));
        }
        self.trees
            .events
            .get(trees::seq_key(seq))?
            .map(|v| v.to_vec())
            .ok_or_else(|| self.damaged(&format!("seq {seq} is indexed but missing")))
    }

    /// The event of `seq` (its `prev_hash` left unset: callers compare content).
    fn load(&self, seq: u64) -> Result<Envelope, StoreError> {
        record::decode(&self.record(seq)?, seq, GENESIS)
            .map_err(|e| self.damaged(&format!("seq {seq} cannot be decoded: {e}")))
    }

    fn damaged(&self, reason: &str) -> StoreError {
        StoreError::Damaged {
            path: self.dir.clone(),
            reason: reason.to_owned(),
        }
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

    /// Starts staging a batch, noting where the head stood.
    fn begin(&self, author: String) -> Staging {
        Staging {
            author,
            now: truncate(Utc::now()),
            errors: Vec::new(),
            receipts: Vec::new(),
            seen: 0,
            added: 0,
            mark: self.head,
        }
    }

    /// Checks each event against the log and the events staged before it, and stages
    /// it (sealed, encoded). A refused event is listed and staging goes on, so that
    /// every refusal is found; `finish` then undoes the batch.
    fn stage(&mut self, st: &mut Staging, events: Vec<NewEvent>) -> Result<(), StoreError> {
        self.check_space(events.len())?;
        st.receipts.reserve(events.len());
        for ev in events {
            let index = st.seen;
            st.seen += 1;
            let mut fail = |field: &str, reason: Reason| {
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
                        Reason::IdConflict {
                            id: ev.id().to_string(),
                            seq: known.seq,
                        },
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
            let target = ev.correction().map(super::target_and_voids);
            self.push(&e, hash, target)?;
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
            self.undo(st.mark)?;
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
                    self.undo(st.mark)?;
                    return Err(StoreError::Rejected(vec![ItemError {
                        index: st.seen,
                        error: FieldError::new("import_completed", Reason::Said(e.to_string())),
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
            if let Err(err) = self.push(&e, e.hash(), None) {
                self.undo(st.mark)?;
                return Err(err);
            }
        }
        Ok(st.receipts)
    }

    /// Takes a refused batch back out: from the staged chunk and, for what was already
    /// written to sled (a large batch), from sled.
    fn undo(&mut self, mark: Head) -> Result<(), StoreError> {
        if self.written > mark.seq {
            let removed = self.remove_after(mark.seq);
            if let Err(e) = removed {
                self.broken = true;
                return Err(e);
            }
            self.written = mark.seq;
        }
        self.chunk.retain(|s| s.seq <= mark.seq);
        self.chunk_ids = self
            .chunk
            .iter()
            .enumerate()
            .map(|(i, s)| (s.id, i))
            .collect();
        self.chunk_voided = self
            .chunk
            .iter()
            .filter_map(|s| s.target.filter(|(_, voids)| *voids).map(|(t, _)| t))
            .collect();
        self.head = mark;
        Ok(())
    }

    /// Stages one sealed event that chains onto the head; it becomes durable (and
    /// visible) when the group is committed. A full chunk goes to sled at once, so a
    /// large import never holds more than a chunk of records in memory.
    /// `target` is the event a correction targets and whether it voids it.
    fn push(
        &mut self,
        e: &Unsealed,
        hash: Hash,
        target: Option<(Uuid, bool)>,
    ) -> Result<(), StoreError> {
        let mut bytes = Vec::with_capacity(128 + e.data.len());
        record::encode(e, hash, &mut bytes);
        self.chunk_ids.insert(e.id, self.chunk.len());
        if let Some((t, true)) = target {
            self.chunk_voided.insert(t);
        }
        self.chunk.push(Staged {
            seq: e.seq,
            id: e.id,
            record: bytes,
            target,
        });
        self.head = Head {
            seq: e.seq,
            hash,
            recorded_at: Some(e.recorded_at),
        };
        if self.chunk.len() >= CHUNK {
            self.write_chunk(None)?;
        }
        Ok(())
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
        let mark = self.head;
        let now = truncate(Utc::now());
        let mut errors = Vec::new();
        for (index, e) in envs.iter().enumerate() {
            let mut fail = |error: FieldError| errors.push(ItemError { index, error });
            // The caller checked the file's chain; the store checks the link it makes.
            if let Err(err) = ChainCheck::after(self.head.seq, self.head.hash).check(e) {
                fail(FieldError::new(
                    "hash",
                    Reason::Chain {
                        detail: err.to_string(),
                    },
                ));
            }
            if self.known(e.id)?.is_some() {
                fail(FieldError::new(
                    "id",
                    Reason::AlreadyInLog {
                        id: e.id.to_string(),
                    },
                ));
            }
            if let Err(err) = rules::kind(&self.catalog, &e.kind, e.version, rules::Writer::Restore)
            {
                fail(err);
            }
            if let Err(err) = rules::recorded_at(Some(e.recorded_at), self.head.recorded_at, now) {
                fail(err);
            }
            let target = super::correction_target(&self.catalog, e);
            if let Some((id, _)) = target {
                if let Err(err) = rules::target(id, self.known(id)?) {
                    fail(err);
                }
            }
            if errors.is_empty() {
                let data = canonical::to_vec(&e.data);
                if let Err(err) = self.push(&e.unsealed(&data), e.hash, target) {
                    self.undo(mark)?;
                    return Err(err);
                }
            }
        }
        if !errors.is_empty() {
            self.undo(mark)?;
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
        let staged = (self.head.seq - self.committed.seq) as usize;
        let needed = self.min_free_bytes + (staged + events) as u64 * BYTES_PER_EVENT;
        let available = fs4::available_space(&self.dir)?;
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
