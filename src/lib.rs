//! Annals: an append-only activity log for a county Party School, kept as a hash-chained
//! log of events in sled, with every figure rebuilt from the log on demand.
//!
//! # Layout
//! - [`store`]: the store in sled: atomic, durable, idempotent appends through one
//!   writer thread (group commit), streaming reads, and `verify`.
//! - [`intake`]: the only way in: a submission, a batch or a file (JSONL, workbook,
//!   CSV) validated, appended, and its problems located in one shape.
//! - [`office`]: workbooks read for intake; the report as Word and the figures as
//!   Excel out.
//! - [`config`]: loading the catalog, metrics and report templates (embedded, or a
//!   deployment's own folders).
//! - [`views`]: the log folded into the read models the CLI and server print.
//! - [`http`]: the server: JSON API, server-sent events, the progress page.
//! - [`hub`]: a city's or province's hub on PostgreSQL, and the school's push to it.
//! - [`cli`]: the `annals` command line; `main.rs` only parses arguments and calls it.
//!
//! The domain itself lives in the member crates: `events` (envelope, catalog,
//! validation, hashing) and `projections` (folds, metrics, reports). Neither does I/O.
pub mod cli;
pub mod config;
pub mod http;
pub mod hub;
pub mod intake;
pub mod office;
pub mod private;
pub mod store;
pub mod views;

/// The example dataset: the school's first half of 2023, loaded into an empty store by
/// the default command so a new user sees real figures at once.
pub const EXAMPLE_DATASET: &str = include_str!("../examples/school-2023h1.jsonl");
/// The file name the example dataset is imported under.
pub const EXAMPLE_NAME: &str = "examples/school-2023h1.jsonl";
