//! Bearer tokens: who may read, record or administer. Only a token's SHA-256 is kept;
//! the token itself is shown once, when it is made.
use chrono::{DateTime, Utc};
use events::Hash;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Store, StoreError};

/// What writing one token record may take in sled, counted against the disk's reserve.
const TOKEN_BYTES: u64 = 64 * 1024;

/// The longest a token can be made to last: ten years.
pub const MAX_TOKEN_DAYS: u32 = 3653;

/// What a token allows; each role includes the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Read the log and every figure.
    Reader,
    /// Also record events and import files.
    Recorder,
    /// Also make and revoke tokens.
    Admin,
}

/// Text that names no role. Handling: use reader, recorder or admin.
#[derive(Debug, thiserror::Error)]
#[error("'{0}' is not a role; use reader, recorder or admin")]
pub struct NotARole(String);

impl std::str::FromStr for Role {
    type Err = NotARole;

    fn from_str(s: &str) -> Result<Self, NotARole> {
        match s {
            "reader" => Ok(Role::Reader),
            "recorder" => Ok(Role::Recorder),
            "admin" => Ok(Role::Admin),
            _ => Err(NotARole(s.to_owned())),
        }
    }
}

/// A token as stored: never the token itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenInfo {
    /// Who holds it (办公室, 教务科…); written as `recorded_by` on what it records.
    pub name: String,
    /// What it allows.
    pub role: Role,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
    /// When it stops working, if it was made to expire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
}

impl TokenInfo {
    /// Whether it still opens the door at `now`: not revoked and not expired.
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|t| now < t)
    }
}

/// Why a token was refused or could not be made.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// A live token already has that name. Handling: revoke it first or pick another name.
    #[error("a token named '{0}' already exists")]
    Exists(String),
    /// No live token has that name. Handling: check `annals token list`.
    #[error("no live token is named '{0}'")]
    Unknown(String),
    /// The name is empty or too long. Handling: use 1 to 64 characters.
    #[error("a token's name must be 1 to 64 characters")]
    BadName,
    /// The lifetime asked for is out of range. Handling: ask for 0 to
    /// [`MAX_TOKEN_DAYS`] days, or none for a token that does not expire.
    #[error("a token may be made to expire in 0 to {MAX_TOKEN_DAYS} days, not {0}")]
    BadExpiry(u32),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sled::Error> for TokenError {
    fn from(e: sled::Error) -> Self {
        TokenError::Store(e.into())
    }
}

impl Store {
    fn live_tokens(&self) -> Result<Vec<(sled::IVec, TokenInfo)>, TokenError> {
        let mut out = Vec::new();
        for item in self.trees.tokens.iter() {
            let (key, value) = item?;
            let info: TokenInfo = serde_json::from_slice(&value)
                .map_err(|e| self.damaged(format!("a token record is unreadable: {e}")))?;
            out.push((key, info));
        }
        Ok(out)
    }

    /// Makes a token and returns it; it is not stored and cannot be shown again.
    pub fn create_token(&self, name: &str, role: Role) -> Result<String, TokenError> {
        self.create_expiring_token(name, role, None)
    }

    /// Makes a token that stops working `days` days from now (never, when `None`).
    pub fn create_expiring_token(
        &self,
        name: &str,
        role: Role,
        days: Option<u32>,
    ) -> Result<String, TokenError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 64 {
            return Err(TokenError::BadName);
        }
        let expires_at = match days {
            None => None,
            Some(d @ 0..=MAX_TOKEN_DAYS) => Some(Utc::now() + chrono::TimeDelta::days(d.into())),
            Some(d) => return Err(TokenError::BadExpiry(d)),
        };
        if self
            .live_tokens()?
            .iter()
            .any(|(_, t)| t.name == name && t.is_live(Utc::now()))
        {
            return Err(TokenError::Exists(name.to_owned()));
        }
        self.check_reserve(TOKEN_BYTES)?;
        // Two v4 UUIDs carry 244 random bits from the operating system.
        let token = format!("ann_{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple());
        let info = TokenInfo {
            name: name.to_owned(),
            role,
            created_at: Utc::now(),
            revoked_at: None,
            expires_at,
        };
        self.trees.tokens.insert(
            Hash::of(token.as_bytes()).0,
            serde_json::to_vec(&info).expect("serialisable"),
        )?;
        self.trees.tokens.flush()?;
        Ok(token)
    }

    /// Every token ever made, revoked ones included, by name.
    pub fn list_tokens(&self) -> Result<Vec<TokenInfo>, TokenError> {
        let mut list: Vec<TokenInfo> = self.live_tokens()?.into_iter().map(|(_, t)| t).collect();
        list.sort_by(|a, b| (&a.name, a.created_at).cmp(&(&b.name, b.created_at)));
        Ok(list)
    }

    /// Revokes the live token of that name (names are unique among live tokens; an
    /// expired one of the same name is left as it is) and returns it as revoked, so the
    /// caller can say which token it ended. It fails from the next request on.
    pub fn revoke_token(&self, name: &str) -> Result<TokenInfo, TokenError> {
        let now = Utc::now();
        let (key, mut info) = self
            .live_tokens()?
            .into_iter()
            .find(|(_, t)| t.name == name && t.is_live(now))
            .ok_or_else(|| TokenError::Unknown(name.to_owned()))?;
        self.check_reserve(TOKEN_BYTES)?;
        info.revoked_at = Some(now);
        self.trees
            .tokens
            .insert(key, serde_json::to_vec(&info).expect("serialisable"))?;
        self.trees.tokens.flush()?;
        Ok(info)
    }

    /// The live (not revoked, not expired) token matching `token`, if any. The lookup is by the token's hash, so
    /// no comparison ever runs over the secret itself.
    pub fn check_token(&self, token: &str) -> Result<Option<TokenInfo>, StoreError> {
        self.check_token_hash(&Hash::of(token.as_bytes()))
    }

    /// The live token whose SHA-256 is `hash`, if any: how a page session, which keeps
    /// only the hash, checks its token again on every request.
    pub fn check_token_hash(&self, hash: &Hash) -> Result<Option<TokenInfo>, StoreError> {
        let Some(bytes) = self.trees.tokens.get(hash.0)? else {
            return Ok(None);
        };
        let info: TokenInfo = serde_json::from_slice(&bytes)
            .map_err(|e| self.damaged(format!("a token record is unreadable: {e}")))?;
        Ok(info.is_live(Utc::now()).then_some(info))
    }

    /// Whether any token was ever made.
    pub fn has_tokens(&self) -> Result<bool, StoreError> {
        Ok(!self.trees.tokens.is_empty())
    }
}
