//! Office files: registers kept in Excel (or saved as CSV) come in through the same
//! validation and the same all-or-nothing append as the JSONL import; the report goes
//! out as a Word document and the figures as an Excel workbook.
//!
//! # Layout
//! - [`sheet`]: a sheet as rows of cells, whatever file it came from, mapped onto the
//!   catalog (sheet to kind, header to field, cell to value) and imported.
//! - [`xlsx`]: reading a workbook (calamine), with merged cells, formulas and
//!   password-protected files handled.
//! - [`csv`]: reading one sheet saved as CSV.
//! - [`template`]: the empty workbook to fill in, one sheet per kind.
//! - [`workbook`]: the metrics, progress and timelines as a workbook.
//! - [`docx`]: the report as a Word document in the layout of Chinese official reports.
use std::path::Path;

use events::error::excerpt;

use crate::{
    import::{self, ImportError, Outcome, Problems, Progress},
    store::{Store, StoreError},
};

pub mod csv;
pub mod docx;
pub mod sheet;
pub mod template;
pub mod workbook;
pub mod xlsx;

pub use sheet::CellError;

/// The media type of an xlsx workbook.
pub const XLSX_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
/// The media type of a Word document.
pub const DOCX_TYPE: &str =
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document";

/// Everything reading or writing an office file can refuse or fail at.
#[derive(Debug, thiserror::Error)]
pub enum OfficeError {
    /// The bytes are not a file of the format they were sent as (not a workbook, not
    /// UTF-8 text, an old `.xls`…). Handling: show the message; it says what to save
    /// the file as.
    #[error("{0}")]
    Unreadable(String),
    /// The workbook is encrypted with a password. Handling: ask the user to remove the
    /// password in Excel or WPS and send the file again.
    #[error(
        "the workbook is password-protected (encrypted), so it cannot be read; open it in \
         Excel or WPS, remove the password (文件 → 信息 → 保护工作簿 → 用密码进行加密, \
         clear it), save it and import it again"
    )]
    Encrypted,
    /// Cells, headers or sheets were refused; nothing was imported. Handling: show
    /// every listed cell to the person who filled in the file.
    #[error("{} problem(s) found; nothing was imported:\n{}", .0.total(), .0)]
    Cells(Problems<CellError>),
    /// The file holds more than an import reads: a workbook's part unpacks to more than
    /// the limit or would take more memory to read than a file may (a zip bomb, or a
    /// file made to exhaust the server), or its sheets hold more cells or text than an
    /// import checks. Handling: show the message; nothing was read past what it names.
    #[error(
        "the file cannot be read safely: {} {reason}; nothing was imported. A register \
         saved by Excel or WPS is far smaller: open it there, save it again (or split it) \
         and import that",
        excerpt(.part)
    )]
    OverLimit {
        /// The part, as the zip names it (or the sheets).
        part: String,
        /// What is over which limit.
        reason: String,
    },
    /// More rows than one request may append. Handling: split the file, or import it
    /// with the command line.
    #[error("the file holds {rows} events; one request may append at most {limit}")]
    TooMany {
        /// Events in the file.
        rows: usize,
        /// The deployment's limit.
        limit: usize,
    },
    /// The JSONL import refused the file. Handling: as for [`ImportError`].
    #[error(transparent)]
    Jsonl(#[from] ImportError),
    /// The store failed. Handling: as for the store error.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A workbook or document could not be written: a bug, not the caller's fault.
    /// Handling: report it.
    #[error("could not write the {what}: {reason}")]
    Write {
        /// What was being written.
        what: &'static str,
        /// The writer's words.
        reason: String,
    },
}

/// The file formats an import reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One event (or exported envelope) per line.
    Jsonl,
    /// An Excel workbook, one sheet per kind.
    Xlsx,
    /// One sheet as comma-separated text; the file's name names the kind.
    Csv,
}

const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
const CFB_MAGIC: &[u8] = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1";

impl Format {
    /// The format of a file from its name and, where the name does not say, its first
    /// bytes. A zip or OLE container is always read as a workbook, whatever its name,
    /// so a renamed workbook is not read as text.
    pub fn of_file(name: &str, bytes: &[u8]) -> Format {
        if bytes.starts_with(ZIP_MAGIC) || bytes.starts_with(CFB_MAGIC) {
            return Format::Xlsx;
        }
        let ext = Path::new(name)
            .extension()
            .map(|e| e.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        match ext.as_str() {
            "xlsx" | "xlsm" | "xls" | "ods" => Format::Xlsx,
            "csv" => Format::Csv,
            "jsonl" | "ndjson" | "json" => Format::Jsonl,
            _ => {
                let first = bytes
                    .strip_prefix(b"\xEF\xBB\xBF")
                    .unwrap_or(bytes)
                    .iter()
                    .find(|b| !b.is_ascii_whitespace());
                if first == Some(&b'{') {
                    Format::Jsonl
                } else {
                    Format::Csv
                }
            }
        }
    }

    /// The format a request's `Content-Type` names, if it names one. Browsers send
    /// `application/vnd.ms-excel` for CSV files too, so under that type the bytes decide.
    pub fn of_media_type(content_type: &str, bytes: &[u8]) -> Option<Format> {
        let essence = content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        match essence.as_str() {
            XLSX_TYPE | "application/vnd.ms-excel.sheet.macroenabled.12" => Some(Format::Xlsx),
            "application/vnd.ms-excel" => Some(
                if bytes.starts_with(ZIP_MAGIC) || bytes.starts_with(CFB_MAGIC) {
                    Format::Xlsx
                } else {
                    Format::Csv
                },
            ),
            "text/csv" => Some(Format::Csv),
            "application/jsonl"
            | "application/x-ndjson"
            | "application/x-jsonlines"
            | "application/json-seq" => Some(Format::Jsonl),
            _ => None,
        }
    }
}

/// The media types [`Format::of_media_type`] accepts, for error messages.
pub const ACCEPTED_TYPES: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet (xlsx), text/csv (csv) or application/x-ndjson (jsonl)";

/// How an import is run.
#[derive(Debug, Clone, Copy)]
pub struct ImportOptions<'a> {
    /// The file's name: recorded in `import_completed`; a CSV's name names its kind.
    pub name: &'a str,
    /// Who imports; `recorded_by` of every event.
    pub author: &'a str,
    /// What the file may say of who recorded its lines, when (JSONL only; a sheet's
    /// rows are always recorded by `author`, now).
    pub trust: import::Trust,
    /// Check without writing.
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
) -> Result<Outcome, OfficeError> {
    import_as(
        store,
        Format::of_file(options.name, bytes),
        bytes,
        options,
        progress,
    )
}

/// Imports a file of a known format, all or nothing.
#[tracing::instrument(skip_all, fields(format = ?format, file = options.name, bytes = bytes.len()))]
pub fn import_as(
    store: &Store,
    format: Format,
    bytes: &[u8],
    options: ImportOptions,
    progress: Progress,
) -> Result<Outcome, OfficeError> {
    match format {
        Format::Jsonl => {
            if let Some(limit) = options.max_events {
                let rows = bytes
                    .split(|b| *b == b'\n')
                    .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
                    .count();
                if rows > limit {
                    return Err(OfficeError::TooMany { rows, limit });
                }
            }
            Ok(import::import(
                store,
                bytes,
                options.name,
                options.author,
                options.trust,
                options.dry_run,
                progress,
            )?)
        }
        Format::Csv => {
            let name = csv::sheet_name(options.name);
            let read = |send: &mut dyn FnMut(sheet::Piece) -> bool| csv::read(bytes, &name, send);
            sheet::import(store, read, bytes, options, progress)
        }
        Format::Xlsx => {
            // The workbook is unpacked and parsed on a thread of its own while its rows
            // are checked on this one (and the store's writer stages them on a third).
            let read = |send: &mut dyn FnMut(sheet::Piece) -> bool| {
                std::thread::scope(|scope| {
                    let (tx, rx) = std::sync::mpsc::sync_channel(4);
                    let reader = std::thread::Builder::new()
                        .name("annals-xlsx".into())
                        .spawn_scoped(scope, move || {
                            xlsx::read(bytes, &mut |p| tx.send(p).is_ok())
                        })
                        .expect("a thread to read the workbook on");
                    for piece in &rx {
                        if !send(piece) {
                            break;
                        }
                    }
                    // Hanging up stops the reader at its next piece.
                    drop(rx);
                    reader.join().expect("the workbook's reader does not panic")
                })
            };
            sheet::import(store, read, bytes, options, progress)
        }
    }
}
