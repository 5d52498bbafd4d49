//! Who is calling: a bearer token (or the page's session cookie holding one), checked
//! against the store's hashed tokens on every request, so a revoked token fails at once.
use axum::{extract::FromRequestParts, http::request::Parts};

use super::{ApiError, AppState};
use crate::store::{Role, TokenInfo};

/// The cookie the page's login sets.
pub const COOKIE: &str = "annals_token";

/// The token in the request, if any: `Authorization: Bearer …`, or the page's cookie.
fn presented(parts: &Parts) -> Option<String> {
    if let Some(v) = parts.headers.get(axum::http::header::AUTHORIZATION) {
        let v = v.to_str().ok()?;
        let (scheme, token) = v.split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim().to_owned());
    }
    parts
        .headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| {
            c.trim()
                .strip_prefix(&format!("{COOKIE}="))
                .map(str::to_owned)
        })
}

/// The caller's token as checked against the store; `None` when none was presented.
pub fn caller(parts: &Parts, state: &AppState) -> Result<Option<TokenInfo>, ApiError> {
    let Some(token) = presented(parts) else {
        return Ok(None);
    };
    match state.store.check_token(&token)? {
        Some(info) => Ok(Some(info)),
        None => Err(ApiError::Unauthorized(
            "the token is not valid, has expired or has been revoked".into(),
        )),
    }
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
