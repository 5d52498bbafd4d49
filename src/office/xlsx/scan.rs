//! A worksheet's XML read by a plain scan over its bytes, a piece at a time as it is
//! inflated: rows, cells and their values as calamine would give them, then the merged
//! regions. It reads what Excel, WPS and LibreOffice write; anything else it meets is
//! `Unsupported`, and calamine reads on from where it stopped.
use std::io::Read;

use calamine::{CellErrorType, DataRef, ExcelDateTime, ExcelDateTimeType};
use memchr::{memchr, memmem};

use super::{
    cell,
    package::rich_text,
    xml::{next_tag, Tag, Unsupported},
    Format, Rows, Stop,
};
use crate::office::sheet::Cell;

/// What a sheet's cells are read against: the workbook's shared strings and styles.
pub struct Context<'b> {
    pub strings: &'b [Cell],
    pub formats: &'b [Format],
    pub is_1904: bool,
}

/// The rows a sheet declares (its `dimension`), read from the XML's head; 0 for a part
/// with no cells at all (which reads as an empty sheet), 1 when it declares nothing.
pub fn declared_rows(part: &mut dyn Read) -> Result<u32, Unsupported> {
    let mut xml = Vec::new();
    let head = loop {
        let n = read_some(part, &mut xml, HEAD_CHUNK)?;
        if let Some(at) = memmem::find(&xml, b"sheetData") {
            break Some(at);
        }
        if n == 0 {
            break None;
        }
    };
    let Some(head) = head else {
        // calamine calls a part with elements but no sheet data "not a worksheet", and
        // one with nothing in it damaged.
        return match next_tag(&xml, 0)? {
            Some(_) => Ok(0),
            None => Err(Unsupported),
        };
    };
    // Only the tags before the sheet data, the last of which may be cut off.
    let head = &xml[..memchr::memrchr(b'<', &xml[..head]).unwrap_or(0)];
    let mut at = 0;
    while let Some(tag) = next_tag(head, at)? {
        at = tag.end;
        if tag.name == b"dimension" && !tag.close {
            let [start, _, end, _] = dimension(tag.attr(b"ref").ok_or(Unsupported)?)?;
            return Ok((end - start.min(end)).saturating_add(1));
        }
    }
    Ok(1)
}

/// Reads a worksheet part through, handing its cells to `rows`; returns its merged
/// regions.
pub fn read(
    part: &mut dyn Read,
    context: &Context,
    rows: &mut Rows,
    send: &mut dyn FnMut(super::Piece) -> bool,
) -> Result<Vec<[u32; 4]>, Stop> {
    let mut scan = Scan {
        context,
        phase: Phase::Head,
        row: 0,
        col: 0,
        merged: Vec::new(),
        text: String::new(),
        elements: false,
    };
    let mut xml: Vec<u8> = Vec::with_capacity(2 * CHUNK);
    loop {
        let last = read_some(part, &mut xml, CHUNK)? < CHUNK;
        // Scanned up to the end of the last whole row, so no tag is cut in two.
        let cut = if last {
            xml.len()
        } else {
            match last_row_end(&xml) {
                Some(cut) => cut,
                None => continue,
            }
        };
        scan.scan(&xml[..cut], rows, send)?;
        xml.drain(..cut);
        if last {
            break;
        }
    }
    match scan.phase {
        Phase::After => Ok(scan.merged),
        // No sheet data: calamine reads a part with elements as an empty sheet.
        Phase::Head if scan.elements => Ok(Vec::new()),
        _ => Err(Stop::Unsupported),
    }
}

/// Inflated XML read at a time.
const CHUNK: usize = 256 * 1024;

/// A sheet's head (before its rows) read at a time.
const HEAD_CHUNK: usize = 16 * 1024;

/// Appends up to `at_most` more bytes of the part to `xml` (fewer only at its end);
/// how many.
fn read_some(part: &mut dyn Read, xml: &mut Vec<u8>, at_most: usize) -> Result<usize, Unsupported> {
    part.take(at_most as u64)
        .read_to_end(xml)
        .map_err(|_| Unsupported)
}

/// Where the last `</row>` (of any prefix) ends. XML text never holds `<`, so this
/// is always a real end tag (a comment or CDATA holding one is refused by the scan).
fn last_row_end(xml: &[u8]) -> Option<usize> {
    let mut end = xml.len();
    while let Some(at) = memmem::rfind(&xml[..end], b"row>") {
        let head = &xml[..at];
        let is_end_tag = head.ends_with(b"</")
            || head.ends_with(b":")
                && memchr::memrchr(b'<', head)
                    .is_some_and(|lt| head[lt..].starts_with(b"</") && !head[lt..].contains(&b' '));
        if is_end_tag {
            return Some(at + 4);
        }
        end = at;
    }
    None
}

#[derive(PartialEq)]
enum Phase {
    /// Before `<sheetData>`.
    Head,
    /// Among the rows.
    Rows,
    /// After `</sheetData>`: merged regions and the rest.
    After,
}

struct Scan<'c, 'b> {
    context: &'c Context<'b>,
    phase: Phase,
    /// The row and column a cell without a reference takes (calamine's rule).
    row: u32,
    col: u32,
    merged: Vec<[u32; 4]>,
    text: String,
    /// Whether the part has any element (see [`declared_rows`]).
    elements: bool,
}

impl Scan<'_, '_> {
    fn scan(
        &mut self,
        xml: &[u8],
        rows: &mut Rows,
        send: &mut dyn FnMut(super::Piece) -> bool,
    ) -> Result<(), Stop> {
        let mut at = 0;
        while let Some(tag) = next_tag(xml, at)? {
            at = tag.end;
            self.elements = true;
            match self.phase {
                Phase::Head => {
                    if tag.name == b"sheetData" && !tag.close {
                        self.phase = if tag.empty { Phase::After } else { Phase::Rows };
                    }
                }
                Phase::Rows => match (tag.name, tag.close) {
                    (b"row", false) => {
                        if let Some(r) = tag.attr(b"r") {
                            self.row = reference(r)?.0;
                        }
                        if tag.empty {
                            self.next_row()?;
                        }
                    }
                    (b"row", true) => self.next_row()?,
                    (b"c", false) => {
                        let (end, (row, col), value) = self.cell(xml, &tag)?;
                        at = end;
                        if !rows.push(row, col, value, send)? {
                            return Err(Stop::Gone);
                        }
                    }
                    (b"sheetData", true) => self.phase = Phase::After,
                    _ => return Err(Stop::Unsupported),
                },
                Phase::After => {
                    if tag.name == b"mergeCell" && !tag.close {
                        if let Some(r) = tag.attr(b"ref") {
                            self.merged.push(dimension(r)?);
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn next_row(&mut self) -> Result<(), Unsupported> {
        self.row = self.row.checked_add(1).ok_or(Unsupported)?;
        self.col = 0;
        Ok(())
    }

    /// Reads the cell whose tag is `tag`: where its children end, where it is, and its
    /// value (the last child's, as calamine has it).
    fn cell(&mut self, xml: &[u8], tag: &Tag) -> Result<(usize, (u32, u32), Cell), Unsupported> {
        let (mut r, mut s, mut t) = (None, None, None);
        for (k, v) in tag.attrs() {
            match k {
                b"r" => r = Some(v),
                b"s" => s = Some(v),
                b"t" => t = Some(v),
                _ => {}
            }
        }
        let at = match r {
            Some(r) => {
                let (row, col) = reference(r)?;
                self.col = col.ok_or(Unsupported)?;
                (row, self.col)
            }
            None => (self.row, self.col),
        };
        self.col = self.col.checked_add(1).ok_or(Unsupported)?;
        let mut value = Cell::Empty;
        let mut end = tag.end;
        if tag.empty {
            return Ok((end, at, value));
        }
        loop {
            let child = next_tag(xml, end)?.ok_or(Unsupported)?;
            end = child.end;
            match (child.name, child.close) {
                (b"c", true) => return Ok((end, at, value)),
                (b"is", false) => {
                    self.text.clear();
                    if !child.empty {
                        end = rich_text(xml, end, b"is", &mut self.text)?;
                    }
                    value = Cell::text(&self.text);
                }
                (name @ (b"v" | b"f"), false) => {
                    let mut raw: &[u8] = b"";
                    if !child.empty {
                        let close = memchr(b'<', &xml[end..]).ok_or(Unsupported)? + end;
                        raw = &xml[end..close];
                        let end_tag = next_tag(xml, close)?.ok_or(Unsupported)?;
                        if !(end_tag.close && end_tag.name == name) {
                            return Err(Unsupported);
                        }
                        end = end_tag.end;
                    }
                    value = match (name, t) {
                        (b"f", _) | (_, Some(b"inlineStr" | b"is")) => Cell::Empty,
                        _ => self.value(raw, s, t)?,
                    };
                }
                _ => return Err(Unsupported),
            }
        }
    }

    /// A `<v>`'s value, read by the cell's type `t` and style `s` as calamine reads it.
    fn value(
        &mut self,
        raw: &[u8],
        s: Option<&[u8]>,
        t: Option<&[u8]>,
    ) -> Result<Cell, Unsupported> {
        if raw.is_empty() {
            return Ok(Cell::Empty);
        }
        Ok(match t {
            Some(b"s") => self
                .context
                .strings
                .get(index(raw))
                .cloned()
                .ok_or(Unsupported)?,
            Some(b"b") => match raw.trim_ascii() {
                b"" => Cell::Empty,
                b"0" => Cell::Bool(false),
                b"1" => Cell::Bool(true),
                v if v.eq_ignore_ascii_case(b"false") => Cell::Bool(false),
                v if v.eq_ignore_ascii_case(b"true") => Cell::Bool(true),
                _ => return Err(Unsupported),
            },
            Some(b"e") => {
                let e: CellErrorType = ascii(raw)?.parse().map_err(|_| Unsupported)?;
                cell(&DataRef::Error(e))
            }
            Some(b"str" | b"d") => {
                self.text.clear();
                super::xml::text(raw, &mut self.text)?;
                if self.text.contains("_x") && t == Some(b"str") {
                    return Err(Unsupported);
                }
                Cell::text(&self.text)
            }
            Some(b"n") | None => {
                let n = number(raw)?;
                let format = match s {
                    Some(s) => self.context.formats.get(index(s)).copied(),
                    None => Some(Format::Other),
                };
                let kind = match format {
                    Some(Format::DateTime) => ExcelDateTimeType::DateTime,
                    Some(Format::TimeDelta) => ExcelDateTimeType::TimeDelta,
                    _ => return Ok(Cell::Number(n)),
                };
                cell(&DataRef::DateTime(ExcelDateTime::new(
                    n,
                    kind,
                    self.context.is_1904,
                )))
            }
            _ => return Err(Unsupported),
        })
    }
}

/// A number as spreadsheets write it (`-12.5E+3`); anything less plain is calamine's.
fn number(raw: &[u8]) -> Result<f64, Unsupported> {
    let digits = raw.strip_prefix(b"-").unwrap_or(raw);
    let plain = digits.first().is_some_and(u8::is_ascii_digit)
        && digits
            .iter()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'));
    if !plain {
        return Err(Unsupported);
    }
    ascii(raw)?
        .parse::<f64>()
        .ok()
        .filter(|n| n.is_finite())
        .ok_or(Unsupported)
}

/// A style or shared-string number; calamine reads anything else as 0.
fn index(raw: &[u8]) -> usize {
    std::str::from_utf8(raw)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn ascii(raw: &[u8]) -> Result<&str, Unsupported> {
    std::str::from_utf8(raw).map_err(|_| Unsupported)
}

/// A cell or row reference (`B12`, `12`) as a 0-based row and, when it names one, column.
fn reference(raw: &[u8]) -> Result<(u32, Option<u32>), Unsupported> {
    let letters = raw.iter().take_while(|b| b.is_ascii_alphabetic()).count();
    let (col, row) = raw.split_at(letters);
    if row.is_empty() || !row.iter().all(u8::is_ascii_digit) || letters > 3 {
        return Err(Unsupported);
    }
    let col = col.iter().fold(0u32, |n, b| {
        n * 26 + u32::from(b.to_ascii_uppercase() - b'A') + 1
    });
    let row: u32 = ascii(row)?.parse().map_err(|_| Unsupported)?;
    Ok((row.checked_sub(1).ok_or(Unsupported)?, col.checked_sub(1)))
}

/// A region (`A1:C3`, or one cell `A1`) as `[first row, first column, last row, last
/// column]`.
fn dimension(raw: &[u8]) -> Result<[u32; 4], Unsupported> {
    let cell = |raw| match reference(raw)? {
        (row, Some(col)) => Ok((row, col)),
        _ => Err(Unsupported),
    };
    let (start, end) = match memchr(b':', raw) {
        Some(colon) => (cell(&raw[..colon])?, cell(&raw[colon + 1..])?),
        None => (cell(raw)?, cell(raw)?),
    };
    Ok([start.0, start.1, end.0, end.1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references() {
        assert_eq!(reference(b"A1"), Ok((0, Some(0))));
        assert_eq!(reference(b"xfd12"), Ok((11, Some(16_383))));
        assert_eq!(reference(b"7"), Ok((6, None)));
        assert_eq!(reference(b"A0"), Err(Unsupported));
        assert_eq!(reference(b"A99999999999"), Err(Unsupported));
        assert_eq!(dimension(b"B2:D9"), Ok([1, 1, 8, 3]));
        assert_eq!(dimension(b"C3"), Ok([2, 2, 2, 2]));
    }

    #[test]
    fn numbers() {
        assert_eq!(number(b"-12.5E+3"), Ok(-12_500.0));
        assert_eq!(number(b"45000"), Ok(45_000.0));
        for odd in [&b"inf"[..], b" 1", b"+1", b".5", b"1,5", b"", b"1e999"] {
            assert_eq!(number(odd), Err(Unsupported), "{odd:?}");
        }
    }

    #[test]
    fn last_row_ends() {
        assert_eq!(last_row_end(b"<row r=\"1\"><c/></row><row>"), Some(21));
        assert_eq!(last_row_end(b"<x:row><c/></x:row>"), Some(19));
        assert_eq!(last_row_end(b"<row r=\"1\"><c><v>1</v></c>"), None);
    }
}
