//! Hostile files, written by hand for issue 13: workbooks whose XML is typed here (a
//! spreadsheet library would refuse to write it) and zipped with the `zip` crate, parts
//! that inflate a thousandfold from a deflate stream put together bit by bit, and JSONL
//! and CSV files of the same spirit. Each is small enough to send over HTTP (the body
//! limit is 1 MiB) unless its size is asked for.
use std::io::{Cursor, Write};

use zip::{write::SimpleFileOptions, CompressionMethod, ZipArchive, ZipWriter};

use crate::office::CLASS_HEADERS;

/// A workbook's parts, to be zipped.
pub struct Book {
    parts: Vec<(String, Body)>,
}

/// A part's content.
enum Body {
    /// Deflated by the zip crate.
    Xml(Vec<u8>),
    /// Deflated by [`deflate_repeat`], its headers saying it inflates to `declared`
    /// bytes (the truth when `None`).
    Repeat(Repeat, Option<u32>),
}

/// `head`, then `unit` about `times` times, then `tail`.
pub struct Repeat {
    pub head: String,
    pub unit: String,
    pub times: u64,
    pub tail: String,
}

impl Book {
    /// A workbook whose sheets, named as given, are `xl/worksheets/sheet1.xml`…; each
    /// sheet part is still to be added.
    pub fn new(sheets: &[&str]) -> Book {
        let mut workbook = String::from(WORKBOOK_HEAD);
        let mut rels = String::from(RELS_HEAD);
        for (i, name) in sheets.iter().enumerate() {
            let n = i + 1;
            workbook.push_str(&format!(
                r#"<sheet name="{name}" sheetId="{n}" r:id="rId{n}"/>"#
            ));
            rels.push_str(&format!(
                r#"<Relationship Id="rId{n}" Type="{WORKSHEET}" Target="worksheets/sheet{n}.xml"/>"#
            ));
        }
        workbook.push_str("</sheets></workbook>");
        rels.push_str("</Relationships>");
        Book { parts: Vec::new() }
            .xml("[Content_Types].xml", CONTENT_TYPES)
            .xml("_rels/.rels", PACKAGE_RELS)
            .xml("xl/workbook.xml", workbook)
            .xml("xl/_rels/workbook.xml.rels", rels)
    }

    /// Adds a part (or replaces the one of that name).
    pub fn xml(mut self, name: &str, xml: impl Into<Vec<u8>>) -> Book {
        self.parts.retain(|(n, _)| n != name);
        self.parts.push((name.to_owned(), Body::Xml(xml.into())));
        self
    }

    /// Adds a part that repeats a unit, at about a thousandth of its size in the zip;
    /// its headers say it inflates to `declared` bytes, or to its true size.
    pub fn repeat(mut self, name: &str, repeat: Repeat, declared: Option<u32>) -> Book {
        self.parts.retain(|(n, _)| n != name);
        self.parts
            .push((name.to_owned(), Body::Repeat(repeat, declared)));
        self
    }

    /// The workbook as a zip.
    pub fn bytes(&self) -> Vec<u8> {
        let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
        let deflated = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
        for (name, body) in &self.parts {
            match body {
                Body::Xml(xml) => {
                    zip.start_file(name, deflated).expect("a part starts");
                    zip.write_all(xml).expect("a part is written");
                }
                Body::Repeat(repeat, declared) => {
                    // The zip crate deflates what it is given; a part put together by
                    // hand is copied over from a zip of its own.
                    let one = one_entry_zip(name, repeat, *declared);
                    let mut archive = ZipArchive::new(Cursor::new(one)).expect("the entry reads");
                    let entry = archive.by_index_raw(0).expect("its one entry");
                    zip.raw_copy_file(entry).expect("the entry is copied");
                }
            }
        }
        zip.finish().expect("the zip is written").into_inner()
    }
}

const WORKSHEET: &str =
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet";

const WORKBOOK_HEAD: &str = concat!(
    r#"<?xml version="1.0" encoding="UTF-8"?>"#,
    r#"<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" "#,
    r#"xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>"#
);

const RELS_HEAD: &str = concat!(
    r#"<?xml version="1.0" encoding="UTF-8"?>"#,
    r#"<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">"#
);

const CONTENT_TYPES: &str = concat!(
    r#"<?xml version="1.0" encoding="UTF-8"?>"#,
    r#"<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">"#,
    r#"<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>"#,
    r#"<Default Extension="xml" ContentType="application/xml"/>"#,
    r#"</Types>"#
);

const PACKAGE_RELS: &str = concat!(
    r#"<?xml version="1.0" encoding="UTF-8"?>"#,
    r#"<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">"#,
    r#"<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>"#,
    r#"</Relationships>"#
);

/// The head of a worksheet part, up to its rows.
const SHEET_HEAD: &str = concat!(
    r#"<?xml version="1.0" encoding="UTF-8"?>"#,
    r#"<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#
);

/// The end of a worksheet part after its rows.
const SHEET_TAIL: &str = "</sheetData></worksheet>";

/// A shared strings part holding `strings`, its `uniqueCount` as given.
fn shared_strings(strings: &[&str], unique_count: u64) -> String {
    let mut xml = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="{unique_count}" uniqueCount="{unique_count}">"#
    );
    for s in strings {
        xml.push_str(&format!("<si><t>{s}</t></si>"));
    }
    xml.push_str("</sst>");
    xml
}

/// The class sheet's header row, as shared strings 0–9.
fn header_row() -> String {
    let cells: String = (0..CLASS_HEADERS.len())
        .map(|i| format!(r#"<c t="s"><v>{i}</v></c>"#))
        .collect();
    format!(r#"<row r="1">{cells}</row>"#)
}

/// A class register (its header as shared strings) whose sheet is `rows`.
fn register(rows: Repeat, declared: Option<u32>) -> Book {
    Book::new(&["举办培训班"])
        .xml(
            "xl/sharedStrings.xml",
            shared_strings(&CLASS_HEADERS, CLASS_HEADERS.len() as u64),
        )
        .repeat("xl/worksheets/sheet1.xml", rows, declared)
}

/// A class register whose `rows` rows fill every column with one text of `len`
/// letters (shared string 10): every cell is refused, and most reasons quoted the
/// text whole, once per cell.
pub fn bad_cells(rows: u64, len: usize) -> Vec<u8> {
    let long = "x".repeat(len);
    let mut strings: Vec<&str> = CLASS_HEADERS.to_vec();
    strings.push(&long);
    let cells: String = (0..CLASS_HEADERS.len())
        .map(|_| r#"<c t="s"><v>10</v></c>"#)
        .collect();
    register(
        Repeat {
            head: format!("{SHEET_HEAD}{}", header_row()),
            unit: format!("<row>{cells}</row>"),
            times: rows,
            tail: SHEET_TAIL.into(),
        },
        None,
    )
    .xml("xl/sharedStrings.xml", shared_strings(&strings, 11))
    .bytes()
}

/// A register whose one cell holds a text of `len` letters: a sheet part that inflates
/// to about `len` bytes from a thousandth of that, and says it inflates to `declared`
/// bytes (or its true size).
pub fn bomb(len: u64, declared: Option<u32>) -> Vec<u8> {
    register(
        Repeat {
            head: format!(
                r#"{SHEET_HEAD}{}<row r="2"><c t="inlineStr"><is><t>"#,
                header_row()
            ),
            unit: "a".into(),
            times: len,
            tail: format!("</t></is></c></row>{SHEET_TAIL}"),
        },
        declared,
    )
    .bytes()
}

/// A register whose sheet is `len` bytes of spaces between its rows.
pub fn spaces(len: u64) -> Vec<u8> {
    register(
        Repeat {
            head: format!("{SHEET_HEAD}{}", header_row()),
            unit: " ".into(),
            times: len,
            tail: SHEET_TAIL.into(),
        },
        None,
    )
    .bytes()
}

/// A register whose shared strings part says it holds `count` strings (calamine makes
/// room for that many strings before it reads one), and whose sheet has a cell type
/// Excel does not write.
pub fn shared_strings_count(count: u64) -> Vec<u8> {
    let sheet = format!(
        r#"{SHEET_HEAD}{}<row r="2"><c r="A2" t="x"><v>1</v></c></row>{SHEET_TAIL}"#,
        header_row()
    );
    Book::new(&["举办培训班"])
        .xml(
            "xl/sharedStrings.xml",
            shared_strings(&CLASS_HEADERS, count),
        )
        .xml("xl/worksheets/sheet1.xml", sheet)
        .bytes()
}

/// A register whose styles give one font a name of `len` letters and have `xfs` cell
/// styles using that font (calamine copies a style's font into the style), and whose
/// sheet has a cell type Excel does not write.
pub fn styles(len: usize, xfs: u64) -> Vec<u8> {
    let styles = Repeat {
        head: format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><fonts count="1"><font><name val="{}"/></font></fonts><cellXfs count="{xfs}">"#,
            "x".repeat(len)
        ),
        unit: r#"<xf fontId="0"/>"#.into(),
        times: xfs,
        tail: "</cellXfs></styleSheet>".into(),
    };
    let sheet = format!(
        r#"{SHEET_HEAD}{}<row r="2"><c r="A2" t="x"><v>1</v></c></row>{SHEET_TAIL}"#,
        header_row()
    );
    Book::new(&["举办培训班"])
        .xml(
            "xl/sharedStrings.xml",
            shared_strings(&CLASS_HEADERS, CLASS_HEADERS.len() as u64),
        )
        .xml("xl/worksheets/sheet1.xml", sheet)
        .repeat("xl/styles.xml", styles, None)
        .bytes()
}

/// A shared strings part holding the class headers, then `unit` about `times` times.
fn headers_then(unit: String, times: u64) -> Repeat {
    Repeat {
        head: format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">{}"#,
            CLASS_HEADERS
                .map(|h| format!("<si><t>{h}</t></si>"))
                .join("")
        ),
        unit,
        times,
        tail: "</sst>".into(),
    }
}

/// The most a reader may hold at once, as far as a file can make it: `count` shared
/// strings of `len` letters each, kept while a sheet is read whose second row is one
/// text of `text` letters, which the reader holds whole.
pub fn most_held(count: u64, len: usize, text: u64) -> Vec<u8> {
    let sst = headers_then(format!("<si><t>{}</t></si>", "a".repeat(len)), count);
    let sheet = Repeat {
        head: format!(
            r#"{SHEET_HEAD}{}<row r="2"><c t="inlineStr"><is><t>"#,
            header_row()
        ),
        unit: "a".into(),
        times: text,
        tail: format!("</t></is></c></row>{SHEET_TAIL}"),
    };
    Book::new(&["举办培训班"])
        .repeat("xl/sharedStrings.xml", sst, None)
        .repeat("xl/worksheets/sheet1.xml", sheet, None)
        .bytes()
}

/// The most a workbook within every limit can make calamine hold at once: 980 000
/// one-letter shared strings and 170 000 cell styles (each within its limit, both kept
/// while the sheet is read), and a sheet whose second row is `open`, then `unit`
/// `times` times, then `close` (one long text, or elements nested deep).
pub fn at_limits(open: &str, unit: &str, times: u64, close: &str) -> Vec<u8> {
    let sst = headers_then("<si><t>a</t></si>".into(), 980_000);
    let styles = Repeat {
        head: r#"<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><fonts count="1"><font><name val="x"/></font></fonts><cellXfs count="170000">"#.into(),
        unit: r#"<xf fontId="0"/>"#.into(),
        times: 170_000,
        tail: "</cellXfs></styleSheet>".into(),
    };
    let sheet = Repeat {
        head: format!(r#"{SHEET_HEAD}{}<row r="2">{open}"#, header_row()),
        unit: unit.into(),
        times,
        tail: format!("{close}</row>{SHEET_TAIL}"),
    };
    Book::new(&["举办培训班"])
        .repeat("xl/sharedStrings.xml", sst, None)
        .repeat("xl/styles.xml", styles, None)
        .repeat("xl/worksheets/sheet1.xml", sheet, None)
        .bytes()
}

/// A register whose shared strings part holds `count` one-letter strings.
pub fn many_strings(count: u64) -> Vec<u8> {
    let sst = headers_then("<si><t>a</t></si>".into(), count);
    let sheet = format!("{SHEET_HEAD}{}{SHEET_TAIL}", header_row());
    Book::new(&["举办培训班"])
        .xml("xl/worksheets/sheet1.xml", sheet)
        .repeat("xl/sharedStrings.xml", sst, None)
        .bytes()
}

/// A register whose sheet ends with `count` merged regions, each the whole sheet.
pub fn merged(count: u64) -> Vec<u8> {
    register(
        Repeat {
            head: format!(
                r#"{SHEET_HEAD}{}<row r="2"><c t="s"><v>0</v></c></row></sheetData><mergeCells>"#,
                header_row()
            ),
            unit: r#"<mergeCell ref="A1:XFD1048576"/>"#.into(),
            times: count,
            tail: "</mergeCells></worksheet>".into(),
        },
        None,
    )
    .bytes()
}

/// A register whose rows each have one cell in column XFD, the last one, and nothing
/// else.
pub fn far_cells(rows: u32) -> Vec<u8> {
    let mut sheet = String::from(SHEET_HEAD);
    sheet.push_str(&header_row());
    for r in 2..rows + 2 {
        sheet.push_str(&format!(r#"<row r="{r}"><c r="XFD{r}"><v>1</v></c></row>"#));
    }
    sheet.push_str(SHEET_TAIL);
    Book::new(&["举办培训班"])
        .xml(
            "xl/sharedStrings.xml",
            shared_strings(&CLASS_HEADERS, CLASS_HEADERS.len() as u64),
        )
        .xml("xl/worksheets/sheet1.xml", sheet)
        .bytes()
}

/// A register that declares the largest sheet Excel has, `A1:XFD1048576`, and has one
/// cell at its far corner.
pub fn huge_dimension() -> Vec<u8> {
    let sheet = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><dimension ref="A1:XFD1048576"/><sheetData>{}<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>{SHEET_TAIL}"#,
        header_row()
    );
    Book::new(&["举办培训班"])
        .xml(
            "xl/sharedStrings.xml",
            shared_strings(&CLASS_HEADERS, CLASS_HEADERS.len() as u64),
        )
        .xml("xl/worksheets/sheet1.xml", sheet)
        .bytes()
}

/// A workbook naming `count` sheets that all point at one small part (which calamine
/// reads once per sheet).
pub fn many_sheets(count: u64) -> Vec<u8> {
    let workbook = Repeat {
        head: WORKBOOK_HEAD.into(),
        unit: r#"<sheet name="登记" sheetId="1" r:id="rId1"/>"#.into(),
        times: count,
        tail: "</sheets></workbook>".into(),
    };
    let sheet = format!(r#"{SHEET_HEAD}<row r="1"><c r="A1"><v>1</v></c></row>{SHEET_TAIL}"#);
    Book::new(&["登记"])
        .repeat("xl/workbook.xml", workbook, None)
        .xml("xl/worksheets/sheet1.xml", sheet)
        .bytes()
}

/// A register whose rows hold elements nested `depth` deep.
pub fn deep(depth: u64) -> Vec<u8> {
    register(
        Repeat {
            head: format!("{SHEET_HEAD}{}<row r=\"2\">", header_row()),
            unit: "<a>".into(),
            times: depth,
            tail: format!("</row>{SHEET_TAIL}"),
        },
        None,
    )
    .bytes()
}

/// A register whose `rows` rows each hold a formula in every column.
pub fn formulas(rows: u64) -> Vec<u8> {
    let cells: String = (0..CLASS_HEADERS.len())
        .map(|_| "<c><f>SUM(A1:XFD1048576)</f><v>1</v></c>")
        .collect();
    register(
        Repeat {
            head: format!("{SHEET_HEAD}{}", header_row()),
            unit: format!("<row>{cells}</row>"),
            times: rows,
            tail: SHEET_TAIL.into(),
        },
        None,
    )
    .bytes()
}

/// A JSONL file of `lines` short lines, each refused.
pub fn bad_lines(lines: usize) -> Vec<u8> {
    "{}\n".repeat(lines).into_bytes()
}

/// A JSONL file of `lines` drafts each naming a day of `len` digits, which the error
/// quoted whole.
pub fn long_days(lines: usize, len: usize) -> Vec<u8> {
    let line = format!(
        r#"{{"kind":"class_held","occurred":"{}","data":{{}}}}"#,
        "9".repeat(len)
    );
    format!("{line}\n").repeat(lines).into_bytes()
}

/// A JSONL file of one line: a draft of `len` bytes.
pub fn giant_line(len: usize) -> Vec<u8> {
    format!(
        r#"{{"kind":"class_held","occurred":"2023-06-01","data":{{"class_name":"{}"}}}}"#,
        "x".repeat(len)
    )
    .into_bytes()
}

/// A CSV class register of `rows` rows of short cells, every one refused.
pub fn bad_csv(rows: usize) -> Vec<u8> {
    let row = vec!["x"; CLASS_HEADERS.len()].join(",");
    format!(
        "{}\n{}",
        CLASS_HEADERS.join(","),
        format!("{row}\n").repeat(rows)
    )
    .into_bytes()
}

/// A CSV class register whose one row is `cells` empty cells.
pub fn wide_csv(cells: usize) -> Vec<u8> {
    format!("{}\n{}\n", CLASS_HEADERS.join(","), ",".repeat(cells)).into_bytes()
}

/// A zip of one entry, written out by hand, whose headers say it inflates to
/// `declared` bytes (or its true size).
fn one_entry_zip(name: &str, repeat: &Repeat, declared: Option<u32>) -> Vec<u8> {
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
fn deflate_repeat(repeat: &Repeat) -> (Vec<u8>, u64) {
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
