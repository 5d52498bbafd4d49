//! Which source reads a file: its format, from its name and first bytes or from a
//! request's `Content-Type`.
use std::path::Path;

use crate::office::{CFB_MAGIC, XLSX_TYPE, ZIP_MAGIC};

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
