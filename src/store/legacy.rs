//! The log file earlier releases kept their events in (`events.log`: checksummed
//! frames of compact records), read only to move a store's events into sled on its
//! first open (`migrate`). Nothing writes this format any more.
use super::damage::Damage;
use std::{
    fs::File,
    io::{BufReader, Read},
};

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
pub const MAGIC: &[u8; 8] = b"ANNALS1\n";
/// A frame's header: payload length, CRC-32 (of everything after it), first seq, count.
const HEADER: usize = 4 + 4 + 8 + 4;

/// Why the frames stop before the end of the file.
#[derive(Debug)]
pub enum Stop {
    /// A frame cut short, garbled or out of place at byte `at`: a write that never
    /// completed, or damage; the caller tells which.
    Bad {
        /// What is wrong.
        reason: String,
    },
    /// A frame that passes its checksum holds a record the caller refused.
    Record {
        /// The record's seq.
        seq: u64,
        /// Why.
        reason: Damage,
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

    fn bad(&self, reason: String) -> Option<Result<(), Stop>> {
        Some(Err(Stop::Bad {
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
        mut each: impl FnMut(u64, u64, &[u8]) -> Result<(), Damage>,
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

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stop::Bad { reason, .. } => f.write_str(reason),
            Stop::Record { seq, reason } => write!(f, "seq {seq}: {reason}"),
            Stop::Io(e) => write!(f, "the log cannot be read: {e}"),
        }
    }
}
