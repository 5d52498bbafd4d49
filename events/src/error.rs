//! The error type of the `events` crate, and how its messages quote values.
use std::{borrow::Cow, fmt};

use crate::message::Reason;

/// The most characters of a value an error message quotes.
pub const EXCERPT_CHARS: usize = 40;

/// A value as an error message quotes it: its first [`EXCERPT_CHARS`] characters, and
/// `…` when there is more. A spreadsheet cell may hold 30 000 characters, and a
/// message quoting it whole for each cell it fills took gigabytes (issue 13).
///
/// ```
/// use events::error::excerpt;
/// assert_eq!(excerpt("2023-06-28"), "2023-06-28");
/// assert_eq!(excerpt(&"x".repeat(41)), format!("{}…", "x".repeat(40)));
/// ```
pub fn excerpt(value: &str) -> Cow<'_, str> {
    cut(value, EXCERPT_CHARS)
}

/// `text` cut after `chars` characters, `…` marking the cut.
pub fn cut(text: &str, chars: usize) -> Cow<'_, str> {
    match text.char_indices().nth(chars) {
        None => Cow::Borrowed(text),
        Some((at, _)) => Cow::Owned(format!("{}…", &text[..at])),
    }
}

/// One failing field of an event, named so a person can fix it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldError {
    /// The field's name (`occurred`, `kind`, `data.trainees`, …).
    pub field: String,
    /// Why the value was refused; its words come from the message catalog.
    pub reason: Reason,
}

impl FieldError {
    /// A field error.
    pub fn new(field: impl Into<String>, reason: Reason) -> Self {
        Self {
            field: field.into(),
            reason,
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

/// Everything that can go wrong in the event model.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A catalog file is malformed. Handling: fix the named file; nothing was loaded.
    #[error("catalog file {file}: {reason}")]
    Catalog {
        /// The file's name.
        file: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The event does not satisfy its kind. Handling: show every field error to the
    /// person who submitted it; nothing was written.
    #[error("{}", join(.0))]
    Invalid(Vec<FieldError>),
    /// A stored or exported event does not hash to what it claims, or does not link to
    /// its predecessor. Handling: treat the log or file as tampered or damaged.
    #[error("seq {seq}: {reason}")]
    Chain {
        /// The first sequence number that fails.
        seq: u64,
        /// What does not match.
        reason: String,
    },
}

fn join(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl From<FieldError> for Error {
    fn from(e: FieldError) -> Self {
        Error::Invalid(vec![e])
    }
}
