//! Who is calling: a bearer token, or the page's session cookie (`session`), checked
//! against the store's hashed tokens on every request, so a revoked token fails at once.
//! A change made with the cookie must also come from this server's own page
//! (`same_origin`); a bearer token cannot be sent by another site, so it needs no such check.
use axum::{
    extract::FromRequestParts,
    http::{header, request::Parts, HeaderMap},
};
use events::Hash;

use super::{same_origin, session, ApiError, AppState};
use crate::store::{Role, TokenInfo};

/// What a request presents as its credential.
enum Credential {
    /// `Authorization: Bearer …`.
    Bearer(String),
    /// The id of a session the page's sign-in opened.
    Session(String),
}

/// The credential in the request, if any; an `Authorization` header wins over a cookie.
fn presented(parts: &Parts) -> Option<Credential> {
    if let Some(v) = parts.headers.get(header::AUTHORIZATION) {
        let v = v.to_str().ok()?;
        let (scheme, token) = v.split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| Credential::Bearer(token.trim().to_owned()));
    }
    session_id(&parts.headers).map(Credential::Session)
}

/// The session id in the request's cookies, if any.
pub fn session_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| {
            c.trim()
                .strip_prefix(session::COOKIE)?
                .strip_prefix('=')
                .map(str::to_owned)
        })
}

/// The caller's token as checked against the store; `None` when none was presented.
pub fn caller(parts: &Parts, state: &AppState) -> Result<Option<TokenInfo>, ApiError> {
    let found = match presented(parts) {
        None => return Ok(None),
        Some(Credential::Bearer(token)) => state.store.check_token(&token)?,
        Some(Credential::Session(id)) => {
            if !parts.method.is_safe() {
                same_origin::check(&parts.headers, state.config.secure_cookies)?;
            }
            let found = match state.sessions.token_of(&id) {
                Some(token) => state.store.check_token_hash(&token)?,
                None => None,
            };
            if found.is_none() {
                // Its token was revoked or expired: the session ends with it.
                state.sessions.close(&id);
            }
            found
        }
    };
    found.map(Some).ok_or_else(|| {
        ApiError::Unauthorized(
            "the token or sign-in is not valid, has expired or has been revoked".into(),
        )
    })
}

/// The hash the store keeps of a token (the session remembers this, not the token).
pub fn token_hash(token: &str) -> Hash {
    Hash::of(token.as_bytes())
}

fn require(parts: &Parts, state: &AppState, role: Role) -> Result<TokenInfo, ApiError> {
    let info = caller(parts, state)?.ok_or_else(|| {
        ApiError::Unauthorized(format!(
            "this needs a token with the {} role: send Authorization: Bearer <token>",
            format!("{role:?}").to_lowercase()
        ))
    })?;
    if info.role < role {
        return Err(ApiError::Forbidden(format!(
            "the token '{}' has the {:?} role; this needs {:?}",
            info.name, info.role, role
        )));
    }
    Ok(info)
}

/// May read: anyone when the deployment opens reads, else any valid token.
pub struct CanRead;

/// May record events: a recorder or admin token.
pub struct CanRecord(pub TokenInfo);

/// May manage tokens: an admin token.
pub struct CanAdmin;

/// Who is looking at the page: the caller, or nobody when the credential is stale or
/// unknown (the page then offers to sign in again). A change from another site is still
/// refused.
pub struct Visitor(pub Option<TokenInfo>);

impl FromRequestParts<AppState> for CanRead {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if state.config.open_reads {
            // A token that is presented must still be valid, even where reads are open.
            return caller(parts, state).map(|_| CanRead);
        }
        require(parts, state, Role::Reader).map(|_| CanRead)
    }
}

impl FromRequestParts<AppState> for CanRecord {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        require(parts, state, Role::Recorder).map(CanRecord)
    }
}

impl FromRequestParts<AppState> for CanAdmin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        require(parts, state, Role::Admin).map(|_| CanAdmin)
    }
}

impl FromRequestParts<AppState> for Visitor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match caller(parts, state) {
            Err(ApiError::Unauthorized(_)) => Ok(Visitor(None)),
            other => other.map(Visitor),
        }
    }
}
