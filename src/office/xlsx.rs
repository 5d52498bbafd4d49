//! Reading a workbook (`.xlsx`) a piece at a time: rows of cells as they come out of the
//! sheet's XML, formulas as their last computed values, date-formatted cells as dates,
//! merged regions so the import can refuse them; files that are not workbooks, old
//! `.xls` files and password-protected workbooks are told apart with a message that says
//! what to do.
//!
//! Workbooks as Excel, WPS and LibreOffice write them are read by a plain scan of their
//! XML (`package`, `scan`), several times faster than a general XML reader; anything that
//! scan does not know is read by calamine, from where the scan stopped. Both give the
//! same cells, which a test holds them to.
mod limits;
mod package;
mod scan;
#[cfg(test)]
mod tests;
mod xml;

use std::{collections::HashMap, io::Cursor};

use calamine::{DataRef, Reader, SheetType, Xlsx, XlsxCellReader, XlsxError};
use chrono::NaiveDate;
use memchr::memmem;

use super::{
    sheet::{Cell, Piece, Row},
    OfficeError, CFB_MAGIC, ZIP_MAGIC,
};

/// Reads every worksheet of a workbook (chart sheets left out) in the workbook's order,
/// handing it to `send` a piece at a time: first the sheets and the rows each declares,
/// then each sheet's rows, a thousand at a time, and its merged regions. Stops early
/// when `send` says the reader is gone.
pub fn read(bytes: &[u8], send: &mut dyn FnMut(Piece) -> bool) -> Result<(), OfficeError> {
    check(bytes)?;
    limits::check(bytes)?;
    let mut sent = Sent::default();
    let quick = read_quickly(bytes, &mut |piece| {
        sent.note(&piece);
        send(piece)
    });
    match quick {
        Ok(()) | Err(Stop::Gone) => Ok(()),
        Err(Stop::Failed(e)) => Err(e),
        Err(Stop::Unsupported) => read_with_calamine(bytes, send, &sent),
    }
}

/// Why the quick reader stopped short.
#[derive(Debug)]
enum Stop {
    /// It met something it leaves to calamine.
    Unsupported,
    /// The workbook is refused.
    Failed(OfficeError),
    /// The one reading the pieces has gone.
    Gone,
}

impl From<xml::Unsupported> for Stop {
    fn from(_: xml::Unsupported) -> Stop {
        Stop::Unsupported
    }
}

impl From<OfficeError> for Stop {
    fn from(e: OfficeError) -> Stop {
        Stop::Failed(e)
    }
}

/// What the quick reader has handed over, so that calamine goes on from there.
#[derive(Default)]
struct Sent {
    /// Whether the sheets' plan went.
    plan: bool,
    /// How many sheets were begun: all but the last were sent whole; and the last one's
    /// name.
    sheets: usize,
    sheet: Option<String>,
    /// How many rows of the last sheet begun went, and the last one's number.
    rows: usize,
    last_row: Option<u32>,
}

impl Sent {
    fn note(&mut self, piece: &Piece) {
        match piece {
            Piece::Sheets(_) => self.plan = true,
            Piece::Sheet(name) => {
                self.sheets += 1;
                self.sheet = Some(name.clone());
                (self.rows, self.last_row) = (0, None);
            }
            Piece::Rows(rows) => {
                self.rows += rows.len();
                self.last_row = rows.last().map(|r| r.at).or(self.last_row);
            }
            // A sheet's last piece: the quick reader does not stop between it and the
            // next sheet, so calamine never goes on from there.
            Piece::Merged(_) => {}
        }
    }
}

/// A cell style's kind of number format, which says whether its numbers are dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Other,
    DateTime,
    TimeDelta,
}

impl Format {
    /// A custom format by its code (calamine's `detect_custom_number_format`, MIT): a
    /// date when its first section has a date or time letter outside quotes and
    /// brackets, a duration when a time letter is in brackets (`[h]`).
    fn of_code(code: &str) -> Format {
        let mut escaped = false;
        let mut quoted = false;
        let mut brackets = 0u8;
        let mut prev = ' ';
        let mut hms = false;
        let mut ap = false;
        for c in code.chars() {
            match (c, escaped, quoted, ap, brackets) {
                (_, true, ..) => escaped = false,
                ('_' | '\\' | '*', ..) => escaped = true,
                ('"', _, true, _, _) => quoted = false,
                (_, _, true, _, _) => (),
                ('"', _, _, _, _) => quoted = true,
                (';', ..) => return Format::Other,
                ('[', ..) => brackets = brackets.wrapping_add(1),
                (']', .., 1) if hms => return Format::TimeDelta,
                (']', ..) => brackets = brackets.saturating_sub(1),
                ('a' | 'A', _, _, false, 0) => ap = true,
                ('p' | 'm' | '/' | 'P' | 'M', _, _, true, 0) => return Format::DateTime,
                ('d' | 'm' | 'h' | 'y' | 's' | 'D' | 'M' | 'H' | 'Y' | 'S', _, _, false, 0) => {
                    return Format::DateTime
                }
                _ => {
                    if !(hms && c.eq_ignore_ascii_case(&prev)) {
                        hms = prev == '[' && matches!(c, 'm' | 'h' | 's' | 'M' | 'H' | 'S');
                    }
                }
            }
            prev = c;
        }
        Format::Other
    }

    /// A built-in format by its number as written (calamine's `builtin_format_by_id`,
    /// to which `014` is no built-in format).
    fn of_builtin(id: &[u8]) -> Format {
        if id.first() == Some(&b'0') || !id.iter().all(u8::is_ascii_digit) {
            return Format::Other;
        }
        match std::str::from_utf8(id)
            .ok()
            .and_then(|id| id.parse::<u16>().ok())
        {
            Some(14..=22 | 27..=36 | 45 | 47 | 50..=58) => Format::DateTime,
            Some(46) => Format::TimeDelta,
            _ => Format::Other,
        }
    }
}

/// The quick reader: the whole workbook, or `Unsupported` where calamine must go on.
fn read_quickly(bytes: &[u8], send: &mut dyn FnMut(Piece) -> bool) -> Result<(), Stop> {
    let mut book = package::Book::open(bytes)?;
    let mut plan = Vec::with_capacity(book.sheets.len());
    for (name, path) in &book.sheets {
        let mut part = book.parts.open(path)?.ok_or(Stop::Unsupported)?;
        plan.push((name.clone(), scan::declared_rows(&mut part)?));
    }
    if !send(Piece::Sheets(plan)) {
        return Err(Stop::Gone);
    }
    let context = scan::Context {
        strings: &book.strings,
        formats: &book.formats,
        is_1904: book.is_1904,
    };
    for (name, path) in &book.sheets {
        if !send(Piece::Sheet(name.clone())) {
            return Err(Stop::Gone);
        }
        let mut part = book.parts.open(path)?.ok_or(Stop::Unsupported)?;
        let mut rows = Rows::new(name, (0, None));
        let merged = scan::read(&mut part, &context, &mut rows, send)?;
        if !rows.finish(send)? || !merged.is_empty() && !send(Piece::Merged(merged)) {
            return Err(Stop::Gone);
        }
    }
    Ok(())
}

/// The rows a sheet's dimension from row `start` to row `end` declares (for progress
/// only: a reversed one is taken as one row).
fn declared(start: u32, end: u32) -> u32 {
    (end - start.min(end)).saturating_add(1)
}

/// Both readers make the same sheets and rows; if they ever did not, rows would be lost
/// or doubled after the quick reader stopped, so the workbook is refused instead.
fn read_differently(sheet: &str) -> OfficeError {
    damaged(&format!(
        "the sheet {sheet} reads differently on a second reading"
    ))
}

/// Reads the workbook with calamine, going on from what the quick reader `sent`.
fn read_with_calamine(
    bytes: &[u8],
    send: &mut dyn FnMut(Piece) -> bool,
    sent: &Sent,
) -> Result<(), OfficeError> {
    limits::check_for_calamine(bytes)?;
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(unreadable)?;
    limits::check_sheets(book.sheets_metadata().len())?;
    let names: Vec<String> = book
        .sheets_metadata()
        .iter()
        .filter(|s| s.typ == SheetType::WorkSheet)
        .map(|s| s.name.clone())
        .collect();
    if !sent.plan {
        let mut plan = Vec::with_capacity(names.len());
        for name in &names {
            let rows = cells_of(&mut book, name)?.map_or(0, |cells| {
                let d = cells.dimensions();
                declared(d.start.0, d.end.0)
            });
            plan.push((name.clone(), rows));
        }
        if !send(Piece::Sheets(plan)) {
            return Ok(());
        }
    }
    for (i, name) in names.into_iter().enumerate() {
        // The sheet the quick reader stopped in goes on after its rows already sent.
        let skip = match (i + 1).cmp(&sent.sheets) {
            std::cmp::Ordering::Less => continue,
            std::cmp::Ordering::Equal if sent.sheet.as_ref() != Some(&name) => {
                return Err(read_differently(&name));
            }
            std::cmp::Ordering::Equal => (sent.rows, sent.last_row),
            std::cmp::Ordering::Greater => {
                if !send(Piece::Sheet(name.clone())) {
                    return Ok(());
                }
                (0, None)
            }
        };
        if !send_rows(&mut book, &name, skip, send)? {
            return Ok(());
        }
        // A second parse of the sheet, which is all this path costs more: the quick
        // reader reads most workbooks.
        let merged = book
            .merge_cells_by_sheet_name(&name)
            .map_err(unreadable)?
            .into_iter()
            .map(|d| [d.start.0, d.start.1, d.end.0, d.end.1])
            .collect();
        if !send(Piece::Merged(merged)) {
            return Ok(());
        }
    }
    Ok(())
}

/// Sends a sheet's rows after the first `skip.0` (the last of which is numbered
/// `skip.1`); false when the reader is gone.
fn send_rows(
    book: &mut Xlsx<Cursor<&[u8]>>,
    name: &str,
    skip: (usize, Option<u32>),
    send: &mut dyn FnMut(Piece) -> bool,
) -> Result<bool, OfficeError> {
    let Some(mut cells) = cells_of(book, name)? else {
        return Ok(true);
    };
    let mut rows = Rows::new(name, skip);
    // The sheet's shared strings, each made a text cell once (by where calamine keeps it).
    let mut shared: HashMap<*const u8, Cell, foldhash::fast::RandomState> = HashMap::default();
    while let Some(c) = cells.next_cell().map_err(unreadable)? {
        let value = match c.get_value() {
            DataRef::SharedString(s) => shared
                .entry(s.as_ptr())
                .or_insert_with(|| Cell::text(s))
                .clone(),
            other => cell(other),
        };
        let (at, col) = c.get_position();
        if !rows.push(at, col, value, send)? {
            return Ok(false);
        }
    }
    rows.finish(send)
}

/// A sheet's cells gathered into rows, handed over a thousand rows at a time. Either
/// reader gathers them here, so both make the same rows.
struct Rows<'n> {
    sheet: &'n str,
    rows: Vec<Row>,
    /// How many rows to leave out, as the quick reader sent them before it stopped, and
    /// the number of the last of them.
    skip: usize,
    last_skipped: Option<u32>,
    /// The number of the row being left out, whose further cells are left out too.
    skipping: Option<u32>,
    /// The widest row so far, which each new row makes room for (up to a point: one
    /// cell far to the right must not make every row wide).
    width: usize,
    /// The cells (empty ones between included) of the rows not yet handed over.
    cells: usize,
}

impl<'n> Rows<'n> {
    fn new(sheet: &'n str, (skip, last_skipped): (usize, Option<u32>)) -> Rows<'n> {
        Rows {
            sheet,
            rows: Vec::with_capacity(ROWS_AT_A_TIME),
            skip,
            last_skipped,
            skipping: None,
            width: 0,
            cells: 0,
        }
    }

    /// Takes the next cell of the sheet; false when the reader is gone.
    fn push(
        &mut self,
        at: u32,
        col: u32,
        value: Cell,
        send: &mut dyn FnMut(Piece) -> bool,
    ) -> Result<bool, OfficeError> {
        if value == Cell::Empty {
            return Ok(true);
        }
        if col > LAST_COLUMN {
            return Err(OfficeError::Unreadable(format!(
                "the sheet {} has a cell past column XFD, the last one Excel has; \
                 open it in Excel or WPS, save it again as .xlsx and import that",
                self.sheet
            )));
        }
        if self.skipping == Some(at) {
            return Ok(true);
        }
        if self.skip > 0 {
            self.skip -= 1;
            self.skipping = Some(at);
            if self.skip == 0 && self.last_skipped != Some(at) {
                return Err(self.read_differently());
            }
            return Ok(true);
        }
        self.skipping = None;
        if self.rows.last().is_none_or(|r| r.at != at) {
            // Rows far to the right are handed over fewer at a time, so a few bytes of
            // XML naming column XFD cannot make a piece take hundreds of megabytes.
            if self.rows.len() == ROWS_AT_A_TIME || self.cells >= CELLS_AT_A_TIME {
                let full = std::mem::replace(&mut self.rows, Vec::with_capacity(ROWS_AT_A_TIME));
                self.cells = 0;
                if !send(Piece::Rows(full)) {
                    return Ok(false);
                }
            }
            self.rows.push(Row {
                at,
                cells: Vec::with_capacity(self.width.min(MAX_WIDTH)),
            });
        }
        let row = self.rows.last_mut().expect("a row was just pushed");
        let col = col as usize;
        if row.cells.len() <= col {
            self.cells += col + 1 - row.cells.len();
            row.cells.resize(col, Cell::Empty);
            row.cells.push(value);
        } else {
            // A cell given again takes the place of the first (as calamine has it).
            row.cells[col] = value;
        }
        self.width = self.width.max(row.cells.len());
        Ok(true)
    }

    /// Sends the rows left; false when the reader is gone.
    fn finish(self, send: &mut dyn FnMut(Piece) -> bool) -> Result<bool, OfficeError> {
        if self.skip > 0 {
            return Err(self.read_differently());
        }
        Ok(send(Piece::Rows(self.rows)))
    }

    fn read_differently(&self) -> OfficeError {
        read_differently(self.sheet)
    }
}

/// A sheet's cells, or `None` for a worksheet part without any (which calamine calls
/// not a worksheet; it reads as an empty sheet).
fn cells_of<'a, 'b>(
    book: &'a mut Xlsx<Cursor<&'b [u8]>>,
    name: &str,
) -> Result<Option<XlsxCellReader<'a, Cursor<&'b [u8]>>>, OfficeError> {
    match book.worksheet_cells_reader(name) {
        Ok(cells) => Ok(Some(cells)),
        Err(XlsxError::NotAWorksheet(_)) => Ok(None),
        Err(e) => Err(unreadable(e)),
    }
}

/// Rows handed over at a time.
const ROWS_AT_A_TIME: usize = 1024;

/// The most cells handed over in one piece (a row's empty cells included), unless one
/// row alone has more.
const CELLS_AT_A_TIME: usize = 256 * 1024;

/// The most cells a row's room is made for up front.
const MAX_WIDTH: usize = 64;

/// Excel's last column, XFD (0-based); a file that names a cell past it is damaged, and
/// its row would take memory for every column up to it.
pub const LAST_COLUMN: u32 = 16_383;

/// Tells files that are not workbooks, old `.xls` files and other zips apart before
/// calamine is asked, which would only call them malformed.
fn check(bytes: &[u8]) -> Result<(), OfficeError> {
    if bytes.starts_with(CFB_MAGIC) && !is_encrypted(bytes) {
        return Err(OfficeError::Unreadable(
            "the file is an Excel 97–2003 workbook (.xls) or another old format; save it as \
             an Excel workbook (.xlsx, Excel 工作簿) and import that"
                .into(),
        ));
    }
    if !bytes.starts_with(ZIP_MAGIC) && !bytes.starts_with(CFB_MAGIC) {
        return Err(OfficeError::Unreadable(format!(
            "the file is not an Excel workbook (.xlsx): it starts with {}",
            describe_start(bytes)
        )));
    }
    // A zip names its parts in plain text; without a workbook part it is another kind of
    // zip (a Word document, an archive).
    if bytes.starts_with(ZIP_MAGIC) && memmem::find(bytes, b"xl/workbook").is_none() {
        return Err(OfficeError::Unreadable(
            "the file is not an Excel workbook (.xlsx): it is a zip archive without a \
             workbook in it (a Word document, or another kind of file); save the register \
             from Excel or WPS as an Excel workbook (.xlsx, Excel 工作簿)"
                .into(),
        ));
    }
    Ok(())
}

fn cell(d: &DataRef) -> Cell {
    match d {
        DataRef::Empty => Cell::Empty,
        DataRef::SharedString(s) => Cell::text(s),
        DataRef::String(s) => Cell::text(s),
        DataRef::Int(i) => Cell::Number(*i as f64),
        DataRef::Float(f) => Cell::Number(*f),
        DataRef::Bool(b) => Cell::Bool(*b),
        DataRef::DateTime(dt) if dt.is_datetime() => {
            let (y, m, d, ..) = dt.to_ymd_hms_milli();
            NaiveDate::from_ymd_opt(i32::from(y), u32::from(m), u32::from(d))
                .map_or(Cell::Number(dt.as_f64()), Cell::Date)
        }
        DataRef::DateTime(dt) => Cell::Number(dt.as_f64()),
        DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => Cell::text(s),
        DataRef::Error(e) => Cell::Error(e.to_string()),
    }
}

/// Whether an OLE container holds an encrypted OOXML package (a workbook saved with a
/// password to open). Its directory names the `EncryptedPackage` stream in UTF-16.
fn is_encrypted(bytes: &[u8]) -> bool {
    let name: Vec<u8> = "EncryptedPackage"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    memmem::find(bytes, &name).is_some()
}

fn unreadable(e: XlsxError) -> OfficeError {
    match e {
        XlsxError::Password => OfficeError::Encrypted,
        XlsxError::Zip(_) | XlsxError::FileNotFound(_) | XlsxError::RelationshipNotFound => {
            OfficeError::Unreadable(format!(
                "the file is not an Excel workbook (.xlsx) ({e}); save it from Excel or WPS as \
                 an Excel workbook (.xlsx, Excel 工作簿)"
            ))
        }
        other => damaged(&other),
    }
}

/// A workbook that opened but could not be read through.
fn damaged(e: &dyn std::fmt::Display) -> OfficeError {
    OfficeError::Unreadable(format!(
        "the workbook cannot be read ({e}); open it in Excel or WPS, save it again as .xlsx \
         and import that"
    ))
}

fn describe_start(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "nothing (the file is empty)".into();
    }
    let head = &bytes[..bytes.len().min(16)];
    match std::str::from_utf8(head) {
        Ok(text) => format!("the text {text:?}"),
        Err(_) => format!(
            "the bytes {}",
            head.iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(" ")
        ),
    }
}
