//! Folds over the Annals log: the figures a school reports, for any date, on both time
//! axes (when things occurred, and when the log learned of them), with corrections
//! honoured. No I/O: events come in as envelopes, definitions as strings.
//!
//! # Layout
//! - [`facts`]: the fold: every event with the history of its corrections, kept
//!   compact, and its snapshot as bytes.
//! - [`metric`]: metric definitions (data files) and their evaluation.
//! - [`period`]: periods (`2023H1`, `2023Q2`, `2023-06`, `FROM..TO`) and query times.
//! - [`progress`]: targets, their revisions, and progress against the year.
//! - [`pacing`]: every target judged together against the calendar, with a tolerance.
//! - [`timeline`]: metrics as series, and the chronological event timeline.
//! - [`people`]: each teacher's record and the "三个一" rule.
//! - [`report`]: the half-year report, rendered from a template.
//! - [`same`]: the live event a new one repeats, by its kind's identity fields.
//!
//! ```
//! use projections::{facts::Facts, metric::Metrics, period::Query};
//! let metrics = Metrics::embedded(&events::Catalog::embedded()).unwrap();
//! let facts = Facts::default();
//! let q = Query::parse(Some("2023H1"), Some("2023-06-30"), None, chrono::Utc::now(), events::occurred::DEFAULT_UTC_OFFSET_SECONDS).unwrap();
//! assert_eq!(metrics.get("main_classes").unwrap().value(&facts, &q), 0);
//! ```
#![deny(missing_docs)]

pub mod error;
pub mod facts;
pub mod metric;
pub mod pacing;
pub mod people;
pub mod period;
pub mod progress;
pub mod report;
pub mod same;
pub mod timeline;

pub use error::{Error, SnapshotError};

/// The metric files embedded at build time, so adding a metric is adding a file.
static EMBEDDED_METRICS: include_dir::Dir<'static> =
    include_dir::include_dir!("$CARGO_MANIFEST_DIR/metrics");
/// The report templates embedded at build time.
static EMBEDDED_TEMPLATES: include_dir::Dir<'static> =
    include_dir::include_dir!("$CARGO_MANIFEST_DIR/templates");

#[cfg(test)]
mod tests;
