//! The log file: every event as a record (see `record`) inside checksummed frames, one
//! frame per batch, only ever appended to. One write and one `fdatasync` make a whole
//! group of batches durable, and reopening reads the frames back into the in-memory
//! index (where each seq sits, which id is which seq, what corrects what).
use std::{
    collections::HashMap,
    fs::File,
    io::{BufReader, Read, Seek, Write},
    os::unix::fs::FileExt,
    path::Path,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, OnceLock,
    },
};

use events::{Catalog, Hash, GENESIS};
use uuid::Uuid;

use super::{record, Head};

/// The length of a frame's header.
pub const FRAME_HEADER: usize = HEADER;

/// A frame's header as read, before anything is checked.
struct Header {
    payload: u64,
    crc: u32,
    first_seq: u64,
    count: u32,
}

impl Header {
    /// Reads the fields out of `HEADER` bytes.
    fn read(h: &[u8]) -> Self {
        let word = |i: usize| u32::from_le_bytes(h[i..i + 4].try_into().expect("4 bytes"));
        Header {
            payload: u64::from(word(0)),
            crc: word(4),
            first_seq: u64::from_le_bytes(h[8..16].try_into().expect("8 bytes")),
            count: word(16),
        }
    }
}

/// The log's file name inside the store folder.
pub const FILE: &str = "events.log";
/// The first bytes of a log file; the digit is the format's version.
pub(super) const MAGIC: &[u8; 8] = b"ANNALS1\n";
/// A frame's header: payload length, CRC-32 (of everything after it), first seq, count.
const HEADER: usize = 4 + 4 + 8 + 4;

/// What the log says about each event, kept in memory: built by reading the file when
/// the store opens and extended by the writer.
#[derive(Debug)]
pub struct Index {
    /// `offsets[seq - 1]`: where the record of `seq` starts (its length prefix).
    offsets: Vec<u64>,
    /// The ids the log held when it was opened, put in a map on a thread of their own:
    /// placing a million random keys takes a third of a second, and a start that only
    /// folds (from the snapshot) never asks for an id.
    opened: Arc<OnceLock<IdMap>>,
    /// Ids read while opening, until they are handed to that thread.
    loading: Option<Vec<(Uuid, u64)>>,
    /// Ids appended since the store was opened.
    ids: IdMap,
    /// The corrections recorded against an id: their seqs, and whether each is a void.
    corrections: HashMap<Uuid, Vec<(u64, bool)>, IdHasher>,
    /// The last event indexed (not necessarily durable yet).
    pub head: Head,
    /// The file's length once every indexed frame is written.
    pub end: u64,
}

type IdMap = HashMap<Uuid, u64, IdHasher>;

impl Index {
    /// An index that collects ids to map them later ([`Index::map_ids`]).
    fn opening() -> Self {
        Index {
            offsets: Vec::new(),
            opened: Arc::default(),
            loading: Some(Vec::new()),
            ids: IdMap::default(),
            corrections: HashMap::default(),
            head: Head::default(),
            end: 0,
        }
    }

    /// Maps the ids read while opening, on a thread of its own. A duplicate id can only
    /// be damage; it is logged, and `verify` names its seq (the map keeps the first).
    fn map_ids(&mut self) {
        let Some(loading) = self.loading.take() else {
            return;
        };
        let build = |loading: Vec<(Uuid, u64)>| {
            let mut map = IdMap::with_capacity_and_hasher(loading.len(), IdHasher);
            for (id, seq) in loading {
                if let Some(before) = map.insert(id, seq) {
                    map.insert(id, before);
                    tracing::error!(%id, seq, before, "an id appears twice in the log: it is damaged; run `annals verify`");
                }
            }
            map
        };
        let (tx, rx) = std::sync::mpsc::channel();
        let opened = self.opened.clone();
        let spawned = std::thread::Builder::new()
            .name("annals-ids".into())
            .spawn(move || {
                if let Ok(loading) = rx.recv() {
                    let _ = opened.set(build(loading));
                }
            });
        match spawned {
            Ok(_) => {
                let _ = tx.send(loading);
            }
            // No thread to spare: map them here and now.
            Err(_) => {
                let _ = self.opened.set(build(loading));
            }
        }
    }

    /// Where the record of `seq` starts, if it is indexed.
    pub fn offset(&self, seq: u64) -> Option<u64> {
        let i = usize::try_from(seq.checked_sub(1)?).ok()?;
        self.offsets.get(i).copied()
    }

    /// The seq holding `id` (waiting, the first time after opening, for the ids to be
    /// mapped).
    pub fn seq_of(&self, id: &Uuid) -> Option<u64> {
        if let Some(seq) = self.ids.get(id) {
            return Some(*seq);
        }
        if self.loading.is_some() {
            return None;
        }
        self.opened.wait().get(id).copied()
    }

    /// The corrections of `id`: (seq, is a void), in seq order.
    pub fn corrections(&self, id: &Uuid) -> &[(u64, bool)] {
        self.corrections.get(id).map_or(&[], Vec::as_slice)
    }

    /// Room for about `events` more.
    pub fn reserve(&mut self, events: usize) {
        self.offsets.reserve(events);
        match &mut self.loading {
            Some(ids) => ids.reserve(events),
            None => self.ids.reserve(events),
        }
    }

    /// Adds one event whose record starts at `offset`. Returns the seq that already
    /// held `id`, if one did: then nothing is added. (While the log is being opened,
    /// duplicates are found later, by [`Index::map_ids`].)
    pub fn push(
        &mut self,
        seq: u64,
        offset: u64,
        id: Uuid,
        correction: Option<(Uuid, bool)>,
    ) -> Option<u64> {
        debug_assert_eq!(seq, self.offsets.len() as u64 + 1);
        match &mut self.loading {
            Some(ids) => ids.push((id, seq)),
            None => {
                if let Some(before) = self.seq_of(&id) {
                    return Some(before);
                }
                self.ids.insert(id, seq);
            }
        }
        self.offsets.push(offset);
        if let Some((target, void)) = correction {
            self.corrections
                .entry(target)
                .or_default()
                .push((seq, void));
        }
        None
    }

    /// Forgets every event after `head` (a write that failed, a bad frame while
    /// opening), back to a file of `end` bytes.
    pub fn rollback(&mut self, head: Head, end: u64) {
        let keep = usize::try_from(head.seq).expect("seq fits in memory");
        if self.offsets.len() > keep {
            self.offsets.truncate(keep);
            if let Some(ids) = &mut self.loading {
                ids.retain(|(_, seq)| *seq <= head.seq);
            }
            self.ids.retain(|_, seq| *seq <= head.seq);
            self.corrections.retain(|_, list| {
                list.retain(|(seq, _)| *seq <= head.seq);
                !list.is_empty()
            });
        }
        self.head = head;
        self.end = end;
    }
}

/// Hashes ids for the index's maps. Ids are UUIDs, random (v4) or random past their
/// time prefix (v7), and only recorders can choose them, so a multiply-rotate over their
/// two halves spreads them well at a fraction of SipHash's cost on every open. Other
/// keys nobody can aim at a bucket (content hashes, addresses) use it too.
#[derive(Clone, Copy, Default)]
pub struct IdHasher;

impl std::hash::BuildHasher for IdHasher {
    type Hasher = IdHash;

    fn build_hasher(&self) -> IdHash {
        IdHash(0)
    }
}

/// The state of [`IdHasher`].
pub struct IdHash(u64);

impl std::hash::Hasher for IdHash {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(23) ^ u64::from_le_bytes(word))
                .wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn finish(&self) -> u64 {
        self.0 ^ (self.0 >> 29)
    }
}

/// The correction `record` makes, if it is one: its target and whether it voids it.
pub fn correction_of(catalog: &Catalog, record: &[u8]) -> Result<Option<(Uuid, bool)>, String> {
    if catalog
        .kind(record::kind(record)?)
        .and_then(|d| d.correction)
        .is_none()
    {
        return Ok(None);
    }
    // Only corrections (a percent or so of a log) pay for decoding their data.
    let e = record::decode(record, 0, GENESIS)?;
    super::correction_target(catalog, &e)
        .map(Some)
        .ok_or_else(|| "a correction without a target id".into())
}

/// Builds one frame at the end of a buffer: a header, then each record behind its
/// length. The writer makes one frame per group of batches, so only the last frame of
/// a log can ever be torn.
pub struct FrameWriter {
    start: usize,
    count: u32,
}

impl FrameWriter {
    /// Starts a frame whose first record will have `first_seq`.
    pub fn begin(out: &mut Vec<u8>, first_seq: u64) -> Self {
        let start = out.len();
        out.extend_from_slice(&[0; 8]);
        out.extend_from_slice(&first_seq.to_le_bytes());
        out.extend_from_slice(&[0; 4]);
        FrameWriter { start, count: 0 }
    }

    /// Adds a record written by `write`; returns where it starts within `out`.
    pub fn record(&mut self, out: &mut Vec<u8>, write: impl FnOnce(&mut Vec<u8>)) -> usize {
        let at = out.len();
        out.extend_from_slice(&[0; 4]);
        write(out);
        let len = u32::try_from(out.len() - at - 4).expect("a record is under 4 GiB");
        out[at..at + 4].copy_from_slice(&len.to_le_bytes());
        self.count += 1;
        at
    }

    /// How many records it holds.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// Forgets the records after the first `count` (whose bytes the caller cuts off).
    pub fn rewind(&mut self, count: u32) {
        self.count = count;
    }

    /// Fills in the header.
    pub fn finish(self, out: &mut [u8]) {
        let s = self.start;
        let payload = u32::try_from(out.len() - s - HEADER).expect("a frame is under 4 GiB");
        out[s..s + 4].copy_from_slice(&payload.to_le_bytes());
        out[s + 16..s + 20].copy_from_slice(&self.count.to_le_bytes());
        let crc = crc32fast::hash(&out[s + 8..]);
        out[s + 4..s + 8].copy_from_slice(&crc.to_le_bytes());
    }
}

/// Why the frames stop before the end of the file.
#[derive(Debug)]
pub enum Stop {
    /// A frame cut short, garbled or out of place at byte `at`: a write that never
    /// completed, or damage; the caller tells which.
    Bad {
        /// Where the bad frame starts.
        at: u64,
        /// What is wrong.
        reason: String,
    },
    /// A frame that passes its checksum holds a record the caller refused.
    Record {
        /// The record's seq.
        seq: u64,
        /// Why.
        reason: String,
    },
    /// The file could not be read.
    Io(std::io::Error),
}

/// Reads a log's frames in order, a record at a time (a frame may be as large as a
/// whole import), checking each frame's checksum. Zeros from a frame's start to the
/// end of the file are space made ahead of appends, not a frame.
pub struct Frames {
    reader: BufReader<File>,
    at: u64,
    len: u64,
    record: Vec<u8>,
}

impl Frames {
    /// Reads `file` (of `len` bytes) from its first frame; refuses a file that is not a log.
    pub fn new(file: File, len: u64) -> Result<Self, Stop> {
        let mut reader = BufReader::with_capacity(1 << 20, file);
        let mut magic = [0; 8];
        reader.read_exact(&mut magic).map_err(Stop::Io)?;
        if &magic != MAGIC {
            return Err(Stop::Bad {
                at: 0,
                reason: "the file does not start as an Annals log".into(),
            });
        }
        Ok(Frames {
            reader,
            at: MAGIC.len() as u64,
            len,
            record: Vec::new(),
        })
    }

    /// Where the next frame starts: after the loop, the end of the last good frame.
    pub fn at(&self) -> u64 {
        self.at
    }

    fn bad(&self, reason: String) -> Option<Result<(), Stop>> {
        Some(Err(Stop::Bad {
            at: self.at,
            reason: format!("the frame at byte {}: {reason}", self.at),
        }))
    }

    /// Whether the rest of the file, from where the reader stands, is zeros.
    fn rest_is_zeros(&mut self) -> std::io::Result<bool> {
        let mut chunk = vec![0u8; 1 << 20];
        loop {
            match self.reader.read(&mut chunk)? {
                0 => return Ok(true),
                n if chunk[..n].iter().any(|b| *b != 0) => return Ok(false),
                _ => {}
            }
        }
    }

    /// Reads the next frame, handing each record to `each` (its seq, where it starts in
    /// the file, its bytes) as it goes. The frame's checksum is known only at its end:
    /// a caller that keeps what it was handed must drop it again on `Stop::Bad`. Once
    /// `each` refuses a record, the rest of the frame is read only for its checksum.
    pub fn next_frame(
        &mut self,
        mut each: impl FnMut(u64, u64, &[u8]) -> Result<(), String>,
    ) -> Option<Result<(), Stop>> {
        if self.at >= self.len {
            return None;
        }
        let remaining = self.len - self.at;
        if remaining < HEADER as u64 {
            return self.bad("the file ends inside its header".into());
        }
        let mut header = [0u8; HEADER];
        if let Err(e) = self.reader.read_exact(&mut header) {
            return Some(Err(Stop::Io(e)));
        }
        if header.iter().all(|b| *b == 0) {
            return match self.rest_is_zeros() {
                Err(e) => Some(Err(Stop::Io(e))),
                Ok(true) => {
                    self.len = self.at;
                    None
                }
                Ok(false) => self.bad("zeros where a frame should start".into()),
            };
        }
        let Header {
            payload: payload_len,
            crc,
            first_seq,
            count,
        } = Header::read(&header);
        if payload_len > remaining - HEADER as u64 {
            return self.bad("it runs past the end of the file".into());
        }
        if count == 0 {
            return self.bad("it holds no records".into());
        }
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(&header[8..]);
        let mut read = 0u64;
        let mut refused = None;
        for i in 0..u64::from(count) {
            let mut len = [0u8; 4];
            if payload_len - read < 4 {
                return self.bad("a record's length runs past its frame".into());
            }
            if let Err(e) = self.reader.read_exact(&mut len) {
                return Some(Err(Stop::Io(e)));
            }
            let n = u64::from(u32::from_le_bytes(len));
            if n > payload_len - read - 4 {
                return self.bad("a record runs past its frame".into());
            }
            self.record.resize(n as usize, 0);
            if let Err(e) = self.reader.read_exact(&mut self.record) {
                return Some(Err(Stop::Io(e)));
            }
            hasher.update(&len);
            hasher.update(&self.record);
            let offset = self.at + HEADER as u64 + read;
            read += 4 + n;
            if refused.is_none() {
                if let Err(reason) = each(first_seq + i, offset, &self.record) {
                    refused = Some((first_seq + i, reason));
                }
            }
        }
        if read != payload_len || hasher.finalize() != crc {
            return self.bad(format!("seq {first_seq} on fails its checksum"));
        }
        if let Some((seq, reason)) = refused {
            return Some(Err(Stop::Record { seq, reason }));
        }
        self.at += HEADER as u64 + payload_len;
        Some(Ok(()))
    }
}

/// The log file, open for appending and for reads at any offset.
pub struct LogFile {
    file: File,
    path: std::path::PathBuf,
    /// The file's length: past the last frame it holds zeros written ahead, so that an
    /// append overwrites allocated blocks and its `fdatasync` has no metadata to commit.
    allocated: AtomicU64,
}

/// The least and most written ahead at a time; in between, an eighth of the log.
const AHEAD_MIN: u64 = 1 << 20;
const AHEAD_MAX: u64 = 64 << 20;

/// A log opened and read back.
pub struct Opened {
    /// The file.
    pub log: LogFile,
    /// What it holds.
    pub index: Index,
}

/// Why a log could not be opened.
#[derive(Debug)]
pub enum OpenError {
    /// The file could not be created or read.
    Io(std::io::Error),
    /// It is not a log, or is damaged.
    Damaged(String),
}

impl LogFile {
    /// Opens (creating if needed) the log at `path` and indexes it. A torn last frame is
    /// cut off unless the store had already acknowledged its seqs (`seen`).
    pub fn open(path: &Path, catalog: &Catalog, seen: Option<u64>) -> Result<Opened, OpenError> {
        let file = crate::private::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(OpenError::Io)?;
        let mut len = file.metadata().map_err(OpenError::Io)?.len();
        if len == 0 {
            (&file).write_all(MAGIC).map_err(OpenError::Io)?;
            file.sync_all().map_err(OpenError::Io)?;
            if let Some(dir) = path.parent() {
                File::open(dir)
                    .and_then(|d| d.sync_all())
                    .map_err(OpenError::Io)?;
            }
            len = MAGIC.len() as u64;
        }
        // A handle of its own: reads move its offset, not the writer's.
        let reader = File::open(path).map_err(OpenError::Io)?;
        let mut frames = Frames::new(reader, len).map_err(stop_to_open)?;
        let mut index = Index::opening();
        // Records take 150 to 300 bytes: room for the likely count, grown if need be.
        index.reserve(usize::try_from(len / 240).unwrap_or(0));
        let mut bad = None;
        loop {
            let before = (index.head, index.end);
            let mut gap = None;
            let next = frames.next_frame(|seq, offset, bytes| {
                if seq != index.head.seq + 1 {
                    gap = Some((index.head.seq + 1, seq, offset - HEADER as u64));
                    return Err("out of order".into());
                }
                let id = record::id(bytes)?;
                let correction = correction_of(catalog, bytes)?;
                if let Some(before) = index.push(seq, offset, id, correction) {
                    return Err(format!("id {id} is already seq {before}"));
                }
                index.head.seq = seq;
                Ok(())
            });
            match next {
                None => break,
                Some(Ok(())) => {}
                Some(Err(stop)) => {
                    // What the bad frame handed over does not count.
                    index.rollback(before.0, before.1);
                    match stop {
                        Stop::Bad { at, reason } => {
                            bad = Some((at, reason));
                            break;
                        }
                        Stop::Record { seq, reason } => {
                            return Err(OpenError::Damaged(match gap {
                                Some((missing, found, at)) => format!(
                                    "seq {missing}: the frame at byte {at} starts at seq {found}"
                                ),
                                None => format!("seq {seq}: {reason}"),
                            }))
                        }
                        Stop::Io(e) => return Err(OpenError::Io(e)),
                    }
                }
            }
        }
        if let Some(at) = index.offset(index.head.seq) {
            let seq = index.head.seq;
            let bytes = read_record(&file, at).map_err(OpenError::Io)?;
            let e = record::decode(&bytes, seq, GENESIS)
                .map_err(|r| OpenError::Damaged(format!("seq {seq}: {r}")))?;
            index.head.hash = e.hash;
            index.head.recorded_at = Some(e.recorded_at);
        }
        let good = frames.at();
        if let Some((at, reason)) = bad {
            // Only the last write can be torn (each waits for the one before it to be
            // on disk), and it was never acknowledged. But if the store had already
            // acknowledged events past the last good frame, this is damage.
            if seen.is_some_and(|held| held > index.head.seq) {
                return Err(OpenError::Damaged(format!(
                    "{reason}; the log breaks off after seq {} but the store had acknowledged more",
                    index.head.seq
                )));
            }
            // Without the note (a folder copied without it, a crash before it was
            // written), a good frame further on still proves the bad one is damage.
            if let Some(later) =
                later_frame(&file, at, len, index.head.seq).map_err(OpenError::Io)?
            {
                return Err(OpenError::Damaged(format!(
                    "{reason}; the log breaks off after seq {} but a good frame for later seqs lies at byte {later}",
                    index.head.seq
                )));
            }
            let kept = keep_torn(path, &file, at, len).map_err(OpenError::Io)?;
            tracing::warn!(bytes = len - at, at, kept = %kept.display(), "cut off a torn write that was never acknowledged");
            file.set_len(good).map_err(OpenError::Io)?;
            file.sync_all().map_err(OpenError::Io)?;
            len = good;
        }
        index.end = good;
        index.map_ids();
        Ok(Opened {
            log: LogFile {
                file,
                path: path.to_owned(),
                allocated: AtomicU64::new(len),
            },
            index,
        })
    }

    /// Writes `bytes` at `at` (the end of the log) and waits until they are on disk.
    pub fn append(&self, bytes: &[u8], at: u64) -> std::io::Result<()> {
        let end = at + bytes.len() as u64;
        let allocated = self.allocated.load(Ordering::Relaxed);
        if end > allocated {
            let ahead = (end / 8).clamp(AHEAD_MIN, AHEAD_MAX);
            let target = end + ahead;
            let zeros = vec![0u8; usize::try_from(ahead.min(AHEAD_MAX)).unwrap_or(1 << 20)];
            // Only past the end: the frame itself is about to be written anyway.
            let mut from = allocated.max(end);
            while from < target {
                let n = (target - from).min(zeros.len() as u64) as usize;
                self.file.write_all_at(&zeros[..n], from)?;
                from += n as u64;
            }
            self.allocated.store(target, Ordering::Relaxed);
        }
        self.file.write_all_at(bytes, at)?;
        self.file.sync_data()
    }

    /// Writes part of a frame that is still growing, without waiting for the disk: the
    /// kernel writes it out while the rest is staged. Its header is written only when
    /// the frame is committed, so until then the frame reads as a torn write.
    pub fn write_early(&self, bytes: &[u8], at: u64) -> std::io::Result<()> {
        self.file.write_all_at(bytes, at)?;
        self.allocated
            .fetch_max(at + bytes.len() as u64, Ordering::Relaxed);
        Ok(())
    }

    /// Cuts the file back to `len` bytes after a write that failed.
    pub fn cut(&self, len: u64) -> std::io::Result<()> {
        self.allocated.store(len, Ordering::Relaxed);
        self.file.set_len(len)
    }

    /// The record that starts at `offset`.
    pub fn record(&self, offset: u64) -> std::io::Result<Vec<u8>> {
        read_record(&self.file, offset)
    }

    /// The hash of the record that starts at `offset`.
    pub fn hash(&self, offset: u64) -> std::io::Result<Hash> {
        let mut hash = [0; 32];
        self.file.read_exact_at(&mut hash, offset + 4)?;
        Ok(Hash(hash))
    }

    /// A handle of its own on the file (its own offset), for a sequential reader.
    pub fn reopen(&self) -> std::io::Result<File> {
        File::open(&self.path)
    }
}

fn stop_to_open(stop: Stop) -> OpenError {
    match stop {
        Stop::Io(e) => OpenError::Io(e),
        damage => OpenError::Damaged(damage.to_string()),
    }
}

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stop::Bad { reason, .. } => f.write_str(reason),
            Stop::Record { seq, reason } => write!(f, "seq {seq}: {reason}"),
            Stop::Io(e) => write!(f, "the log cannot be read: {e}"),
        }
    }
}

/// The record that starts at `offset` in `file`.
fn read_record(file: &File, offset: u64) -> std::io::Result<Vec<u8>> {
    let mut len = [0; 4];
    file.read_exact_at(&mut len, offset)?;
    let mut bytes = vec![0; u32::from_le_bytes(len) as usize];
    file.read_exact_at(&mut bytes, offset + 4)?;
    Ok(bytes)
}

/// The start of a well-formed frame somewhere after `at` for a seq past `head_seq + 1`
/// (the bad frame held at least that one), if any: only damage leaves one there.
fn later_frame(file: &File, at: u64, len: u64, head_seq: u64) -> std::io::Result<Option<u64>> {
    // The tail may be as large as a whole import: read it a window at a time (each
    // window overlapping the next by a header), and a candidate's payload in pieces.
    const WINDOW: u64 = 16 << 20;
    let tail = len - at;
    let mut start = 1;
    let mut window = Vec::new();
    while start + HEADER as u64 <= tail {
        let end = (start + WINDOW + HEADER as u64).min(tail);
        window.resize((end - start) as usize, 0);
        file.read_exact_at(&mut window, at + start)?;
        for p in 0..(window.len() + 1).saturating_sub(HEADER) {
            let h = &window[p..p + HEADER];
            let Header {
                payload,
                crc: expected,
                first_seq,
                count,
            } = Header::read(h);
            let frame_at = start + p as u64;
            // Cheap tests first: a plausible seq and count, a payload that fits.
            if first_seq <= head_seq + 1
                || first_seq - head_seq > tail
                || count == 0
                || payload > tail - frame_at - HEADER as u64
            {
                continue;
            }
            let mut crc = crc32fast::Hasher::new();
            crc.update(&h[8..]);
            let mut piece = vec![0u8; payload.min(1 << 20) as usize];
            let mut done = 0;
            while done < payload {
                let n = (payload - done).min(piece.len() as u64) as usize;
                file.read_exact_at(&mut piece[..n], at + frame_at + HEADER as u64 + done)?;
                crc.update(&piece[..n]);
                done += n as u64;
            }
            if crc.finalize() == expected {
                return Ok(Some(at + frame_at));
            }
        }
        if end == tail {
            break;
        }
        start = end - HEADER as u64 + 1;
    }
    Ok(None)
}

/// Copies the bytes of a torn write (from `at` to `len`) to a file beside the log
/// before they are cut off, so that even a misjudged tear erases nothing.
fn keep_torn(path: &Path, file: &File, at: u64, len: u64) -> std::io::Result<std::path::PathBuf> {
    let kept = path.with_extension(format!("torn-at-{at}"));
    let mut from = file.try_clone()?;
    from.seek(std::io::SeekFrom::Start(at))?;
    let mut to = crate::private::create(&kept)?;
    std::io::copy(&mut (&mut from).take(len - at), &mut to)?;
    to.sync_all()?;
    Ok(kept)
}

/// Every event of a closed store's log file, in order, as stored (each `prev_hash` the
/// hash of the record before it): for tools and tests that inspect the file itself.
pub fn read_file(path: &Path) -> Result<Vec<events::Envelope>, String> {
    let file = File::open(path).map_err(|e| e.to_string())?;
    let len = file.metadata().map_err(|e| e.to_string())?.len();
    let mut out: Vec<events::Envelope> = Vec::new();
    let mut frames = Frames::new(file, len).map_err(|s| format!("{s:?}"))?;
    while let Some(frame) = frames.next_frame(|seq, _, bytes| {
        let prev = out.last().map_or(GENESIS, |e| e.hash);
        out.push(record::decode(bytes, seq, prev)?);
        Ok(())
    }) {
        frame.map_err(|s| format!("{s:?}"))?;
    }
    Ok(out)
}

/// Writes `envelopes` as a whole log file at `path`, one frame each, checksums and all:
/// what someone rewriting the file with this code in hand would produce. The seqs
/// written are the envelopes' own; `prev_hash` is not stored (a record's place gives it).
pub fn write_file(path: &Path, envelopes: &[events::Envelope]) -> std::io::Result<()> {
    let mut bytes = MAGIC.to_vec();
    for e in envelopes {
        push_frame(&mut bytes, std::slice::from_ref(e));
    }
    std::fs::write(path, bytes)
}

/// Appends one frame holding `envelopes` (which follow each other) to `out`.
pub fn push_frame(out: &mut Vec<u8>, envelopes: &[events::Envelope]) {
    let Some(first) = envelopes.first() else {
        return;
    };
    let mut frame = FrameWriter::begin(out, first.seq);
    for e in envelopes {
        frame.record(out, |out| record::encode_envelope(e, out));
    }
    frame.finish(out);
}
