//! The stored form of one event: a compact binary record (hashes as 32 bytes, the id as
//! 16, days and times as integers, the data as compact JSON), about a third of the
//! JSON envelope. The seq and the previous hash are not stored: the record's place in
//! the log gives both.
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use events::{canonical, Envelope, Hash, Occurred, Unsealed};
use uuid::Uuid;

use super::damage::Damage;

/// Where the fields sit: the hash first (so the next record's `prev_hash` is one small
/// read), then the id, then the kind.
const HASH: usize = 0;
const ID: usize = 32;
const KIND_LEN: usize = 48;
const KIND: usize = 50;

/// Appends `e`'s record to `out`.
pub fn encode_envelope(e: &Envelope, out: &mut Vec<u8>) {
    encode(&e.unsealed(&canonical::to_vec(&e.data)), e.hash, out);
}

/// Appends the record of the event `e` seals to (as `hash`) to `out`.
pub fn encode(e: &Unsealed, hash: Hash, out: &mut Vec<u8>) {
    let kind = e.kind.as_bytes();
    let by = e.recorded_by.as_bytes();
    out.extend_from_slice(&hash.0);
    out.extend_from_slice(e.id.as_bytes());
    // Lengths wide enough for anything an envelope can carry (a restored export's
    // author is not held to a draft's limit): a record never cuts what its hash covers.
    let kind_len = u16::try_from(kind.len()).expect("a kind is a catalog name");
    out.extend_from_slice(&kind_len.to_le_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(&e.version.to_le_bytes());
    out.extend_from_slice(&days(e.occurred.start()).to_le_bytes());
    out.extend_from_slice(&days(e.occurred.end()).to_le_bytes());
    out.extend_from_slice(&e.recorded_at.timestamp_micros().to_le_bytes());
    let by_len = u32::try_from(by.len()).expect("an author is under 4 GiB");
    out.extend_from_slice(&by_len.to_le_bytes());
    out.extend_from_slice(by);
    out.extend_from_slice(e.data);
}

/// The hash a record carries.
pub fn hash(record: &[u8]) -> Result<Hash, Damage> {
    let bytes = record.get(HASH..HASH + 32).ok_or(Damage::CutShort)?;
    Ok(Hash(bytes.try_into().expect("32 bytes")))
}

/// The id a record carries.
pub fn id(record: &[u8]) -> Result<Uuid, Damage> {
    let bytes = record.get(ID..ID + 16).ok_or(Damage::CutShort)?;
    Ok(Uuid::from_bytes(bytes.try_into().expect("16 bytes")))
}

/// The kind a record carries, without decoding the rest.
pub fn kind(record: &[u8]) -> Result<&str, Damage> {
    let len = record
        .get(KIND_LEN..KIND)
        .map(|b| usize::from(u16::from_le_bytes(b.try_into().expect("2 bytes"))))
        .ok_or(Damage::CutShort)?;
    let bytes = record.get(KIND..KIND + len).ok_or(Damage::CutShort)?;
    std::str::from_utf8(bytes).map_err(|_| Damage::NotUtf8("kind"))
}

/// The whole event, given the seq and previous hash its place in the log gives it.
pub fn decode(record: &[u8], seq: u64, prev_hash: Hash) -> Result<Envelope, Damage> {
    let kind = kind(record)?.to_owned();
    let mut r = Reader {
        bytes: record,
        at: KIND + kind.len(),
    };
    let version = u32::from_le_bytes(r.take()?);
    let from = day(i32::from_le_bytes(r.take()?))?;
    let to = day(i32::from_le_bytes(r.take()?))?;
    let micros = i64::from_le_bytes(r.take()?);
    let by_len = u32::from_le_bytes(r.take()?) as usize;
    let by = r.slice(by_len)?;
    let recorded_by = std::str::from_utf8(by)
        .map_err(|_| Damage::NotUtf8("author"))?
        .to_owned();
    let data = serde_json::from_slice(&record[r.at..]).map_err(Damage::NotJson)?;
    Ok(Envelope {
        id: id(record)?,
        seq,
        kind,
        version,
        occurred: Occurred::range(from, to).map_err(|r| Damage::Dates(r.to_string()))?,
        recorded_at: DateTime::<Utc>::from_timestamp_micros(micros)
            .ok_or(Damage::Time("the recording time"))?,
        recorded_by,
        data,
        prev_hash,
        hash: hash(record)?,
    })
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn slice(&mut self, len: usize) -> Result<&[u8], Damage> {
        let s = self
            .bytes
            .get(self.at..self.at + len)
            .ok_or(Damage::CutShort)?;
        self.at += len;
        Ok(s)
    }

    fn take<const N: usize>(&mut self) -> Result<[u8; N], Damage> {
        Ok(self.slice(N)?.try_into().expect("N bytes"))
    }
}

fn days(d: NaiveDate) -> i32 {
    d.num_days_from_ce()
}

fn day(n: i32) -> Result<NaiveDate, Damage> {
    NaiveDate::from_num_days_from_ce_opt(n).ok_or(Damage::Day(n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_record_decodes_to_the_envelope_it_was_made_from() {
        let e = Envelope {
            id: Uuid::from_u128(7),
            seq: 3,
            kind: "class_held".into(),
            version: 2,
            occurred: "2023-06-26..2023-06-30".parse().unwrap(),
            recorded_at: "2023-06-30T09:00:00.123456Z".parse().unwrap(),
            recorded_by: "教务科".into(),
            data: json!({"trainees": 52, "title": "科级干部进修班", "ratio": 0.5}),
            prev_hash: Hash([9; 32]),
            hash: GENESIS_PLUS,
        };
        let mut bytes = Vec::new();
        encode_envelope(&e, &mut bytes);
        assert_eq!(decode(&bytes, 3, Hash([9; 32])).unwrap(), e);
        assert_eq!(kind(&bytes).unwrap(), "class_held");
        assert_eq!(id(&bytes).unwrap(), e.id);
        assert_eq!(hash(&bytes).unwrap(), e.hash);
        for cut in 0..bytes.len() - 1 {
            // Never a panic on a short record, only an error (or, past the fixed
            // fields, JSON that no longer parses).
            assert!(
                decode(&bytes[..cut], 3, Hash([9; 32])).is_err(),
                "cut at {cut}"
            );
        }
    }

    const GENESIS_PLUS: Hash = Hash([1; 32]);
}
