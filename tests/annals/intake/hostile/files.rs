//! Hostile files, written by hand for issue 13: workbooks whose XML is typed here (a
//! spreadsheet library would refuse to write it) and zipped with the `zip` crate, parts
//! that inflate a thousandfold from a deflate stream put together bit by bit, and JSONL
//! and CSV files of the same spirit. Each is small enough to send over HTTP (the body
//! limit is 1 MiB) unless its size is asked for.
use std::io::{Cursor, Write};

use zip::{write::SimpleFileOptions, CompressionMethod, ZipArchive, ZipWriter};

use crate::office::CLASS_HEADERS;

mod deflate;

use deflate::one_entry_zip;

/// A workbook's parts, to be zipped.
pub struct Book {
    parts: Vec<(String, Body)>,
}

/// A part's content.
enum Body {
    /// Deflated by the zip crate.
    Xml(Vec<u8>),
    /// Deflated by [`deflate::deflate_repeat`], its headers saying it inflates to `declared`
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
