//! Why the store's own bytes do not read back as it wrote them: the reasons behind
//! [`StoreError::Damaged`](super::StoreError::Damaged), one variant per kind of damage.
use thiserror::Error;

/// What is wrong with the bytes the store found. Handling: as for
/// [`StoreError::Damaged`](super::StoreError::Damaged): restore the store from a backup
/// or an export, then run `annals verify`.
#[derive(Debug, Error)]
pub enum Damage {
    /// A record ends before its fields do.
    #[error("the record is cut short")]
    CutShort,
    /// A text field (named) is not UTF-8.
    #[error("the {0} is not UTF-8")]
    NotUtf8(&'static str),
    /// An event's data is not JSON.
    #[error("the data is not JSON: {0}")]
    NotJson(serde_json::Error),
    /// A stored day number no calendar day has.
    #[error("day {0} is out of range")]
    Day(i32),
    /// A stored time (named) past what a timestamp holds.
    #[error("{0} is out of range")]
    Time(&'static str),
    /// The stored dates are not a span (the events crate's words).
    #[error("{0}")]
    Dates(String),
    /// sled failed to read or write.
    #[error("{0}")]
    Sled(#[from] sled::Error),
    /// A file beside sled failed to read or write.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The trees, the committed head, the note beside them or an old log file disagree
    /// with one another; the words say how.
    #[error("{0}")]
    Inconsistent(String),
}

impl Damage {
    /// Damage the words describe.
    pub fn inconsistent(words: impl Into<String>) -> Self {
        Damage::Inconsistent(words.into())
    }
}
