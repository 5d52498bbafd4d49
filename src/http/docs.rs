//! `/openapi.json` and `/docs`: the API described from one table in the code, served
//! offline (no CDN). A test walks the table against the router, so the two agree; the
//! request bodies' schemas come from the catalog (`schema.rs`).
use axum::{extract::State, response::Html, routing::get, Json, Router};
use events::Catalog;
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::{html, ApiError, AppState};

mod schema;

/// One documented route.
#[derive(Serialize)]
pub struct RouteDoc {
    /// HTTP method, lower case.
    pub method: &'static str,
    /// The path, with `{param}` segments.
    pub path: &'static str,
    /// What it does, in Chinese.
    pub zh: &'static str,
    /// What it does, in English.
    pub en: &'static str,
    /// The query parameters it takes.
    pub query: &'static [&'static str],
    /// The role it needs (`reader` unless reads are open).
    pub role: &'static str,
}

const WHEN: &[&str] = &["period", "on", "known_at", "lang"];

/// Every route of the API.
pub const ROUTES: &[RouteDoc] = &[
    RouteDoc {
        method: "post",
        path: "/api/events",
        zh: "记录事件（单条或批量，按 id 幂等；可带 expected_seq）",
        en: "Record events (one or a batch; idempotent by id; optional expected_seq)",
        query: &[],
        role: "recorder",
    },
    RouteDoc {
        method: "get",
        path: "/api/events",
        zh: "按条件列出事件，按序号游标分页",
        en: "List events with filters, paged by a seq cursor",
        query: &[
            "kind",
            "from",
            "to",
            "recorded_from",
            "recorded_to",
            "after",
            "limit",
        ],
        role: "reader",
    },
    RouteDoc {
        method: "get",
        path: "/api/events/{id}",
        zh: "查看一条事件及其全部更正",
        en: "One event and all its corrections",
        query: &[],
        role: "reader",
    },
    RouteDoc {
        method: "get",
        path: "/api/progress",
        zh: "年度计划完成情况（附日志链头）",
        en: "Progress against the year's targets, with the log head",
        query: &["year", "on", "known_at"],
        role: "reader",
    },
    RouteDoc {
        method: "get",
        path: "/api/metrics",
        zh: "全部指标及上年同期",
        en: "Every metric, with last year's figure",
        query: WHEN,
        role: "reader",
    },
    RouteDoc {
        method: "get",
        path: "/api/metrics/{name}/timeline",
        zh: "指标按月、季度或半年的序列",
        en: "A metric as a series by month, quarter or half",
        query: &["period", "on", "known_at", "by", "lang"],
        role: "reader",
    },
    RouteDoc {
        method: "get",
        path: "/api/people",
        zh: "所有教师的年度记录与“三个一”",
        en: "Every teacher's year and the three-ones rule",
        query: &["year", "on", "known_at"],
        role: "reader",
    },
    RouteDoc {
        method: "get",
        path: "/api/people/{id}",
        zh: "一位教师的年度记录与“三个一”",
        en: "One teacher's year and the three-ones rule",
        query: &["year", "on", "known_at"],
        role: "reader",
    },
    RouteDoc {
        method: "get",
        path: "/api/report",
        zh: "半年（或任一期间）工作报告（format=md、html、json 或 docx）",
        en: "The half-year (or any period's) report (format=md, html, json or docx)",
        query: &["period", "on", "known_at", "lang", "format"],
        role: "reader",
    },
    RouteDoc {
        method: "get",
        path: "/api/export",
        zh: "导出全部日志（JSONL，含哈希链），用于不停机备份",
        en: "The whole log as JSONL with its chain: a backup while the server runs",
        query: &[],
        role: "reader",
    },
    RouteDoc {
        method: "post",
        path: "/api/imports",
        zh: "导入文件（请求体为文件本身，按 Content-Type 识别 xlsx、csv 或 jsonl），全部通过才写入",
        en: "Import a file (the body; Content-Type says xlsx, csv or jsonl), all or nothing",
        query: &["name", "dry_run"],
        role: "recorder",
    },
    RouteDoc {
        method: "get",
        path: "/api/metrics.xlsx",
        zh: "指标、计划完成与趋势的 Excel 工作簿",
        en: "Metrics, progress and timelines as an Excel workbook",
        query: &["period", "on", "known_at", "lang", "by"],
        role: "reader",
    },
    RouteDoc {
        method: "get",
        path: "/api/template.xlsx",
        zh: "Excel 导入模板（按事项类别分表，附填写说明）",
        en: "The Excel import template (a sheet per kind, with instructions)",
        query: &[],
        role: "reader",
    },
    RouteDoc {
        method: "get",
        path: "/api/verify",
        zh: "重新计算全部哈希并校验链",
        en: "Recompute every hash and check the chain",
        query: &[],
        role: "reader",
    },
    RouteDoc {
        method: "get",
        path: "/api/kinds",
        zh: "事件类别目录",
        en: "The catalog of event kinds",
        query: &[],
        role: "reader",
    },
    RouteDoc {
        method: "get",
        path: "/api/stream",
        zh: "实时推送新事件与最新进度（SSE）",
        en: "New events and refreshed progress as server-sent events",
        query: &[],
        role: "reader",
    },
    RouteDoc {
        method: "get",
        path: "/api/tokens",
        zh: "列出令牌（不含令牌本身）",
        en: "List tokens (never the tokens themselves)",
        query: &[],
        role: "admin",
    },
    RouteDoc {
        method: "post",
        path: "/api/tokens",
        zh: "创建令牌（仅显示一次）",
        en: "Create a token (shown once)",
        query: &[],
        role: "admin",
    },
    RouteDoc {
        method: "delete",
        path: "/api/tokens/{name}",
        zh: "吊销令牌，立即生效",
        en: "Revoke a token, effective at once",
        query: &[],
        role: "admin",
    },
    RouteDoc {
        method: "get",
        path: "/healthz",
        zh: "存活检查",
        en: "Liveness check",
        query: &[],
        role: "none",
    },
];

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/openapi.json",
            get(
                |State(state): State<AppState>| async move { Json(openapi(state.store.catalog())) },
            ),
        )
        .route("/docs", get(|| async { page() }))
}

/// The OpenAPI 3.1 description built from [`ROUTES`], with the bodies' schemas made
/// from `catalog`.
pub fn openapi(catalog: &Catalog) -> Value {
    let mut paths = Map::new();
    for r in ROUTES {
        let params: Vec<Value> = r
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
            .map(|p| json!({"name": p, "in": "path", "required": true, "schema": {"type": "string"}}))
            .chain(r.query.iter().map(|q| json!({"name": q, "in": "query", "required": false, "schema": {"type": "string"}})))
            .collect();
        let mut op = json!({
            "summary": r.en,
            "description": format!("{}\n\nRole: {}", r.zh, r.role),
            "parameters": params,
            "responses": {
                "200": {"description": "OK"},
                "400": {"description": "A parameter is invalid (problem details naming it)"},
                "401": {"description": "No valid token"},
                "403": {"description": "The token's role does not allow this"},
            },
        });
        if r.method == "post" {
            op["requestBody"] = if r.path == "/api/imports" {
                // The body is the file itself.
                let file = json!({"schema": {"type": "string", "format": "binary"}});
                json!({"required": true, "content": {crate::office::XLSX_TYPE: file, "text/csv": file, "application/x-ndjson": file}})
            } else {
                let body = match r.path {
                    "/api/events" => schema::events_body(),
                    "/api/tokens" => schema::reference("NewToken"),
                    // A route added without a schema here; the openapi test names it.
                    _ => json!({"type": "object"}),
                };
                json!({"required": true, "content": {"application/json": {"schema": body}}})
            };
            op["responses"]["201"] = json!({"description": "Created"});
            op["responses"]["409"] = json!({"description": "Conflicting id or moved head"});
            op["responses"]["413"] = json!({"description": "Body or batch over the limit"});
            op["responses"]["422"] =
                json!({"description": "Validation failed; every failing field is listed"});
        }
        paths
            .entry(r.path.to_owned())
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .expect("an object")
            .insert(r.method.to_owned(), op);
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Annals API", "version": env!("CARGO_PKG_VERSION"),
                 "description": "县委党校工作纪实：只追加的事件日志与按需重建的统计。Errors are RFC 9457 problem details."},
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": schema::components(catalog),
        },
        "security": [{"bearer": []}],
        "paths": paths,
    })
}

fn page() -> Result<Html<String>, ApiError> {
    html::render("docs.html", json!({ "routes": ROUTES })).map(Html)
}
