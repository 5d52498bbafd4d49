//! The read API: the schools, their progress side by side with totals by region, and
//! one school's report as the hub holds it. Each answer covers the caller's region.
use axum::{
    extract::{Path, Query, State},
    http::header,
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use chrono::{Datelike, Utc};
use serde::Deserialize;

use projections::{
    period::{Lang, Query as Query2},
    report::Report,
};

use super::{auth::Reader, error::HubApiError, HubState};
use crate::hub::{
    figures::{self, Ask, Overview, SchoolLine},
    forwarded,
    receipt::Receipt,
    schools::{self, School},
};

/// The read routes.
pub fn router() -> Router<HubState> {
    Router::new()
        .route("/hub/api/schools", get(list))
        .route("/hub/api/progress", get(progress))
        .route("/hub/api/schools/{id}/report", get(report))
        .route("/hub/api/schools/{id}/receipts", get(receipts))
}

/// The times a figure is asked for, as query parameters.
#[derive(Debug, Default, Deserialize)]
pub struct When {
    /// The year (default: the year of `on`).
    pub year: Option<i32>,
    /// Count what occurred by this day (default: today).
    pub on: Option<String>,
    /// Count what the schools had recorded by this moment or day (default: now).
    pub known_at: Option<String>,
    /// Count only what the hub had received by this moment or day.
    pub received_by: Option<String>,
    /// How the page sorts its rows: name, done, behind or push.
    pub sort: Option<String>,
}

impl When {
    /// The question these parameters ask.
    pub fn ask(&self, s: &HubState) -> Result<Ask, HubApiError> {
        let offset = s.config.offset;
        let q = projections::period::Query::parse(
            None,
            self.on.as_deref(),
            self.known_at.as_deref(),
            Utc::now(),
            offset.local_minus_utc(),
        )
        .map_err(bad)?;
        let received_by = self
            .received_by
            .as_deref()
            .map(|t| projections::period::parse_moment(t, offset))
            .transpose()
            .map_err(bad)?;
        Ok(Ask {
            year: self.year.unwrap_or(q.on.year()),
            on: q.on,
            known_at: q.known_at,
            received_by,
        })
    }
}

fn bad(e: projections::Error) -> HubApiError {
    match e {
        projections::Error::Argument { arg, reason } => {
            HubApiError::BadRequest { field: arg, reason }
        }
        other => HubApiError::BadRequest {
            field: "query",
            reason: other.to_string(),
        },
    }
}

/// The schools the caller sees.
pub async fn visible(
    s: &HubState,
    reader: &Reader,
) -> Result<(Vec<School>, Vec<School>), HubApiError> {
    let client = s.pool.get().await?;
    let all = schools::list(&client).await?;
    let shown = all
        .iter()
        .filter(|x| {
            reader
                .region
                .as_deref()
                .is_none_or(|r| schools::in_region(&all, &x.id, r))
        })
        .cloned()
        .collect();
    Ok((shown, all))
}

/// Every visible school's progress, with totals: what the API answers and the page shows.
pub async fn overview(s: &HubState, reader: &Reader, ask: Ask) -> Result<Overview, HubApiError> {
    let (shown, all) = visible(s, reader).await?;
    let client = s.pool.get().await?;
    let mut folds = Vec::with_capacity(shown.len());
    for school in &shown {
        let fold = match ask.received_by {
            Some(t) => std::sync::Arc::new(std::sync::RwLock::new(
                s.folds.facts_received_by(&client, &school.id, t).await?,
            )),
            None => s.folds.facts(&client, &school.id, school.head_seq).await?,
        };
        folds.push(fold);
    }
    let state = s.clone();
    let now = Utc::now();
    let lines = tokio::task::spawn_blocking(move || {
        shown
            .into_iter()
            .zip(folds)
            .map(|(school, fold)| {
                let facts = fold.read().expect("fold lock poisoned");
                SchoolLine {
                    stale: school
                        .last_push
                        .is_none_or(|t| now - t > state.config.stale_after),
                    progress: figures::progress_of(&facts, &state.metrics, &ask),
                    school,
                }
            })
            .collect::<Vec<_>>()
    })
    .await
    .map_err(|e| anyhow::anyhow!("a figures task failed: {e}"))?;
    Ok(figures::overview(&ask, lines, &all))
}

#[tracing::instrument(skip_all)]
async fn list(State(s): State<HubState>, reader: Reader) -> Result<Json<Vec<School>>, HubApiError> {
    Ok(Json(visible(&s, &reader).await?.0))
}

#[tracing::instrument(skip_all)]
async fn progress(
    State(s): State<HubState>,
    reader: Reader,
    Query(when): Query<When>,
) -> Result<Json<Overview>, HubApiError> {
    let ask = when.ask(&s)?;
    Ok(Json(overview(&s, &reader, ask).await?))
}

/// A school's receipts: those this hub signed for it (`signed`, with this hub's key),
/// and those the hub below signed and forwarded (`forwarded`, each checked on arrival
/// against its key and the chain held here).
#[derive(Debug, serde::Serialize)]
struct Receipts {
    school: String,
    signed: Vec<Receipt>,
    forwarded: Vec<Receipt>,
}

#[tracing::instrument(skip_all, fields(school = %id))]
async fn receipts(
    State(s): State<HubState>,
    reader: Reader,
    Path(id): Path<String>,
) -> Result<Json<Receipts>, HubApiError> {
    let (shown, _) = visible(&s, &reader).await?;
    if !shown.iter().any(|x| x.id == id) {
        return Err(HubApiError::NotFound(format!(
            "no school '{id}' in your region"
        )));
    }
    let client = s.pool.get().await?;
    Ok(Json(Receipts {
        signed: forwarded::signed_after(&client, &id, 0, &s.key.public_hex()).await?,
        forwarded: forwarded::list(&client, &id).await?,
        school: id,
    }))
}

/// What a report is asked for.
#[derive(Debug, Deserialize)]
struct ReportQuery {
    period: Option<String>,
    on: Option<String>,
    known_at: Option<String>,
    lang: Option<String>,
    format: Option<String>,
}

#[tracing::instrument(skip_all, fields(school = %id))]
async fn report(
    State(s): State<HubState>,
    reader: Reader,
    Path(id): Path<String>,
    Query(rq): Query<ReportQuery>,
) -> Result<Response, HubApiError> {
    let (q, lang, markdown) = rq.parse(&s)?;
    let report = school_report(&s, &reader, &id, q, lang).await?.1;
    if !markdown {
        return Ok(Json(report).into_response());
    }
    let text = s
        .templates
        .markdown(&report)
        .map_err(|e| anyhow::anyhow!("the report template failed: {e}"))?;
    Ok((
        [(header::CONTENT_TYPE, "text/markdown; charset=utf-8")],
        text,
    )
        .into_response())
}

impl ReportQuery {
    /// The query, the language, and whether Markdown (not JSON) is asked for.
    fn parse(&self, s: &HubState) -> Result<(Query2, Lang, bool), HubApiError> {
        let q = Query2::parse(
            self.period.as_deref(),
            self.on.as_deref(),
            self.known_at.as_deref(),
            Utc::now(),
            s.config.offset.local_minus_utc(),
        )
        .map_err(bad)?;
        let lang =
            self.lang
                .as_deref()
                .unwrap_or("zh")
                .parse()
                .map_err(|_| HubApiError::BadRequest {
                    field: "lang",
                    reason: "use zh or en".into(),
                })?;
        let markdown = match self.format.as_deref() {
            None | Some("json") => false,
            Some("md") => true,
            Some(other) => {
                return Err(HubApiError::BadRequest {
                    field: "format",
                    reason: format!("'{other}' is not md or json"),
                })
            }
        };
        Ok((q, lang, markdown))
    }
}

/// A school of the caller's region and its report as the hub holds it, sealed with the
/// head of the fold it was computed from.
pub async fn school_report(
    s: &HubState,
    reader: &Reader,
    id: &str,
    q: Query2,
    lang: Lang,
) -> Result<(School, Report), HubApiError> {
    let (shown, _) = visible(s, reader).await?;
    let school = shown
        .into_iter()
        .find(|x| x.id == id)
        .ok_or_else(|| HubApiError::NotFound(format!("no school '{id}' in your region")))?;
    let client = s.pool.get().await?;
    let fold = s.folds.facts(&client, id, school.head_seq).await?;
    let state = s.clone();
    let mut report = tokio::task::spawn_blocking(move || {
        let facts = fold.read().expect("fold lock poisoned");
        let seal = projections::report::Seal {
            seq: facts.head_seq(),
            hash: String::new(),
        };
        let offset = state.config.offset;
        projections::report::build(
            &facts,
            &state.metrics,
            &q,
            lang,
            Some(seal),
            Utc::now(),
            offset,
        )
    })
    .await
    .map_err(|e| anyhow::anyhow!("a report task failed: {e}"))?;
    // The fold may have moved past the head read above: cite the hash of its own head.
    if let Some(seal) = report.seal.as_mut() {
        seal.hash = hash_at(&client, id, seal.seq).await?;
    }
    // Signed (落款) by the school whose log it is.
    let report = report.signed_by(Some(&school.name));
    Ok((school, report))
}

async fn hash_at(
    client: &deadpool_postgres::Client,
    id: &str,
    seq: u64,
) -> Result<String, HubApiError> {
    if seq == 0 {
        return Ok(events::GENESIS.to_string());
    }
    let row = client
        .query_one(
            "SELECT hash FROM events WHERE school = $1 AND seq = $2",
            &[&id, &(seq as i64)],
        )
        .await?;
    Ok(row.get::<_, String>(0).trim().to_owned())
}
