//! What keeps a slow or crowding client from holding the server (issue 13): a request's
//! body must arrive whole within a total time (a timeout that restarted with every
//! frame let a byte every few seconds hold a connection forever), and the connections
//! kept in reserve serve signed-in callers only.
use std::time::Duration;

use axum::{
    body::Body,
    extract::{Request, State},
    http::HeaderMap,
    middleware::Next,
    response::{IntoResponse, Response},
};

use super::{auth, ApiError, AppState};

/// The share of the connection cap kept for callers with a token: one in eight.
pub const RESERVED_SHARE: usize = 8;

/// How long a connection in the reserve may take to send its headers: it is held for
/// a signed-in caller, so an anonymous one should not sit on it for long.
pub const RESERVE_HEADER_TIMEOUT: Duration = Duration::from_secs(2);

/// Reads the request's body whole within the configured total time (and at most one
/// byte past the size limit, which the extractors then refuse as they always have).
pub async fn body_deadline(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let (total, limit) = (state.config.body_timeout, state.config.body_limit);
    let (parts, body) = req.into_parts();
    let read = axum::body::to_bytes(body, limit.saturating_add(1));
    let bytes = match tokio::time::timeout(total, read).await {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(e)) => {
            let source = e.into_inner();
            return if source.is::<http_body_util::LengthLimitError>() {
                ApiError::TooLarge(format!("the body is over the size limit of {limit} bytes"))
            } else {
                ApiError::BadRequest {
                    field: "body".into(),
                    reason: format!("could not be read: {source}"),
                }
            }
            .into_response();
        }
        Err(_) => {
            return ApiError::Timeout(format!(
                "the request's body did not arrive within {} s",
                total.as_secs_f64()
            ))
            .into_response()
        }
    };
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// Whether the request carries a live token or session: what a connection from the
/// reserve needs to be served.
pub fn signed_in(headers: &HeaderMap, state: &AppState) -> bool {
    let (mut parts, ()) = Request::new(()).into_parts();
    parts.headers = headers.clone();
    auth::caller(&parts, state).is_ok_and(|who| who.is_some())
}
