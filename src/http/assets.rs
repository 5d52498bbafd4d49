//! `/assets/page.css` and `/assets/page.js`: the pages' one stylesheet and one script,
//! embedded in the binary and served from here rather than inline, so that the
//! Content-Security-Policy can refuse every inline style and script (and with them any
//! a value might smuggle in).
use axum::{
    http::header,
    response::{IntoResponse, Response},
    routing::get,
    Router,
};

use super::AppState;

const PAGE_CSS: &str = include_str!("page.css");
const PAGE_JS: &str = include_str!("page.js");

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/assets/page.css",
            get(|| asset("text/css; charset=utf-8", PAGE_CSS)),
        )
        .route(
            "/assets/page.js",
            get(|| asset("text/javascript; charset=utf-8", PAGE_JS)),
        )
}

async fn asset(content_type: &'static str, text: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            // A new binary may bring a new file under the same name: ask each time
            // (an unchanged one costs a small answer).
            (header::CACHE_CONTROL, "no-cache"),
        ],
        text,
    )
        .into_response()
}
