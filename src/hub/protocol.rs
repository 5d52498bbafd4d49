//! What crosses between a school and its hub, over HTTP as JSON or as a bundle file:
//! the head as the hub knows it, a piece of envelopes following it with the school's
//! seal, and the answer with its receipt.
//!
//! A bundle is the same as a push written down: one header line naming the school, the
//! seal it was made since and the school's seal now, then one exported envelope per line.
use std::io::{BufRead, Write};

use events::{Envelope, Hash};
use serde::{Deserialize, Serialize};

use super::receipt::Receipt;
use crate::store::Seal;

/// The routes a school uses, under the hub's address.
pub mod routes {
    /// Which school the token pushes for (`GET`).
    pub const WHOAMI: &str = "/hub/api/whoami";
    /// The hub's public key, hex (`GET`).
    pub const KEY: &str = "/hub/api/key";

    /// The head the hub holds for a school (`GET`).
    pub fn head(school: &str) -> String {
        format!("/hub/api/schools/{school}/head")
    }

    /// Where a school's pieces go (`POST`).
    pub fn push(school: &str) -> String {
        format!("/hub/api/schools/{school}/push")
    }
}

/// A school's head as the hub holds it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct HeadAnswer {
    /// The school.
    pub school: String,
    /// The last seq the hub holds (0 for none).
    pub head_seq: u64,
    /// Its hash (the genesis hash for none).
    pub head_hash: Hash,
    /// The last seq of the receipts forwarded to this hub for the school by the hub
    /// below it (0 for none): a city sends the ones after it.
    #[serde(default)]
    pub forwarded_seq: u64,
}

/// Who a token pushes for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WhoAmI {
    /// The school.
    pub school: String,
    /// Its name at the hub.
    pub name: String,
}

/// Envelopes that follow the hub's head, in seq order, with the school's seal now.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Piece {
    /// The envelopes exactly as the school's log holds them.
    pub events: Vec<Envelope>,
    /// The school's head when the piece was sent (`ANNALS-SEAL …`).
    #[serde(default, with = "seal_text")]
    pub seal: Option<Seal>,
    /// When a city forwards: the receipts it signed for the school, each for a seq the
    /// receiving hub holds once this piece is stored.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub receipts: Vec<Receipt>,
}

/// What the hub did with a piece.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PushAnswer {
    /// The school.
    pub school: String,
    /// How many events were new; 0 for a repeat, which wrote nothing.
    pub added: u64,
    /// The hub's head for the school now.
    pub head_seq: u64,
    /// Its hash.
    pub head_hash: Hash,
    /// The signed receipt for that head (none while the hub holds nothing).
    pub receipt: Option<Receipt>,
}

/// Seals travel as their one-line text, as people paste them.
mod seal_text {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::store::Seal;

    pub fn serialize<S: Serializer>(seal: &Option<Seal>, s: S) -> Result<S::Ok, S::Error> {
        match seal {
            Some(seal) => s.collect_str(seal),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Seal>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|t| t.parse().map_err(serde::de::Error::custom))
            .transpose()
    }
}

/// The first line of a bundle file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BundleHeader {
    /// Always 1: the format's version.
    pub annals_bundle: u32,
    /// The school's id at the hub.
    pub school: String,
    /// The head the bundle follows: what the hub acknowledged last.
    pub since_seq: u64,
    /// Its hash.
    pub since_hash: Hash,
    /// The school's seal when the bundle was made.
    #[serde(with = "seal_text")]
    pub seal: Option<Seal>,
}

/// Why a bundle file cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// The file could not be read or written.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// A line is not what a bundle holds there; the file is damaged or not a bundle.
    #[error("line {line}: {reason}")]
    Line {
        /// 1-based.
        line: usize,
        /// Why.
        reason: String,
    },
}

/// Writes a bundle: the header, then the envelopes one per line.
pub fn write_bundle(
    out: &mut dyn Write,
    header: &BundleHeader,
    events: impl IntoIterator<Item = Envelope>,
) -> Result<u64, BundleError> {
    serde_json::to_writer(&mut *out, header).map_err(std::io::Error::other)?;
    out.write_all(b"\n")?;
    let mut n = 0;
    for e in events {
        serde_json::to_writer(&mut *out, &e).map_err(std::io::Error::other)?;
        out.write_all(b"\n")?;
        n += 1;
    }
    out.flush()?;
    Ok(n)
}

/// Reads a bundle's header and envelopes.
pub fn read_bundle(input: impl BufRead) -> Result<(BundleHeader, Vec<Envelope>), BundleError> {
    let mut header = None;
    let mut events = Vec::new();
    for (i, line) in input.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let bad = |e: serde_json::Error| BundleError::Line {
            line: i + 1,
            reason: e.to_string(),
        };
        if header.is_none() {
            let h: BundleHeader = serde_json::from_str(&line).map_err(bad)?;
            if h.annals_bundle != 1 {
                return Err(BundleError::Line {
                    line: 1,
                    reason: format!("bundle format {} is not known here", h.annals_bundle),
                });
            }
            header = Some(h);
        } else {
            events.push(serde_json::from_str(&line).map_err(bad)?);
        }
    }
    let header = header.ok_or(BundleError::Line {
        line: 1,
        reason: "the file is empty: a bundle starts with its header line".into(),
    })?;
    Ok((header, events))
}
