//! Integration tests of the store, the JSONL import and export, and the `annals` command
//! line: one test binary (see `../shared/STYLE.md`), its modules by area.
//!
//! Run one area with `cargo test --test annals store::`; set `TEST_LOG=1` to see the
//! store's tracing output. The crash test prints its statistics with `--nocapture`.
mod backup;
mod bench;
mod browser;
mod cli;
mod crash;
mod english;
mod faults;
mod figures;
mod helpers;
mod hostile;
mod hub;
mod import;
mod intake;
mod office;
mod pacing;
mod server;
mod snapshot;
mod store;
mod tables;
mod targets;
mod trust;
