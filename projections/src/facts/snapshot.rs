//! The facts as bytes and back: a snapshot lets a cold start read one buffer instead
//! of folding the whole log again. Pure functions; where the bytes are kept, and
//! whether a snapshot still belongs to the log, is the caller's business (the snapshot
//! records the head seq it was taken at).
//!
//! The format (version [`SNAPSHOT_VERSION`]; integers are LEB128 varints unless said):
//!
//! ```text
//! "ANNFACTS"  version (u32 LE)
//! head_seq  head_recorded_at (0 | 1 time)
//! texts: count, total bytes, each text's length, then all texts as one UTF-8 run
//! data: length, bytes (the encoded revisions, see the `data` module)
//! rows: count, then each: id (16 bytes), seq − previous seq, time (seconds − previous
//!       seconds, then the fraction), first day (zigzag, days − previous first day),
//!       days to the last day, kind text id, author text id, data offset − previous
//! corrections: groups, then each: row, count, then each: seq, time (seconds, fraction),
//!       author text id, reason text id + 1 (0: none), data offset + 1 (0: void)
//! checksum: the CRC-32 (u32 LE) of everything before it
//! ```
//!
//! Differences are wrapping, so any value round-trips; times keep their nanoseconds.
//! Decoding checks the checksum (bytes cut off or changed after writing are refused),
//! then every count, offset, text id, date, time and encoded value as it reads them:
//! whatever the bytes, the answer is facts that answer every question, or an error,
//! never a panic. It runs on two threads (the rows on one; the texts, the data and the
//! id table on the other), so a second core, where there is one free, shortens it.
use std::{collections::HashMap, ops::Range};

use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveTime, Utc};
use events::Occurred;
use uuid::Uuid;

use super::{
    data::{check, checked_varint, put_varint, Strings},
    Correction, Facts, IdTable, KindIndex, Row, NONE, VOID,
};
use crate::error::SnapshotError;

const MAGIC: &[u8; 8] = b"ANNFACTS";

/// The snapshot format's version. Bump it whenever the layout changes or what
/// [`Facts::apply`] keeps of an event does, so older snapshots are refused and folded
/// again. Version 2: the checksum became a CRC-32 (crc32fast).
pub const SNAPSHOT_VERSION: u32 = 2;

/// The fewest bytes a row takes: its id and eight one-byte varints.
const MIN_ROW: usize = 16 + 8;

impl Facts {
    /// The facts as bytes, for [`Facts::from_snapshot`].
    pub fn to_snapshot(&self) -> Vec<u8> {
        let texts: usize = self.strings.iter().map(str::len).sum();
        let mut out =
            Vec::with_capacity(64 + texts + self.data.len() + self.rows.len() * (MIN_ROW + 12));
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&SNAPSHOT_VERSION.to_le_bytes());
        put_varint(&mut out, self.head_seq);
        match self.head_recorded_at {
            None => out.push(0),
            Some(t) => {
                out.push(1);
                put_varint(&mut out, t.timestamp() as u64);
                put_fraction(&mut out, t);
            }
        }

        put_varint(&mut out, self.strings.len() as u64);
        put_varint(&mut out, texts as u64);
        for s in self.strings.iter() {
            put_varint(&mut out, s.len() as u64);
        }
        for s in self.strings.iter() {
            out.extend_from_slice(s.as_bytes());
        }

        put_varint(&mut out, self.data.len() as u64);
        out.extend_from_slice(&self.data);

        put_varint(&mut out, self.rows.len() as u64);
        let mut prev = Prev::default();
        for r in &self.rows {
            out.extend_from_slice(r.id.as_bytes());
            put_varint(&mut out, r.seq.wrapping_sub(prev.seq));
            let secs = r.at.timestamp() as u64;
            put_varint(&mut out, secs.wrapping_sub(prev.secs));
            put_fraction(&mut out, r.at);
            let start = i64::from(r.occurred.start().num_days_from_ce());
            put_varint(&mut out, zigzag(start - prev.start));
            let span = (r.occurred.end() - r.occurred.start()).num_days() as u64;
            put_varint(&mut out, span);
            put_varint(&mut out, u64::from(r.kind));
            put_varint(&mut out, u64::from(r.by));
            put_varint(&mut out, r.data.wrapping_sub(prev.data));
            prev = Prev {
                seq: r.seq,
                secs,
                start,
                data: r.data,
            };
        }

        // Groups in the order they were made, so decoding gives the same numbering.
        let mut owner = vec![0u64; self.corrections.len()];
        for (i, r) in self.rows.iter().enumerate() {
            if r.corrections != NONE {
                owner[r.corrections as usize] = i as u64;
            }
        }
        put_varint(&mut out, self.corrections.len() as u64);
        for (group, row) in self.corrections.iter().zip(owner) {
            put_varint(&mut out, row);
            put_varint(&mut out, group.len() as u64);
            for c in group {
                put_varint(&mut out, c.seq);
                put_varint(&mut out, c.at.timestamp() as u64);
                put_fraction(&mut out, c.at);
                put_varint(&mut out, u64::from(c.by));
                put_varint(&mut out, plus_one(c.reason));
                put_varint(&mut out, if c.data == VOID { 0 } else { c.data + 1 });
            }
        }

        let sum = checksum(&out);
        out.extend_from_slice(&sum.to_le_bytes());
        out
    }

    /// Reads facts written by [`Facts::to_snapshot`] (of this format version): equal to
    /// the facts written in every answer. Any other bytes (cut short, changed,
    /// another version) give an error. Decoding checks everything it reads, so once
    /// it succeeds no later question can fail on the data. It runs on two threads.
    pub fn from_snapshot(bytes: &[u8]) -> Result<Facts, SnapshotError> {
        let parts = read_parts(bytes)?;
        let data = bytes[parts.data.clone()].to_vec();
        Ok(parts.into_facts(data))
    }

    /// [`Facts::from_snapshot`], taking the bytes: their buffer becomes the facts'
    /// data, so reading a large snapshot needs the room of the file and the facts, not
    /// of the file, the facts and a copy of the data.
    pub fn from_snapshot_vec(mut bytes: Vec<u8>) -> Result<Facts, SnapshotError> {
        let parts = read_parts(&bytes)?;
        bytes.truncate(parts.data.end);
        bytes.drain(..parts.data.start);
        bytes.shrink_to_fit();
        Ok(parts.into_facts(bytes))
    }
}

/// A snapshot read and checked, but for its data (where it lies in the bytes) and
/// the indexes.
struct Parts {
    head_seq: u64,
    head_recorded_at: Option<DateTime<Utc>>,
    strings: Strings,
    rows: Vec<Row>,
    corrections: Vec<Vec<Correction>>,
    data: Range<usize>,
}

/// Checks the bytes and reads all but the data and the indexes.
fn read_parts(bytes: &[u8]) -> Result<Parts, SnapshotError> {
    if bytes.get(..MAGIC.len()) != Some(MAGIC.as_slice()) {
        return Err(SnapshotError::NotASnapshot);
    }
    let version = bytes
        .get(8..12)
        .and_then(|v| v.try_into().ok())
        .map(u32::from_le_bytes)
        .ok_or(SnapshotError::Damaged)?;
    if version != SNAPSHOT_VERSION {
        return Err(SnapshotError::Version {
            found: version,
            expected: SNAPSHOT_VERSION,
        });
    }
    let body_end = bytes
        .len()
        .checked_sub(4)
        .filter(|&e| e >= 12)
        .ok_or(SnapshotError::Damaged)?;
    let (body, sum) = bytes.split_at(body_end);
    if checksum(body).to_le_bytes() != sum {
        return Err(SnapshotError::Damaged);
    }
    let mut r = Reader {
        bytes: body,
        pos: 12,
        day: None,
    };
    let head_seq = r.varint()?;
    let head_recorded_at = match r.byte()? {
        0 => None,
        1 => {
            let secs = r.varint()? as i64;
            Some(r.time(secs)?)
        }
        _ => return Err(invalid("the head's time")),
    };

    let n = r.count(1)?;
    let total = r.len()?;
    let lens = (0..n).map(|_| r.len()).collect::<Result<Vec<_>, _>>()?;
    let text = std::str::from_utf8(r.take(total)?).map_err(|_| invalid("a text"))?;
    let mut ends = Vec::with_capacity(n);
    let mut end = 0usize;
    for len in lens {
        end = end
            .checked_add(len)
            .filter(|&end| text.is_char_boundary(end))
            .ok_or(invalid("a text's length"))?;
        ends.push(end);
    }
    if end != total {
        return Err(invalid("the texts' lengths"));
    }
    let texts = ends.len();
    let len = r.len()?;
    let data_start = r.pos;
    let data = r.take(len)?;

    // Two cores: the texts' table and the data are checked on a second thread while
    // this one reads the rows. Each part reads only what it is given, so the result
    // is the same as reading in order.
    let (strings, starts, rows, corrections) = std::thread::scope(|s| {
        let helper = s.spawn(|| -> Result<_, SnapshotError> {
            let strings =
                Strings::from_parts(text.to_owned(), ends).ok_or(invalid("a text stored twice"))?;
            Ok((strings, value_starts(data, texts)?))
        });
        let rows = read_rows(&mut r, texts);
        let (strings, starts) = helper
            .join()
            .unwrap_or(Err(invalid("the data could not be checked")))?;
        let (rows, corrections) = rows?;
        Ok::<_, SnapshotError>((strings, starts, rows, corrections))
    })?;
    if r.pos != body.len() {
        return Err(invalid("bytes after the corrections"));
    }
    let starts_value = |at: u64| {
        usize::try_from(at)
            .ok()
            .and_then(|at| starts.get(at / 64).map(|w| w >> (at % 64) & 1 == 1))
            .unwrap_or(false)
    };
    let every_data_is_a_value = rows.iter().all(|row| starts_value(row.data))
        && corrections
            .iter()
            .flatten()
            .all(|c| c.data == VOID || starts_value(c.data));
    if !every_data_is_a_value {
        return Err(invalid("an event's data"));
    }
    Ok(Parts {
        head_seq,
        head_recorded_at,
        strings,
        rows,
        corrections,
        data: data_start..data_start + len,
    })
}

impl Parts {
    /// The facts, with their data and the indexes made again rather than stored: as a
    /// fold makes them, so they cannot disagree with the rows. The id table is built
    /// on a second thread while this one builds the kinds'.
    fn into_facts(self, data: Vec<u8>) -> Facts {
        let rows = self.rows;
        let texts = self.strings.len();
        let (ids, by_kind) = std::thread::scope(|s| {
            let ids = s.spawn(|| IdTable::build(0..rows.len() as u32, |j| &rows[j as usize].id));
            let by_kind = kind_index(&rows, texts);
            // Building the table cannot panic; if it somehow did, so does this.
            (
                ids.join().unwrap_or_else(|e| std::panic::resume_unwind(e)),
                by_kind,
            )
        });
        Facts {
            rows,
            corrections: self.corrections,
            data,
            strings: self.strings,
            ids,
            by_kind,
            head_seq: self.head_seq,
            head_recorded_at: self.head_recorded_at,
            windows: Default::default(),
        }
    }
}

/// Reads the rows and the corrections, checking every number but the data offsets
/// (which [`value_starts`] checks).
fn read_rows(
    r: &mut Reader<'_>,
    texts: usize,
) -> Result<(Vec<Row>, Vec<Vec<Correction>>), SnapshotError> {
    let text_id = |id: u64| {
        u32::try_from(id)
            .ok()
            .filter(|&id| (id as usize) < texts)
            .ok_or(invalid("a text id"))
    };
    let n = r.count(MIN_ROW)?;
    let mut rows = Vec::with_capacity(n);
    let mut prev = Prev::default();
    // Days recently turned into dates, by day number: events of a log fall on a few
    // thousand days, and the conversion is much of a row's time otherwise.
    const DAYS: usize = 4096;
    let mut days = vec![(i64::MIN, NaiveDate::MIN); DAYS];
    for _ in 0..n {
        let id = Uuid::from_bytes(r.take(16)?.try_into().map_err(|_| invalid("an id"))?);
        let seq = prev.seq.wrapping_add(r.varint()?);
        let secs = prev.secs.wrapping_add(r.varint()?);
        let at = r.time(secs as i64)?;
        let start = prev
            .start
            .checked_add(unzigzag(r.varint()?))
            .ok_or(invalid("a day"))?;
        let span = r.varint()?;
        let first = match days.get(start as usize & (DAYS - 1)) {
            Some(&(d, date)) if d == start => date,
            _ => {
                let date = i32::try_from(start)
                    .ok()
                    .and_then(NaiveDate::from_num_days_from_ce_opt)
                    .ok_or(invalid("a day"))?;
                days[start as usize & (DAYS - 1)] = (start, date);
                date
            }
        };
        let last = match span {
            0 => first,
            _ => first
                .checked_add_days(Days::new(span))
                .ok_or(invalid("a day"))?,
        };
        let occurred = Occurred::range(first, last).map_err(|_| invalid("a day"))?;
        let kind = text_id(r.varint()?)?;
        let by = text_id(r.varint()?)?;
        let data = prev.data.wrapping_add(r.varint()?);
        rows.push(Row {
            id,
            seq,
            data,
            occurred,
            at,
            kind,
            by,
            corrections: NONE,
        });
        prev = Prev {
            seq,
            secs,
            start,
            data,
        };
    }

    let groups = r.count(2)?;
    let mut corrections = Vec::with_capacity(groups);
    for g in 0..groups {
        let row: &mut Row = usize::try_from(r.varint()?)
            .ok()
            .and_then(|i| rows.get_mut(i))
            .ok_or(invalid("a corrected event"))?;
        if row.corrections != NONE {
            return Err(invalid("an event's corrections listed twice"));
        }
        row.corrections = u32::try_from(g)
            .ok()
            .filter(|&g| g != NONE)
            .ok_or(invalid("a count"))?;
        let n = r.count(6)?;
        let mut group = Vec::with_capacity(n);
        for _ in 0..n {
            let seq = r.varint()?;
            let secs = r.varint()? as i64;
            let at = r.time(secs)?;
            let by = text_id(r.varint()?)?;
            let reason = match r.varint()? {
                0 => NONE,
                id => text_id(id - 1)?,
            };
            let data = match r.varint()? {
                0 => VOID,
                at => at - 1,
            };
            group.push(Correction {
                seq,
                data,
                at,
                by,
                reason,
            });
        }
        if group.is_empty() {
            return Err(invalid("an empty group of corrections"));
        }
        corrections.push(group);
    }
    Ok((rows, corrections))
}

/// Checks that the data is whole values one after the other (as a fold writes it),
/// each well formed with its texts among the first `texts`; where each starts, as a
/// bit per byte.
fn value_starts(data: &[u8], texts: usize) -> Result<Vec<u64>, SnapshotError> {
    let mut starts = vec![0u64; data.len() / 64 + 1];
    let mut at = 0;
    while at < data.len() {
        starts[at / 64] |= 1 << (at % 64);
        at = check(data, at, texts, 0).ok_or(invalid("an event's data"))?;
    }
    Ok(starts)
}

/// The facts of each kind, as [`Facts::apply`] indexes them.
fn kind_index(rows: &[Row], texts: usize) -> HashMap<u32, KindIndex> {
    // Kinds by text id through a table, not a map: a look-up a row adds up.
    let mut slot = vec![NONE; texts];
    let mut kinds: Vec<(u32, KindIndex)> = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let k = &mut slot[row.kind as usize];
        if *k == NONE {
            *k = kinds.len() as u32;
            kinds.push((row.kind, KindIndex::default()));
        }
        kinds[*k as usize].1.push(i as u32, row.occurred);
    }
    let mut by_kind: HashMap<u32, KindIndex> = kinds.into_iter().collect();
    by_kind.values_mut().for_each(KindIndex::shrink_to_fit);
    by_kind
}

/// The row before, which the next row's numbers are written against.
#[derive(Default)]
struct Prev {
    seq: u64,
    secs: u64,
    start: i64,
    data: u64,
}

fn invalid(what: &'static str) -> SnapshotError {
    SnapshotError::Invalid(what)
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    (v >> 1) as i64 ^ -((v & 1) as i64)
}

fn plus_one(id: u32) -> u64 {
    if id == NONE {
        0
    } else {
        u64::from(id) + 1
    }
}

/// The fraction of a second: microseconds when whole (as recorded times are), shifted
/// left with a 0; nanoseconds otherwise, with a 1.
fn put_fraction(out: &mut Vec<u8>, t: DateTime<Utc>) {
    let nanos = u64::from(t.timestamp_subsec_nanos());
    if nanos % 1000 == 0 {
        put_varint(out, (nanos / 1000) << 1);
    } else {
        put_varint(out, (nanos << 1) | 1);
    }
}

/// The CRC-32 of `bytes` (crc32fast, SIMD where the CPU has it): any burst of changed
/// bits up to 32 long, and almost any other change or cut, changes it.
fn checksum(bytes: &[u8]) -> u32 {
    crc32fast::hash(bytes)
}

/// Reads untrusted bytes, each read checked.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    /// The day of the last time read, and its date.
    day: Option<(i64, NaiveDate)>,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8, SnapshotError> {
        let b = *self.bytes.get(self.pos).ok_or(invalid("cut short"))?;
        self.pos += 1;
        Ok(b)
    }

    #[inline]
    fn varint(&mut self) -> Result<u64, SnapshotError> {
        checked_varint(self.bytes, &mut self.pos).ok_or(invalid("a number"))
    }

    fn len(&mut self) -> Result<usize, SnapshotError> {
        usize::try_from(self.varint()?).map_err(|_| invalid("a length"))
    }

    /// A count of items that take at least `min` bytes each: refused if the bytes left
    /// cannot hold them, so a garbled count never makes a huge allocation.
    fn count(&mut self, min: usize) -> Result<usize, SnapshotError> {
        let n = self.len()?;
        if n > (self.bytes.len() - self.pos) / min {
            return Err(invalid("a count"));
        }
        Ok(n)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], SnapshotError> {
        let end = self.pos.checked_add(n).ok_or(invalid("a length"))?;
        let out = self.bytes.get(self.pos..end).ok_or(invalid("cut short"))?;
        self.pos = end;
        Ok(out)
    }

    /// A time whose seconds are read; its fraction follows. As
    /// `DateTime::from_timestamp`, with the day's date kept from the time before:
    /// recorded times come in order, many a day, and the date is most of the work.
    fn time(&mut self, secs: i64) -> Result<DateTime<Utc>, SnapshotError> {
        let f = self.varint()?;
        let nanos = if f & 1 == 0 {
            (f >> 1).checked_mul(1000)
        } else {
            Some(f >> 1)
        };
        let (day, second) = (secs.div_euclid(86_400), secs.rem_euclid(86_400) as u32);
        let date = match self.day {
            Some((d, date)) if d == day => date,
            _ => {
                // Day 0 of the Unix epoch is day 719 163 of the common era.
                let date = day
                    .checked_add(719_163)
                    .and_then(|d| i32::try_from(d).ok())
                    .and_then(NaiveDate::from_num_days_from_ce_opt)
                    .ok_or(invalid("a time"))?;
                self.day = Some((day, date));
                date
            }
        };
        nanos
            .and_then(|n| u32::try_from(n).ok())
            .and_then(|n| NaiveTime::from_num_seconds_from_midnight_opt(second, n))
            .map(|t| date.and_time(t).and_utc())
            .ok_or(invalid("a time"))
    }
}

/// The checksum, for tests that forge a snapshot with a good one.
#[cfg(test)]
pub(super) fn tests_checksum(bytes: &[u8]) -> u32 {
    checksum(bytes)
}
