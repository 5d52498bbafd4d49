//! A sheet's header row read into its columns, and what is wrong with a sheet as a
//! whole (no kind, headers that map to nothing, columns it lacks, merged cells).
use std::{borrow::Cow, collections::BTreeSet};

use events::{
    catalog::{FieldDef, KindDef},
    error::excerpt,
    Catalog, Reason,
};

use super::{text_of, Problem, Problems};
use crate::office::sheet::{
    accepted_headers, column_name, kind_of_sheet, same, Row, DAY_HEADERS, END_HEADERS,
    START_HEADERS,
};

/// What a column holds.
#[derive(Debug, Clone, Copy)]
pub(super) enum Column<'k> {
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

pub(super) fn column_of<'k>(kind: &'k KindDef, header: &str) -> Option<Column<'k>> {
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

/// A sheet's header row, resolved.
pub(super) struct Layout<'k> {
    pub(super) kind: &'k KindDef,
    /// (column offset in the row, header text, what it holds).
    pub(super) columns: Vec<(usize, String, Column<'k>)>,
}

impl Layout<'_> {
    /// The column and header of a validation error's field (`data.trainees`, `occurred`).
    pub(super) fn locate(&self, field: &str) -> Option<(usize, &str)> {
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
pub(super) struct Place<'a> {
    /// The sheet's name as messages quote it.
    pub(super) sheet: Cow<'a, str>,
}

impl<'a> Place<'a> {
    pub(super) fn new(sheet: &'a str) -> Place<'a> {
        Place {
            sheet: excerpt(sheet),
        }
    }

    pub(super) fn cell(&self, row: u32, col: usize) -> String {
        format!(
            "{}!{}{}",
            self.sheet,
            column_name(col as u32),
            u64::from(row) + 1
        )
    }

    pub(super) fn row(&self, row: u32) -> String {
        let n = u64::from(row) + 1;
        format!("{}!{n}:{n}", self.sheet)
    }

    /// A cell's, row's or sheet's error; `field` is quoted, as it may be a header cell's
    /// text.
    pub(super) fn error(&self, at: String, field: &str, reason: Reason) -> Problem {
        Problem::cell(at, field, reason)
    }
}

/// One sheet as it is read: its layout once its header row came, and what is wrong so far.
pub(super) struct SheetState<'k> {
    pub(super) name: String,
    pub(super) kind: Option<&'k KindDef>,
    /// The header row: the sheet's first row with anything in it.
    pub(super) header: Option<Row>,
    /// The header's columns, when the header row is good.
    pub(super) layout: Option<Layout<'k>>,
    /// The sheet as a whole refused: merged cells, or a sheet of no kind.
    pub(super) whole: Problems,
    /// Header cells refused, by column.
    pub(super) columns: Vec<(usize, Problem)>,
    /// Columns that have values but no header.
    pub(super) unheaded: BTreeSet<usize>,
    /// Required columns the header lacks.
    pub(super) missing: Vec<Problem>,
    /// Cells and rows refused.
    pub(super) rows: Problems,
}

impl<'k> SheetState<'k> {
    pub(super) fn new(catalog: &'k Catalog, name: String) -> Self {
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

    pub(super) fn is_clean(&self) -> bool {
        self.whole.is_empty()
            && self.columns.is_empty()
            && self.unheaded.is_empty()
            && self.missing.is_empty()
            && self.rows.is_empty()
    }

    /// Reads the header row into the sheet's layout, refusing what it cannot map.
    pub(super) fn header(&mut self, kind: &'k KindDef, header: Row) {
        let place = Place::new(&self.name);
        let mut columns: Vec<(usize, String, Column)> = Vec::new();
        for (i, cell) in header.cells.iter().enumerate() {
            let text = text_of(cell);
            if text.is_empty() {
                continue;
            }
            let at = place.cell(header.at, i);
            let Some(column) = column_of(kind, &text) else {
                let reason = Reason::NotAColumn {
                    kind: kind.label_zh.clone(),
                    headers: accepted_headers(kind),
                };
                self.columns.push((i, place.error(at, &text, reason)));
                continue;
            };
            let clash = columns.iter().find(|(_, _, c)| match (c, &column) {
                (Column::Field(a), Column::Field(b)) => a.name == b.name,
                (a, b) => std::mem::discriminant(a) == std::mem::discriminant(b),
            });
            if let Some((j, other, _)) = clash {
                let reason = Reason::RepeatsColumn {
                    column: column_name(*j as u32),
                    header: excerpt(other).into_owned(),
                };
                self.columns.push((i, place.error(at, &text, reason)));
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
            self.missing
                .push(place.error(place.row(header.at), wanted, Reason::MissingColumn));
        }
        for f in kind.fields.iter().filter(|f| f.required) {
            if !has(&|c| matches!(c, Column::Field(g) if g.name == f.name)) {
                self.missing.push(place.error(
                    place.row(header.at),
                    &f.label_zh,
                    Reason::MissingColumn,
                ));
            }
        }
        if self.columns.is_empty() && self.missing.is_empty() {
            self.layout = Some(Layout { kind, columns });
        }
        self.header = Some(header);
    }

    /// Refuses the sheet's merged regions that reach the table.
    pub(super) fn merged(&mut self, regions: &[[u32; 4]]) {
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
                Reason::Merged,
            ));
        }
    }

    /// Takes the sheet's errors in reading order: first what is wrong with the sheet
    /// itself (as a whole, its header cells by column, the columns it lacks), then its
    /// rows' (only when the sheet itself is good).
    pub(super) fn take_errors(&mut self) -> (Problems, Problems) {
        let place = Place::new(&self.name);
        let mut columns = std::mem::take(&mut self.columns);
        if let (Some(kind), Some(header)) = (self.kind, &self.header) {
            for &i in &self.unheaded {
                let reason = Reason::Unheaded {
                    kind: kind.label_zh.clone(),
                    headers: accepted_headers(kind),
                };
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
