//! Raw sled: the floor of the store's design, against which its own overhead is a
//! ratio (issue 14). The same compact records Annals stores, written with bare sled
//! calls into the same trees (`events`: seq big-endian → record; `ids`: id → seq;
//! `corrections`: target ++ seq → void flag; `meta`: the head), in the same shape: one
//! transaction over the four trees per [`CHUNK`] records, the last one marking the head,
//! then sled's `flush` and an `fdatasync` of sled's data file, with sled's cache as
//! large as the store's. No validation, no hashing, no staging: the records are made
//! beforehand (from the events Annals stored, so they are byte for byte the same).
use std::{
    fs::File,
    io::{BufRead, BufReader, Read},
    path::Path,
    sync::mpsc,
    thread,
};

use annals::store::{raw, Filter, Store, CHUNK, SLED_CACHE_BYTES};
use events::catalog::Correction;
use sled::{transaction::ConflictableTransactionError, Transactional};
use uuid::Uuid;

/// One record to write, with what its entries in the other trees need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Its seq: the `events` key.
    pub seq: u64,
    /// Its id: the `ids` key.
    pub id: Uuid,
    /// For a correction: the event it targets and whether it voids it.
    pub target: Option<(Uuid, bool)>,
    /// The compact record, as the store writes it.
    pub bytes: Vec<u8>,
}

/// A sled database holding the store's trees, written bare.
pub struct RawSled {
    db: sled::Db,
    events: sled::Tree,
    ids: sled::Tree,
    corrections: sled::Tree,
    meta: sled::Tree,
    /// sled's data file, synced after each flush (sled 0.34's flush only starts the
    /// writes on Linux, as the store's writer says).
    data_file: File,
}

impl RawSled {
    /// Opens (creating) the database in `dir`, configured as the store configures sled.
    pub fn open(dir: &Path) -> sled::Result<Self> {
        let db = sled::Config::new()
            .path(dir)
            .cache_capacity(SLED_CACHE_BYTES)
            .flush_every_ms(None)
            .open()?;
        Ok(RawSled {
            events: db.open_tree("events")?,
            ids: db.open_tree("ids")?,
            corrections: db.open_tree("corrections")?,
            meta: db.open_tree("meta")?,
            data_file: File::open(dir.join("db"))?,
            db,
        })
    }

    /// Writes `records` durably: transactions of [`CHUNK`], the last marking the head,
    /// then one flush and one `fdatasync`.
    pub fn write(&self, records: &[Record]) -> sled::Result<()> {
        let chunks = records.len().div_ceil(CHUNK);
        for (i, chunk) in records.chunks(CHUNK).enumerate() {
            self.transaction(chunk, i + 1 == chunks)?;
        }
        self.db.flush()?;
        self.data_file.sync_data()?;
        Ok(())
    }

    fn transaction(&self, chunk: &[Record], head: bool) -> sled::Result<()> {
        let trees = (&self.events, &self.ids, &self.corrections, &self.meta);
        trees
            .transaction(|(events, ids, corrections, meta)| {
                for r in chunk {
                    let key = r.seq.to_be_bytes();
                    events.insert(&key, r.bytes.as_slice())?;
                    ids.insert(r.id.as_bytes(), &key)?;
                    if let Some((target, voids)) = r.target {
                        let mut k = [0; 24];
                        k[..16].copy_from_slice(target.as_bytes());
                        k[16..].copy_from_slice(&key);
                        corrections.insert(&k, &[u8::from(voids)])?;
                    }
                }
                if let (true, Some(last)) = (head, chunk.last()) {
                    // The head as the store marks it: seq, hash, time (48 bytes).
                    let mut v = last.seq.to_be_bytes().to_vec();
                    v.extend_from_slice(&last.bytes[..32]);
                    v.extend_from_slice(&[0; 8]);
                    meta.insert(b"head", v)?;
                }
                Ok::<_, ConflictableTransactionError<()>>(())
            })
            .map_err(|e| match e {
                sled::transaction::TransactionError::Storage(e) => e,
                sled::transaction::TransactionError::Abort(()) => {
                    sled::Error::Unsupported("aborted".into())
                }
            })
    }

    /// Every record in key order: how many, and a CRC of their bytes in that order.
    pub fn scan(&self) -> sled::Result<(u64, u32)> {
        let mut crc = crc32fast::Hasher::new();
        let mut n = 0;
        for item in self.events.iter() {
            let (_, v) = item?;
            crc.update(&v);
            n += 1;
        }
        Ok((n, crc.finalize()))
    }

    /// The highest seq held.
    pub fn last_seq(&self) -> sled::Result<u64> {
        Ok(self
            .events
            .last()?
            .and_then(|(k, _)| Some(u64::from_be_bytes(k.as_ref().try_into().ok()?)))
            .unwrap_or(0))
    }
}

/// The records of every event `store` holds, as it stores them, in seq order.
pub fn records_of(store: &Store) -> Vec<Record> {
    let catalog = store.catalog().clone();
    store
        .scan(Filter::default())
        .map(|e| {
            let e = e.expect("the store reads back");
            let mut bytes = Vec::new();
            raw::encode(&e, &mut bytes);
            let target = catalog
                .kind(&e.kind)
                .and_then(|k| k.correction_target(&e.data))
                .map(|(c, target)| (target, c == Correction::Void));
            Record {
                seq: e.seq,
                id: e.id,
                target,
                bytes,
            }
        })
        .collect()
}

/// What [`scan`](RawSled::scan) gives for records held in memory.
pub fn checksum(records: &[Record]) -> (u64, u32) {
    let mut crc = crc32fast::Hasher::new();
    for r in records {
        crc.update(&r.bytes);
    }
    (records.len() as u64, crc.finalize())
}

type Job = (Record, mpsc::SyncSender<sled::Result<()>>);

/// Group commit over raw sled: one writer thread gathers what is waiting (with the
/// store's policy: up to as many as the last group held, waiting at most 200 µs for
/// them), gives each record the next seq and writes the group with one
/// [`RawSled::write`]; each caller is answered after it.
pub struct GroupWriter {
    tx: mpsc::Sender<Job>,
    thread: thread::JoinHandle<RawSled>,
}

impl GroupWriter {
    /// Starts the writer thread on `db`.
    pub fn start(db: RawSled) -> Self {
        let (tx, rx) = mpsc::channel::<Job>();
        let thread = thread::spawn(move || {
            let mut next = db.last_seq().expect("raw sled reads") + 1;
            let mut expect = 1;
            while let Some(group) = annals::store::gather(&rx, expect) {
                expect = group.len();
                let (mut records, replies): (Vec<Record>, Vec<_>) = group.into_iter().unzip();
                for r in &mut records {
                    r.seq = next;
                    next += 1;
                }
                let written = db.write(&records);
                for reply in replies {
                    let _ = reply.send(written.as_ref().map(|_| ()).map_err(Clone::clone));
                }
            }
            db
        });
        GroupWriter { tx, thread }
    }

    /// A way to append through the writer, for one more thread.
    pub fn handle(&self) -> Appender {
        Appender(self.tx.clone())
    }

    /// Stops the writer once every handle is dropped, and gives the database back.
    pub fn stop(self) -> RawSled {
        drop(self.tx);
        self.thread.join().expect("the raw sled writer")
    }
}

/// One thread's way to the [`GroupWriter`].
pub struct Appender(mpsc::Sender<Job>);

impl Appender {
    /// Appends one record; returns once it is durable.
    pub fn append(&self, record: Record) -> sled::Result<()> {
        let (tx, rx) = mpsc::sync_channel(1);
        self.0
            .send((record, tx))
            .map_err(|_| sled::Error::ReportableBug("the writer is gone".into()))?;
        rx.recv()
            .map_err(|_| sled::Error::ReportableBug("the writer is gone".into()))?
    }
}

/// Writes records to a file, for a child process to read back with [`load`].
pub fn save(records: &[Record], path: &Path) -> std::io::Result<()> {
    let mut out = Vec::new();
    for r in records {
        out.extend_from_slice(&r.seq.to_le_bytes());
        out.extend_from_slice(r.id.as_bytes());
        match r.target {
            None => out.push(0),
            Some((t, voids)) => {
                out.push(1 + u8::from(voids));
                out.extend_from_slice(t.as_bytes());
            }
        }
        out.extend_from_slice(&(r.bytes.len() as u32).to_le_bytes());
        out.extend_from_slice(&r.bytes);
    }
    std::fs::write(path, out)
}

/// Reads what [`save`] wrote, a record at a time (so the file is never in memory
/// beside the records: what raw sled's import child holds is the records alone).
pub fn load(path: &Path) -> std::io::Result<Vec<Record>> {
    fn take<const N: usize>(r: &mut impl Read) -> std::io::Result<[u8; N]> {
        let mut b = [0; N];
        r.read_exact(&mut b)?;
        Ok(b)
    }
    let mut r = BufReader::new(File::open(path)?);
    let mut out = Vec::new();
    while !r.fill_buf()?.is_empty() {
        let seq = u64::from_le_bytes(take(&mut r)?);
        let id = Uuid::from_bytes(take(&mut r)?);
        let target = match take::<1>(&mut r)?[0] {
            0 => None,
            tag => Some((Uuid::from_bytes(take(&mut r)?), tag == 2)),
        };
        let mut bytes = vec![0; u32::from_le_bytes(take(&mut r)?) as usize];
        r.read_exact(&mut bytes)?;
        out.push(Record {
            seq,
            id,
            target,
            bytes,
        });
    }
    Ok(out)
}
