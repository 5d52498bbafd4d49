//! Reading a workbook (`.xlsx`) into sheets of cells with calamine: formulas give their
//! last computed values, date-formatted cells give dates, merged regions are kept so the
//! import can refuse them, and files that are not workbooks, old `.xls` files and
//! password-protected workbooks are told apart with a message that says what to do.
use std::io::Cursor;

use calamine::{Data, Reader, SheetType, Xlsx, XlsxError};
use chrono::NaiveDate;

use super::{
    sheet::{Cell, Sheet},
    OfficeError, CFB_MAGIC, ZIP_MAGIC,
};

/// Every worksheet of a workbook, in the workbook's order (chart sheets left out).
pub fn read(bytes: &[u8]) -> Result<Vec<Sheet>, OfficeError> {
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
    // zip (a Word document, an archive), which calamine would only call malformed.
    if bytes.starts_with(ZIP_MAGIC) && !contains(bytes, b"xl/workbook") {
        return Err(OfficeError::Unreadable(
            "the file is not an Excel workbook (.xlsx): it is a zip archive without a \
             workbook in it (a Word document, or another kind of file); save the register \
             from Excel or WPS as an Excel workbook (.xlsx, Excel 工作簿)"
                .into(),
        ));
    }
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(unreadable)?;
    let names: Vec<String> = book
        .sheets_metadata()
        .iter()
        .filter(|s| s.typ == SheetType::WorkSheet)
        .map(|s| s.name.clone())
        .collect();
    let mut sheets = Vec::with_capacity(names.len());
    for name in names {
        let range = book.worksheet_range(&name).map_err(unreadable)?;
        let merged = book
            .merge_cells_by_sheet_name(&name)
            .map_err(unreadable)?
            .into_iter()
            .map(|d| [d.start.0, d.start.1, d.end.0, d.end.1])
            .collect();
        let origin = range.start().unwrap_or((0, 0));
        let rows = range
            .rows()
            .map(|row| row.iter().map(cell).collect())
            .collect();
        sheets.push(Sheet {
            name,
            origin,
            rows,
            merged,
        });
    }
    Ok(sheets)
}

fn cell(d: &Data) -> Cell {
    match d {
        Data::Empty => Cell::Empty,
        Data::String(s) => Cell::Text(s.clone()),
        Data::Int(i) => Cell::Number(*i as f64),
        Data::Float(f) => Cell::Number(*f),
        Data::Bool(b) => Cell::Bool(*b),
        Data::DateTime(dt) if dt.is_datetime() => {
            let (y, m, d, ..) = dt.to_ymd_hms_milli();
            NaiveDate::from_ymd_opt(i32::from(y), u32::from(m), u32::from(d))
                .map_or(Cell::Number(dt.as_f64()), Cell::Date)
        }
        Data::DateTime(dt) => Cell::Number(dt.as_f64()),
        Data::DateTimeIso(s) | Data::DurationIso(s) => Cell::Text(s.clone()),
        Data::Error(e) => Cell::Error(e.to_string()),
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Whether an OLE container holds an encrypted OOXML package (a workbook saved with a
/// password to open). Its directory names the `EncryptedPackage` stream in UTF-16.
fn is_encrypted(bytes: &[u8]) -> bool {
    let name: Vec<u8> = "EncryptedPackage"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    contains(bytes, &name)
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
        other => OfficeError::Unreadable(format!(
            "the workbook cannot be read ({other}); open it in Excel or WPS, save it again as \
             .xlsx and import that"
        )),
    }
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
