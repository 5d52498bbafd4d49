//! Proving the log was not tampered with: every hash recomputed, every link checked,
//! the id index and the head compared with what the events say.
use events::{envelope::ChainCheck, Hash};
use serde::Serialize;

use super::{read_head, seq_of, Store, StoreError};

/// What a successful verification saw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// Events checked.
    pub count: u64,
    /// The hash of the last one.
    pub head_hash: Hash,
}

/// Why a verification failed: the first bad seq and the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("seq {seq}: {reason}")]
pub struct VerifyFailure {
    /// The first seq that does not check out.
    pub seq: u64,
    /// What is wrong there.
    pub reason: String,
}

impl Store {
    /// Recomputes every hash and link of the log. `Ok(Err(..))` means the log is
    /// readable but does not verify.
    pub fn verify(&self) -> Result<Result<VerifyReport, VerifyFailure>, StoreError> {
        // The head is read first so that appends landing during the walk are not
        // mistaken for a mismatch: the walk covers exactly what the head vouches for.
        let head = read_head(&self.trees.meta).map_err(|reason| self.damaged(reason))?;
        let mut chain = ChainCheck::default();
        let fail = |seq, reason: String| Ok(Err(VerifyFailure { seq, reason }));
        for item in self.trees.events.range(..=head.seq.to_be_bytes()) {
            let (key, bytes) = item?;
            let seq = seq_of(&key);
            let e = match serde_json::from_slice::<events::Envelope>(&bytes) {
                Ok(e) => e,
                Err(err) => return fail(seq, format!("cannot be decoded: {err}")),
            };
            if e.seq != seq {
                return fail(
                    seq,
                    format!("is stored under seq {seq} but says seq {}", e.seq),
                );
            }
            if let Err(events::Error::Chain { seq, reason }) = chain.check(&e) {
                return fail(seq, reason);
            }
            match self.trees.ids.get(e.id.as_bytes())? {
                Some(s) if seq_of(&s) == seq => {}
                _ => return fail(seq, format!("the id index does not point at id {}", e.id)),
            }
        }
        if head.seq != chain.head_seq() || head.hash != chain.head_hash() {
            return fail(
                chain.head_seq() + 1,
                format!(
                    "the head record says seq {} ({}) but the events end at seq {} ({})",
                    head.seq,
                    head.hash,
                    chain.head_seq(),
                    chain.head_hash()
                ),
            );
        }
        Ok(Ok(VerifyReport {
            count: chain.head_seq(),
            head_hash: chain.head_hash(),
        }))
    }
}
