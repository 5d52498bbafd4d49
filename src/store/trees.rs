//! The sled trees the store keeps and the bytes of their keys and values: the only
//! file that knows them (a record's own layout is `record`'s).
//!
//! - `events`: seq (u64, big-endian, so sled's order is the log's) → the compact record;
//! - `ids`: event id (16 bytes) → seq;
//! - `corrections`: target id (16 bytes) ++ the correction's seq → 1 for a void, 0 for
//!   an amendment, so a target's corrections are one prefix scan;
//! - `meta`: the committed head and the format's version;
//! - `snapshot`: the fold's snapshot (a cache; `verify` proves it);
//! - `tokens`: a token's SHA-256 → its record (see `tokens`).
use chrono::{DateTime, Utc};
use events::{Hash, GENESIS};
use uuid::Uuid;

use events::Catalog;

use super::{damage::Damage, record, Head, StoreError};

/// The version of this layout, kept in `meta`.
pub const FORMAT: u32 = 3;

/// `meta` keys.
const META_FORMAT: &[u8] = b"format";
const META_HEAD: &[u8] = b"head";

/// The key of the fold's snapshot in the `snapshot` tree.
pub const SNAPSHOT_KEY: &[u8] = b"facts";

/// Every tree of a store.
#[derive(Clone)]
pub struct Trees {
    pub db: sled::Db,
    pub events: sled::Tree,
    pub ids: sled::Tree,
    pub corrections: sled::Tree,
    pub meta: sled::Tree,
    pub snapshot: sled::Tree,
    pub tokens: sled::Tree,
}

impl Trees {
    /// Opens (creating) every tree of `db`.
    pub fn open(db: sled::Db) -> sled::Result<Self> {
        Ok(Trees {
            events: db.open_tree("events")?,
            ids: db.open_tree("ids")?,
            corrections: db.open_tree("corrections")?,
            meta: db.open_tree("meta")?,
            snapshot: db.open_tree("snapshot")?,
            tokens: db.open_tree("tokens")?,
            db,
        })
    }

    /// The layout's version the store says it has, if it says one.
    pub fn format(&self) -> sled::Result<Option<u32>> {
        Ok(self
            .meta
            .get(META_FORMAT)?
            .and_then(|v| Some(u32::from_be_bytes(v.as_ref().try_into().ok()?))))
    }

    /// The committed head: events past it were written by a batch that never finished.
    pub fn head(&self) -> sled::Result<Result<Head, Damage>> {
        Ok(match self.meta.get(META_HEAD)? {
            None => Ok(Head::default()),
            Some(v) => decode_head(&v),
        })
    }
}

/// One event as the trees keep it.
pub struct Entry<'a> {
    /// Its seq.
    pub seq: u64,
    /// Its id.
    pub id: Uuid,
    /// Its compact record.
    pub record: &'a [u8],
    /// The event it corrects, and whether it voids it.
    pub target: Option<(Uuid, bool)>,
}

/// Writes `entries` in one transaction over the trees they touch, and marks `head`
/// committed in the same transaction when it is given.
pub fn write(trees: &Trees, entries: &[Entry<'_>], head: Option<&Head>) -> sled::Result<()> {
    use sled::{transaction::ConflictableTransactionError, Transactional};
    (&trees.events, &trees.ids, &trees.corrections, &trees.meta)
        .transaction(|(events, ids, corrections, meta)| {
            for e in entries {
                events.insert(&seq_key(e.seq), e.record)?;
                ids.insert(e.id.as_bytes(), &seq_key(e.seq))?;
                if let Some((target, voids)) = e.target {
                    corrections.insert(&correction_key(target, e.seq), &correction_value(voids))?;
                }
            }
            if let Some(head) = head {
                for (k, v) in head_entries(head) {
                    meta.insert(k, v)?;
                }
            }
            Ok::<_, ConflictableTransactionError<std::convert::Infallible>>(())
        })
        .map_err(|e| match e {
            sled::transaction::TransactionError::Storage(e) => e,
            sled::transaction::TransactionError::Abort(never) => match never {},
        })
}

/// The `meta` entries that mark `head` as committed, in this layout.
pub fn head_entries(head: &Head) -> [(&'static [u8], Vec<u8>); 2] {
    let mut v = Vec::with_capacity(48);
    v.extend_from_slice(&head.seq.to_be_bytes());
    v.extend_from_slice(&head.hash.0);
    let micros = head.recorded_at.map_or(i64::MIN, |t| t.timestamp_micros());
    v.extend_from_slice(&micros.to_be_bytes());
    [(META_FORMAT, FORMAT.to_be_bytes().to_vec()), (META_HEAD, v)]
}

fn decode_head(v: &[u8]) -> Result<Head, Damage> {
    if v.len() != 48 {
        return Err(Damage::inconsistent("the committed head is garbled"));
    }
    let seq = u64::from_be_bytes(v[..8].try_into().expect("8 bytes"));
    let hash = Hash(v[8..40].try_into().expect("32 bytes"));
    let micros = i64::from_be_bytes(v[40..48].try_into().expect("8 bytes"));
    let recorded_at = match micros {
        i64::MIN => None,
        m => Some(
            DateTime::<Utc>::from_timestamp_micros(m)
                .ok_or(Damage::Time("the committed head's time"))?,
        ),
    };
    if seq == 0 && hash != GENESIS {
        return Err(Damage::inconsistent("the committed head is garbled"));
    }
    Ok(Head {
        seq,
        hash,
        recorded_at,
    })
}

/// An `events` key.
pub fn seq_key(seq: u64) -> [u8; 8] {
    seq.to_be_bytes()
}

/// The seq an `events` key or an `ids` value holds.
pub fn seq_of(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.try_into().ok()?))
}

/// A `corrections` key: the target, then the correction's seq.
pub fn correction_key(target: Uuid, seq: u64) -> [u8; 24] {
    let mut k = [0; 24];
    k[..16].copy_from_slice(target.as_bytes());
    k[16..].copy_from_slice(&seq.to_be_bytes());
    k
}

/// A `corrections` value.
pub fn correction_value(voids: bool) -> [u8; 1] {
    [u8::from(voids)]
}

/// A `corrections` entry read back: the correction's seq and whether it voids.
pub fn correction_entry(key: &[u8], value: &[u8]) -> Option<(u64, bool)> {
    Some((seq_of(key.get(16..24)?)?, value.first() == Some(&1)))
}

/// Marks `head` committed in `meta`.
pub fn write_head(trees: &Trees, head: &Head) -> sled::Result<()> {
    for (k, v) in head_entries(head) {
        trees.meta.insert(k, v)?;
    }
    Ok(())
}

/// Removes every event past `seq` from sled, with its id and correction entries: what a
/// batch that never committed left behind.
pub fn remove_after(trees: &Trees, catalog: &Catalog, seq: u64) -> Result<(), StoreError> {
    let mut batch = (
        sled::Batch::default(),
        sled::Batch::default(),
        sled::Batch::default(),
    );
    let mut count = 0;
    for item in trees.events.range(seq_key(seq + 1)..) {
        let (key, bytes) = item?;
        batch.0.remove(key.clone());
        if let Ok(id) = record::id(&bytes) {
            batch.1.remove(id.as_bytes());
        }
        if let (Some(at), Some((target, _))) = (seq_of(&key), super::correction_of(catalog, &bytes))
        {
            batch.2.remove(&correction_key(target, at));
        }
        count += 1;
        if count % super::writer::CHUNK == 0 {
            apply(trees, std::mem::take(&mut batch))?;
        }
    }
    apply(trees, batch)
}

fn apply(
    trees: &Trees,
    (events, ids, corrections): (sled::Batch, sled::Batch, sled::Batch),
) -> Result<(), StoreError> {
    // Ids and corrections go first: an event whose entries are gone is still found and
    // removed by a later pass, never the other way round.
    trees.ids.apply_batch(ids)?;
    trees.corrections.apply_batch(corrections)?;
    trees.events.apply_batch(events)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_head_reads_back_as_it_was_written() {
        for head in [
            Head::default(),
            Head {
                seq: 227,
                hash: Hash([7; 32]),
                recorded_at: Some("2023-07-03T01:02:03.456789Z".parse().unwrap()),
            },
        ] {
            let [_, (_, bytes)] = head_entries(&head);
            assert_eq!(decode_head(&bytes).unwrap(), head);
        }
        assert!(decode_head(&[1, 2, 3]).is_err());
    }

    #[test]
    fn keys_sort_as_seqs_do() {
        assert!(seq_key(255) < seq_key(256));
        let (a, b) = (
            correction_key(Uuid::from_u128(1), 9),
            correction_key(Uuid::from_u128(1), 10),
        );
        assert!(a < b);
        assert_eq!(
            correction_entry(&b, &correction_value(true)),
            Some((10, true))
        );
    }
}
