//! `/api/events`: record events (one or a batch, idempotent by id) and read the log
//! with filters and a seq cursor; `/api/tokens` for admins.

use axum::{
    extract::{
        rejection::{JsonRejection, PathRejection},
        Path, Query, State,
    },
    http::StatusCode,
    routing::{delete, get},
    Json, Router,
};
use chrono::{DateTime, NaiveDate, Utc};
use events::{message::Got, Envelope, Reason};
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::{
    auth::{CanAdmin, CanRead, CanRecord},
    ApiError, AppState,
};
use crate::{
    intake::{self, At, Problem, Recorder},
    store::{Filter, Role},
};

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/events", get(list).post(append))
        .route("/api/events/{id}", get(show))
        .route("/api/tokens", get(tokens).post(create_token))
        .route("/api/tokens/{name}", delete(revoke_token))
}

/// The drafts a request body holds (one draft, a list, or `{events, expected_seq}`),
/// and the seq the batch expects the head at.
fn batch_items(body: Value, limit: usize) -> Result<(Vec<Value>, Option<u64>), ApiError> {
    let invalid =
        |field: &str, reason| ApiError::Invalid(vec![Problem::new(At::Draft, field, reason)]);
    let (items, expected_seq) = match body {
        Value::Array(items) => (items, None),
        Value::Object(mut map) if map.contains_key("events") => {
            let expected = match map.remove("expected_seq") {
                None | Some(Value::Null) => None,
                Some(v) => Some(v.as_u64().ok_or_else(|| {
                    invalid("expected_seq", Reason::NotNumber { got: Got::of(&v) })
                })?),
            };
            match map.remove("events") {
                Some(Value::Array(items)) => (items, expected),
                other => {
                    let got = Got::of(&other.unwrap_or_default());
                    return Err(invalid("events", Reason::NotList { got }));
                }
            }
        }
        one @ Value::Object(_) => (vec![one], None),
        _ => return Err(invalid("body", Reason::NotABatch)),
    };
    if items.len() > limit {
        return Err(ApiError::TooLarge(format!(
            "a batch of {} events is over the limit of {limit}",
            items.len()
        )));
    }
    if items.is_empty() {
        return Err(invalid("events", Reason::NoEvents));
    }
    Ok((items, expected_seq))
}

#[tracing::instrument(skip_all, fields(by = %who.0.name))]
async fn append(
    State(state): State<AppState>,
    who: CanRecord,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let Json(body) = body?;
    let author = who.0.name;
    let receipts = state
        .blocking(move |s| {
            let (items, expected_seq) = batch_items(body, s.config.batch_limit)?;
            let by = Recorder {
                author,
                expected_seq,
            };
            Ok(intake::record_batch(&s.store, items, by)?)
        })
        .await?;
    let status = if receipts.iter().all(|r| r.existing) {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(json!({ "receipts": receipts }))))
}

/// Filters of `GET /api/events`.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    kind: Option<String>,
    from: Option<String>,
    to: Option<String>,
    recorded_from: Option<String>,
    recorded_to: Option<String>,
    /// The cursor: return events after this seq.
    after: Option<u64>,
    limit: Option<usize>,
}

const DEFAULT_PAGE: usize = 100;
const MAX_PAGE: usize = 1000;

fn day(field: &str, v: Option<&str>, default: NaiveDate) -> Result<NaiveDate, ApiError> {
    v.map_or(Ok(default), |s| {
        events::occurred::parse_date(s).map_err(|reason| ApiError::BadRequest {
            field: field.into(),
            reason: reason.text(super::lang::english()),
        })
    })
}

fn moment(field: &str, v: Option<&str>, default: DateTime<Utc>) -> Result<DateTime<Utc>, ApiError> {
    v.map_or(Ok(default), |s| {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| ApiError::BadRequest {
                field: field.into(),
                reason: format!(
                    "'{s}' is not an RFC 3339 moment such as 2023-07-03T09:00:00+08:00"
                ),
            })
    })
}

impl ListQuery {
    fn filter(&self) -> Result<(Filter, usize), ApiError> {
        let limit = self.limit.unwrap_or(DEFAULT_PAGE);
        if limit == 0 || limit > MAX_PAGE {
            return Err(ApiError::BadRequest {
                field: "limit".into(),
                reason: format!("must be between 1 and {MAX_PAGE}"),
            });
        }
        let occurred = (self.from.is_some() || self.to.is_some())
            .then(|| {
                Ok::<_, ApiError>((
                    day("from", self.from.as_deref(), NaiveDate::MIN)?,
                    day("to", self.to.as_deref(), NaiveDate::MAX)?,
                ))
            })
            .transpose()?;
        let recorded = (self.recorded_from.is_some() || self.recorded_to.is_some())
            .then(|| {
                Ok::<_, ApiError>((
                    moment(
                        "recorded_from",
                        self.recorded_from.as_deref(),
                        DateTime::<Utc>::MIN_UTC,
                    )?,
                    moment(
                        "recorded_to",
                        self.recorded_to.as_deref(),
                        DateTime::<Utc>::MAX_UTC,
                    )?,
                ))
            })
            .transpose()?;
        Ok((
            Filter {
                // The largest seq is a cursor past the end, not a reason to overflow.
                from_seq: Some(self.after.unwrap_or(0).saturating_add(1)),
                to_seq: None,
                kind: self.kind.clone(),
                occurred,
                recorded,
                limit: Some(limit + 1),
            },
            limit,
        ))
    }
}

async fn list(
    State(state): State<AppState>,
    _: CanRead,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(query) = query?;
    let (filter, limit) = query.filter()?;
    let mut page: Vec<Envelope> = state
        .blocking(move |s| Ok(s.store.scan(filter).collect::<Result<Vec<_>, _>>()?))
        .await?;
    let next = (page.len() > limit).then(|| {
        page.truncate(limit);
        page.last().map(|e| e.seq)
    });
    Ok(Json(json!({ "events": page, "next": next.flatten() })))
}

async fn show(
    State(state): State<AppState>,
    _: CanRead,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let Path(id) = path?;
    let id: Uuid = id.parse().map_err(|_| ApiError::BadRequest {
        field: "id".into(),
        reason: format!("'{id}' is not an event id (UUID)"),
    })?;
    state
        .blocking(move |s| {
            let event = s
                .store
                .get(id)?
                .ok_or_else(|| ApiError::NotFound(format!("there is no event {id}")))?;
            let corrections = s.store.corrections_of(id)?;
            Ok(Json(json!({ "event": event, "corrections": corrections })))
        })
        .await
}

async fn tokens(State(state): State<AppState>, _: CanAdmin) -> Result<Json<Value>, ApiError> {
    state
        .blocking(|s| {
            Ok(Json(
                json!({ "tokens": s.store.list_tokens().map_err(token_error)? }),
            ))
        })
        .await
}

#[derive(Deserialize)]
struct NewToken {
    name: String,
    role: Role,
    /// Days until it stops working; it never expires when absent.
    #[serde(default)]
    expires_in_days: Option<u32>,
}

async fn create_token(
    State(state): State<AppState>,
    _: CanAdmin,
    body: Result<Json<NewToken>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let Json(t) = body?;
    state
        .blocking(move |s| {
            let token = s
                .store
                .create_expiring_token(&t.name, t.role, t.expires_in_days)
                .map_err(token_error)?;
            Ok((
                StatusCode::CREATED,
                Json(json!({ "name": t.name, "role": t.role, "token": token })),
            ))
        })
        .await
}

async fn revoke_token(
    State(state): State<AppState>,
    _: CanAdmin,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let Path(name) = path?;
    state
        .blocking(move |s| {
            let ended = s.store.revoke_token(&name).map_err(token_error)?;
            Ok(Json(json!({ "revoked": ended })))
        })
        .await
}

fn token_error(e: crate::store::TokenError) -> ApiError {
    use crate::store::TokenError;
    match e {
        TokenError::Exists(_) => ApiError::Conflict {
            detail: e.to_string(),
            errors: Vec::new(),
        },
        TokenError::Unknown(_) => ApiError::NotFound(e.to_string()),
        TokenError::BadName => ApiError::Invalid(vec![Problem::new(
            At::Draft,
            "name",
            Reason::Said(e.to_string()),
        )]),
        TokenError::BadExpiry(_) => ApiError::Invalid(vec![Problem::new(
            At::Draft,
            "expires_in_days",
            Reason::Said(e.to_string()),
        )]),
        TokenError::Store(s) => s.into(),
    }
}
