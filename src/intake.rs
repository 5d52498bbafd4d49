//! The only way in: outside input (the command line's `record`, the page's form, `POST
//! /api/events`, a JSONL file, a workbook, a CSV sheet) → validated events → one
//! append. Front ends extract their input, make one call here and render what comes
//! back: an outcome, or [`Problem`]s that say where, which field and why.
//!
//! # Layout
//! - [`record`]: one submission (fields as typed or as JSON), or the API's batch.
//! - [`import`]: a file of any [`Format`], all or nothing, through its source:
//!   [`jsonl`], [`csv`] and [`workbook`] (each one file), the last two mapped onto the
//!   catalog by [`sheet`]; every source ends in [`stream`]'s one streamed append.
//! - [`problem`]: the one located problem type and its renderings.
use crate::{
    office::OfficeError,
    store::{Store, StoreError},
};

pub mod csv;
mod format;
pub mod jsonl;
pub mod problem;
pub mod record;
mod row_id;
pub mod sheet;
mod stream;
pub mod workbook;

pub use format::{Format, ACCEPTED_TYPES};
pub use problem::{At, Problem, ProblemJson, Problems, MAX_LISTED_ERRORS};
pub use record::{append, record, record_batch, validate, Fields, Recorder, Submission};
pub use stream::{stream, Feed, Mode, Outcome, Progress, Trust};

/// Why nothing was recorded or imported.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// Fields, lines or cells were refused, by validation or by the store's rules;
    /// nothing was written. Handling: show every listed problem to the person who
    /// submitted it, in their language ([`Problem::text`], [`Problem::json`]).
    #[error("{} problem(s) found; nothing was imported:\n{}", .0.total(), .0)]
    Refused(Problems),
    /// The file cannot be read as its format, or holds more than an import reads.
    /// Handling: show the message; it says what to do.
    #[error(transparent)]
    File(#[from] OfficeError),
    /// More events than one request may append. Handling: split the file, or import it
    /// with the command line.
    #[error("the file holds {rows} events; one request may append at most {limit}")]
    TooMany {
        /// Events in the file.
        rows: usize,
        /// The deployment's limit.
        limit: usize,
    },
    /// The store failed, or the head moved (`expected_seq`). Handling: as for the store
    /// error.
    #[error(transparent)]
    Store(StoreError),
}

impl IntakeError {
    /// The store's error, its refusals located by `at` (given each refused event's
    /// place in what was handed to the store).
    pub fn located(e: StoreError, at: impl Fn(usize) -> At) -> IntakeError {
        match e {
            StoreError::Rejected(items) => IntakeError::Refused(
                items
                    .into_iter()
                    .map(|i| Problem::of(at(i.index), i.error))
                    .collect(),
            ),
            other => IntakeError::Store(other),
        }
    }
}

impl From<StoreError> for IntakeError {
    fn from(e: StoreError) -> Self {
        IntakeError::located(e, At::Item)
    }
}

/// How an import is run.
#[derive(Debug, Clone, Copy)]
pub struct ImportOptions<'a> {
    /// The file's name: recorded in `import_completed`; a CSV's name names its kind.
    pub name: &'a str,
    /// Who imports; `recorded_by` of every event.
    pub author: &'a str,
    /// What the file may say of who recorded its lines, when (JSONL only; a sheet's
    /// rows are always recorded by `author`, now).
    pub trust: Trust,
    /// Check against the store without writing.
    pub dry_run: bool,
    /// The most events the file may hold (a request's batch limit), if any.
    pub max_events: Option<usize>,
}

/// Imports a file of any format, all or nothing, choosing the format by name and content.
pub fn import_file(
    store: &Store,
    bytes: &[u8],
    options: ImportOptions,
    progress: Progress,
) -> Result<Outcome, IntakeError> {
    import(
        store,
        Format::of_file(options.name, bytes),
        bytes,
        options,
        progress,
    )
}

/// Imports a file of a known format, all or nothing.
#[tracing::instrument(skip_all, fields(format = ?format, file = options.name, bytes = bytes.len()))]
pub fn import(
    store: &Store,
    format: Format,
    bytes: &[u8],
    options: ImportOptions,
    progress: Progress,
) -> Result<Outcome, IntakeError> {
    match format {
        Format::Jsonl => {
            if let Some(limit) = options.max_events {
                let rows = bytes
                    .split(|b| *b == b'\n')
                    .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
                    .count();
                if rows > limit {
                    return Err(IntakeError::TooMany { rows, limit });
                }
            }
            jsonl::import(
                store,
                bytes,
                options.name,
                options.author,
                options.trust,
                options.dry_run,
                progress,
            )
        }
        Format::Csv => {
            let name = csv::sheet_name(options.name);
            let read = |send: &mut dyn FnMut(sheet::Piece) -> bool| csv::read(bytes, &name, send);
            sheet::import(store, read, bytes, options, progress)
        }
        Format::Xlsx => {
            let read = |send: &mut dyn FnMut(sheet::Piece) -> bool| workbook::read(bytes, send);
            sheet::import(store, read, bytes, options, progress)
        }
    }
}
