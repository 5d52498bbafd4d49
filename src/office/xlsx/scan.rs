//! A worksheet's XML read by a plain scan over its bytes, a piece at a time as it is
//! inflated: rows, cells and their values as calamine would give them, then the merged
//! regions. It reads what Excel, WPS and LibreOffice write; anything else it meets is
//! `Unsupported`, and calamine reads on from where it stopped.
use std::io::Read;

use calamine::{CellErrorType, DataRef, ExcelDateTime, ExcelDateTimeType};
use memchr::{memchr, memmem};

use super::{
    cell, declared,
    xml::{self, end_tag, find_byte, next_tag, rich_text, Tag, Unsupported},
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
    // Where the next tag is looked for, in what has been read so far.
    let mut at = 0;
    // calamine keeps the last dimension a sheet gives.
    let mut rows = 1;
    let mut elements = false;
    loop {
        let last = read_some(part, &mut xml, HEAD_CHUNK)? < HEAD_CHUNK;
        if at == 0 {
            xml::utf8(&xml)?;
        }
        if xml.len() > HELD_AT_MOST {
            return Err(Unsupported);
        }
        loop {
            match next_tag(&xml, at) {
                Ok(Some(tag)) => {
                    at = tag.end;
                    if tag.close {
                        continue;
                    }
                    match tag.name {
                        b"sheetData" => return Ok(rows),
                        b"dimension" => {
                            let [start, _, end, _] =
                                dimension(tag.attr(b"ref").ok_or(Unsupported)?)?;
                            rows = declared(start, end);
                        }
                        _ => elements = true,
                    }
                }
                // The rest is read first: a tag may be cut off where the reading stopped.
                Ok(None) => break,
                Err(_) if !last => break,
                Err(e) => return Err(e),
            }
        }
        if last {
            // calamine calls a part with elements but no sheet data "not a worksheet",
            // and one without any damaged.
            return if elements { Ok(0) } else { Err(Unsupported) };
        }
    }
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
        merges: Merges::Before,
        text: String::new(),
        elements: false,
    };
    let mut xml: Vec<u8> = Vec::with_capacity(2 * CHUNK);
    // Before here the XML kept holds no row's end, as far as a tag may reach back.
    let mut searched = 0;
    loop {
        let last = read_some(part, &mut xml, CHUNK)? < CHUNK;
        // Scanned up to the end of the last whole row, so no tag is cut in two.
        let cut = if last {
            xml.len()
        } else {
            match last_row_end(&xml[searched..]) {
                Some(cut) => searched + cut,
                // A register's rows are short; XML that goes on this long without
                // ending one is calamine's to stream.
                None if xml.len() > HELD_AT_MOST => return Err(Stop::Unsupported),
                None => {
                    searched = xml.len().saturating_sub(TAG_REACH);
                    continue;
                }
            }
        };
        searched = 0;
        xml::well_formed(&xml[..cut])?;
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

/// Inflated XML read at a time (small in tests, so that rows cross their edges).
const CHUNK: usize = if cfg!(test) { 4 * 1024 } else { 256 * 1024 };

/// How far back from the end of what was read a row's end tag may begin (`</x:row>`
/// with a namespace prefix of any sensible length).
const TAG_REACH: usize = 64;

/// The most inflated XML held at once, against a small file that inflates to a huge
/// one (calamine streams such parts instead).
/// (Small in tests, so that a test can pass it.)
pub const HELD_AT_MOST: usize = if cfg!(test) {
    1024 * 1024
} else {
    64 * 1024 * 1024
};

/// A sheet's head (before its rows) read at a time.
const HEAD_CHUNK: usize = 16 * 1024;

/// Appends up to `at_most` more bytes of the part to `xml` (fewer only at its end);
/// how many.
fn read_some(part: &mut dyn Read, xml: &mut Vec<u8>, at_most: usize) -> Result<usize, Unsupported> {
    part.take(at_most as u64)
        .read_to_end(xml)
        .map_err(|_| Unsupported)
}

/// Where the last `</row>` (of any prefix) ends. XML text and attribute values never
/// hold `<`, so this is a real end tag; one inside a comment or CDATA would cut a chunk
/// in the wrong place, where the scan then meets a tag cut short and leaves the sheet
/// to calamine.
fn last_row_end(xml: &[u8]) -> Option<usize> {
    let mut end = xml.len();
    while let Some(at) = memmem::rfind(&xml[..end], b"row>") {
        let head = &xml[..at];
        let near = &head[head.len().saturating_sub(TAG_REACH)..];
        let is_end_tag = near.ends_with(b"</")
            || near.ends_with(b":")
                && memchr::memrchr(b'<', near)
                    .is_some_and(|lt| near[lt..].starts_with(b"</") && !near[lt..].contains(&b' '));
        if is_end_tag {
            return Some(at + 4);
        }
        end = at;
    }
    None
}

/// Where the scan is with the sheet's merged regions.
#[derive(PartialEq)]
enum Merges {
    Before,
    Within,
    After,
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
    merges: Merges,
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
            // As in `declared_rows`.
            self.elements |= !tag.close && tag.name != b"dimension";
            match self.phase {
                Phase::Head => match tag.name {
                    b"sheetData" if !tag.close => {
                        self.phase = if tag.empty { Phase::After } else { Phase::Rows };
                    }
                    // calamine takes merged regions from wherever they are.
                    b"mergeCells" | b"mergeCell" => return Err(Stop::Unsupported),
                    _ => {}
                },
                Phase::Rows => match (tag.name, tag.close) {
                    (b"row", false) => {
                        if let Some(r) = tag.attr(b"r") {
                            self.row = cell_reference(r)?.0;
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
                // calamine reads the regions of the first `<mergeCells>` only; a sheet
                // with more than one, or a region outside it, is left to calamine.
                Phase::After => match (tag.name, tag.close) {
                    (b"mergeCells", false) if self.merges == Merges::Before => {
                        self.merges = if tag.empty {
                            Merges::After
                        } else {
                            Merges::Within
                        };
                    }
                    (b"mergeCells", true) if self.merges == Merges::Within => {
                        self.merges = Merges::After;
                    }
                    (b"mergeCell", false) if self.merges == Merges::Within => {
                        if let Some(r) = tag.attr(b"ref") {
                            self.merged.push(dimension(r)?);
                        }
                    }
                    (b"mergeCells" | b"mergeCell", _) => return Err(Stop::Unsupported),
                    _ => {}
                },
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
            let slot = match k {
                b"r" => &mut r,
                b"s" => &mut s,
                b"t" => &mut t,
                _ => continue,
            };
            // calamine would read such a cell by counting the attributes it found.
            if slot.replace(v).is_some() {
                return Err(Unsupported);
            }
        }
        if !matches!(
            t,
            None | Some(b"s" | b"n" | b"b" | b"e" | b"str" | b"d" | b"inlineStr" | b"is")
        ) {
            return Err(Unsupported);
        }
        let at = match r {
            Some(r) => {
                let (row, col) = cell_reference(r)?;
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
                        end = rich_text(xml, end, child.qualified, &mut self.text)?;
                    }
                    value = Cell::text(&self.text);
                }
                (name @ (b"v" | b"f"), false) => {
                    let mut raw: &[u8] = b"";
                    if !child.empty {
                        let close = find_byte(b'<', &xml[end..]).ok_or(Unsupported)? + end;
                        raw = &xml[end..close];
                        end = end_tag(xml, close, child.qualified)?;
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
                .get(index(raw)?)
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
                let e: CellErrorType = utf8_str(raw)?.parse().map_err(|_| Unsupported)?;
                cell(&DataRef::Error(e))
            }
            Some(b"str" | b"d") => {
                self.text.clear();
                xml::text(raw, &mut self.text)?;
                if t == Some(b"str") {
                    xml::no_excel_escapes(&self.text)?;
                }
                Cell::text(&self.text)
            }
            Some(b"n") | None => {
                let n = number(raw)?;
                let format = match s {
                    Some(s) => self.context.formats.get(index(s)?).copied(),
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
    utf8_str(raw)?
        .parse::<f64>()
        .ok()
        .filter(|n| n.is_finite())
        .ok_or(Unsupported)
}

/// A style or shared-string number, digits only (calamine reads a number it cannot parse
/// as 0, and stops at a character reference; both are left to it).
fn index(raw: &[u8]) -> Result<usize, Unsupported> {
    if raw.is_empty() {
        return Err(Unsupported);
    }
    raw.iter()
        .try_fold(0usize, |n, b| match b {
            b'0'..=b'9' => n.checked_mul(10)?.checked_add(usize::from(b - b'0')),
            _ => None,
        })
        .ok_or(Unsupported)
}

fn utf8_str(raw: &[u8]) -> Result<&str, Unsupported> {
    std::str::from_utf8(raw).map_err(|_| Unsupported)
}

/// A cell or row reference (`B12`, `12`) as a 0-based row and, when it names one, column.
fn cell_reference(raw: &[u8]) -> Result<(u32, Option<u32>), Unsupported> {
    let letters = raw.iter().take_while(|b| b.is_ascii_alphabetic()).count();
    let (col, row) = raw.split_at(letters);
    if letters > 3 {
        return Err(Unsupported);
    }
    let col = col.iter().fold(0u32, |n, b| {
        n * 26 + u32::from(b.to_ascii_uppercase() - b'A') + 1
    });
    let row = u32::try_from(index(row)?).map_err(|_| Unsupported)?;
    Ok((row.checked_sub(1).ok_or(Unsupported)?, col.checked_sub(1)))
}

/// A region (`A1:C3`, or one cell `A1`) as `[first row, first column, last row, last
/// column]`.
fn dimension(raw: &[u8]) -> Result<[u32; 4], Unsupported> {
    let cell = |raw| match cell_reference(raw)? {
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
        assert_eq!(cell_reference(b"A1"), Ok((0, Some(0))));
        assert_eq!(cell_reference(b"xfd12"), Ok((11, Some(16_383))));
        assert_eq!(cell_reference(b"7"), Ok((6, None)));
        assert_eq!(cell_reference(b"A0"), Err(Unsupported));
        assert_eq!(cell_reference(b"A99999999999"), Err(Unsupported));
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
