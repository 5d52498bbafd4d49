//! Reading a workbook (`.xlsx`) with calamine, a piece at a time: rows of cells as
//! calamine streams them out of each sheet's XML, formulas as their last computed
//! values, date-formatted cells as dates, merged regions so the import can refuse them;
//! files that are not workbooks, old `.xls` files and password-protected workbooks are
//! told apart with a message that says what to do. What a workbook may unpack to is
//! checked before calamine opens it (`limits`), which bounds what calamine can hold.
mod limits;
mod merged;

use std::{collections::HashMap, io::Cursor};

use calamine::{DataRef, Reader, SheetType, Xlsx, XlsxCellReader, XlsxError};
use chrono::NaiveDate;
use memchr::memmem;

use super::{
    sheet::{Cell, Piece, Row},
    OfficeError, Words, CFB_MAGIC, ZIP_MAGIC,
};

/// Reads every worksheet of a workbook (chart sheets left out) in the workbook's order,
/// handing it to `send` a piece at a time: first the sheets and the rows each declares,
/// then each sheet's rows, a thousand at a time, and its merged regions. Stops early
/// when `send` says the reader is gone.
pub fn read(bytes: &[u8], send: &mut dyn FnMut(Piece) -> bool) -> Result<(), OfficeError> {
    check(bytes)?;
    limits::check(bytes)?;
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(unreadable)?;
    limits::check_sheets(book.sheets_metadata().len())?;
    let names: Vec<String> = book
        .sheets_metadata()
        .iter()
        .filter(|s| s.typ == SheetType::WorkSheet)
        .map(|s| s.name.clone())
        .collect();
    let merged_anywhere = merged::anywhere(bytes);
    let mut plan = Vec::with_capacity(names.len());
    for name in &names {
        // Only the sheet's head is read here, up to its rows.
        let rows = cells_of(&mut book, name)?.map_or(0, |cells| {
            let d = cells.dimensions();
            declared(d.start.0, d.end.0)
        });
        plan.push((name.clone(), rows));
    }
    if !send(Piece::Sheets(plan)) {
        return Ok(());
    }
    for name in names {
        if !send(Piece::Sheet(name.clone())) || !send_rows(&mut book, &name, send)? {
            return Ok(());
        }
        if !merged_anywhere {
            continue;
        }
        // calamine's cell reader stops at the end of the rows, before the merged
        // regions, so they take a second reading of the sheet.
        let merged: Vec<[u32; 4]> = book
            .merge_cells_by_sheet_name(&name)
            .map_err(unreadable)?
            .into_iter()
            .map(|d| [d.start.0, d.start.1, d.end.0, d.end.1])
            .collect();
        if !merged.is_empty() && !send(Piece::Merged(merged)) {
            return Ok(());
        }
    }
    Ok(())
}

/// The rows a sheet's dimension from row `start` to row `end` declares (for progress
/// only: a reversed one is taken as one row).
fn declared(start: u32, end: u32) -> u32 {
    (end - start.min(end)).saturating_add(1)
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
    let mut rows = Rows::new(name);
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
    Ok(rows.finish(send))
}

/// A sheet's cells gathered into rows, handed over a thousand rows at a time.
struct Rows<'n> {
    sheet: &'n str,
    rows: Vec<Row>,
    /// The widest row so far, which each new row makes room for (up to a point: one
    /// cell far to the right must not make every row wide).
    width: usize,
    /// The cells (empty ones between included) of the rows not yet handed over.
    cells: usize,
}

impl<'n> Rows<'n> {
    fn new(sheet: &'n str) -> Rows<'n> {
        Rows {
            sheet,
            rows: Vec::with_capacity(ROWS_AT_A_TIME),
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
            let sheet = &self.sheet;
            return Err(OfficeError::Unreadable(Words::new(
                format!(
                    "工作表“{sheet}”有单元格超出了 Excel 的最后一列 XFD；\
                     请在 Excel 或 WPS 中打开，重新另存为 .xlsx 后再导入"
                ),
                format!(
                    "the sheet {sheet} has a cell past column XFD, the last one Excel has; \
                     open it in Excel or WPS, save it again as .xlsx and import that"
                ),
            )));
        }
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
    fn finish(self, send: &mut dyn FnMut(Piece) -> bool) -> bool {
        send(Piece::Rows(self.rows))
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
        return Err(OfficeError::Unreadable(Words::new(
            "该文件是 Excel 97–2003 工作簿（.xls）或其他旧格式；请另存为 Excel 工作簿（.xlsx）后再导入",
            "the file is an Excel 97–2003 workbook (.xls) or another old format; save it as \
             an Excel workbook (.xlsx, Excel 工作簿) and import that",
        )));
    }
    if !bytes.starts_with(ZIP_MAGIC) && !bytes.starts_with(CFB_MAGIC) {
        let start = describe_start(bytes);
        return Err(OfficeError::Unreadable(Words::new(
            format!("该文件不是 Excel 工作簿（.xlsx）：它以{}开头", start.zh),
            format!(
                "the file is not an Excel workbook (.xlsx): it starts with {}",
                start.en
            ),
        )));
    }
    // A zip names its parts in plain text; without a workbook part it is another kind of
    // zip (a Word document, an archive).
    if bytes.starts_with(ZIP_MAGIC) && memmem::find(bytes, b"xl/workbook").is_none() {
        return Err(OfficeError::Unreadable(Words::new(
            "该文件不是 Excel 工作簿（.xlsx）：它是一个不含工作簿的压缩包（Word 文档或其他文件）；\
             请在 Excel 或 WPS 中把登记表另存为 Excel 工作簿（.xlsx）",
            "the file is not an Excel workbook (.xlsx): it is a zip archive without a \
             workbook in it (a Word document, or another kind of file); save the register \
             from Excel or WPS as an Excel workbook (.xlsx, Excel 工作簿)",
        )));
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
            not_a_workbook(&e)
        }
        other => damaged(&other),
    }
}

/// A file that is not a workbook after all: `e` says what its zip lacks.
pub(crate) fn not_a_workbook(e: &dyn std::fmt::Display) -> OfficeError {
    OfficeError::Unreadable(Words::new(
        format!("该文件不是 Excel 工作簿（.xlsx）（{e}）；请在 Excel 或 WPS 中另存为 Excel 工作簿（.xlsx）"),
        format!(
            "the file is not an Excel workbook (.xlsx) ({e}); save it from Excel or WPS as \
             an Excel workbook (.xlsx, Excel 工作簿)"
        ),
    ))
}

/// A workbook that opened but could not be read through.
fn damaged(e: &dyn std::fmt::Display) -> OfficeError {
    OfficeError::Unreadable(Words::new(
        format!("工作簿无法读取（{e}）；请在 Excel 或 WPS 中打开，重新另存为 .xlsx 后再导入"),
        format!(
            "the workbook cannot be read ({e}); open it in Excel or WPS, save it again as \
             .xlsx and import that"
        ),
    ))
}

fn describe_start(bytes: &[u8]) -> Words {
    if bytes.is_empty() {
        return Words::new("空内容（文件是空的）", "nothing (the file is empty)");
    }
    let head = &bytes[..bytes.len().min(16)];
    match std::str::from_utf8(head) {
        Ok(text) => Words::new(format!("文字 {text:?} "), format!("the text {text:?}")),
        Err(_) => {
            let hex = head
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(" ");
            Words::new(format!("字节 {hex} "), format!("the bytes {hex}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use rust_xlsxwriter::{Format as CellFormat, Formula, Workbook};

    use super::*;

    /// Every piece the reader hands over, each sheet's rows in one piece.
    fn pieces(bytes: &[u8]) -> Vec<Piece> {
        let mut out: Vec<Piece> = Vec::new();
        read(bytes, &mut |piece| {
            match (out.last_mut(), piece) {
                (_, Piece::Rows(r)) if r.is_empty() => {}
                (Some(Piece::Rows(rows)), Piece::Rows(more)) => rows.extend(more),
                (_, piece) => out.push(piece),
            }
            true
        })
        .expect("the workbook reads");
        out
    }

    #[test]
    fn a_register_reads_with_its_dates_texts_and_merged_regions() {
        let mut book = Workbook::new();
        let date = CellFormat::new().set_num_format("yyyy\"年\"m\"月\"d\"日\"");
        let bold = CellFormat::new().set_bold();
        let ws = book.add_worksheet();
        ws.set_name("举办培训班").unwrap();
        for (c, h) in ["日期", "名称", "人数", "完成", "备注"].iter().enumerate() {
            ws.write_string(0, c as u16, *h).unwrap();
        }
        for r in 1..2_500u32 {
            ws.write_number_with_format(r, 0, 45_000.0 + f64::from(r), &date)
                .unwrap();
            ws.write_string(r, 1, format!("第{r}期 <培训> & \"班\""))
                .unwrap();
            ws.write_number(r, 2, f64::from(r)).unwrap();
            ws.write_boolean(r, 3, r % 2 == 0).unwrap();
            match r % 3 {
                0 => ws.write_string(r, 4, "  空格  ").unwrap(),
                1 => ws
                    .write_formula(r, 4, Formula::new("=C2*2").set_result("42"))
                    .unwrap(),
                _ => ws.write_blank(r, 4, &bold).unwrap(),
            };
        }
        ws.merge_range(2_500, 0, 2_501, 2, "合并", &bold).unwrap();
        book.add_worksheet().set_name("空表").unwrap();
        let bytes = book.save_to_buffer().unwrap();

        let pieces = pieces(&bytes);
        assert_eq!(
            pieces[0],
            Piece::Sheets(vec![("举办培训班".into(), 2_502), ("空表".into(), 1)])
        );
        let Piece::Rows(rows) = &pieces[2] else {
            panic!("{:?}", pieces[2]);
        };
        assert_eq!(rows.len(), 2_501);
        assert_eq!(
            rows[1].cells,
            [
                Cell::Date(NaiveDate::from_ymd_opt(2023, 3, 16).unwrap()),
                Cell::text("第1期 <培训> & \"班\""),
                Cell::Number(1.0),
                Cell::Bool(false),
                Cell::Number(42.0),
            ]
        );
        assert_eq!(rows[3].cells[4], Cell::text("空格"));
        assert!(pieces.contains(&Piece::Merged(vec![[2_500, 0, 2_501, 2]])));
        assert_eq!(pieces.last(), Some(&Piece::Sheet("空表".into())));
    }

    #[test]
    fn rows_far_to_the_right_go_fewer_at_a_time() {
        let mut rows = Rows::new("表1");
        let mut pieces = 0;
        let mut send = |_| {
            pieces += 1;
            true
        };
        for r in 0..100 {
            rows.push(r, LAST_COLUMN, Cell::Number(1.0), &mut send)
                .unwrap();
        }
        assert!(pieces >= 100 / (CELLS_AT_A_TIME / (LAST_COLUMN as usize + 1)) - 1);
    }

    #[test]
    fn one_far_cell_does_not_make_every_row_wide() {
        let mut rows = Rows::new("表1");
        let mut send = |_| true;
        rows.push(0, LAST_COLUMN, Cell::Number(1.0), &mut send)
            .unwrap();
        rows.push(1, 0, Cell::Number(2.0), &mut send).unwrap();
        assert!(rows.rows[1].cells.capacity() <= MAX_WIDTH);
    }
}
