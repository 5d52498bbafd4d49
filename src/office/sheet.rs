//! A sheet as rows of cells, whatever file it came from, mapped onto the catalog: the
//! sheet's name to a kind, its header row to the kind's fields, each row to a draft
//! validated as the JSONL import validates it. Every refused cell is named as
//! `sheet!B12: header: reason`; nothing is written unless every row of every sheet is
//! valid, and then all of it is appended as one batch.
use std::{
    borrow::Cow,
    collections::{BTreeSet, HashMap},
    fmt,
    sync::Arc,
};

use chrono::{Datelike, NaiveDate};
use events::{
    catalog::{FieldDef, FieldType, KindDef},
    error::excerpt,
    Catalog, Draft, Hash, NewEvent,
};
use serde::Serialize;
use serde_json::{Map, Value};

use super::{ImportOptions, OfficeError};
use crate::{
    import::{self, Outcome, Problems, Progress},
    store::{ImportNote, Store, StoreError},
};

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

    fn is_empty(&self) -> bool {
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

/// One refused cell, header or sheet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CellError {
    /// Where, as a spreadsheet names it: `举办培训班!B12`, a row `举办培训班!12:12`, or
    /// the file's name for the file as a whole.
    pub at: String,
    /// The column's header as written in the file (or `sheet`, `header`, `file`).
    pub field: String,
    /// Why.
    pub reason: String,
}

impl fmt::Display for CellError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.at, self.field, self.reason)
    }
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
fn recordable(catalog: &Catalog) -> impl Iterator<Item = &KindDef> {
    catalog.kinds().filter(|k| !k.system)
}

fn same(a: &str, b: &str) -> bool {
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

/// What a column holds.
#[derive(Debug, Clone, Copy)]
enum Column<'k> {
    Day,
    Start,
    End,
    Field(&'k FieldDef),
}

/// The header text without the marks people add to required columns.
fn clean_header(text: &str) -> &str {
    let t = text.trim();
    let t = t
        .strip_suffix("（必填）")
        .or_else(|| t.strip_suffix("(必填)"))
        .unwrap_or(t)
        .trim_end();
    t.trim_end_matches(['*', '＊']).trim()
}

fn column_of<'k>(kind: &'k KindDef, header: &str) -> Option<Column<'k>> {
    let h = clean_header(header);
    let any = |list: &[&str]| list.iter().any(|a| same(a, h));
    if any(DAY_HEADERS) {
        return Some(Column::Day);
    }
    if any(START_HEADERS) {
        return Some(Column::Start);
    }
    if any(END_HEADERS) {
        return Some(Column::End);
    }
    kind.fields
        .iter()
        .find(|f| same(h, &f.label_zh) || same(h, &f.label_en) || same(h, &f.name))
        .map(Column::Field)
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

/// A sheet's header row, resolved.
struct Layout<'k> {
    kind: &'k KindDef,
    /// (column offset in the row, header text, what it holds).
    columns: Vec<(usize, String, Column<'k>)>,
}

impl Layout<'_> {
    /// The column and header of a validation error's field (`data.trainees`, `occurred`).
    fn locate(&self, field: &str) -> Option<(usize, &str)> {
        let wanted = |c: &Column| match (c, field.strip_prefix("data.")) {
            (Column::Field(f), Some(name)) => name.split('.').next() == Some(f.name.as_str()),
            (Column::Day | Column::Start, None) => field == "occurred",
            _ => false,
        };
        self.columns
            .iter()
            .find(|(_, _, c)| wanted(c))
            .map(|(i, h, _)| (*i, h.as_str()))
    }
}

/// Where things are in one sheet, for naming cells.
struct Place<'a> {
    /// The sheet's name as messages quote it.
    sheet: Cow<'a, str>,
}

impl<'a> Place<'a> {
    fn new(sheet: &'a str) -> Place<'a> {
        Place {
            sheet: excerpt(sheet),
        }
    }

    fn cell(&self, row: u32, col: usize) -> String {
        format!(
            "{}!{}{}",
            self.sheet,
            column_name(col as u32),
            u64::from(row) + 1
        )
    }

    fn row(&self, row: u32) -> String {
        let n = u64::from(row) + 1;
        format!("{}!{n}:{n}", self.sheet)
    }

    /// A cell's, row's or sheet's error; `field` is quoted, as it may be a header cell's
    /// text.
    fn error(&self, at: String, field: &str, reason: impl Into<String>) -> CellError {
        CellError {
            at,
            field: excerpt(field).into_owned(),
            reason: reason.into(),
        }
    }
}

fn text_of(cell: &Cell) -> String {
    match cell {
        Cell::Empty => String::new(),
        Cell::Text(s) => s.to_string(),
        Cell::Number(n) => number_text(*n),
        Cell::Bool(b) => b.to_string(),
        Cell::Date(d) => d.to_string(),
        Cell::Error(e) => e.clone(),
    }
}

fn number_text(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        n.to_string()
    }
}

/// Excel's day numbers (1900 system) as dates; the first day it can name here is 1900-03-01.
fn serial_date(n: f64) -> Option<NaiveDate> {
    if !(61.0..=73_415.0).contains(&n) {
        return None;
    }
    NaiveDate::from_ymd_opt(1899, 12, 30)?.checked_add_days(chrono::Days::new(n.floor() as u64))
}

/// `2023/6/28`, `2023.6.28`, `2023年6月28日` and `2023-06-28 00:00:00` as `2023-06-28`;
/// anything else as written, for validation to name.
fn normalise_date(text: &str) -> String {
    let t = text.trim();
    let b = t.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && digits(0..4)
        && digits(5..7)
        && digits(8..10)
    {
        // Already as dates are written here (or not a real day, for validation to name).
        return t.to_owned();
    }
    let t = t.split([' ', 'T']).next().unwrap_or(t);
    let unified: String = t
        .trim_end_matches('日')
        .chars()
        .map(|c| match c {
            '年' | '月' | '/' | '.' | '－' => '-',
            other => other,
        })
        .collect();
    let parts: Vec<&str> = unified.split('-').collect();
    if let [y, m, d] = parts[..] {
        if let (Ok(y), Ok(m), Ok(d)) = (y.parse::<i32>(), m.parse::<u32>(), d.parse::<u32>()) {
            if let Some(day) = NaiveDate::from_ymd_opt(y, m, d) {
                return format!("{:04}-{:02}-{:02}", day.year(), day.month(), day.day());
            }
        }
    }
    text.trim().to_owned()
}

/// A cell of a date column as `YYYY-MM-DD` (or a range `A..B` for the day column).
fn date_text(cell: &Cell, ranges: bool) -> Result<Option<String>, String> {
    match cell {
        c if c.is_empty() => Ok(None),
        Cell::Date(d) => Ok(Some(d.to_string())),
        Cell::Number(n) => Ok(Some(
            serial_date(*n).map_or_else(|| number_text(*n), |d| d.to_string()),
        )),
        Cell::Text(s) if ranges && s.contains(['.', '至', '~', '～']) => {
            let parts: Vec<&str> = s
                .split("..")
                .flat_map(|p| p.split(['至', '~', '～']))
                .collect();
            Ok(Some(
                parts
                    .iter()
                    .map(|p| normalise_date(p))
                    .collect::<Vec<_>>()
                    .join(".."),
            ))
        }
        Cell::Text(s) => Ok(Some(normalise_date(s))),
        Cell::Error(e) => Err(cell_error(e)),
        other => Ok(Some(text_of(other))),
    }
}

fn cell_error(e: &str) -> String {
    format!("the cell holds the error {e}; correct its formula or type the value")
}

/// A whole-number field's number cell as its value, without writing it out as text for
/// [`FieldDef::coerce`] to read back (the value is the same: see [`number_text`]).
fn whole_number(cell: &Cell, field: &FieldDef) -> Option<Value> {
    match (cell, field.ty) {
        (Cell::Number(n), FieldType::Integer) if n.fract() == 0.0 && (0.0..1e15).contains(n) => {
            Some(Value::from(*n as u64))
        }
        _ => None,
    }
}

/// A field's cell as the text [`FieldDef::coerce`] takes; `None` when it is empty.
fn field_text<'c>(cell: &'c Cell, field: &FieldDef) -> Result<Option<Cow<'c, str>>, String> {
    match (cell, field.ty) {
        (c, _) if c.is_empty() => Ok(None),
        (c, FieldType::Date) => Ok(date_text(c, false)?.map(Cow::Owned)),
        (Cell::Error(e), _) => Err(cell_error(e)),
        (Cell::Bool(b), _) => Ok(Some(Cow::Borrowed(if *b { "是" } else { "否" }))),
        (Cell::Text(s), _) => Ok(Some(Cow::Borrowed(s))),
        (c, _) => Ok(Some(Cow::Owned(text_of(c)))),
    }
}

/// One sheet as it is read: its layout once its header row came, and what is wrong so far.
struct SheetState<'k> {
    name: String,
    kind: Option<&'k KindDef>,
    /// The header row: the sheet's first row with anything in it.
    header: Option<Row>,
    /// The header's columns, when the header row is good.
    layout: Option<Layout<'k>>,
    /// The sheet as a whole refused: merged cells, or a sheet of no kind.
    whole: Problems<CellError>,
    /// Header cells refused, by column.
    columns: Vec<(usize, CellError)>,
    /// Columns that have values but no header.
    unheaded: BTreeSet<usize>,
    /// Required columns the header lacks.
    missing: Vec<CellError>,
    /// Cells and rows refused.
    rows: Problems<CellError>,
}

impl<'k> SheetState<'k> {
    fn new(catalog: &'k Catalog, name: String) -> Self {
        SheetState {
            kind: kind_of_sheet(catalog, &name),
            name,
            header: None,
            layout: None,
            whole: Problems::new(),
            columns: Vec::new(),
            unheaded: BTreeSet::new(),
            missing: Vec::new(),
            rows: Problems::new(),
        }
    }

    fn is_clean(&self) -> bool {
        self.whole.is_empty()
            && self.columns.is_empty()
            && self.unheaded.is_empty()
            && self.missing.is_empty()
            && self.rows.is_empty()
    }

    /// Reads the header row into the sheet's layout, refusing what it cannot map.
    fn header(&mut self, kind: &'k KindDef, header: Row) {
        let place = Place::new(&self.name);
        let mut columns: Vec<(usize, String, Column)> = Vec::new();
        for (i, cell) in header.cells.iter().enumerate() {
            let text = text_of(cell);
            if text.is_empty() {
                continue;
            }
            let at = place.cell(header.at, i);
            let Some(column) = column_of(kind, &text) else {
                let reason = format!("is not a column of {}; {}", kind.label_zh, accepted(kind));
                self.columns.push((i, place.error(at, &text, reason)));
                continue;
            };
            let clash = columns.iter().find(|(_, _, c)| match (c, &column) {
                (Column::Field(a), Column::Field(b)) => a.name == b.name,
                (a, b) => std::mem::discriminant(a) == std::mem::discriminant(b),
            });
            if let Some((j, other, _)) = clash {
                let reason = format!(
                    "repeats column {} ({}); keep one of them",
                    column_name(*j as u32),
                    excerpt(other)
                );
                self.columns.push((i, place.error(at, &text, reason)));
                continue;
            }
            columns.push((i, text, column));
        }
        let has = |f: &dyn Fn(&Column) -> bool| columns.iter().any(|(_, _, c)| f(c));
        let missing = "is required, but the sheet has no such column; add it";
        if kind.correction.is_none() && !has(&|c| matches!(c, Column::Day | Column::Start)) {
            let wanted = match kind.occurs {
                events::catalog::Occurs::Range => START_HEADERS[0],
                events::catalog::Occurs::Date => DAY_HEADERS[0],
            };
            self.missing
                .push(place.error(place.row(header.at), wanted, missing));
        }
        for f in kind.fields.iter().filter(|f| f.required) {
            if !has(&|c| matches!(c, Column::Field(g) if g.name == f.name)) {
                self.missing
                    .push(place.error(place.row(header.at), &f.label_zh, missing));
            }
        }
        if self.columns.is_empty() && self.missing.is_empty() {
            self.layout = Some(Layout { kind, columns });
        }
        self.header = Some(header);
    }

    /// Refuses the sheet's merged regions that reach the table.
    fn merged(&mut self, regions: &[[u32; 4]]) {
        let Some(header) = &self.header else { return };
        let place = Place::new(&self.name);
        for m in regions.iter().filter(|m| m[2] >= header.at) {
            let text = header
                .cells
                .get(m[1] as usize)
                .map(text_of)
                .filter(|h| !h.is_empty())
                .unwrap_or_else(|| "merged cells".into());
            self.whole.push(place.error(
                format!(
                    "{}!{}{}:{}{}",
                    place.sheet,
                    column_name(m[1]),
                    u64::from(m[0]) + 1,
                    column_name(m[3]),
                    u64::from(m[2]) + 1
                ),
                &text,
                "merged cells cannot be read row by row; unmerge them (取消合并单元格) and fill in every cell",
            ));
        }
    }

    /// Takes the sheet's errors in reading order: first what is wrong with the sheet
    /// itself (as a whole, its header cells by column, the columns it lacks), then its
    /// rows' (only when the sheet itself is good).
    fn take_errors(&mut self) -> (Problems<CellError>, Problems<CellError>) {
        let place = Place::new(&self.name);
        let mut columns = std::mem::take(&mut self.columns);
        if let (Some(kind), Some(header)) = (self.kind, &self.header) {
            for &i in &self.unheaded {
                let reason = format!("the column has values but no header; {}", accepted(kind));
                columns.push((i, place.error(place.cell(header.at, i), "header", reason)));
            }
        }
        self.unheaded.clear();
        columns.sort_by_key(|(i, _)| *i);
        let mut out = std::mem::take(&mut self.whole);
        out.extend(columns.into_iter().map(|(_, e)| e));
        out.extend(self.missing.drain(..));
        let mut rows = std::mem::take(&mut self.rows);
        if !out.is_empty() {
            rows = Problems::new();
        }
        (out, rows)
    }
}

/// What a kind's header row may hold, for messages.
fn accepted(kind: &KindDef) -> String {
    format!(
        "the headers {} accepts are: {} (or the fields' English labels or names)",
        kind.label_zh,
        accepted_headers(kind).join(", ")
    )
}

/// The most cells an import reads, the empty ones before a filled one in its row
/// included, and the most bytes of text in them, a text used by many cells counted each
/// time. Each cell is checked, so a file of a few kilobytes naming a long text in every
/// cell of a million rows, or a cell far to the right in each, would keep a thread busy
/// for minutes (issue 13); a register of a million rows of twenty cells is far below
/// both.
const MAX_CELLS: usize = 100_000_000;
const MAX_TEXT: usize = 1 << 30;

/// Reads a file's sheets into validated events, listing every refused cell.
struct Reader<'a> {
    catalog: &'a Catalog,
    /// Every sheet read so far; the last is the one being read.
    sheets: Vec<SheetState<'a>>,
    /// What is wrong with the sheets read to the end, as sheets (listed first)...
    errors: Problems<CellError>,
    /// ...and in their rows.
    row_errors: Problems<CellError>,
    /// For each event handed to the store: its sheet and row.
    origins: Vec<(usize, u32)>,
    /// Good events read, handed over or not.
    events: usize,
    /// The occurrences of each row's content so far, for stable ids.
    seen: HashMap<Hash, u32, foldhash::fast::RandomState>,
    /// Rows read below the headers of sheets that name a kind.
    done: usize,
    /// Cells and bytes of text read (see [`MAX_CELLS`]).
    cells: usize,
    text: usize,
}

impl<'a> Reader<'a> {
    fn is_clean(&self) -> bool {
        self.errors.is_empty()
            && self.row_errors.is_empty()
            && self.sheets.last().is_none_or(SheetState::is_clean)
    }

    /// Ends the sheet being read, keeping its errors.
    fn end_sheet(&mut self) {
        if let Some(last) = self.sheets.last_mut() {
            let (sheet, rows) = last.take_errors();
            self.errors.append(sheet);
            self.row_errors.append(rows);
        }
    }

    /// Every error, those of sheets first.
    fn take_errors(&mut self) -> Problems<CellError> {
        let mut all = std::mem::take(&mut self.errors);
        all.append(std::mem::take(&mut self.row_errors));
        all
    }

    /// Counts a row's cells and text; false when the file holds more than an import reads.
    fn within_limits(&mut self, row: &Row) -> bool {
        self.cells += row.cells.len();
        self.text += row
            .cells
            .iter()
            .map(|c| match c {
                Cell::Text(s) => s.len(),
                _ => 0,
            })
            .sum::<usize>();
        self.cells <= MAX_CELLS && self.text <= MAX_TEXT
    }

    /// Reads one row of the current sheet; returns its event and row when it is one and
    /// good.
    fn row(&mut self, row: Row) -> Option<(NewEvent, u32)> {
        let state = self.sheets.last_mut()?;
        let has_data = row.cells.iter().any(|c| !c.is_empty());
        let Some(kind) = state.kind else {
            if has_data && state.name != INSTRUCTIONS && state.whole.is_empty() {
                let names: Vec<String> = recordable(self.catalog).map(sheet_title).collect();
                let name = excerpt(&state.name);
                state.whole.push(CellError {
                    at: format!("{name}!A1"),
                    field: "sheet".into(),
                    reason: format!(
                        "'{name}' is not a kind of event; name each sheet after its kind: {} (or the kind's English label or name)",
                        names.join(", ")
                    ),
                });
            }
            return None;
        };
        let Some(header) = &state.header else {
            if has_data {
                state.header(kind, row);
            }
            return None;
        };
        self.done += 1;
        // Rows left empty (below the data, or between rows) are not events.
        if !has_data {
            return None;
        }
        for (i, c) in row.cells.iter().enumerate() {
            if !c.is_empty() && header.cells.get(i).is_none_or(Cell::is_empty) {
                state.unheaded.insert(i);
            }
        }
        let SheetState {
            name, layout, rows, ..
        } = state;
        let place = Place::new(name);
        let (event, occurred) = convert(self.catalog, &place, layout.as_ref()?, &row, rows)?;
        self.events += 1;
        // A refused file's events are never written, so they need no ids (and the table
        // of the ids made would grow with every good row of a refused file).
        if !self.is_clean() {
            return None;
        }
        let id = stable_id(
            &mut self.seen,
            event.kind(),
            occurred.as_deref(),
            event.data_json(),
        );
        Some((event.with_id(id), row.at))
    }

    /// Names the cells of the events the store refused.
    fn store_error(&self, e: StoreError, file: &str) -> OfficeError {
        let StoreError::Rejected(items) = e else {
            return OfficeError::Store(e);
        };
        let cells = items
            .into_iter()
            .map(|item| {
                let Some(&(s, r)) = self.origins.get(item.index) else {
                    return CellError {
                        at: file.to_owned(),
                        field: item.error.field,
                        reason: item.error.reason,
                    };
                };
                let state = &self.sheets[s];
                let place = Place::new(&state.name);
                match state
                    .layout
                    .as_ref()
                    .and_then(|l| l.locate(&item.error.field))
                {
                    Some((c, header)) => place.error(place.cell(r, c), header, item.error.reason),
                    None => place.error(place.row(r), &item.error.field, item.error.reason),
                }
            })
            .collect();
        OfficeError::Cells(cells)
    }
}

/// One row as a validated event (without its id) and the day or days it names as
/// written, or its cells' errors added to the sheet's.
fn convert(
    catalog: &Catalog,
    place: &Place,
    layout: &Layout,
    row: &Row,
    errors: &mut Problems<CellError>,
) -> Option<(NewEvent, Option<String>)> {
    let empty = Cell::Empty;
    let mut data = Map::new();
    let (mut day, mut start, mut end) = (None, None, None);
    let mut failed: Vec<usize> = Vec::new();
    for (i, header, column) in &layout.columns {
        let cell = row.cells.get(*i).unwrap_or(&empty);
        let value = match column {
            Column::Day => date_text(cell, true).map(|t| day = t),
            Column::Start => date_text(cell, false).map(|t| start = t),
            Column::End => date_text(cell, false).map(|t| end = t),
            Column::Field(f) => match whole_number(cell, f) {
                Some(v) => {
                    data.insert(f.name.clone(), v);
                    Ok(())
                }
                None => field_text(cell, f).and_then(|t| match t {
                    None => Ok(()),
                    Some(t) => f.coerce(&t).map(|v| {
                        data.insert(f.name.clone(), v);
                    }),
                }),
            },
        };
        if let Err(reason) = value {
            errors.push(place.error(place.cell(row.at, *i), header, reason));
            failed.push(*i);
        }
    }
    let occurred = match (day, start, end) {
        (Some(d), _, _) => Some(d),
        (None, Some(s), Some(e)) if s != e => Some(format!("{s}..{e}")),
        (None, s, _) => s,
    };
    let occurred_text = occurred.clone();
    let draft = Draft {
        kind: layout.kind.name.clone(),
        occurred,
        data: Value::Object(data),
        ..Draft::default()
    };
    match NewEvent::parse(catalog, draft) {
        Ok(ev) if failed.is_empty() => return Some((ev, occurred_text)),
        Ok(_) => {}
        Err(events::Error::Invalid(list)) => {
            for e in list {
                match layout.locate(&e.field) {
                    // A cell that could not be read is reported once, not again as missing.
                    Some((i, _)) if failed.contains(&i) => {}
                    Some((i, header)) => {
                        errors.push(place.error(place.cell(row.at, i), header, e.reason))
                    }
                    None => errors.push(place.error(place.row(row.at), &e.field, e.reason)),
                }
            }
        }
        Err(other) => errors.push(place.error(place.row(row.at), "row", other.to_string())),
    }
    None
}

/// An id made from the row's content and how many identical rows came before it, so
/// importing the same register again (or the register with rows added) writes only
/// what is new: the store answers an id it holds with the same content as existing.
///
/// The id is the hash of the content followed by that count. `seen` counts rows by the
/// hash a first such row takes (count 0), which names the content as well as the
/// content's own hash would: so most rows, the ones without a twin, take one hash.
fn stable_id(
    seen: &mut HashMap<Hash, u32, foldhash::fast::RandomState>,
    kind: &str,
    occurred: Option<&str>,
    data_json: &[u8],
) -> uuid::Uuid {
    let mut bytes = Vec::with_capacity(128);
    bytes.extend_from_slice(b"annals-sheet-row\0");
    bytes.extend_from_slice(kind.as_bytes());
    bytes.push(0);
    bytes.extend_from_slice(occurred.unwrap_or_default().as_bytes());
    bytes.push(0);
    bytes.extend_from_slice(data_json);
    let content = bytes.len();
    bytes.extend_from_slice(&0u32.to_be_bytes());
    let first = Hash::of(&bytes);
    let n = seen.entry(first).or_default();
    let digest = if *n == 0 {
        first.0
    } else {
        bytes.truncate(content);
        bytes.extend_from_slice(&n.to_be_bytes());
        Hash::of(&bytes).0
    };
    *n += 1;
    let mut custom = [0u8; 16];
    custom.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(custom).into_uuid()
}

/// Imports a file (`bytes`, for its hash) that `read` hands over a piece at a time (to a
/// function that says whether to go on), all or nothing: rows are checked as they are
/// read while the store's writer stages the good ones ([`import::stream`]); one
/// refused cell anywhere and nothing is written.
pub fn import(
    store: &Store,
    read: impl FnOnce(&mut dyn FnMut(Piece) -> bool) -> Result<(), OfficeError>,
    bytes: &[u8],
    options: ImportOptions,
    progress: Progress,
) -> Result<Outcome, OfficeError> {
    let catalog = store.catalog();
    let mut reader = Reader {
        catalog,
        sheets: Vec::new(),
        errors: Problems::new(),
        row_errors: Problems::new(),
        origins: Vec::new(),
        events: 0,
        seen: HashMap::default(),
        done: 0,
        cells: 0,
        text: 0,
    };
    let limit = options.max_events.unwrap_or(usize::MAX);
    let written = import::stream(store, options.author, options.dry_run, |feed| {
        let mut total = 0;
        read(&mut |piece| {
            match piece {
                // What the sheets say they hold, for progress only: a sheet may declare
                // rows that are merely formatted.
                Piece::Sheets(plan) => {
                    total = plan
                        .iter()
                        .filter(|(name, _)| kind_of_sheet(catalog, name).is_some())
                        .map(|(_, rows)| rows.saturating_sub(1) as usize)
                        .sum();
                }
                Piece::Sheet(name) => {
                    reader.end_sheet();
                    reader.sheets.push(SheetState::new(catalog, name));
                }
                Piece::Rows(rows) => {
                    for row in rows {
                        if !reader.within_limits(&row) {
                            feed.abandon();
                            return false;
                        }
                        let before = reader.done;
                        let event = reader.row(row);
                        if reader.done > before && reader.done.is_multiple_of(1000) {
                            progress(reader.done, total.max(reader.done));
                        }
                        if reader.events > limit {
                            feed.abandon();
                            break;
                        }
                        if !reader.is_clean() {
                            feed.abandon();
                        } else if let Some((event, at)) = event {
                            feed.push(event);
                            reader.origins.push((reader.sheets.len() - 1, at));
                        }
                    }
                }
                Piece::Merged(regions) => {
                    if let Some(state) = reader.sheets.last_mut() {
                        state.merged(&regions);
                    }
                }
            }
            // Past the limit the file is refused whatever else is in it: the rest is
            // not read.
            reader.events <= limit
        })?;
        reader.end_sheet();
        progress(reader.done, reader.done);
        if reader.cells > MAX_CELLS {
            return Err(OfficeError::OverLimit {
                part: "its sheets".into(),
                reason: format!(
                    "hold more than {MAX_CELLS} cells (the empty ones before a filled one \
                     in its row counted), more than an import reads"
                ),
            });
        }
        if reader.text > MAX_TEXT {
            return Err(OfficeError::OverLimit {
                part: "its sheets".into(),
                reason: format!(
                    "hold more than {} MiB of text in their cells (a text used in many \
                     cells counted each time), more than an import reads",
                    MAX_TEXT >> 20
                ),
            });
        }
        if reader.events > limit {
            return Err(OfficeError::TooMany {
                rows: reader.events,
                limit,
            });
        }
        if reader.events == 0 && reader.is_clean() {
            reader.errors.push(CellError {
                at: options.name.to_owned(),
                field: "file".into(),
                reason: "holds no events: fill in rows below the header of a kind's sheet".into(),
            });
        }
        if !reader.is_clean() {
            return Err(OfficeError::Cells(reader.take_errors()));
        }
        debug_assert_eq!(reader.origins.len(), feed.count(), "an origin per event");
        Ok(ImportNote {
            file_hash: Hash::of(bytes),
            file_name: options.name.to_owned(),
            lines: feed.count(),
        })
    })?;
    written.map_err(|e| reader.store_error(e, options.name))
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
    fn dates_are_read_in_the_ways_offices_write_them() {
        for text in [
            "2023-06-28",
            "2023/6/28",
            "2023.6.28",
            "2023年6月28日",
            "2023-06-28 00:00:00",
        ] {
            assert_eq!(normalise_date(text), "2023-06-28", "{text}");
        }
        assert_eq!(normalise_date("下周一"), "下周一");
        assert_eq!(serial_date(45105.0), NaiveDate::from_ymd_opt(2023, 6, 28));
        assert_eq!(serial_date(12.0), None);
    }

    /// A whole number read straight off its cell is the value its text would give.
    #[test]
    fn whole_numbers_read_as_their_text_would() {
        let catalog = Catalog::embedded();
        let trainees = catalog
            .kind("class_held")
            .and_then(|k| k.field("trainees"))
            .expect("class_held has trainees");
        let mut read_straight = 0;
        for n in [
            0.0,
            -0.0,
            3.0,
            40.0,
            1e14,
            999_999_999_999_999.0,
            1e15,
            -1.0,
            2.5,
            f64::NAN,
        ] {
            let cell = Cell::Number(n);
            let as_text = field_text(&cell, trainees)
                .unwrap()
                .map(|t| trainees.coerce(&t));
            if let Some(v) = whole_number(&cell, trainees) {
                assert_eq!(Some(Ok(v)), as_text, "{n}");
                read_straight += 1;
            }
        }
        assert_eq!(read_straight, 6);
    }

    /// Row ids are how a register imported again writes only what is new: the way they
    /// are made must never change, or every earlier import would be written twice. (The
    /// expected ids were computed apart from this code, in Python, from the recipe in
    /// `stable_id`.)
    #[test]
    fn a_rows_id_is_made_from_its_content_as_it_always_was() {
        let mut seen = HashMap::default();
        let data = br#"{"class_id":"2023-ZT-01","trainees":40}"#;
        let first = stable_id(
            &mut seen,
            "class_held",
            Some("2023-06-26..2023-06-30"),
            data,
        );
        let again = stable_id(
            &mut seen,
            "class_held",
            Some("2023-06-26..2023-06-30"),
            data,
        );
        let third = stable_id(
            &mut seen,
            "class_held",
            Some("2023-06-26..2023-06-30"),
            data,
        );
        assert_eq!(first.to_string(), "c2deb8a4-81ee-81af-8a7b-079ec3903056");
        assert_eq!(again.to_string(), "ef31c61c-43e3-87d0-a247-8712dc8ecf8a");
        assert_eq!(third.to_string(), "fac61b11-5d9e-8f15-8530-47143da9c571");
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
