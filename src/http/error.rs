//! The one error type of the HTTP layer, answered as RFC 9457 problem details that name
//! the failing fields. Anything that is not the caller's fault becomes an opaque 500
//! whose cause is logged, never sent.
use axum::{
    extract::rejection::{JsonRejection, PathRejection, QueryRejection},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
};
use serde::Serialize;

use super::lang;
use crate::{
    intake::{At, IntakeError, Problem, ProblemJson, Problems},
    office::OfficeError,
    store::StoreError,
};

/// Everything a handler can answer with besides success.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: a query parameter or path segment cannot be understood.
    #[error("{field}: {reason}")]
    BadRequest {
        /// The parameter.
        field: String,
        /// Why.
        reason: String,
    },
    /// 401: no token, or a token that is not valid (or was revoked).
    #[error("{0}")]
    Unauthorized(String),
    /// 403: the token's role does not allow this.
    #[error("{0}")]
    Forbidden(String),
    /// 404: no such thing.
    #[error("{0}")]
    NotFound(String),
    /// 405: the route exists but not with this method.
    #[error("{0}")]
    MethodNotAllowed(String),
    /// 409: an id exists with other content, or the head moved.
    #[error("{detail}")]
    Conflict {
        /// What conflicts.
        detail: String,
        /// The events concerned.
        errors: Vec<Problem>,
    },
    /// 413: the body or batch is over the limit.
    #[error("{0}")]
    TooLarge(String),
    /// 415: the body is not of a type the route takes (JSON, or an import's file types).
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 422: well-formed but invalid; every failing field is listed.
    #[error("{} field(s) are not valid", .0.len())]
    Invalid(Vec<Problem>),
    /// 408: the request's body did not arrive in time.
    #[error("{0}")]
    Timeout(String),
    /// 503: too many of something at once (event streams); try again later.
    #[error("{0}")]
    Busy(String),
    /// 422: an imported file was refused; its first problems are listed, and the detail
    /// says how many were found in all.
    #[error("{} problem(s) found; nothing was imported{}", .0.total(), unlisted(.0))]
    Refused(Problems),
    /// 507: the disk is full; nothing was written.
    #[error("{0}")]
    InsufficientStorage(String),
    /// 500: our fault; logged, not sent.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// An RFC 9457 problem-details body: the fields every answer has, then a server's own
/// (`more`: the failing fields here, the school and seq at the hub).
#[derive(Serialize)]
struct Details<'a, X> {
    #[serde(rename = "type")]
    kind: &'static str,
    title: &'a str,
    status: u16,
    detail: String,
    #[serde(flatten)]
    more: X,
}

/// The answer: `status` with a problem-details body. Shared by the school's server and
/// the hub's.
pub(crate) fn problem(
    status: StatusCode,
    title: &str,
    detail: String,
    more: impl Serialize,
) -> Response {
    let body = Details {
        kind: "about:blank",
        title,
        status: status.as_u16(),
        detail,
        more,
    };
    (
        status,
        [(header::CONTENT_TYPE, "application/problem+json")],
        serde_json::to_vec(&body).unwrap_or_default(),
    )
        .into_response()
}

/// The detail of a 500: the cause is logged (its whole chain), never sent.
pub(crate) fn internal(cause: &dyn std::fmt::Display) -> String {
    tracing::error!(error = %format!("{cause:#}"), "internal error");
    "服务器内部错误，已记录日志。An internal error occurred; it has been logged.".to_owned()
}

/// The failing fields, where an answer has some.
#[derive(Serialize)]
struct Fields<'a> {
    #[serde(skip_serializing_if = "<[ProblemJson]>::is_empty")]
    errors: &'a [ProblemJson],
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, title) = match &self {
            ApiError::BadRequest { .. } => (StatusCode::BAD_REQUEST, "请求参数有误 Bad request"),
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "需要有效令牌 Unauthorized"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "无此权限 Forbidden"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "未找到 Not found"),
            ApiError::Conflict { .. } => (StatusCode::CONFLICT, "冲突 Conflict"),
            ApiError::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "内容过大 Content too large"),
            ApiError::UnsupportedMediaType(_) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "不支持的内容类型 Unsupported media type",
            ),
            ApiError::Invalid(_) | ApiError::Refused { .. } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "校验未通过 Validation failed",
            ),
            ApiError::MethodNotAllowed(_) => (
                StatusCode::METHOD_NOT_ALLOWED,
                "方法不允许 Method not allowed",
            ),
            ApiError::Timeout(_) => (StatusCode::REQUEST_TIMEOUT, "请求超时 Request timeout"),
            ApiError::Busy(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "服务繁忙 Service unavailable",
            ),
            ApiError::InsufficientStorage(_) => (
                StatusCode::INSUFFICIENT_STORAGE,
                "存储空间不足 Insufficient storage",
            ),
            ApiError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "服务器内部错误 Internal error",
            ),
        };
        let detail = match &self {
            ApiError::Internal(e) => internal(e),
            other => other.to_string(),
        };
        // Each problem in the language the request asked for (see `lang`).
        let en = lang::english();
        let errors: Vec<ProblemJson> = match &self {
            ApiError::Invalid(e) | ApiError::Conflict { errors: e, .. } => {
                e.iter().map(|p| p.json(en)).collect()
            }
            ApiError::Refused(e) => e.iter().map(|p| p.json(en)).collect(),
            ApiError::BadRequest { field, reason } => vec![ProblemJson {
                index: None,
                field: field.clone(),
                reason: reason.clone(),
            }],
            _ => Vec::new(),
        };
        problem(status, title, detail, Fields { errors: &errors })
    }
}

/// How many of a refused file's problems are not listed, when some are not.
fn unlisted(problems: &Problems) -> String {
    match problems.more() {
        0 => String::new(),
        more => format!(
            " (the first {} are listed, and {more} more)",
            problems.listed().len()
        ),
    }
}

/// The answer for a method a route does not take.
pub async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError::MethodNotAllowed(format!("{} does not take {method}", uri.path()))
}

/// The answer for routes that do not exist.
pub async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(format!("no such route: {}", uri.path()))
}

impl From<IntakeError> for ApiError {
    fn from(e: IntakeError) -> Self {
        match e {
            // A file's problems are counted past the ones listed; a submission's are few.
            IntakeError::Refused(list)
                if list
                    .iter()
                    .any(|p| matches!(p.at, At::Line(_) | At::Cell(_))) =>
            {
                ApiError::Refused(list)
            }
            // The store's refusal is typed: an id taken by other content is a conflict.
            IntakeError::Refused(list) if list.iter().any(|p| p.reason.is_conflict()) => {
                ApiError::Conflict {
                    detail: "an event with this id already exists with different content".into(),
                    errors: list.into_iter().collect(),
                }
            }
            IntakeError::Refused(list) => ApiError::Invalid(list.into_iter().collect()),
            IntakeError::File(e) => e.into(),
            too_many @ IntakeError::TooMany { .. } => ApiError::TooLarge(too_many.to_string()),
            IntakeError::Store(e) => e.into(),
        }
    }
}

impl From<OfficeError> for ApiError {
    fn from(e: OfficeError) -> Self {
        match e {
            unreadable @ (OfficeError::Unreadable(_) | OfficeError::Encrypted) => {
                ApiError::Invalid(vec![Problem::new(
                    At::Draft,
                    "body",
                    events::Reason::Words(events::Words::new(
                        unreadable.text(false),
                        unreadable.text(true),
                    )),
                )])
            }
            too_large @ OfficeError::OverLimit { .. } => {
                ApiError::TooLarge(too_large.text(lang::english()))
            }
            write @ OfficeError::Write { .. } => ApiError::Internal(write.into()),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            rejected @ StoreError::Rejected(_) => IntakeError::from(rejected).into(),
            full @ StoreError::DiskFull { .. } => {
                tracing::error!(error = %full, "disk full");
                ApiError::InsufficientStorage(
                    "the server's disk is full; nothing was written".into(),
                )
            }
            moved @ StoreError::HeadMoved { .. } => ApiError::Conflict {
                detail: moved.to_string(),
                errors: Vec::new(),
            },
            other => ApiError::Internal(other.into()),
        }
    }
}

impl From<projections::Error> for ApiError {
    fn from(e: projections::Error) -> Self {
        match e {
            projections::Error::Argument { arg, reason } => ApiError::BadRequest {
                field: arg.to_owned(),
                reason,
            },
            unknown @ projections::Error::UnknownMetric { .. } => {
                ApiError::NotFound(unknown.to_string())
            }
            other => ApiError::Internal(other.into()),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        match r {
            JsonRejection::MissingJsonContentType(_) => ApiError::UnsupportedMediaType(
                "the body must be JSON, sent with Content-Type: application/json".into(),
            ),
            JsonRejection::JsonSyntaxError(e) => ApiError::BadRequest {
                field: "body".into(),
                reason: format!("is not valid JSON: {}", e.body_text()),
            },
            JsonRejection::JsonDataError(e) => ApiError::Invalid(vec![Problem::new(
                At::Draft,
                "body",
                events::Reason::Said(e.body_text()),
            )]),
            JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                ApiError::TooLarge("the body is over the size limit".into())
            }
            other => ApiError::BadRequest {
                field: "body".into(),
                reason: other.body_text(),
            },
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        ApiError::BadRequest {
            field: "query".into(),
            reason: r.body_text(),
        }
    }
}

/// A path segment that cannot be read, such as percent-encoded bytes that are not UTF-8.
impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        ApiError::BadRequest {
            field: "path".into(),
            reason: r.body_text(),
        }
    }
}

impl From<events::Error> for ApiError {
    fn from(e: events::Error) -> Self {
        match e {
            events::Error::Invalid(list) => ApiError::Invalid(
                list.into_iter()
                    .map(|f| Problem::of(At::Draft, f))
                    .collect(),
            ),
            other => ApiError::Internal(other.into()),
        }
    }
}
