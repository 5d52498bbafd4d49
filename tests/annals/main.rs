//! The one integration-test binary (see `../shared/STYLE.md`), its modules by
//! capability: the store, intake (every way in), the projections, the server, office
//! files, the command line, trust (attacks, crashes, fuzzing), the hub; `bench` is the
//! benchmark's smoke test and `helpers` what they share.
//!
//! Run one capability with `cargo test --test annals store::`; set `TEST_LOG=1` to see
//! the store's tracing output. The crash tests print their statistics with `--nocapture`.
mod bench;
mod cli;
mod helpers;
mod hub;
mod intake;
mod office;
pub(crate) mod projections;
mod server;
mod store;
mod trust;
