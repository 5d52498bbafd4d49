//! The read models over HTTP: progress, metrics and their timelines, people, the report,
//! verification, the catalog and health.
use axum::{
    extract::{
        rejection::{PathRejection, QueryRejection},
        Path, Query, State,
    },
    http::header,
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use chrono::{Datelike, Utc};
use projections::{
    people,
    period::{Bucket, Lang},
    timeline,
};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{auth::CanRead, ApiError, AppState, Inner};
use crate::views;

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/progress", get(progress_view))
        .route("/api/metrics", get(metrics))
        .route("/api/metrics/{name}/timeline", get(metric_timeline))
        .route("/api/people", get(everyone))
        .route("/api/people/{id}", get(person))
        .route("/api/report", get(report_view))
        .route("/api/verify", get(verify))
        .route("/api/kinds", get(kinds))
        .route("/healthz", get(|| async { "ok" }))
}

/// The query parameters every figure takes.
#[derive(Debug, Default, Deserialize)]
pub struct When {
    period: Option<String>,
    on: Option<String>,
    known_at: Option<String>,
    year: Option<i32>,
    by: Option<String>,
    lang: Option<String>,
    format: Option<String>,
}

impl When {
    /// The projections' query for these parameters.
    pub fn query(&self, s: &Inner) -> Result<projections::period::Query, ApiError> {
        Ok(projections::period::Query::parse(
            self.period.as_deref(),
            self.on.as_deref(),
            self.known_at.as_deref(),
            Utc::now(),
            s.config.offset.local_minus_utc(),
        )?)
    }

    /// The language asked for (Chinese by default).
    pub fn lang(&self) -> Result<Lang, ApiError> {
        Ok(self
            .lang
            .as_deref()
            .map(str::parse)
            .transpose()?
            .unwrap_or_default())
    }

    fn year(&self, q: &projections::period::Query) -> Result<i32, ApiError> {
        match self.year {
            Some(y) if !(1900..=2100).contains(&y) => Err(ApiError::BadRequest {
                field: "year".into(),
                reason: format!("{y} is outside 1900–2100"),
            }),
            Some(y) => Ok(y),
            None => Ok(q.on.year()),
        }
    }
}

type Params = Result<Query<When>, QueryRejection>;

/// Progress of every target of a year, with the head it was computed from.
pub fn progress_json(s: &Inner, when: &When) -> Result<Value, ApiError> {
    let text = progress_text(s, when)?;
    Ok(serde_json::from_str(&text).expect("progress_text writes JSON"))
}

/// [`progress_json`] as the text of the response: the lines come already serialised
/// from the cache (remembered per head, year, day and, unless everything is known,
/// moment), so a repeated question costs no serialising. Keys in the order `json!`
/// gives them (sorted).
pub fn progress_text(s: &Inner, when: &When) -> Result<String, ApiError> {
    let q = when.query(s)?;
    let year = when.year(&q)?;
    let head = s.store.head()?;
    let facts = s.cache.read(&s.store)?;
    let lines = s.cache.progress(&facts, &s.metrics, year, q.on, q.known_at);
    Ok(format!(
        "{{\"head\":{{\"hash\":{},\"seq\":{}}},\"known_at\":{},\"on\":{},\"progress\":{lines},\"year\":{year}}}",
        json_text(&head.hash),
        head.seq,
        json_text(&q.known_at),
        json_text(&q.on),
    ))
}

/// A value as JSON text.
fn json_text(v: &impl serde::Serialize) -> String {
    serde_json::to_string(v).expect("serialises")
}

async fn progress_view(
    State(state): State<AppState>,
    _: CanRead,
    params: Params,
) -> Result<Response, ApiError> {
    let Query(when) = params?;
    state
        .blocking(move |s| {
            let text = progress_text(s, &when)?;
            Ok(([(header::CONTENT_TYPE, "application/json")], text).into_response())
        })
        .await
}

async fn metrics(
    State(state): State<AppState>,
    _: CanRead,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    let Query(when) = params?;
    state
        .blocking(move |s| {
            let q = when.query(s)?;
            let lang = when.lang()?;
            let last = q.year_before();
            let facts = s.cache.read(&s.store)?;
            let list: Vec<Value> = s
                .metrics
                .iter()
                .map(|m| {
                    json!({
                        "name": m.name, "figure": m.figure, "group": m.group,
                        "label": m.label(lang), "unit": m.unit(lang),
                        "value": m.value(&facts, &q), "last_year": m.value(&facts, &last),
                        "definition": m,
                    })
                })
                .collect();
            Ok(Json(json!({ "query": q, "metrics": list })))
        })
        .await
}

async fn metric_timeline(
    State(state): State<AppState>,
    _: CanRead,
    path: Result<Path<String>, PathRejection>,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    let (Path(name), Query(when)) = (path?, params?);
    state
        .blocking(move |s| {
            let q = when.query(s)?;
            let m = s.metrics.require(&name)?;
            let by: Bucket = when.by.as_deref().unwrap_or("month").parse()?;
            let facts = s.cache.read(&s.store)?;
            let points = timeline::series(m, &facts, &q, by, when.lang()?);
            Ok(Json(
                json!({ "metric": m.name, "query": q, "by": by, "points": points }),
            ))
        })
        .await
}

async fn everyone(
    State(state): State<AppState>,
    _: CanRead,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    let Query(when) = params?;
    state
        .blocking(move |s| {
            let q = when.query(s)?;
            let year = when.year(&q)?;
            let facts = s.cache.read(&s.store)?;
            let list: Vec<_> = people::everyone(&facts, q.known_at)
                .iter()
                .map(|p| people::person(&facts, p, year, q.on, q.known_at))
                .collect();
            Ok(Json(json!({ "year": year, "people": list })))
        })
        .await
}

async fn person(
    State(state): State<AppState>,
    _: CanRead,
    path: Result<Path<String>, PathRejection>,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    let (Path(id), Query(when)) = (path?, params?);
    state
        .blocking(move |s| {
            let q = when.query(s)?;
            let year = when.year(&q)?;
            let facts = s.cache.read(&s.store)?;
            if !people::everyone(&facts, q.known_at).contains(&id) {
                return Err(ApiError::NotFound(format!(
                    "nobody named '{id}' appears in the log"
                )));
            }
            Ok(Json(json!(people::person(
                &facts, &id, year, q.on, q.known_at
            ))))
        })
        .await
}

async fn report_view(
    State(state): State<AppState>,
    _: CanRead,
    params: Params,
) -> Result<Response, ApiError> {
    let Query(when) = params?;
    state
        .blocking(move |s| {
            let q = when.query(s)?;
            let lang = when.lang()?;
            let facts = s.cache.read(&s.store)?;
            let r = views::report(&s.store, &facts, &s.metrics, &q, lang, s.config.offset)?
                .signed_by(s.config.school.as_deref());
            match when.format.as_deref().unwrap_or("md") {
                "md" => {
                    let text = s.templates.markdown(&r)?;
                    Ok((
                        [(header::CONTENT_TYPE, "text/markdown; charset=utf-8")],
                        text,
                    )
                        .into_response())
                }
                "json" => Ok(Json(r).into_response()),
                "docx" => super::office::docx(&r.period, &s.templates.markdown(&r)?, &r.closing),
                "html" => {
                    let keep = super::page::Keep {
                        on: when.on.clone(),
                        known_at: when.known_at.clone(),
                        lang: when.lang.clone(),
                    };
                    super::markdown::report_page(&r.period, keep, &s.templates.markdown(&r)?)
                }
                other => Err(ApiError::BadRequest {
                    field: "format".into(),
                    reason: format!("'{other}' is not a format; use md, html, json or docx"),
                }),
            }
        })
        .await
}

async fn verify(State(state): State<AppState>, _: CanRead) -> Result<Json<Value>, ApiError> {
    state
        .blocking(|s| {
            let verified = s.verification()?;
            let at = verified.at.to_rfc3339();
            Ok(Json(match verified.result {
                Ok(r) => json!({ "ok": true, "count": r.count, "head_hash": r.head_hash, "verified_at": at }),
                Err(f) => json!({ "ok": false, "seq": f.seq, "reason": f.reason, "verified_at": at }),
            }))
        })
        .await
}

async fn kinds(State(state): State<AppState>, _: CanRead) -> Json<Value> {
    Json(json!({ "kinds": state.store.catalog().kinds().collect::<Vec<_>>() }))
}
