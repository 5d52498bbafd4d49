//! Reading one sheet saved as CSV (UTF-8, as Excel's "CSV UTF-8" and WPS save it). A
//! CSV has no sheet name, so the file's name names the kind: `举办培训班.csv` or
//! `class_held.csv`.
use std::path::Path;

use super::{
    sheet::{Cell, Piece, Row},
    OfficeError,
};

/// The sheet name a CSV file's name gives: its name without folder or extension.
pub fn sheet_name(file_name: &str) -> String {
    Path::new(file_name).file_stem().map_or_else(
        || file_name.to_owned(),
        |s| s.to_string_lossy().into_owned(),
    )
}

/// The CSV as one sheet of text cells named `name`, the first record being the header.
pub fn read(bytes: &[u8], name: &str) -> Result<Vec<Piece>, OfficeError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Err(e) = std::str::from_utf8(bytes) {
        return Err(OfficeError::Unreadable(format!(
            "the CSV file is not UTF-8 text (byte {} is not); Excel's plain CSV uses the \
             local code page (GBK): save it as \"CSV UTF-8 (逗号分隔)\" instead",
            e.valid_up_to() + 1
        )));
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut rows = Vec::new();
    for (at, record) in (0..).zip(reader.records()) {
        let record = record
            .map_err(|e| OfficeError::Unreadable(format!("the CSV file cannot be read: {e}")))?;
        let cells = record.iter().map(Cell::text).collect();
        rows.push(Row { at, cells });
    }
    Ok(vec![
        Piece::Sheets(vec![(name.to_owned(), rows.len() as u32)]),
        Piece::Sheet(name.to_owned()),
        Piece::Rows(rows),
    ])
}
