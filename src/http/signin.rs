//! `POST /login` and `POST /logout`: a browser signs in with a token, which opens a
//! session (`session`), and signs out, which closes it on the server, not only in the
//! browser. Both must come from this server's own page (`same_origin`), so another site
//! cannot sign a browser in as someone else, nor out. Each goes back to the page's own
//! day and language; a refused token is said beside the token field.
use axum::{
    extract::{rejection::FormRejection, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
    routing::post,
    Form, Router,
};

use super::{
    auth, html,
    page::{self, Keep, Notes, PageQuery},
    same_origin,
    session::Sessions,
    ApiError, AppState,
};

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", post(login))
        .route("/logout", post(logout))
}

#[derive(serde::Deserialize)]
struct Login {
    token: String,
    #[serde(flatten)]
    keep: Keep,
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
        return refused(&state, f.keep).await;
    }
    let id = state.sessions.open(hash);
    let cookie = state.sessions.cookie(&id, tls);
    let back = f.keep.to(&[], "");
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to(&back)).into_response())
}

/// A refused token (401): the page again, the message beside the token field, on the
/// page's own day; where reads are closed, the sign-in page with the message.
async fn refused(state: &AppState, keep: Keep) -> Result<Response, ApiError> {
    if !state.config.open_reads {
        return page::login_page(&keep, StatusCode::UNAUTHORIZED, "refused");
    }
    let q = PageQuery::kept(keep);
    let notes = Notes::login_refused();
    let (_, body) = state
        .blocking(move |s| page::render(s, &q, None, notes))
        .await?;
    Ok(html::answer(StatusCode::UNAUTHORIZED, body))
}

#[tracing::instrument(skip_all)]
async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<Keep>, FormRejection>,
) -> Result<Response, ApiError> {
    let tls = state.config.secure_cookies;
    if let Some(id) = auth::session_id(&headers) {
        same_origin::check(&headers, tls)?;
        state.sessions.close(&id);
    }
    let cookie = Sessions::removal_cookie(tls);
    let back = form.map(|Form(keep)| keep).unwrap_or_default().to(&[], "");
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to(&back)).into_response())
}
