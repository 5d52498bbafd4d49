//! Proving the log was not tampered with: every event sled holds decoded and its hash
//! recomputed, every link checked, the id index and the head compared with the events.
use events::{envelope::ChainCheck, Hash};
use serde::Serialize;

use super::{record, trees, Head, Store, StoreError};

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
    /// Recomputes every hash and link of the log, reading every event sled holds up to
    /// the head, and checks the id index against it. `Ok(Err(..))` means the log is
    /// readable but does not verify.
    pub fn verify(&self) -> Result<Result<VerifyReport, VerifyFailure>, StoreError> {
        self.verify_after(Head::default())
    }

    /// Verifies the events after `from`, a head an earlier verification proved: the log
    /// only grows, and while this process holds the store nobody else writes to it, so
    /// what was proved stays proved and only what came since is walked.
    pub fn verify_after(
        &self,
        from: Head,
    ) -> Result<Result<VerifyReport, VerifyFailure>, StoreError> {
        // The head is read first so that appends landing during the walk are not
        // mistaken for a mismatch: the walk covers exactly what the head vouches for.
        let head = self.head()?;
        let fail = |seq, reason: String| Ok(Err(VerifyFailure { seq, reason }));
        if from.seq > 0 && self.get_seq(from.seq)?.map(|e| e.hash) != Some(from.hash) {
            return fail(
                from.seq,
                "the event a past verification proved has changed".into(),
            );
        }
        let mut chain = ChainCheck::after(from.seq, from.hash);
        let last = trees::seq_key(head.seq);
        // From the first key when walking from the start, so that a key sorting before
        // seq 1 (not a seq at all) is named rather than passed over.
        let start = match from.seq {
            0 => std::ops::Bound::Unbounded,
            seq => std::ops::Bound::Included(trees::seq_key(seq + 1)),
        };
        let range = (start, std::ops::Bound::Included(last));
        for item in self.trees.events.range::<[u8; 8], _>(range) {
            let (key, bytes) = item?;
            let expected = chain.head_seq() + 1;
            let Some(seq) = trees::seq_of(&key) else {
                return fail(expected, "a key of the events tree is not a seq".into());
            };
            if seq != expected {
                return fail(
                    expected,
                    format!("seq {expected} is missing (the next is {seq})"),
                );
            }
            let e = match record::decode(&bytes, seq, chain.head_hash()) {
                Ok(e) => e,
                Err(reason) => return fail(seq, format!("cannot be decoded: {reason}")),
            };
            if let Err(err) = chain.check(&e) {
                let reason = match err {
                    events::Error::Chain { reason, .. } => reason,
                    other => other.to_string(),
                };
                return fail(seq, reason);
            }
            let indexed = self
                .trees
                .ids
                .get(e.id.as_bytes())?
                .and_then(|v| trees::seq_of(&v));
            if indexed != Some(seq) {
                return fail(seq, format!("the id index does not point at id {}", e.id));
            }
        }
        if head.seq != chain.head_seq() || head.hash != chain.head_hash() {
            return fail(
                chain.head_seq() + 1,
                format!(
                    "the store's head is seq {} ({}) but the log's events end at seq {} ({})",
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

/// A head noted outside the log (pasted into a report, sent to the supervising school):
/// `ANNALS-SEAL <seq> <hash> <time>`. A log that still extends it has, at that seq, that
/// hash; one truncated or rewritten since does not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Seal {
    /// The sealed head's seq.
    pub seq: u64,
    /// Its hash.
    pub hash: Hash,
    /// When it was recorded.
    pub at: chrono::DateTime<chrono::Utc>,
}

impl std::fmt::Display for Seal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ANNALS-SEAL {} {} {}",
            self.seq,
            self.hash,
            self.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        )
    }
}

/// Text that does not read as a seal. Handling: paste the whole line `annals seal`
/// printed.
#[derive(Debug, thiserror::Error)]
#[error("'{0}' is not a seal; it reads ANNALS-SEAL <seq> <hash> <time>")]
pub struct NotASeal(String);

impl std::str::FromStr for Seal {
    type Err = NotASeal;

    fn from_str(s: &str) -> Result<Self, NotASeal> {
        let bad = || NotASeal(s.trim().to_owned());
        let mut parts = s.split_whitespace();
        if parts.next() != Some("ANNALS-SEAL") {
            return Err(bad());
        }
        let seq = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
        let hash = parts.next().ok_or_else(bad)?.parse().map_err(|_| bad())?;
        let at = parts
            .next()
            .and_then(|p| chrono::DateTime::parse_from_rfc3339(p).ok())
            .ok_or_else(bad)?
            .with_timezone(&chrono::Utc);
        Ok(Seal { seq, hash, at })
    }
}

impl Store {
    /// The current head as a seal.
    pub fn seal(&self) -> Result<Seal, StoreError> {
        let head = self.head()?;
        Ok(Seal {
            seq: head.seq,
            hash: head.hash,
            at: head.recorded_at.unwrap_or_else(chrono::Utc::now),
        })
    }

    /// Verifies the log and that it still extends `seal`: the event at the sealed seq
    /// exists and carries the sealed hash.
    pub fn verify_against(
        &self,
        seal: &Seal,
    ) -> Result<Result<VerifyReport, VerifyFailure>, StoreError> {
        let report = match self.verify()? {
            Ok(r) => r,
            failure => return Ok(failure),
        };
        if seal.seq == 0 {
            return Ok(Ok(report));
        }
        if report.count < seal.seq {
            return Ok(Err(VerifyFailure {
                seq: report.count + 1,
                reason: format!(
                    "the log ends at seq {} but the seal vouches for seq {}: events were removed",
                    report.count, seal.seq
                ),
            }));
        }
        match self.get_seq(seal.seq)? {
            Some(e) if e.hash == seal.hash => Ok(Ok(report)),
            Some(e) => Ok(Err(VerifyFailure {
                seq: seal.seq,
                reason: format!(
                    "the log's hash at seq {} is {}, not the sealed {}: the history was rewritten",
                    seal.seq, e.hash, seal.hash
                ),
            })),
            None => Ok(Err(VerifyFailure {
                seq: seal.seq,
                reason: "the sealed event is missing".into(),
            })),
        }
    }
}
