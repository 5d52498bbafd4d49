//! Office files over HTTP: `POST /api/imports` takes a workbook, a CSV sheet or a JSONL
//! file as the body (its `Content-Type` says which) and imports it all or nothing;
//! `GET /api/metrics.xlsx` answers the figures as a workbook, `GET /api/template.xlsx`
//! the import template to fill in and upload. The report as a Word
//! document is `GET /api/report?format=docx` (see `figures.rs`), answered by [`docx`].

use axum::{
    body::Bytes,
    extract::{
        rejection::{BytesRejection, QueryRejection},
        Query, State,
    },
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use chrono::Utc;
use projections::{period::Bucket, report::Seal};
use serde::Deserialize;

use super::{
    auth::{CanRead, CanRecord},
    ApiError, AppState, Inner,
};
use crate::{
    intake::{self, Format, ImportOptions, Outcome},
    office,
};

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/imports", post(import))
        .route("/api/metrics.xlsx", get(metrics_xlsx))
        .route("/api/template.xlsx", get(template_xlsx))
}

/// How long an upload waits for its turn to be read before it is told to come back.
const IMPORT_QUEUE: std::time::Duration = std::time::Duration::from_secs(60);

/// Query parameters of `POST /api/imports`.
#[derive(Debug, Deserialize)]
pub struct ImportParams {
    /// The file's name: recorded with the import; a CSV's name names its kind.
    name: Option<String>,
    /// Check the file without writing anything.
    #[serde(default)]
    dry_run: bool,
}

#[tracing::instrument(skip_all, fields(by = %who.0.name))]
async fn import(
    State(state): State<AppState>,
    who: CanRecord,
    headers: HeaderMap,
    params: Result<Query<ImportParams>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Outcome>), ApiError> {
    let Query(params) = params?;
    let body = body.map_err(body_error)?;
    let format = format_of(&headers, &body)?;
    let author = who.0.name;
    // The turn goes with the work, not the request: a client that hangs up drops the
    // request, but the import it started runs on until it ends, and holds the turn till
    // then, so imports never add up past `--imports-at-once` (issue 13). A request waits
    // for its turn only so long.
    let turn = tokio::time::timeout(IMPORT_QUEUE, state.imports.clone().acquire_owned())
        .await
        .map_err(|_| ApiError::Busy("other imports are being read; try again in a moment".into()))?
        .map_err(|e| ApiError::Internal(e.into()))?;
    let outcome = state
        .blocking(move |s| {
            let _turn = turn;
            import_body(s, format, &body, &params, &author)
        })
        .await?;
    let status = match outcome.written {
        Some(_) => StatusCode::CREATED,
        None => StatusCode::OK,
    };
    Ok((status, Json(outcome)))
}

/// The format the request's `Content-Type` names, or 415 listing the ones accepted.
fn format_of(headers: &HeaderMap, body: &[u8]) -> Result<Format, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    Format::of_media_type(content_type, body).ok_or_else(|| {
        ApiError::UnsupportedMediaType(format!(
            "send the file as the body with Content-Type: {}",
            intake::ACCEPTED_TYPES
        ))
    })
}

/// Imports the body, all or nothing.
fn import_body(
    s: &Inner,
    format: Format,
    body: &[u8],
    params: &ImportParams,
    author: &str,
) -> Result<Outcome, ApiError> {
    let options = ImportOptions {
        name: params.name.as_deref().unwrap_or(default_name(format)),
        author,
        // Over HTTP every line is a new event by the token's holder, whatever its role.
        trust: intake::Trust::Recorder,
        dry_run: params.dry_run,
        max_events: Some(s.config.batch_limit),
    };
    Ok(intake::import(
        &s.store,
        format,
        body,
        options,
        &mut |_, _| {},
    )?)
}

fn default_name(format: Format) -> &'static str {
    match format {
        Format::Jsonl => "upload.jsonl",
        Format::Xlsx => "upload.xlsx",
        Format::Csv => "upload.csv",
    }
}

fn body_error(r: BytesRejection) -> ApiError {
    if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::TooLarge("the file is over the size limit; import it with the command line, or raise --body-limit".into())
    } else {
        ApiError::BadRequest {
            field: "body".into(),
            reason: r.body_text(),
        }
    }
}

/// Query parameters of `GET /api/metrics.xlsx`.
#[derive(Debug, Deserialize)]
pub struct SheetParams {
    period: Option<String>,
    on: Option<String>,
    known_at: Option<String>,
    lang: Option<String>,
    by: Option<String>,
}

async fn metrics_xlsx(
    State(state): State<AppState>,
    _: CanRead,
    params: Result<Query<SheetParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(p) = params?;
    state.blocking(move |s| metrics_workbook(s, &p)).await
}

fn metrics_workbook(s: &Inner, p: &SheetParams) -> Result<Response, ApiError> {
    let query = projections::period::Query::parse(
        p.period.as_deref(),
        p.on.as_deref(),
        p.known_at.as_deref(),
        Utc::now(),
        s.config.offset.local_minus_utc(),
    )?;
    let lang = p
        .lang
        .as_deref()
        .map(str::parse::<projections::period::Lang>)
        .transpose()?
        .unwrap_or_default();
    let by: Bucket = p.by.as_deref().unwrap_or("month").parse()?;
    let head = s.store.head()?;
    let facts = s.cache.read(&s.store)?;
    let bytes = office::workbook::write(&office::workbook::Source {
        facts: &facts,
        metrics: &s.metrics,
        query: &query,
        by,
        lang,
        seal: Some(Seal {
            seq: head.seq,
            hash: head.hash.to_string(),
        }),
        now: Utc::now(),
        offset: s.config.offset,
    })?;
    let name = format!("annals-metrics-{}.xlsx", query.period);
    Ok(attachment(office::XLSX_TYPE, &name, bytes))
}

/// The import template, from the catalog this server records with.
async fn template_xlsx(State(state): State<AppState>, _: CanRead) -> Result<Response, ApiError> {
    state
        .blocking(|s| {
            let bytes = office::template::write(s.store.catalog())?;
            Ok(attachment(office::XLSX_TYPE, "annals-template.xlsx", bytes))
        })
        .await
}

/// The report's Markdown as a Word document to download.
pub fn docx(
    period: &str,
    markdown: &str,
    closing: &projections::report::Closing,
) -> Result<Response, ApiError> {
    let bytes = office::docx::report(markdown, closing)?;
    Ok(attachment(
        office::DOCX_TYPE,
        &format!("annals-report-{period}.docx"),
        bytes,
    ))
}

fn attachment(content_type: &'static str, name: &str, bytes: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        bytes,
    )
        .into_response()
}
