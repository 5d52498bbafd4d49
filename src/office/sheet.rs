//! A sheet as rows of cells, whatever file it came from, mapped onto the catalog: the
//! sheet's name to a kind, its header row to the kind's fields, each row to a draft
//! validated as the JSONL import validates it. Every refused cell is named as
//! `sheet!B12: header: reason`; nothing is written unless every row of every sheet is
//! valid, and then all of it is appended as one batch.
use std::{collections::HashMap, fmt};

use chrono::{Datelike, NaiveDate};
use events::{
    catalog::{FieldDef, FieldType, KindDef},
    Catalog, Draft, Hash, NewEvent,
};
use serde::Serialize;
use serde_json::{Map, Value};

use super::{ImportOptions, OfficeError};
use crate::{
    import::{self, Outcome, Progress, MAX_LISTED_ERRORS},
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
    /// Nothing.
    Empty,
    /// Text as typed.
    Text(String),
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
    fn is_empty(&self) -> bool {
        match self {
            Cell::Empty => true,
            Cell::Text(s) => s.trim().is_empty(),
            _ => false,
        }
    }
}

/// One sheet of a file.
#[derive(Debug, Clone, Default)]
pub struct Sheet {
    /// Its name as the file gives it (a CSV's: the file's name without extension).
    pub name: String,
    /// The 0-based (row, column) of the first cell of `rows`: the header row's first cell.
    pub origin: (u32, u32),
    /// The rows from the header down, each as its cells from `origin`'s column.
    pub rows: Vec<Vec<Cell>>,
    /// Merged regions as 0-based `[first row, first column, last row, last column]`.
    pub merged: Vec<[u32; 4]>,
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

/// The first [`MAX_LISTED_ERRORS`] errors, one a line, and how many more there are.
pub fn list(errors: &[CellError]) -> String {
    let mut out: Vec<String> = errors
        .iter()
        .take(MAX_LISTED_ERRORS)
        .map(ToString::to_string)
        .collect();
    if errors.len() > MAX_LISTED_ERRORS {
        out.push(format!("… and {} more", errors.len() - MAX_LISTED_ERRORS));
    }
    out.join("\n")
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
    sheet: &'a Sheet,
}

impl Place<'_> {
    fn cell(&self, row: usize, col: usize) -> String {
        format!(
            "{}!{}{}",
            self.sheet.name,
            column_name(self.sheet.origin.1 + col as u32),
            self.sheet.origin.0 as usize + row + 1
        )
    }

    fn row(&self, row: usize) -> String {
        let n = self.sheet.origin.0 as usize + row + 1;
        format!("{}!{n}:{n}", self.sheet.name)
    }

    fn error(&self, at: String, field: &str, reason: impl Into<String>) -> CellError {
        CellError {
            at,
            field: field.to_owned(),
            reason: reason.into(),
        }
    }
}

fn has_data(sheet: &Sheet) -> bool {
    sheet.rows.iter().flatten().any(|c| !c.is_empty())
}

fn text_of(cell: &Cell) -> String {
    match cell {
        Cell::Empty => String::new(),
        Cell::Text(s) => s.trim().to_owned(),
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
        Cell::Text(s) if ranges => {
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

/// A field's cell as the text [`FieldDef::coerce`] takes; `None` when it is empty.
fn field_text(cell: &Cell, field: &FieldDef) -> Result<Option<String>, String> {
    match (cell, field.ty) {
        (c, _) if c.is_empty() => Ok(None),
        (c, FieldType::Date) => date_text(c, false),
        (Cell::Error(e), _) => Err(cell_error(e)),
        (Cell::Bool(b), _) => Ok(Some(if *b { "是" } else { "否" }.to_owned())),
        (c, _) => Ok(Some(text_of(c))),
    }
}

/// Reads every sheet into validated events, or lists every refused cell.
struct Reader<'a> {
    catalog: &'a Catalog,
    errors: Vec<CellError>,
    events: Vec<NewEvent>,
    /// For each event: the sheet it came from and its row in `rows`.
    origins: Vec<(usize, usize)>,
    /// The occurrences of each row's content so far, for stable ids.
    seen: HashMap<Hash, u32>,
}

impl<'a> Reader<'a> {
    fn layout(&mut self, sheet: &'a Sheet, kind: &'a KindDef) -> Option<Layout<'a>> {
        let place = Place { sheet };
        let before = self.errors.len();
        for m in &sheet.merged {
            let within = |r: u32, c: u32| r >= sheet.origin.0 && c >= sheet.origin.1;
            if !within(m[2], m[3]) {
                continue;
            }
            let header = sheet
                .rows
                .first()
                .and_then(|h| h.get(m[1].saturating_sub(sheet.origin.1) as usize))
                .map(text_of)
                .filter(|h| !h.is_empty())
                .unwrap_or_else(|| "merged cells".into());
            self.errors.push(place.error(
                format!(
                    "{}!{}{}:{}{}",
                    sheet.name,
                    column_name(m[1]),
                    m[0] + 1,
                    column_name(m[3]),
                    m[2] + 1
                ),
                &header,
                "merged cells cannot be read row by row; unmerge them (取消合并单元格) and fill in every cell",
            ));
        }
        let header = sheet.rows.first()?;
        let accepted = || {
            format!(
                "the headers {} accepts are: {} (or the fields' English labels or names)",
                kind.label_zh,
                accepted_headers(kind).join(", ")
            )
        };
        let mut columns: Vec<(usize, String, Column)> = Vec::new();
        for (i, cell) in header.iter().enumerate() {
            let text = text_of(cell);
            if text.is_empty() {
                if sheet
                    .rows
                    .iter()
                    .skip(1)
                    .any(|r| r.get(i).is_some_and(|c| !c.is_empty()))
                {
                    self.errors.push(place.error(
                        place.cell(0, i),
                        "header",
                        format!("the column has values but no header; {}", accepted()),
                    ));
                }
                continue;
            }
            let Some(column) = column_of(kind, &text) else {
                self.errors.push(place.error(
                    place.cell(0, i),
                    &text,
                    format!("is not a column of {}; {}", kind.label_zh, accepted()),
                ));
                continue;
            };
            let clash = columns.iter().find(|(_, _, c)| match (c, &column) {
                (Column::Field(a), Column::Field(b)) => a.name == b.name,
                (a, b) => std::mem::discriminant(a) == std::mem::discriminant(b),
            });
            if let Some((j, other, _)) = clash {
                self.errors.push(place.error(
                    place.cell(0, i),
                    &text,
                    format!(
                        "repeats column {} ({other}); keep one of them",
                        column_name(sheet.origin.1 + *j as u32)
                    ),
                ));
                continue;
            }
            columns.push((i, text, column));
        }
        let has = |f: &dyn Fn(&Column) -> bool| columns.iter().any(|(_, _, c)| f(c));
        if kind.correction.is_none() && !has(&|c| matches!(c, Column::Day | Column::Start)) {
            let wanted = match kind.occurs {
                events::catalog::Occurs::Range => START_HEADERS[0],
                events::catalog::Occurs::Date => DAY_HEADERS[0],
            };
            self.errors.push(place.error(
                place.row(0),
                wanted,
                "is required, but the sheet has no such column; add it",
            ));
        }
        for f in kind.fields.iter().filter(|f| f.required) {
            if !has(&|c| matches!(c, Column::Field(g) if g.name == f.name)) {
                self.errors.push(place.error(
                    place.row(0),
                    &f.label_zh,
                    "is required, but the sheet has no such column; add it",
                ));
            }
        }
        (self.errors.len() == before).then_some(Layout { kind, columns })
    }

    fn row(&mut self, sheet_index: usize, sheet: &Sheet, layout: &Layout, r: usize) {
        let place = Place { sheet };
        let cells = &sheet.rows[r];
        let empty = Cell::Empty;
        let mut data = Map::new();
        let (mut day, mut start, mut end) = (None, None, None);
        let mut failed: Vec<usize> = Vec::new();
        for (i, header, column) in &layout.columns {
            let cell = cells.get(*i).unwrap_or(&empty);
            let value = match column {
                Column::Day => date_text(cell, true).map(|t| day = t),
                Column::Start => date_text(cell, false).map(|t| start = t),
                Column::End => date_text(cell, false).map(|t| end = t),
                Column::Field(f) => field_text(cell, f).and_then(|t| match t {
                    None => Ok(()),
                    Some(t) => f.coerce(&t).map(|v| {
                        data.insert(f.name.clone(), v);
                    }),
                }),
            };
            if let Err(reason) = value {
                self.errors
                    .push(place.error(place.cell(r, *i), header, reason));
                failed.push(*i);
            }
        }
        let occurred = match (day, start, end) {
            (Some(d), _, _) => Some(d),
            (None, Some(s), Some(e)) if s != e => Some(format!("{s}..{e}")),
            (None, s, _) => s,
        };
        let data = Value::Object(data);
        let id = self.stable_id(&layout.kind.name, occurred.as_deref(), &data);
        let draft = Draft {
            id: Some(id.to_string()),
            kind: layout.kind.name.clone(),
            occurred,
            data,
            ..Draft::default()
        };
        match NewEvent::parse(self.catalog, draft) {
            Ok(ev) if failed.is_empty() => {
                self.events.push(ev);
                self.origins.push((sheet_index, r));
            }
            Ok(_) => {}
            Err(events::Error::Invalid(list)) => {
                for e in list {
                    match layout.locate(&e.field) {
                        // A cell that could not be read is reported once, not again as missing.
                        Some((i, _)) if failed.contains(&i) => {}
                        Some((i, header)) => {
                            self.errors
                                .push(place.error(place.cell(r, i), header, e.reason))
                        }
                        None => self
                            .errors
                            .push(place.error(place.row(r), &e.field, e.reason)),
                    }
                }
            }
            Err(other) => self
                .errors
                .push(place.error(place.row(r), "row", other.to_string())),
        }
    }

    /// An id made from the row's content and how many identical rows came before it, so
    /// importing the same register again (or the register with rows added) writes only
    /// what is new: the store answers an id it holds with the same content as existing.
    fn stable_id(&mut self, kind: &str, occurred: Option<&str>, data: &Value) -> uuid::Uuid {
        let mut bytes = Vec::with_capacity(128);
        bytes.extend_from_slice(b"annals-sheet-row\0");
        bytes.extend_from_slice(kind.as_bytes());
        bytes.push(0);
        bytes.extend_from_slice(occurred.unwrap_or_default().as_bytes());
        bytes.push(0);
        events::canonical::write(data, &mut bytes);
        let content = Hash::of(&bytes);
        let n = self.seen.entry(content).or_default();
        bytes.extend_from_slice(&n.to_be_bytes());
        *n += 1;
        let digest = Hash::of(&bytes).0;
        let mut custom = [0u8; 16];
        custom.copy_from_slice(&digest[..16]);
        uuid::Builder::from_custom_bytes(custom).into_uuid()
    }
}

/// Imports the sheets of one file (`bytes`, for its hash) into the store, all or nothing.
pub fn import(
    store: &Store,
    sheets: &[Sheet],
    bytes: &[u8],
    options: ImportOptions,
    progress: Progress,
) -> Result<Outcome, OfficeError> {
    let catalog = store.catalog();
    let mut reader = Reader {
        catalog,
        errors: Vec::new(),
        events: Vec::new(),
        origins: Vec::new(),
        seen: HashMap::new(),
    };
    let mut layouts = Vec::with_capacity(sheets.len());
    for sheet in sheets {
        let kind = kind_of_sheet(catalog, &sheet.name);
        let layout = match kind {
            Some(kind) => reader.layout(sheet, kind),
            None if sheet.name == INSTRUCTIONS || !has_data(sheet) => None,
            None => {
                let names: Vec<String> = recordable(catalog).map(sheet_title).collect();
                reader.errors.push(CellError {
                    at: format!("{}!A1", sheet.name),
                    field: "sheet".into(),
                    reason: format!(
                        "'{}' is not a kind of event; name each sheet after its kind: {} (or the kind's English label or name)",
                        sheet.name,
                        names.join(", ")
                    ),
                });
                None
            }
        };
        layouts.push(layout);
    }
    let total: usize = sheets
        .iter()
        .zip(&layouts)
        .filter(|(_, l)| l.is_some())
        .map(|(s, _)| s.rows.len().saturating_sub(1))
        .sum();
    if let Some(limit) = options.max_events {
        if total > limit {
            return Err(OfficeError::TooMany { rows: total, limit });
        }
    }
    let mut done = 0;
    for (i, (sheet, layout)) in sheets.iter().zip(&layouts).enumerate() {
        let Some(layout) = layout else { continue };
        for r in 1..sheet.rows.len() {
            done += 1;
            if done % 1000 == 0 {
                progress(done, total);
            }
            // Rows left empty (below the data, or between rows) are not events.
            if sheet.rows[r].iter().all(Cell::is_empty) {
                continue;
            }
            reader.row(i, sheet, layout, r);
        }
    }
    progress(total, total);
    if reader.events.is_empty() && reader.errors.is_empty() {
        reader.errors.push(CellError {
            at: options.name.to_owned(),
            field: "file".into(),
            reason: "holds no events: fill in rows below the header of a kind's sheet".into(),
        });
    }
    if !reader.errors.is_empty() {
        return Err(OfficeError::Cells(reader.errors));
    }
    let note = ImportNote {
        file_hash: Hash::of(bytes),
        file_name: options.name.to_owned(),
        lines: reader.events.len(),
    };
    let origins = std::mem::take(&mut reader.origins);
    import::append_events(store, reader.events, note, options.author, options.dry_run).map_err(
        |e| match e {
            StoreError::Rejected(items) => OfficeError::Cells(
                items
                    .into_iter()
                    .map(|item| {
                        let Some(&(s, r)) = origins.get(item.index) else {
                            return CellError {
                                at: options.name.to_owned(),
                                field: item.error.field,
                                reason: item.error.reason,
                            };
                        };
                        let place = Place { sheet: &sheets[s] };
                        let located = layouts[s]
                            .as_ref()
                            .and_then(|l| l.locate(&item.error.field));
                        match located {
                            Some((c, header)) => {
                                place.error(place.cell(r, c), header, item.error.reason)
                            }
                            None => place.error(place.row(r), &item.error.field, item.error.reason),
                        }
                    })
                    .collect(),
            ),
            other => OfficeError::Store(other),
        },
    )
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
