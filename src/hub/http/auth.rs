//! Who calls the hub: a token as `Authorization: Bearer …`, or as the password of HTTP
//! Basic (what a browser sends after asking, so the page needs no script or cookie).
//! A school's token may only push for that school (or, for a city at a province's hub,
//! the schools under it); a reader's token reads its region.
use axum::{
    extract::FromRequestParts,
    http::{header, request::Parts},
};
use base64::Engine;

use super::{error::HubApiError, HubState};
use crate::hub::schools::{self, Caller};

/// The caller, checked against the hub's hashed tokens on every request.
pub struct Authed(pub Caller);

/// A caller who may read the figures: a reader (with its region), or anyone when the
/// hub serves open reads.
pub struct Reader {
    /// The school whose subtree the caller sees; every school when none.
    pub region: Option<String>,
}

fn presented(parts: &Parts) -> Option<String> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = value.split_once(' ')?;
    if scheme.eq_ignore_ascii_case("bearer") {
        return Some(rest.trim().to_owned());
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest.trim())
            .ok()?;
        let text = String::from_utf8(decoded).ok()?;
        // user:password; the user name is free, the password is the token.
        return text.split_once(':').map(|(_, token)| token.to_owned());
    }
    None
}

async fn caller(parts: &Parts, state: &HubState) -> Result<Option<Caller>, HubApiError> {
    let Some(token) = presented(parts) else {
        return Ok(None);
    };
    let client = state.pool.get().await?;
    Ok(schools::caller(&client, &token).await?)
}

impl FromRequestParts<HubState> for Authed {
    type Rejection = HubApiError;

    async fn from_request_parts(parts: &mut Parts, state: &HubState) -> Result<Self, HubApiError> {
        caller(parts, state)
            .await?
            .map(Authed)
            .ok_or_else(|| HubApiError::Unauthorized("a hub token is required".into()))
    }
}

impl FromRequestParts<HubState> for Reader {
    type Rejection = HubApiError;

    async fn from_request_parts(parts: &mut Parts, state: &HubState) -> Result<Self, HubApiError> {
        match caller(parts, state).await? {
            Some(Caller::Reader { region, .. }) => Ok(Reader { region }),
            Some(Caller::School(_)) => Err(HubApiError::Forbidden(
                "a school's push token does not read the hub".into(),
            )),
            None if state.config.open_reads => Ok(Reader { region: None }),
            None => Err(HubApiError::Unauthorized(
                "a reader's token is required".into(),
            )),
        }
    }
}

impl Authed {
    /// Whether this caller may push for `school`: its own school's token may, and so
    /// may the token of a school it reports through (a city forwarding its counties'
    /// logs to the province); nobody else.
    pub async fn may_push(&self, state: &HubState, school: &str) -> Result<(), HubApiError> {
        let own = match &self.0 {
            Caller::School(own) if own == school => return Ok(()),
            Caller::School(own) => own,
            Caller::Reader { .. } => {
                return Err(HubApiError::Forbidden(
                    "a reader's token cannot push".into(),
                ))
            }
        };
        let all = schools::list(&state.pool.get().await?).await?;
        if schools::in_region(&all, school, own) {
            return Ok(());
        }
        Err(HubApiError::Forbidden(format!(
            "this token pushes for {own} (and the schools under it), not for {school}"
        )))
    }
}
