//! A deflate stream put together bit by bit, so that a part of a few kilobytes inflates
//! to gigabytes, and the zip of one such entry with its headers saying what is asked.
use std::io::Cursor;

use zip::ZipArchive;

use super::{Book, Repeat};

/// A zip of one entry, written out by hand, whose headers say it inflates to
/// `declared` bytes (or its true size).
pub fn one_entry_zip(name: &str, repeat: &Repeat, declared: Option<u32>) -> Vec<u8> {
    let (data, times) = deflate_repeat(repeat);
    let (head, unit, tail) = (
        repeat.head.as_bytes(),
        repeat.unit.as_bytes(),
        repeat.tail.as_bytes(),
    );
    let size = (head.len() + tail.len()) as u64 + unit.len() as u64 * times;
    let size = u32::try_from(size).expect("under 4 GiB, so no zip64");
    let declared = declared.unwrap_or(size);
    let mut crc = crc32fast::Hasher::new();
    crc.update(head);
    crc.combine(&repeated_crc(unit, times));
    crc.update(tail);
    let crc = crc.finalize();
    let compressed = u32::try_from(data.len()).expect("a small stream");
    let name = name.as_bytes();
    let header = |out: &mut Vec<u8>| {
        out.extend_from_slice(&20u16.to_le_bytes()); // version needed
        out.extend_from_slice(&0u16.to_le_bytes()); // flags
        out.extend_from_slice(&8u16.to_le_bytes()); // deflated
        out.extend_from_slice(&0u32.to_le_bytes()); // time and date
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&compressed.to_le_bytes());
        out.extend_from_slice(&declared.to_le_bytes());
        out.extend_from_slice(&(name.len() as u16).to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes()); // extra field
    };
    let mut out = b"PK\x03\x04".to_vec();
    header(&mut out);
    out.extend_from_slice(name);
    out.extend_from_slice(&data);
    let directory = out.len() as u32;
    out.extend_from_slice(b"PK\x01\x02");
    out.extend_from_slice(&20u16.to_le_bytes()); // version made by
    header(&mut out);
    out.extend_from_slice(&[0; 10]); // comment, disk, attributes
    out.extend_from_slice(&0u32.to_le_bytes()); // its local header's offset
    out.extend_from_slice(name);
    let directory_len = out.len() as u32 - directory;
    out.extend_from_slice(b"PK\x05\x06");
    out.extend_from_slice(&[0; 4]); // disks
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&directory_len.to_le_bytes());
    out.extend_from_slice(&directory.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes()); // comment
    out
}

/// The CRC-32 of `unit` `times` times, doubled up from the unit's own by `combine`
/// rather than computed over gigabytes.
fn repeated_crc(unit: &[u8], mut times: u64) -> crc32fast::Hasher {
    let mut crc = crc32fast::Hasher::new();
    let mut power = crc32fast::Hasher::new();
    power.update(unit);
    while times > 0 {
        if times & 1 == 1 {
            crc.combine(&power);
        }
        let twice = power.clone();
        power.combine(&twice);
        times >>= 1;
    }
    crc
}

/// Bits written least significant first, as deflate packs them.
#[derive(Default)]
struct Bits {
    out: Vec<u8>,
    acc: u64,
    n: u32,
}

impl Bits {
    fn put(&mut self, bits: u64, count: u32) {
        self.acc |= bits << self.n;
        self.n += count;
        while self.n >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.n -= 8;
        }
    }

    /// A Huffman code, which deflate packs most significant bit first.
    fn code(&mut self, code: u64, len: u32) {
        let reversed = (0..len).fold(0, |r, i| r | ((code >> i) & 1) << (len - 1 - i));
        self.put(reversed, len);
    }

    fn align(&mut self) {
        if self.n > 0 {
            self.put(0, 8 - self.n);
        }
    }

    /// Stored blocks of `bytes`, the last one final when `last`.
    fn stored(&mut self, bytes: &[u8], last: bool) {
        let chunks: Vec<&[u8]> = if bytes.is_empty() {
            vec![&[]]
        } else {
            bytes.chunks(65_535).collect()
        };
        let n = chunks.len();
        for (i, chunk) in chunks.into_iter().enumerate() {
            self.put(u64::from(last && i + 1 == n), 1);
            self.put(0b00, 2);
            self.align();
            let len = chunk.len() as u16;
            self.out.extend_from_slice(&len.to_le_bytes());
            self.out.extend_from_slice(&(!len).to_le_bytes());
            self.out.extend_from_slice(chunk);
        }
    }
}

/// Deflate's distance code for `distance`, with its extra bits' count and value.
fn distance_code(distance: u64) -> (u32, u32, u64) {
    let mut base = 1;
    for code in 0..30 {
        let extra = if code < 4 { 0 } else { code / 2 - 1 };
        if distance < base + (1 << extra) {
            return (code, extra, distance - base);
        }
        base += 1 << extra;
    }
    panic!("a distance deflate cannot copy from: {distance}")
}

/// A raw deflate stream of `head`, `unit` about `times` times and `tail`, and how many
/// units it holds: the head and the first unit stored, then one block of nothing but
/// 258-byte copies from one unit back, whose Huffman codes give the copy one bit and its
/// distance one (deflate's best ratio, as zip bombs use it), then the tail stored.
pub fn deflate_repeat(repeat: &Repeat) -> (Vec<u8>, u64) {
    let unit = repeat.unit.as_bytes();
    let p = unit.len() as u64;
    // Copies that end on a unit's end: a multiple of p / gcd(258, p).
    let gcd = (1..=p.min(258))
        .rev()
        .find(|d| p.is_multiple_of(*d) && 258u64.is_multiple_of(*d))
        .unwrap_or(1);
    let step = p / gcd;
    let copies = repeat.times.saturating_sub(1) * p / 258 / step * step;
    let times = 1 + copies * 258 / p;
    let mut first = repeat.head.as_bytes().to_vec();
    first.extend_from_slice(unit);
    let mut bits = Bits::default();
    bits.stored(&first, false);
    let (dcode, extra, value) = distance_code(p);
    bits.put(0, 1);
    bits.put(0b10, 2); // dynamic Huffman codes
    bits.put(286 - 257, 5); // literal/length codes up to 285
    bits.put(u64::from(dcode), 5); // distance codes up to `dcode`
    bits.put(18 - 4, 4); // code length codes, in deflate's order, up to `1`
                         // The code length alphabet's lengths in deflate's order 16 17 18 0 8 7 9 6 10 5 11
                         // 4 12 3 13 2 14 1: two bits each for 17, 18, 0 and 1 (canonical codes 0 → 00,
                         // 1 → 01, 17 → 10, 18 → 11).
    for len in [0, 2, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2] {
        bits.put(len, 3);
    }
    let zeros = |bits: &mut Bits, mut n: u32| {
        while n >= 11 {
            let take = n.min(138);
            bits.code(0b11, 2);
            bits.put(u64::from(take - 11), 7);
            n -= take;
        }
        if n >= 3 {
            bits.code(0b10, 2);
            bits.put(u64::from(n - 3), 3);
            n = 0;
        }
        for _ in 0..n {
            bits.code(0b00, 2);
        }
    };
    // Literal/length lengths: one bit for end-of-block (256) and the 258-byte copy
    // (285), so 256 → 0 and 285 → 1; then one bit for the one distance code used.
    zeros(&mut bits, 256);
    bits.code(0b01, 2);
    zeros(&mut bits, 285 - 257);
    bits.code(0b01, 2);
    zeros(&mut bits, dcode);
    bits.code(0b01, 2);
    for _ in 0..copies {
        bits.put(1, 1);
        bits.put(0, 1);
        bits.put(value, extra);
    }
    bits.put(0, 1);
    bits.stored(repeat.tail.as_bytes(), true);
    bits.align();
    (bits.out, times)
}

/// The hand-made stream inflates to what it says, with the checksum it says.
#[test]
fn a_part_put_together_by_hand_inflates_to_its_repeats() {
    use std::io::Read;
    for (unit, times) in [("a", 1_000_000), (r#"<mergeCell ref="A1:B2"/>"#, 50_000)] {
        let bytes = Book::new(&["s"])
            .repeat(
                "xl/x.xml",
                Repeat {
                    head: "<a>".into(),
                    unit: unit.into(),
                    times,
                    tail: "</a>".into(),
                },
                None,
            )
            .bytes();
        let mut zip = ZipArchive::new(Cursor::new(bytes)).unwrap();
        let mut part = zip.by_name("xl/x.xml").unwrap();
        let mut text = String::new();
        part.read_to_string(&mut text).unwrap();
        let body = text
            .strip_prefix("<a>")
            .and_then(|t| t.strip_suffix("</a>"))
            .unwrap();
        assert_eq!(body.len() % unit.len(), 0);
        assert!(body.len() as u64 > (times - 258) * unit.len() as u64);
        assert_eq!(body, unit.repeat(body.len() / unit.len()));
    }
}
