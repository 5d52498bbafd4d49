//! Office files: registers kept in Excel are read here (and imported through
//! [`crate::intake`]); the report goes out as a Word document and the figures as an
//! Excel workbook.
//!
//! # Layout
//! - [`sheet`]: a sheet as rows of cells, whatever file it came from, and how its names
//!   map onto the catalog (sheet to kind, header to field).
//! - [`xlsx`]: reading a workbook (calamine), with merged cells, formulas and
//!   password-protected files handled.
//! - [`template`]: the empty workbook to fill in, one sheet per kind.
//! - [`workbook`]: the metrics, progress and timelines as a workbook.
//! - [`docx`]: the report as a Word document in the layout of Chinese official reports.
use events::error::excerpt;
/// A file's problem in both languages (`events::Words`), as every office module writes it.
pub use events::Words;

pub mod docx;
pub mod sheet;
pub mod template;
pub mod workbook;
pub mod xlsx;

/// The media type of an xlsx workbook.
pub const XLSX_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
/// The media type of a Word document.
pub const DOCX_TYPE: &str =
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document";

/// The first bytes of a zip (xlsx) and of an OLE container (xls, or an encrypted xlsx).
pub(crate) const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
pub(crate) const CFB_MAGIC: &[u8] = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1";

/// Everything reading or writing an office file can refuse or fail at.
#[derive(Debug, thiserror::Error)]
pub enum OfficeError {
    /// The bytes are not a file of the format they were sent as (not a workbook, not
    /// UTF-8 text, an old `.xls`…). Handling: show the message ([`OfficeError::text`]);
    /// it says what to save the file as.
    #[error("{}", .0.en)]
    Unreadable(Words),
    /// The workbook is encrypted with a password. Handling: ask the user to remove the
    /// password in Excel or WPS and send the file again.
    #[error(
        "the workbook is password-protected (encrypted), so it cannot be read; open it in \
         Excel or WPS, remove the password (文件 → 信息 → 保护工作簿 → 用密码进行加密, \
         clear it), save it and import it again"
    )]
    Encrypted,
    /// The file holds more than an import reads: a workbook's part unpacks to more than
    /// the limit or would take more memory to read than a file may (a zip bomb, or a
    /// file made to exhaust the server), or its sheets hold more cells or text than an
    /// import checks. Handling: show the message; nothing was read past what it names.
    #[error(
        "the file cannot be read safely: {} {}; nothing was imported. A register \
         saved by Excel or WPS is far smaller: open it there, save it again (or split it) \
         and import that",
        excerpt(.part), .reason.en
    )]
    OverLimit {
        /// The part, as the zip names it (or the sheets).
        part: String,
        /// What is over which limit.
        reason: Words,
    },
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

impl OfficeError {
    /// The message in Chinese or English, for the person who sent the file.
    pub fn text(&self, en: bool) -> String {
        match self {
            OfficeError::Unreadable(words) if en => words.en.clone(),
            OfficeError::Unreadable(words) => words.zh.clone(),
            OfficeError::OverLimit { part, reason } if !en => format!(
                "文件无法安全读取：{} {}，未导入任何内容。Excel 或 WPS 保存的登记表要小得多：\
                 请在其中打开、重新保存（或拆分）后再导入",
                excerpt(part),
                reason.zh
            ),
            OfficeError::Encrypted if !en => "工作簿设有密码（已加密），无法读取：请在 Excel 或 WPS \
                 中打开，去掉密码（文件 → 信息 → 保护工作簿 → 用密码进行加密，清空），保存后重新导入"
                .to_owned(),
            other => other.to_string(),
        }
    }
}
