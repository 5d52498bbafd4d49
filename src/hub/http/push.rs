//! The routes a school pushes through: who its token pushes for, the hub's public key,
//! the head the hub holds for it, and the push of one piece.
use axum::{
    extract::{rejection::JsonRejection, Path, State},
    routing::{get, post},
    Json, Router,
};
use serde_json::{json, Value};

use super::{auth::Authed, error::HubApiError, HubState};
use crate::hub::{
    forwarded, ingest,
    protocol::{routes, HeadAnswer, Piece, PushAnswer, WhoAmI},
    schools::{self, Caller},
};

/// The push routes.
pub fn router() -> Router<HubState> {
    Router::new()
        .route(routes::WHOAMI, get(whoami))
        .route(routes::KEY, get(key))
        .route("/hub/api/schools/{id}/head", get(head))
        .route("/hub/api/schools/{id}/push", post(push))
}

#[tracing::instrument(skip_all)]
async fn whoami(State(s): State<HubState>, who: Authed) -> Result<Json<WhoAmI>, HubApiError> {
    let Caller::School(id) = who.0 else {
        return Err(HubApiError::Forbidden(
            "this is a reader's token, not a school's".into(),
        ));
    };
    let client = s.pool.get().await?;
    let (name, _, _) = schools::head(&client, &id).await?;
    Ok(Json(WhoAmI { school: id, name }))
}

async fn key(State(s): State<HubState>) -> Json<Value> {
    Json(json!({ "public_key": s.key.public_hex() }))
}

#[tracing::instrument(skip_all, fields(school = %id))]
async fn head(
    State(s): State<HubState>,
    who: Authed,
    Path(id): Path<String>,
) -> Result<Json<HeadAnswer>, HubApiError> {
    who.may_push(&s, &id).await?;
    let client = s.pool.get().await?;
    let (_, head_seq, head_hash) = schools::head(&client, &id).await?;
    let forwarded_seq = forwarded::last_seq(&client, &id).await?;
    Ok(Json(HeadAnswer {
        school: id,
        head_seq,
        head_hash,
        forwarded_seq,
    }))
}

#[tracing::instrument(skip_all, fields(school = %id))]
async fn push(
    State(s): State<HubState>,
    who: Authed,
    Path(id): Path<String>,
    piece: Result<Json<Piece>, JsonRejection>,
) -> Result<Json<PushAnswer>, HubApiError> {
    who.may_push(&s, &id).await?;
    let Json(piece) = piece.map_err(|e| HubApiError::BadRequest {
        field: "body",
        reason: e.body_text(),
    })?;
    let mut client = s.pool.get().await?;
    Ok(Json(ingest::ingest(&mut client, &s.key, &id, piece).await?))
}
