//! `/assets/page.css`: the pages' one stylesheet, embedded in the binary and served from
//! here rather than inline, so that the Content-Security-Policy can refuse every inline
//! style (and with it any style a value might smuggle in).
use axum::{
    http::header,
    response::{IntoResponse, Response},
    routing::get,
    Router,
};

use super::AppState;

const PAGE_CSS: &str = include_str!("page.css");

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new().route("/assets/page.css", get(page_css))
}

async fn page_css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            // A new binary may bring a new stylesheet under the same name: ask each time
            // (an unchanged one costs a small answer).
            (header::CACHE_CONTROL, "no-cache"),
        ],
        PAGE_CSS,
    )
        .into_response()
}
