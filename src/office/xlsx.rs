//! Reading a workbook (`.xlsx`) a piece at a time with calamine: rows of cells as they
//! come out of the sheet's XML, formulas as their last computed values, date-formatted
//! cells as dates, merged regions so the import can refuse them; files that are not
//! workbooks, old `.xls` files and password-protected workbooks are told apart with a
//! message that says what to do.
use std::{
    collections::HashMap,
    io::{Cursor, Read},
};

use calamine::{DataRef, Reader, SheetType, Xlsx, XlsxCellReader, XlsxError};
use chrono::NaiveDate;
use memchr::memmem;

use super::{
    sheet::{Cell, Piece, Row},
    OfficeError, CFB_MAGIC, ZIP_MAGIC,
};
use crate::store::IdHasher;

/// Reads every worksheet of a workbook (chart sheets left out) in the workbook's order,
/// handing it to `send` a piece at a time: first the sheets and the rows each declares,
/// then each sheet's rows, a thousand at a time, and its merged regions. Stops early
/// when `send` says the reader is gone.
pub fn read(bytes: &[u8], send: &mut dyn FnMut(Piece) -> bool) -> Result<(), OfficeError> {
    check(bytes)?;
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(unreadable)?;
    let names: Vec<String> = book
        .sheets_metadata()
        .iter()
        .filter(|s| s.typ == SheetType::WorkSheet)
        .map(|s| s.name.clone())
        .collect();
    let mut plan = Vec::with_capacity(names.len());
    for name in &names {
        let rows = cells_of(&mut book, name)?.map_or(0, |cells| {
            let d = cells.dimensions();
            (d.end.0 - d.start.0.min(d.end.0)).saturating_add(1)
        });
        plan.push((name.clone(), rows));
    }
    if !send(Piece::Sheets(plan)) {
        return Ok(());
    }
    // Reading merged regions parses a sheet a second time; most registers have none,
    // which a plain search of the sheets' XML shows for far less. Searched once the
    // first rows are on their way, so their checking does not wait for it.
    let mut any_merges = None;
    for name in names {
        if !send(Piece::Sheet(name.clone())) {
            return Ok(());
        }
        if !send_rows(&mut book, &name, send)? {
            return Ok(());
        }
        let merges = match any_merges {
            Some(known) => known,
            None => *any_merges.insert(any_merged_cells(bytes)?),
        };
        if merges {
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
    }
    Ok(())
}

/// Sends a sheet's rows; false when the reader is gone.
fn send_rows(
    book: &mut Xlsx<Cursor<&[u8]>>,
    name: &str,
    send: &mut dyn FnMut(Piece) -> bool,
) -> Result<bool, OfficeError> {
    let Some(mut cells) = cells_of(book, name)? else {
        return Ok(true);
    };
    let width = (cells.dimensions().end.1 as usize + 1).min(MAX_WIDTH);
    let mut rows: Vec<Row> = Vec::with_capacity(ROWS_AT_A_TIME);
    // The sheet's shared strings, each made a text cell once (by where calamine keeps it).
    let mut shared: HashMap<*const u8, Cell, IdHasher> = HashMap::default();
    while let Some(c) = cells.next_cell().map_err(unreadable)? {
        let value = match c.get_value() {
            DataRef::SharedString(s) => shared
                .entry(s.as_ptr())
                .or_insert_with(|| Cell::text(s))
                .clone(),
            other => cell(other),
        };
        if value == Cell::Empty {
            continue;
        }
        let (at, col) = c.get_position();
        if col > LAST_COLUMN {
            return Err(OfficeError::Unreadable(format!(
                "the sheet {name} has a cell past column XFD, the last one Excel has; \
                 open it in Excel or WPS, save it again as .xlsx and import that"
            )));
        }
        if rows.last().is_none_or(|r| r.at != at) {
            if rows.len() == ROWS_AT_A_TIME {
                let full = std::mem::replace(&mut rows, Vec::with_capacity(ROWS_AT_A_TIME));
                if !send(Piece::Rows(full)) {
                    return Ok(false);
                }
            }
            rows.push(Row {
                at,
                cells: Vec::with_capacity(width),
            });
        }
        let row = rows.last_mut().expect("a row was just pushed");
        let col = col as usize;
        if row.cells.len() <= col {
            row.cells.resize(col + 1, Cell::Empty);
        }
        row.cells[col] = value;
    }
    Ok(send(Piece::Rows(rows)))
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

/// Excel's last column, XFD (0-based); a file that names a cell past it is damaged, and
/// its row would take memory for every column up to it.
const LAST_COLUMN: u32 = 16_383;

/// The most cells a row's room is made for up front (a sheet may declare far more).
const MAX_WIDTH: usize = 64;

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

/// Whether any worksheet's XML mentions merged cells.
fn any_merged_cells(bytes: &[u8]) -> Result<bool, OfficeError> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| damaged(&e))?;
    let mut xml = Vec::new();
    for i in 0..zip.len() {
        let mut part = zip.by_index(i).map_err(|e| damaged(&e))?;
        if !part
            .name()
            .map_err(|e| damaged(&e))?
            .starts_with("xl/worksheets/")
        {
            continue;
        }
        xml.clear();
        part.read_to_end(&mut xml).map_err(|e| damaged(&e))?;
        if memmem::find(&xml, b"mergeCell").is_some() {
            return Ok(true);
        }
    }
    Ok(false)
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
