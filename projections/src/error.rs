//! The error types of the `projections` crate: queries and definitions, and reading a
//! snapshot of the facts.

/// Everything a projection query or definition can be refused for.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A metric definition is wrong. Handling: fix the named file; nothing was loaded.
    #[error("metric file {file}, metric '{metric}': {reason}")]
    Definition {
        /// The file's name.
        file: String,
        /// The metric's name (or `-` for the file as a whole).
        metric: String,
        /// What is wrong.
        reason: String,
    },
    /// No metric has this name. Handling: pick one of the listed names.
    #[error("unknown metric '{name}'; known metrics: {known}")]
    UnknownMetric {
        /// The name asked for.
        name: String,
        /// The names that exist.
        known: String,
    },
    /// A query argument cannot be understood. Handling: show it to the caller, who
    /// supplied it.
    #[error("{arg}: {reason}")]
    Argument {
        /// The argument's name (`period`, `on`, `known_at`, `by`, …).
        arg: &'static str,
        /// Why it was refused, with the accepted forms.
        reason: String,
    },
    /// A report template failed to render. Handling: fix the template file.
    #[error("report template {name}: {reason}")]
    Template {
        /// The template's name.
        name: String,
        /// minijinja's words.
        reason: String,
    },
}

/// Why bytes could not be read as a snapshot of the facts
/// ([`crate::facts::Facts::from_snapshot`]). Handling: ignore the snapshot and fold the
/// log from scratch (then write a new one); the log itself is not affected.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// The bytes do not start as a snapshot does.
    #[error("not a snapshot of the facts")]
    NotASnapshot,
    /// Written in another version of the format (by another build).
    #[error("snapshot format version {found}; this build reads version {expected}")]
    Version {
        /// The version the bytes say.
        found: u32,
        /// The version this build writes and reads.
        expected: u32,
    },
    /// Bytes are missing or changed: the checksum does not match.
    #[error("the snapshot is cut short or damaged (its checksum does not match)")]
    Damaged,
    /// The checksum matches but the content does not hold together.
    #[error("the snapshot is inconsistent: {0}")]
    Invalid(&'static str),
}
