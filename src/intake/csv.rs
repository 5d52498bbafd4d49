//! The CSV source: one sheet saved as CSV (UTF-8, as Excel's "CSV UTF-8" and WPS save it). A
//! CSV has no sheet name, so the file's name names the kind: `举办培训班.csv` or
//! `class_held.csv`.
use std::path::Path;

use crate::office::{
    sheet::{Cell, Piece, Row},
    xlsx::LAST_COLUMN,
    OfficeError, Words,
};

/// Rows handed over at a time: a large file is checked as it is read, never held
/// whole as cells (each takes several times the bytes it is written in).
const ROWS_AT_A_TIME: usize = 1024;

/// The sheet name a CSV file's name gives: its name without folder or extension.
pub fn sheet_name(file_name: &str) -> String {
    Path::new(file_name).file_stem().map_or_else(
        || file_name.to_owned(),
        |s| s.to_string_lossy().into_owned(),
    )
}

/// Reads the CSV as one sheet of text cells named `name`, the first record being the
/// header, handing it to `send` a piece at a time; stops early when `send` says the
/// reader is gone.
pub fn read(
    bytes: &[u8],
    name: &str,
    send: &mut dyn FnMut(Piece) -> bool,
) -> Result<(), OfficeError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Err(e) = std::str::from_utf8(bytes) {
        let byte = e.valid_up_to() + 1;
        return Err(OfficeError::Unreadable(Words::new(
            format!(
                "CSV 文件不是 UTF-8 文本（第 {byte} 个字节不是）；Excel 的普通 CSV 使用本地编码（GBK）：\
                 请改存为“CSV UTF-8 (逗号分隔)”"
            ),
            format!(
                "the CSV file is not UTF-8 text (byte {byte} is not); Excel's plain CSV uses the \
                 local code page (GBK): save it as \"CSV UTF-8 (逗号分隔)\" instead"
            ),
        )));
    }
    // For progress only: a quoted cell may hold line ends too.
    let lines = memchr::memchr_iter(b'\n', bytes).count() + usize::from(!bytes.ends_with(b"\n"));
    let plan = vec![(name.to_owned(), u32::try_from(lines).unwrap_or(u32::MAX))];
    if !send(Piece::Sheets(plan)) || !send(Piece::Sheet(name.to_owned())) {
        return Ok(());
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut rows = Vec::with_capacity(ROWS_AT_A_TIME);
    for (at, record) in (0..).zip(reader.records()) {
        let record = record.map_err(|e| {
            OfficeError::Unreadable(Words::new(
                format!("CSV 文件无法读取：{e}"),
                format!("the CSV file cannot be read: {e}"),
            ))
        })?;
        // A line of commas alone would otherwise make a row of millions of cells.
        if record.len() > LAST_COLUMN as usize + 1 {
            let (line, cells, columns) = (u64::from(at) + 1, record.len(), LAST_COLUMN + 1);
            return Err(OfficeError::Unreadable(Words::new(
                format!(
                    "CSV 文件第 {line} 行有 {cells} 个单元格，超过工作表的 {columns} 列；\
                     请在 Excel 或 WPS 中重新另存为“CSV UTF-8 (逗号分隔)”"
                ),
                format!(
                    "line {line} of the CSV file has {cells} cells, more than the {columns} \
                     columns a sheet has; save the sheet again as \"CSV UTF-8 (逗号分隔)\" from \
                     Excel or WPS"
                ),
            )));
        }
        let cells = record.iter().map(Cell::text).collect();
        rows.push(Row { at, cells });
        if rows.len() == ROWS_AT_A_TIME {
            let full = std::mem::replace(&mut rows, Vec::with_capacity(ROWS_AT_A_TIME));
            if !send(Piece::Rows(full)) {
                return Ok(());
            }
        }
    }
    send(Piece::Rows(rows));
    Ok(())
}
