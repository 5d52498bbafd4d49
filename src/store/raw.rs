//! Direct access to a closed store's sled trees, as someone holding its files has it,
//! past every check the store makes: what the tamper tests forge with, and a way to
//! look inside a store by hand. Also writes the old log file format, for the tests of
//! moving an earlier release's store into sled.
use std::path::Path;

use events::{canonical, Envelope, Hash, GENESIS};

use super::{
    damage::Damage,
    legacy, record,
    trees::{self, Trees},
    Head, SLED_DIR,
};

/// Runs `f` on the trees of the closed store in `dir`, then closes sled and waits (up to
/// 2 s) until its threads have let go of its file, so the next caller can open it.
fn with_trees<T>(dir: &Path, f: impl FnOnce(&Trees) -> Result<T, Damage>) -> Result<T, Damage> {
    let db = sled::Config::new()
        .path(dir.join(SLED_DIR))
        .flush_every_ms(None)
        .open()?;
    let trees = Trees::open(db)?;
    let out = f(&trees);
    trees.db.flush()?;
    drop(trees);
    super::wait_for_sled(&dir.join(SLED_DIR).join("db"));
    out
}

/// Every event the `events` tree holds, in key order, each with the previous record's
/// hash as its `prev_hash`.
pub fn read_events(dir: &Path) -> Result<Vec<Envelope>, Damage> {
    with_trees(dir, |trees| {
        let mut out: Vec<Envelope> = Vec::new();
        for item in trees.events.iter() {
            let (key, bytes) = item?;
            let seq = trees::seq_of(&key).ok_or(Damage::inconsistent("a key is not a seq"))?;
            let prev = out.last().map_or(GENESIS, |e| e.hash);
            out.push(record::decode(&bytes, seq, prev)?);
        }
        Ok(out)
    })
}

/// Replaces every event, id and correction entry with `envelopes` as they are (their
/// seqs and hashes kept, right or wrong), and marks the last one the committed head:
/// what a forger rewriting the store through sled's own API would leave.
pub fn write_events(dir: &Path, envelopes: &[Envelope]) -> Result<(), Damage> {
    with_trees(dir, |trees| {
        for tree in [&trees.events, &trees.ids, &trees.corrections] {
            tree.clear()?;
        }
        let catalog = events::Catalog::embedded();
        let records: Vec<Vec<u8>> = envelopes
            .iter()
            .map(|e| {
                let mut bytes = Vec::new();
                record::encode_envelope(e, &mut bytes);
                bytes
            })
            .collect();
        let entries: Vec<trees::Entry<'_>> = envelopes
            .iter()
            .zip(&records)
            .map(|(e, record)| trees::Entry {
                seq: e.seq,
                id: e.id,
                record,
                target: super::correction_target(&catalog, e),
            })
            .collect();
        trees::write(trees, &entries, None)?;
        let head = envelopes.last().map_or(Head::default(), |e| Head {
            seq: e.seq,
            hash: e.hash,
            recorded_at: Some(e.recorded_at),
        });
        Ok(trees::write_head(trees, &head)?)
    })
}

/// The stored bytes of one event.
pub fn record_bytes(dir: &Path, seq: u64) -> Result<Option<Vec<u8>>, Damage> {
    with_trees(dir, |trees| {
        let v = trees.events.get(trees::seq_key(seq))?;
        Ok(v.map(|v| v.to_vec()))
    })
}

/// Puts `bytes` in place of one event's stored record, nothing else changed.
pub fn set_record_bytes(dir: &Path, seq: u64, bytes: &[u8]) -> Result<(), Damage> {
    insert(dir, "events", &trees::seq_key(seq), bytes)
}

/// Writes `envelopes` as an earlier release's log file (`events.log`) in `dir`, one
/// frame each, checksums and all.
pub fn write_legacy_log(dir: &Path, envelopes: &[Envelope]) -> std::io::Result<()> {
    let mut out = legacy::MAGIC.to_vec();
    for e in envelopes {
        let mut record = Vec::new();
        record::encode(
            &e.unsealed(&canonical::to_vec(&e.data)),
            e.hash,
            &mut record,
        );
        let mut payload = (record.len() as u32).to_le_bytes().to_vec();
        payload.extend_from_slice(&record);
        let mut tail = e.seq.to_le_bytes().to_vec();
        tail.extend_from_slice(&1u32.to_le_bytes());
        let mut crc = crc32fast::Hasher::new();
        crc.update(&tail);
        crc.update(&payload);
        out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        out.extend_from_slice(&crc.finalize().to_le_bytes());
        out.extend_from_slice(&tail);
        out.extend_from_slice(&payload);
    }
    std::fs::write(dir.join(legacy::FILE), out)
}

/// The hash a stored record carries.
pub fn record_hash(bytes: &[u8]) -> Result<Hash, Damage> {
    record::hash(bytes)
}

/// Puts any key and value in one of the store's trees (`events`, `ids`, …).
pub fn insert(dir: &Path, tree: &str, key: &[u8], value: &[u8]) -> Result<(), Damage> {
    insert_many(dir, tree, &[(key.to_vec(), value.to_vec())])
}

/// Puts many keys and values in one of the store's trees, in one opening of sled.
pub fn insert_many(dir: &Path, tree: &str, pairs: &[(Vec<u8>, Vec<u8>)]) -> Result<(), Damage> {
    with_trees(dir, |trees| {
        let tree = trees.db.open_tree(tree)?;
        for (k, v) in pairs {
            tree.insert(k.as_slice(), v.as_slice())?;
        }
        Ok(())
    })
}

/// The stored record of an envelope, as the store writes it.
pub fn encode(e: &Envelope, out: &mut Vec<u8>) {
    record::encode_envelope(e, out);
}
