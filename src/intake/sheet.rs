//! The sheets of a workbook or a CSV file imported: each sheet's name mapped to a kind,
//! its header row to the kind's fields, each row to an event validated as every way in
//! validates. Every refused cell is named as `sheet!B12: header: reason`; nothing is
//! written unless every row of every sheet is valid, and then all of it is appended as
//! one batch, streamed while the file is read.
use std::collections::HashMap;

use events::{error::excerpt, Catalog, Hash, NewEvent, Reason};

use super::{stream, At, ImportOptions, IntakeError, Outcome, Problem, Problems, Progress};
use crate::{
    office::{
        sheet::{kind_of_sheet, recordable, sheet_title, Cell, Row, INSTRUCTIONS},
        OfficeError, Words,
    },
    store::{ImportNote, Store, StoreError},
};

mod cells;
mod layout;

pub use crate::office::sheet::Piece;
use cells::{convert, stable_id, text_of};
use layout::{Place, SheetState};

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
    errors: Problems,
    /// ...and in their rows.
    row_errors: Problems,
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
    fn take_errors(&mut self) -> Problems {
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
                state.whole.push(Problem::cell(
                    format!("{name}!A1"),
                    "sheet",
                    Reason::NotAKindSheet {
                        name: name.clone().into_owned(),
                        sheets: names,
                    },
                ));
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
    fn store_error(&self, e: StoreError, file: &str) -> IntakeError {
        let StoreError::Rejected(items) = e else {
            return IntakeError::Store(e);
        };
        let cells = items
            .into_iter()
            .map(|item| {
                let Some(&(s, r)) = self.origins.get(item.index) else {
                    return Problem::of(At::Cell(file.to_owned()), item.error);
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
        IntakeError::Refused(cells)
    }
}

/// Imports a file (`bytes`, for its hash) that `read` hands over a piece at a time (to a
/// function that says whether to go on), all or nothing: rows are checked as they are
/// read while the store's writer stages the good ones ([`stream`]); one
/// refused cell anywhere and nothing is written.
pub fn import(
    store: &Store,
    read: impl FnOnce(&mut dyn FnMut(Piece) -> bool) -> Result<(), OfficeError>,
    bytes: &[u8],
    options: ImportOptions,
    progress: Progress,
) -> Result<Outcome, IntakeError> {
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
    let written = stream(store, options.author, options.dry_run, |feed| {
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
            return Err(IntakeError::File(OfficeError::OverLimit {
                part: "its sheets".into(),
                reason: Words::new(
                    format!(
                        "（各工作表）的单元格超过 {MAX_CELLS} 个（同一行中填写的单元格之前的空单元格\
                         也计算在内），超出一次导入读取的上限"
                    ),
                    format!(
                        "hold more than {MAX_CELLS} cells (the empty ones before a filled one \
                         in its row counted), more than an import reads"
                    ),
                ),
            }));
        }
        if reader.text > MAX_TEXT {
            return Err(IntakeError::File(OfficeError::OverLimit {
                part: "its sheets".into(),
                reason: Words::new(
                    format!(
                        "（各工作表）单元格中的文字超过 {} MiB（同一文字用于多个单元格时每次都计算），\
                         超出一次导入读取的上限",
                        MAX_TEXT >> 20
                    ),
                    format!(
                        "hold more than {} MiB of text in their cells (a text used in many \
                         cells counted each time), more than an import reads",
                        MAX_TEXT >> 20
                    ),
                ),
            }));
        }
        if reader.events > limit {
            return Err(IntakeError::TooMany {
                rows: reader.events,
                limit,
            });
        }
        if reader.events == 0 && reader.is_clean() {
            reader.errors.push(Problem::new(
                At::Cell(options.name.to_owned()),
                "file",
                Reason::NoRows,
            ));
        }
        if !reader.is_clean() {
            return Err(IntakeError::Refused(reader.take_errors()));
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
