//! The language of an API answer's messages, from the request's `Accept-Language`:
//! Chinese unless the client prefers English, as the product speaks Chinese by default.
//! A layer sets it for the request's task, so that [`super::ApiError`]'s answer renders
//! its problems in it without every handler passing it on.
use axum::{
    extract::Request,
    http::{header, HeaderMap},
    middleware::Next,
    response::Response,
};

tokio::task_local! {
    static ENGLISH: bool;
}

/// Whether `Accept-Language` prefers English to Chinese: its first language (by
/// weight, then order) that is either.
pub fn prefers_english(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let mut best: Option<(f32, bool)> = None;
    for part in value.split(',') {
        let mut pieces = part.split(';');
        let tag = pieces
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        let q = pieces
            .find_map(|p| p.trim().strip_prefix("q=")?.parse::<f32>().ok())
            .unwrap_or(1.0);
        let en = if tag == "en" || tag.starts_with("en-") {
            true
        } else if tag == "zh" || tag.starts_with("zh-") {
            false
        } else {
            continue;
        };
        if best.is_none_or(|(bq, _)| q > bq) {
            best = Some((q, en));
        }
    }
    best.is_some_and(|(_, en)| en)
}

/// Runs the request with its language set for [`english`].
pub async fn from_request(req: Request, next: Next) -> Response {
    let en = prefers_english(req.headers());
    ENGLISH.scope(en, next.run(req)).await
}

/// Whether the request being answered asked for English (Chinese outside a request).
pub fn english() -> bool {
    ENGLISH.try_with(|en| *en).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_LANGUAGE, value.parse().unwrap());
        h
    }

    #[test]
    fn english_only_when_preferred() {
        assert!(!prefers_english(&HeaderMap::new()));
        assert!(prefers_english(&with("en-US,en;q=0.9")));
        assert!(!prefers_english(&with("zh-CN,zh;q=0.9,en;q=0.8")));
        assert!(prefers_english(&with("fr, en;q=0.5, zh;q=0.3")));
        assert!(!prefers_english(&with("fr")));
    }
}
