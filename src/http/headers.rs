//! The security headers on every answer: a strict Content-Security-Policy, no content
//! sniffing, and no referrer sent to other sites.
//!
//! The policy allows scripts, styles and everything else only from this server, no
//! inline script or style at all (the page's stylesheet is served at
//! `/assets/page.css`; its bars are drawn as SVG rather than sized by `style=""`), and no
//! framing. It is set on every answer, not only HTML: a JSON error or a report opened
//! directly in a browser gets the same protection, and the header costs nothing elsewhere.
use axum::{
    http::{header, HeaderValue},
    response::Response,
};

/// What the page may load, and who may frame it: nobody.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self'; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// Adds the headers to an answer (an `axum::middleware::map_response` function).
pub async fn secure(mut resp: Response) -> Response {
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    // For browsers that predate `frame-ancestors`.
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    resp
}
