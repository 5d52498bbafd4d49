//! The hub's answers besides success, as RFC 9457 problem details like the school's
//! server gives, with what a pushing school needs to act on: `error` (`fork`, `gap`,
//! `invalid`, …), the `school` and the `seq`. Database failures are logged, never sent.
use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use serde::Serialize;

use crate::hub::HubError;

/// What a hub handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum HubApiError {
    /// 401: no token, or one the hub does not know (the page asks the browser for one).
    #[error("{0}")]
    Unauthorized(String),
    /// 403: the token may not do this (another school's push, a school reading).
    #[error("{0}")]
    Forbidden(String),
    /// 400: a parameter cannot be understood.
    #[error("{field}: {reason}")]
    BadRequest {
        /// The parameter.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// 404: no such school or route.
    #[error("{0}")]
    NotFound(String),
    /// What the hub's library refused or failed with.
    #[error(transparent)]
    Hub(#[from] HubError),
    /// 500: our fault; logged, not sent.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// What a hub's answer adds to the problem details: what a pushing school acts on.
#[derive(Serialize)]
struct Hub<'a> {
    /// A short word a client acts on.
    error: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    school: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    seq: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    head_seq: Option<u64>,
}

impl IntoResponse for HubApiError {
    fn into_response(self) -> Response {
        use HubError as H;
        let (status, error, school, seq, head_seq) = match &self {
            Self::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized", None, None, None),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", None, None, None),
            Self::BadRequest { .. } => (StatusCode::BAD_REQUEST, "bad_request", None, None, None),
            Self::NotFound(_) | Self::Hub(H::UnknownSchool(_)) => {
                (StatusCode::NOT_FOUND, "not_found", None, None, None)
            }
            Self::Hub(H::Fork { school, seq, .. }) => (
                StatusCode::CONFLICT,
                "fork",
                Some(school.as_str()),
                Some(*seq),
                None,
            ),
            Self::Hub(H::Gap {
                school,
                head_seq,
                first,
            }) => (
                StatusCode::CONFLICT,
                "gap",
                Some(school.as_str()),
                Some(*first),
                Some(*head_seq),
            ),
            Self::Hub(H::Invalid { school, seq, .. }) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                Some(school.as_str()),
                Some(*seq),
                None,
            ),
            Self::Hub(H::Argument { .. }) => {
                (StatusCode::BAD_REQUEST, "bad_request", None, None, None)
            }
            Self::Hub(H::Exists(_)) => (StatusCode::CONFLICT, "exists", None, None, None),
            Self::Hub(_) | Self::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                None,
                None,
                None,
            ),
        };
        let detail = if status == StatusCode::INTERNAL_SERVER_ERROR {
            crate::http::error::internal(&self)
        } else {
            self.to_string()
        };
        let title = status.canonical_reason().unwrap_or("Error");
        let more = Hub {
            error,
            school,
            seq,
            head_seq,
        };
        let mut resp = crate::http::error::problem(status, title, detail, more);
        if status == StatusCode::UNAUTHORIZED {
            // Browsers then ask for the reader's token (as the password) themselves.
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"annals hub\", charset=\"UTF-8\""),
            );
        }
        resp
    }
}

impl From<deadpool_postgres::PoolError> for HubApiError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        HubApiError::Hub(e.into())
    }
}

impl From<tokio_postgres::Error> for HubApiError {
    fn from(e: tokio_postgres::Error) -> Self {
        HubApiError::Hub(e.into())
    }
}

/// The answer for routes that do not exist.
pub async fn not_found(uri: axum::http::Uri) -> HubApiError {
    HubApiError::NotFound(format!("no such route: {}", uri.path()))
}
