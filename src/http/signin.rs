//! `POST /login` and `POST /logout`: a browser signs in with a token, which opens a
//! session (`session`), and signs out, which closes it on the server, not only in the
//! browser. Both must come from this server's own page (`same_origin`), so another site
//! cannot sign a browser in as someone else, nor out.
use axum::{
    extract::State,
    http::{header, HeaderMap},
    response::{IntoResponse, Redirect, Response},
    routing::post,
    Form, Router,
};

use super::{auth, same_origin, session::Sessions, ApiError, AppState};

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", post(login))
        .route("/logout", post(logout))
}

#[derive(serde::Deserialize)]
struct Login {
    token: String,
}

#[tracing::instrument(skip_all)]
async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<Login>,
) -> Result<Response, ApiError> {
    let tls = state.config.secure_cookies;
    same_origin::check(&headers, tls)?;
    let hash = auth::token_hash(f.token.trim());
    let live = state
        .blocking(move |s| Ok(s.store.check_token_hash(&hash)?.is_some()))
        .await?;
    if !live {
        return Err(ApiError::Unauthorized(
            "the token is not valid, has expired or has been revoked".into(),
        ));
    }
    let id = state.sessions.open(hash);
    let cookie = state.sessions.cookie(&id, tls);
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to("/")).into_response())
}

#[tracing::instrument(skip_all)]
async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let tls = state.config.secure_cookies;
    if let Some(id) = auth::session_id(&headers) {
        same_origin::check(&headers, tls)?;
        state.sessions.close(&id);
    }
    let cookie = Sessions::removal_cookie(tls);
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to("/")).into_response())
}
