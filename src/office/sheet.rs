//! A sheet as rows of cells, whatever file it came from (the pieces a reader hands
//! over), and the names that map it onto the catalog: a sheet's name to a kind, the
//! headers a kind's sheet takes. Imports read it in [`crate::intake::sheet`]; the
//! template writes it.
use std::sync::Arc;

use chrono::NaiveDate;
use events::{catalog::KindDef, Catalog};

/// The template's first sheet, which explains how to fill in the others; imports skip it.
pub const INSTRUCTIONS: &str = "填写说明";

/// Headers of the day an event occurred on (also a range written `2023-06-26..2023-06-30`).
pub const DAY_HEADERS: &[&str] = &["日期", "发生日期", "date", "occurred"];
/// Headers of the first day of a range.
pub const START_HEADERS: &[&str] = &["开始日期", "start", "start date", "from"];
/// Headers of the last day of a range; empty means the event took one day.
pub const END_HEADERS: &[&str] = &["结束日期", "end", "end date", "to"];

/// One cell's value as read from the file.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Nothing (or only spaces).
    Empty,
    /// Text as typed, without the spaces around it; never empty (see [`Cell::text`]).
    /// Shared, because a register repeats its texts down the rows.
    Text(Arc<str>),
    /// A number (spreadsheets keep whole numbers as numbers too).
    Number(f64),
    /// TRUE or FALSE.
    Bool(bool),
    /// A cell formatted as a date.
    Date(NaiveDate),
    /// An error value such as `#DIV/0!`, as the spreadsheet shows it.
    Error(String),
}

impl Cell {
    /// A text cell: trimmed, and empty when nothing is left.
    pub fn text(s: &str) -> Cell {
        match s.trim() {
            "" => Cell::Empty,
            t => Cell::Text(t.into()),
        }
    }

    /// Whether the cell holds nothing.
    pub fn is_empty(&self) -> bool {
        matches!(self, Cell::Empty)
    }
}

/// One row of a sheet: its 0-based number and its cells from column A.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The row's 0-based number in the sheet (row 12 is 11).
    pub at: u32,
    /// Its cells from column A; cells past the last one are empty.
    pub cells: Vec<Cell>,
}

/// A file read a piece at a time, whatever format it came in.
#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    /// First: every sheet's name and the rows it says it holds (its header included),
    /// for progress and a request's limit before any row is read.
    Sheets(Vec<(String, u32)>),
    /// A sheet begins: the rows and merged regions that follow are its own. Its name is
    /// as the file gives it (a CSV's: the file's name without extension).
    Sheet(String),
    /// The sheet's next rows, top down; a file may leave out rows with nothing in them.
    Rows(Vec<Row>),
    /// The sheet's merged regions as 0-based `[first row, first column, last row, last
    /// column]`.
    Merged(Vec<[u32; 4]>),
}

/// A column's letters: 0 → `A`, 27 → `AB`.
pub fn column_name(mut col: u32) -> String {
    let mut letters = Vec::new();
    loop {
        letters.push(b'A' + (col % 26) as u8);
        if col < 26 {
            break;
        }
        col = col / 26 - 1;
    }
    letters.reverse();
    String::from_utf8(letters).expect("ASCII letters")
}

/// A kind's sheet name: its Chinese label, with the characters Excel forbids in sheet
/// names replaced by their full-width forms, cut to Excel's 31 characters.
pub fn sheet_title(kind: &KindDef) -> String {
    kind.label_zh
        .chars()
        .map(|c| match c {
            '/' => '／',
            '\\' => '＼',
            '?' => '？',
            '*' => '＊',
            '[' => '［',
            ']' => '］',
            ':' => '：',
            other => other,
        })
        .take(31)
        .collect()
}

/// The kinds a sheet may hold: every kind people record, corrections included.
pub fn recordable(catalog: &Catalog) -> impl Iterator<Item = &KindDef> {
    catalog.kinds().filter(|k| !k.system)
}

/// Whether two names are the same, case and spaces around them aside.
pub fn same(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

/// The kind a sheet's name names: its sheet title, Chinese or English label, or name.
pub fn kind_of_sheet<'c>(catalog: &'c Catalog, name: &str) -> Option<&'c KindDef> {
    recordable(catalog).find(|k| {
        same(name, &k.name)
            || same(name, &k.label_zh)
            || same(name, &k.label_en)
            || same(name, &sheet_title(k))
    })
}

/// The headers a kind's sheet accepts, as the template writes them.
pub fn accepted_headers(kind: &KindDef) -> Vec<String> {
    let mut out: Vec<String> = match kind.occurs {
        events::catalog::Occurs::Range => vec![START_HEADERS[0].into(), END_HEADERS[0].into()],
        events::catalog::Occurs::Date => vec![DAY_HEADERS[0].into()],
    };
    out.extend(kind.fields.iter().map(|f| f.label_zh.clone()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_named_as_spreadsheets_name_them() {
        assert_eq!(column_name(0), "A");
        assert_eq!(column_name(25), "Z");
        assert_eq!(column_name(26), "AA");
        assert_eq!(column_name(27), "AB");
        assert_eq!(column_name(701), "ZZ");
        assert_eq!(column_name(702), "AAA");
    }

    #[test]
    fn sheet_titles_avoid_the_characters_excel_forbids() {
        let catalog = Catalog::embedded();
        let meeting = catalog.kind("meeting_held").unwrap();
        assert_eq!(sheet_title(meeting), "召开会议／组织活动");
        assert_eq!(
            kind_of_sheet(&catalog, "召开会议／组织活动").map(|k| k.name.as_str()),
            Some("meeting_held")
        );
        assert_eq!(
            kind_of_sheet(&catalog, "Training class held").map(|k| k.name.as_str()),
            Some("class_held")
        );
        assert!(kind_of_sheet(&catalog, "import_completed").is_none());
    }
}
