//! The Annals event model: the envelope every activity travels in, the catalog of
//! activity kinds, validation against it, canonical encoding and the hash chain.
//!
//! This crate does no I/O: catalog files come in as strings, events as values.
//!
//! # Layout
//! - [`catalog`]: the kinds an institution records, loaded from TOML data files
//!   (the defaults are embedded; a deployment may bring its own folder).
//! - [`occurred`]: the date, or date range, on which a thing happened.
//! - [`draft`]: what a caller submits, and [`draft::NewEvent`], the validated form.
//! - [`envelope`]: the stored event with its sequence number, times and hash link.
//! - [`canonical`]: the byte encoding that hashes are computed over.
//! - [`text`]: the canonical form of what people type (names, titles), applied where
//!   data is validated.
//! - [`error`]: the one error type of this crate.
//! - [`message`]: why something is refused, typed, with its words in Chinese and English.
//!
//! ```
//! use events::{catalog::Catalog, draft::{Draft, NewEvent}};
//! let catalog = Catalog::embedded();
//! let draft: Draft = serde_json::from_str(r#"{"kind":"meeting_held","occurred":"2023-03-01",
//!     "data":{"type":"school_committee"}}"#).unwrap();
//! let event = NewEvent::parse(&catalog, draft).unwrap();
//! assert_eq!(event.kind(), "meeting_held");
//! ```
#![deny(missing_docs)]

pub mod canonical;
pub mod catalog;
pub mod draft;
pub mod envelope;
pub mod error;
pub mod message;
pub mod occurred;
pub mod text;

pub use catalog::Catalog;
pub use draft::{Draft, NewEvent};
pub use envelope::{Envelope, Hash, Unsealed, GENESIS};
pub use error::{Error, FieldError};
pub use message::{Reason, Words};
pub use occurred::Occurred;
