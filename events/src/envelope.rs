//! The stored event: one envelope carries every kind, with its place in the log
//! (`seq`), both times, its author and the hash that chains it to the one before.
use std::{fmt, io::Write, str::FromStr};

use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{
    canonical,
    catalog::Catalog,
    draft::NewEvent,
    error::{excerpt, Error},
    occurred::Occurred,
};

/// A SHA-256 digest, written as 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Hash(pub [u8; 32]);

/// The `prev_hash` of the first event: the chain's fixed starting point.
pub const GENESIS: Hash = Hash([0; 32]);

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(std::str::from_utf8(&self.hex()).expect("hex digits are ASCII"))
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({self})")
    }
}

/// A text that is not a hash: 64 hex digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not 64 hex digits")]
pub struct NotAHash(String);

impl FromStr for Hash {
    type Err = NotAHash;

    fn from_str(s: &str) -> Result<Self, NotAHash> {
        let mut out = [0u8; 32];
        const_hex::decode_to_slice(s, &mut out).map_err(|_| NotAHash(excerpt(s).into_owned()))?;
        Ok(Hash(out))
    }
}

impl Serialize for Hash {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Hash {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

impl Hash {
    /// The 64 lowercase hex digits, without formatting machinery: hashing a log
    /// writes two per event.
    pub fn hex(&self) -> [u8; 64] {
        let mut out = [0u8; 64];
        const_hex::encode_to_slice(self.0, &mut out).expect("64 digits for 32 bytes");
        out
    }

    /// The SHA-256 of some bytes, such as an imported file.
    pub fn of(bytes: &[u8]) -> Self {
        Hash(Sha256::digest(bytes).into())
    }
}

/// `t` as `chrono` writes it with `SecondsFormat::Micros` and `Z` (what the hash has
/// always covered), without going through its formatter. Years outside 0–9999 cannot
/// be recorded, but fall back to chrono's own form all the same.
fn rfc3339_micros(t: DateTime<Utc>) -> Vec<u8> {
    use chrono::{Datelike, Timelike};
    let year = t.year();
    if !(0..=9999).contains(&year) {
        return t
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
            .into_bytes();
    }
    if t.nanosecond() >= 1_000_000_000 {
        return t
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
            .into_bytes();
    }
    let mut out = Vec::with_capacity(27);
    let num = |n: u32, width: usize, out: &mut Vec<u8>| {
        let mut digits = [b'0'; 6];
        let mut n = n;
        for d in digits[..width].iter_mut().rev() {
            *d = b'0' + (n % 10) as u8;
            n /= 10;
        }
        out.extend_from_slice(&digits[..width]);
    };
    num(year as u32, 4, &mut out);
    out.push(b'-');
    num(t.month(), 2, &mut out);
    out.push(b'-');
    num(t.day(), 2, &mut out);
    out.push(b'T');
    num(t.hour(), 2, &mut out);
    out.push(b':');
    num(t.minute(), 2, &mut out);
    out.push(b':');
    num(t.second(), 2, &mut out);
    out.push(b'.');
    num(t.nanosecond() / 1000, 6, &mut out);
    out.push(b'Z');
    out
}

/// Recording times are kept to the microsecond so they survive every round trip.
pub fn truncate(t: DateTime<Utc>) -> DateTime<Utc> {
    t.trunc_subsecs(6)
}

mod micros {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::Micros, true))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let s = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| {
                serde::de::Error::custom(format!(
                    "recorded_at '{}' is not an RFC 3339 moment",
                    crate::error::excerpt(&s)
                ))
            })
    }
}

/// One event as stored and exported. The JSON form of this struct, one per line, is
/// the export format, and `hash` covers the canonical bytes of every other field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    /// The event's id.
    pub id: Uuid,
    /// Its place in the log: 1, 2, 3… with no gaps.
    pub seq: u64,
    /// The kind's name.
    pub kind: String,
    /// The kind's schema version the data was written at.
    pub version: u32,
    /// When it happened.
    pub occurred: Occurred,
    /// When the log learned of it (UTC); never decreases along `seq`.
    #[serde(with = "micros")]
    pub recorded_at: DateTime<Utc>,
    /// Who recorded it.
    pub recorded_by: String,
    /// The kind's fields.
    pub data: Value,
    /// The hash of the event before it ([`GENESIS`] for the first).
    pub prev_hash: Hash,
    /// The hash of this event's canonical bytes.
    pub hash: Hash,
}

/// An envelope's fields before it is sealed, its data already in canonical bytes: what
/// the store hashes and writes, so a new event's data is encoded once, on the thread
/// that validated it, and never again as a `Value`.
#[derive(Debug, Clone, Copy)]
pub struct Unsealed<'a> {
    /// The event's id.
    pub id: Uuid,
    /// Its place in the log.
    pub seq: u64,
    /// The kind's name.
    pub kind: &'a str,
    /// The kind's schema version the data was written at.
    pub version: u32,
    /// When it happened.
    pub occurred: Occurred,
    /// When the log learned of it.
    pub recorded_at: DateTime<Utc>,
    /// Who recorded it.
    pub recorded_by: &'a str,
    /// The data's canonical bytes ([`canonical::write`]).
    pub data: &'a [u8],
    /// The hash of the event before it.
    pub prev_hash: Hash,
}

impl Unsealed<'_> {
    /// The hash these fields seal to.
    pub fn hash(&self) -> Hash {
        Hash(Sha256::digest(self.canonical_bytes()).into())
    }

    /// The canonical bytes the hash covers: the JSON form of every field but `hash`,
    /// keys sorted, compact. Written field by field (the same bytes as going through a
    /// `serde_json::Value`, which the tests check, without building one).
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256 + self.data.len());
        let field = |out: &mut Vec<u8>, name: &str, first: bool| {
            out.extend_from_slice(if first { b"{\"" } else { b",\"" });
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b"\":");
        };
        // Keys in the order of their UTF-8 bytes, as `canonical` sorts them.
        field(&mut out, "data", true);
        out.extend_from_slice(self.data);
        field(&mut out, "id", false);
        // Hex digits, hyphens and the time's digits need no escaping: written as they are.
        let ascii = |out: &mut Vec<u8>, text: &[u8]| {
            out.push(b'"');
            out.extend_from_slice(text);
            out.push(b'"');
        };
        ascii(
            &mut out,
            self.id
                .hyphenated()
                .encode_lower(&mut Uuid::encode_buffer())
                .as_bytes(),
        );
        field(&mut out, "kind", false);
        canonical::write_str(self.kind, &mut out);
        field(&mut out, "occurred", false);
        // Digits, hyphens and dots: nothing to escape.
        write!(out, "\"{}\"", self.occurred).expect("writing to a Vec cannot fail");
        field(&mut out, "prev_hash", false);
        ascii(&mut out, &self.prev_hash.hex());
        field(&mut out, "recorded_at", false);
        ascii(&mut out, &rfc3339_micros(self.recorded_at));
        field(&mut out, "recorded_by", false);
        canonical::write_str(self.recorded_by, &mut out);
        field(&mut out, "seq", false);
        write!(out, "{}", self.seq).expect("writing to a Vec cannot fail");
        field(&mut out, "version", false);
        write!(out, "{}", self.version).expect("writing to a Vec cannot fail");
        out.push(b'}');
        out
    }
}

impl Envelope {
    /// Computes the hash this envelope should carry, from everything but `hash`.
    pub fn compute_hash(&self) -> Hash {
        self.unsealed(&canonical::to_vec(&self.data)).hash()
    }

    /// The canonical bytes the hash covers (see [`Unsealed::canonical_bytes`]).
    pub fn canonical_bytes(&self) -> Vec<u8> {
        self.unsealed(&canonical::to_vec(&self.data))
            .canonical_bytes()
    }

    /// Its fields but `hash`, with `data` the canonical bytes of its data.
    pub fn unsealed<'a>(&'a self, data: &'a [u8]) -> Unsealed<'a> {
        Unsealed {
            id: self.id,
            seq: self.seq,
            kind: &self.kind,
            version: self.version,
            occurred: self.occurred,
            recorded_at: self.recorded_at,
            recorded_by: &self.recorded_by,
            data,
            prev_hash: self.prev_hash,
        }
    }

    /// Sets `hash` from the content; the store calls this once, when it assigns `seq`.
    pub fn sealed(mut self) -> Self {
        self.hash = self.compute_hash();
        self
    }

    /// This envelope with its data lifted to the kind's current schema version: the
    /// form projections fold. The hash is left as stored.
    pub fn upcast(mut self, catalog: &Catalog) -> Self {
        if let Some(k) = catalog.kind(&self.kind) {
            if self.version < k.version {
                self.data = k.upcast(self.version, std::mem::take(&mut self.data));
                self.version = k.version;
            }
        }
        self
    }

    /// The content that makes two submissions of the same id "the same event":
    /// everything the submitter chose, nothing the store assigned.
    pub fn same_content(&self, event: &NewEvent) -> bool {
        self.kind == event.kind()
            && self.version == event.version()
            && event.occurred().is_none_or(|o| o == self.occurred)
            && canonical::to_vec(&self.data) == event.data_json()
    }
}

/// Walks a log in order and checks each link: seq follows seq, `prev_hash` is the
/// previous `hash`, `hash` matches the content, and time does not run backwards.
#[derive(Debug, Clone)]
pub struct ChainCheck {
    next_seq: u64,
    prev_hash: Hash,
    prev_time: Option<DateTime<Utc>>,
}

impl Default for ChainCheck {
    fn default() -> Self {
        Self::after(0, GENESIS)
    }
}

impl ChainCheck {
    /// A check that expects the event after `seq`, whose hash was `hash`.
    pub fn after(seq: u64, hash: Hash) -> Self {
        Self {
            next_seq: seq + 1,
            prev_hash: hash,
            prev_time: None,
        }
    }

    /// Checks the next envelope in order.
    pub fn check(&mut self, e: &Envelope) -> Result<(), Error> {
        let fail = |reason: String| Err(Error::Chain { seq: e.seq, reason });
        if e.seq != self.next_seq {
            return Err(Error::Chain {
                seq: self.next_seq,
                reason: format!("expected seq {} but found seq {}", self.next_seq, e.seq),
            });
        }
        if e.prev_hash != self.prev_hash {
            return fail(format!(
                "prev_hash {} does not match the previous event's hash {}",
                e.prev_hash, self.prev_hash
            ));
        }
        let computed = e.compute_hash();
        if computed != e.hash {
            return fail(format!(
                "content does not match its hash (stored {}, computed {computed})",
                e.hash
            ));
        }
        if self.prev_time.is_some_and(|t| e.recorded_at < t) {
            return fail("recorded_at is earlier than the previous event's".into());
        }
        self.next_seq += 1;
        self.prev_hash = e.hash;
        self.prev_time = Some(e.recorded_at);
        Ok(())
    }

    /// The number of events checked so far plus the starting seq.
    pub fn head_seq(&self) -> u64 {
        self.next_seq - 1
    }

    /// The hash of the last event checked.
    pub fn head_hash(&self) -> Hash {
        self.prev_hash
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(seq: u64, prev: Hash) -> Envelope {
        Envelope {
            id: Uuid::now_v7(),
            seq,
            kind: "meeting_held".into(),
            version: 1,
            occurred: "2023-03-01".parse().unwrap(),
            recorded_at: truncate(Utc::now()),
            recorded_by: "办公室".into(),
            data: json!({"type": "school_committee"}),
            prev_hash: prev,
            hash: GENESIS,
        }
        .sealed()
    }

    #[test]
    fn a_chain_of_sealed_events_checks_out() {
        let a = event(1, GENESIS);
        let b = event(2, a.hash);
        let mut check = ChainCheck::default();
        check.check(&a).unwrap();
        check.check(&b).unwrap();
        assert_eq!(check.head_seq(), 2);
    }

    #[test]
    fn a_changed_payload_breaks_the_hash_and_names_the_seq() {
        let a = event(1, GENESIS);
        let mut b = event(2, a.hash);
        b.data = json!({"type": "branch_committee"});
        let mut check = ChainCheck::default();
        check.check(&a).unwrap();
        let err = check.check(&b).unwrap_err().to_string();
        assert!(err.starts_with("seq 2: content does not match"), "{err}");
    }

    /// The canonical bytes as first defined: the envelope as a JSON value without
    /// `hash`, through `canonical::to_vec`.
    fn canonical_via_value(e: &Envelope) -> Vec<u8> {
        let mut value = serde_json::to_value(e).unwrap();
        value.as_object_mut().unwrap().remove("hash");
        canonical::to_vec(&value)
    }

    #[test]
    fn recording_times_are_written_as_chrono_writes_them() {
        let mut t: DateTime<Utc> = "1970-01-01T00:00:00Z".parse().unwrap();
        for step in 0..2000i64 {
            t += chrono::Duration::microseconds(step * 7_919_113_457 + 1);
            assert_eq!(
                String::from_utf8(rfc3339_micros(t)).unwrap(),
                t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
            );
        }
        let far: DateTime<Utc> = "12000-01-01T00:00:00Z".parse().unwrap_or(t);
        assert_eq!(
            String::from_utf8(rfc3339_micros(far)).unwrap(),
            far.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
        );
    }

    #[test]
    fn the_canonical_bytes_are_those_of_the_json_value_without_hash() {
        let mut e = event(7, Hash([0xab; 32]));
        assert_eq!(e.canonical_bytes(), canonical_via_value(&e));
        // Unicode, escapes, nesting, numbers, booleans, nulls and a range of days.
        e.data = json!({
            "z": [1, -2, 3.5, true, null, "引号\"与\\反斜杠\n"],
            "a": {"y": "新任科级干部培训班", "x": {"k": false}},
            "trainees": 86,
        });
        e.occurred = "2023-06-26..2023-06-30".parse().unwrap();
        e.recorded_by = "办公室 \u{1}\t".into();
        e.kind = "class_held".into();
        e.version = 3;
        e.seq = u64::MAX;
        assert_eq!(e.canonical_bytes(), canonical_via_value(&e));
        // Every field but the hash is covered, under its serialised name.
        let keys: Vec<String> = serde_json::to_value(&e)
            .unwrap()
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| *k != "hash")
            .cloned()
            .collect();
        let bytes: Value = serde_json::from_slice(&e.canonical_bytes()).unwrap();
        let covered: Vec<String> = bytes.as_object().unwrap().keys().cloned().collect();
        assert_eq!(covered, keys);
    }

    #[test]
    fn an_envelope_round_trips_through_json_with_its_hash() {
        let a = event(1, GENESIS);
        let line = serde_json::to_string(&a).unwrap();
        let back: Envelope = serde_json::from_str(&line).unwrap();
        assert_eq!(back, a);
        assert_eq!(back.compute_hash(), a.hash);
    }
}
