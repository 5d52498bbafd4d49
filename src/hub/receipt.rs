//! The receipt a hub signs for each piece it stores (school, seq, hash, received_at),
//! and the hub's Ed25519 key. A school keeps its receipts beside its seals: the school
//! can prove what the hub acknowledged, and the hub can prove what it was handed,
//! since neither can change a hash-chained log without breaking the other's proof.
use chrono::{DateTime, SecondsFormat, Utc};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use events::Hash;
use serde::{Deserialize, Serialize};

use super::HubError;

/// A hub's signed acknowledgement that it holds a school's log up to `seq`, whose
/// hash is `hash` (and so, by the chain, everything before it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// The school.
    pub school: String,
    /// The last seq stored.
    pub seq: u64,
    /// Its hash.
    pub hash: Hash,
    /// When the hub stored it (to the microsecond).
    pub received_at: DateTime<Utc>,
    /// The hub's public key, hex.
    pub hub_key: String,
    /// The Ed25519 signature of [`Receipt::message`], hex.
    pub signature: String,
}

impl Receipt {
    /// A stored receipt of `school`, from a row whose first columns are `seq, hash,
    /// received_at, signature`, signed by the hub whose public key is `hub_key`.
    pub(crate) fn from_row(
        school: &str,
        r: &tokio_postgres::Row,
        hub_key: &str,
    ) -> Result<Receipt, HubError> {
        Ok(Receipt {
            school: school.to_owned(),
            seq: r.get::<_, i64>(0) as u64,
            hash: super::schools::parse_hash(r.get(1))?,
            received_at: r.get(2),
            hub_key: hub_key.to_owned(),
            signature: r.get::<_, String>(3).trim().to_owned(),
        })
    }

    /// The bytes signed: a fixed prefix, then each field on its own line. School ids
    /// hold no newline ([`super::check_id`]), so no two receipts share their bytes.
    pub fn message(school: &str, seq: u64, hash: &Hash, received_at: DateTime<Utc>) -> Vec<u8> {
        format!(
            "ANNALS-RECEIPT 1\n{school}\n{seq}\n{hash}\n{}\n",
            received_at.to_rfc3339_opts(SecondsFormat::Micros, true)
        )
        .into_bytes()
    }

    /// Checks the signature against `key` (the hub's key as the school was given it).
    pub fn verify(&self, key: &VerifyingKey) -> Result<(), HubError> {
        let bytes: [u8; 64] = const_hex::decode(&self.signature)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| {
                HubError::Key("the receipt's signature is not 64 bytes in hex".into())
            })?;
        let message = Self::message(&self.school, self.seq, &self.hash, self.received_at);
        key.verify(&message, &Signature::from_bytes(&bytes))
            .map_err(|_| HubError::Key(format!("the receipt for seq {} does not verify", self.seq)))
    }
}

/// The hub's signing key.
pub struct HubKey(SigningKey);

impl HubKey {
    /// A new key from the operating system's random bytes.
    pub fn generate() -> Result<Self, HubError> {
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret)
            .map_err(|e| HubError::Key(format!("no random bytes from the system: {e}")))?;
        Ok(HubKey(SigningKey::from_bytes(&secret)))
    }

    /// The key from its secret as stored (hex).
    pub fn from_hex(text: &str) -> Result<Self, HubError> {
        let bytes: [u8; 32] = const_hex::decode(text.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| HubError::Key("the stored secret is not 32 bytes in hex".into()))?;
        Ok(HubKey(SigningKey::from_bytes(&bytes)))
    }

    /// The secret as stored (hex).
    pub fn secret_hex(&self) -> String {
        const_hex::encode(self.0.to_bytes())
    }

    /// The public half, which verifies receipts.
    pub fn public(&self) -> VerifyingKey {
        self.0.verifying_key()
    }

    /// The public half as hex, as receipts carry it.
    pub fn public_hex(&self) -> String {
        const_hex::encode(self.public().to_bytes())
    }

    /// Signs a receipt.
    pub fn sign(&self, school: &str, seq: u64, hash: Hash, received_at: DateTime<Utc>) -> Receipt {
        let signature = self
            .0
            .sign(&Receipt::message(school, seq, &hash, received_at));
        Receipt {
            school: school.to_owned(),
            seq,
            hash,
            received_at,
            hub_key: self.public_hex(),
            signature: const_hex::encode(signature.to_bytes()),
        }
    }
}

/// A public key from hex (as `GET /hub/api/key` and receipts give it).
pub fn public_key(text: &str) -> Result<VerifyingKey, HubError> {
    let bytes: [u8; 32] = const_hex::decode(text.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| HubError::Key(format!("'{text}' is not a public key (32 bytes in hex)")))?;
    VerifyingKey::from_bytes(&bytes).map_err(|e| HubError::Key(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_receipt_verifies_and_a_changed_one_does_not() {
        let key = HubKey::generate().unwrap();
        let at = events::envelope::truncate(Utc::now());
        let mut r = key.sign("county-a", 7, Hash([3; 32]), at);
        r.verify(&public_key(&r.hub_key).unwrap()).unwrap();
        let again = HubKey::from_hex(&key.secret_hex()).unwrap();
        assert_eq!(again.public_hex(), key.public_hex());
        r.seq = 8;
        assert!(r.verify(&key.public()).is_err());
    }
}
