//! The error type of the `projections` crate.

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
