//! The hub: a city's or a province's schools side by side, on PostgreSQL (issue 16).
//!
//! Each school keeps its own log; it pushes what follows the hub's copy of its head (or
//! ferries the same as a bundle file), the hub re-verifies every hash and link with the
//! `events` crate's own code, keeps the envelopes exactly as hashed, and answers with a
//! receipt signed by its Ed25519 key. Figures are the `projections` fold over each
//! school's events read back from PostgreSQL. The hub never touches a school's store:
//! the school side reads its log through the store's public API only.
//!
//! # Layout
//! - [`protocol`]: what crosses the wire (head, piece, answer) and the bundle file.
//! - [`receipt`]: the signed receipt and the hub's key.
//! - [`schema`]: the tables, created or migrated by `annals hub init`.
//! - [`key_file`]: the signing key in a file of its own, out of the database.
//! - [`db`]: connecting (a libpq string or a `postgres://` URL) and a pool.
//! - [`schools`]: schools, readers and their tokens.
//! - [`ingest`]: one piece checked and stored in one transaction; forks quarantined.
//! - [`figures`]: each school's fold from PostgreSQL, progress side by side, reports.
//! - [`http`]: the hub's server: the push routes, the read API and the Chinese page.
//! - [`forward`]: a city's hub handing its schools' logs on to the province's.
//! - [`forwarded`]: the city's receipts as the province checks and keeps them.
//! - [`push`]: the school's side: push a store to a hub, write and read bundles.
use events::Hash;

pub mod db;
pub mod figures;
pub mod forward;
pub mod forwarded;
pub mod http;
pub mod ingest;
pub mod key_file;
pub mod protocol;
pub mod push;
pub mod receipt;
pub mod schema;
pub mod schools;

/// Everything the hub's library can fail with.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    /// PostgreSQL refused or the connection failed: check the database and retry.
    #[error("the hub's database failed: {0}")]
    Database(#[from] tokio_postgres::Error),
    /// No connection could be had from the pool: check the database is up.
    #[error("no connection to the hub's database: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    /// The database has no hub schema, or a newer one: run `annals hub init`.
    #[error("{0}")]
    Schema(String),
    /// No school has that id at this hub: add it with `annals hub school add`.
    #[error("the hub has no school '{0}'")]
    UnknownSchool(String),
    /// The id is taken: choose another, or leave the school as it is.
    #[error("the hub already has '{0}'")]
    Exists(String),
    /// An id, name or argument is not acceptable; the message says which and why.
    #[error("{field}: {reason}")]
    Argument {
        /// What was given.
        field: &'static str,
        /// Why it is refused.
        reason: String,
    },
    /// The piece starts after the hub's head: ask for the head again and send from it.
    #[error("school {school}: the piece starts at seq {first} but the hub holds only up to seq {head_seq}")]
    Gap {
        /// The school.
        school: String,
        /// The hub's head for it.
        head_seq: u64,
        /// Where the piece started.
        first: u64,
    },
    /// The school's log and the hub's copy differ at `seq`: the sent events are kept in
    /// quarantine and shown; someone must find out why (a restore from an old backup).
    #[error("school {school} seq {seq}: FORK: the hub holds {held} but was sent {sent}; kept in quarantine")]
    Fork {
        /// The school.
        school: String,
        /// The first seq that differs.
        seq: u64,
        /// The hash the hub holds there.
        held: Hash,
        /// The hash sent.
        sent: Hash,
    },
    /// An event does not verify (its content does not match its hash, or a link is
    /// broken): nothing of the piece is stored; the school must run `annals verify`.
    #[error("school {school} seq {seq}: {reason}")]
    Invalid {
        /// The school.
        school: String,
        /// The first bad seq.
        seq: u64,
        /// Why.
        reason: String,
    },
    /// The hub's signing key is missing, damaged or not this hub's: give the right
    /// `--key-file` (or restore it from a backup).
    #[error("the hub's key: {0}")]
    Key(String),
}

/// What a school's id may be: a short ASCII name that is safe in a URL and a file name.
pub fn check_id(id: &str) -> Result<(), HubError> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    if ok {
        Ok(())
    } else {
        Err(HubError::Argument {
            field: "id",
            reason: format!("'{id}' is not a school id: 1–64 letters, digits, '-', '_' or '.'"),
        })
    }
}
