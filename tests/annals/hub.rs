//! The hub (issue 16): schools push to a hub on a throw-away PostgreSQL (`pg`), which
//! verifies every chain, keeps forks in quarantine, signs receipts and shows every
//! school's figures side by side. Run with `cargo test --test annals hub::`.
mod app;
mod cli;
mod crash;
mod figures;
mod forks;
mod forward;
mod pg;
mod push;
