//! Whether a change sent with the session cookie comes from this server's own page: its
//! `Origin` (or, where a browser sends none, its `Referer`) must name the host the request
//! was sent to. A browser sets both itself and a page on another site cannot forge them,
//! so a form or script elsewhere cannot act with a signed-in person's cookie.
//!
//! Behind a reverse proxy, the proxy must pass the `Host` header as the browser sent it
//! (nginx: `proxy_set_header Host $http_host;`).
use axum::http::{header, HeaderMap};

use super::ApiError;

/// Refuses (403) unless the request names this server as where it comes from. With
/// `tls`, the page must have been an `https` one.
pub fn check(headers: &HeaderMap, tls: bool) -> Result<(), ApiError> {
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let from = text(header::ORIGIN).or_else(|| text(header::REFERER));
    let to = text(header::HOST);
    match (from.and_then(|f| authority(f, tls)), to) {
        (Some(from), Some(to)) if from.eq_ignore_ascii_case(to) => Ok(()),
        _ => Err(ApiError::Forbidden(
            "a change made with the page's sign-in must come from this server's own page \
             (the request's Origin names another site, or none)"
                .into(),
        )),
    }
}

/// The `host[:port]` of an origin or a URL, if it is `http` or `https` (only `https`
/// when `tls`) and names no user.
fn authority(url: &str, tls: bool) -> Option<&str> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://").filter(|_| !tls))?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    (!authority.is_empty() && !authority.contains('@')).then_some(authority)
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| (k.clone(), HeaderValue::from_str(v).unwrap()))
            .collect()
    }

    #[test]
    fn the_same_host_and_port_is_the_same_origin() {
        let host = (header::HOST, "127.0.0.1:8080");
        for from in [
            (header::ORIGIN, "http://127.0.0.1:8080"),
            (header::REFERER, "http://127.0.0.1:8080/?lang=en"),
            (header::ORIGIN, "https://127.0.0.1:8080"),
        ] {
            assert!(
                check(&headers(&[host.clone(), from.clone()]), false).is_ok(),
                "{from:?}"
            );
        }
    }

    #[test]
    fn another_site_none_or_a_trick_is_refused() {
        let host = (header::HOST, "school.example:8080");
        for from in [
            vec![],
            vec![(header::ORIGIN, "null")],
            vec![(header::ORIGIN, "http://evil.example")],
            vec![(header::ORIGIN, "http://school.example:8081")],
            vec![(header::ORIGIN, "http://school.example:8080.evil.example")],
            vec![(header::REFERER, "http://school.example:8080@evil.example/")],
            vec![(header::ORIGIN, "ftp://school.example:8080")],
            // Origin wins over a Referer that happens to match.
            vec![
                (header::ORIGIN, "http://evil.example"),
                (header::REFERER, "http://school.example:8080/"),
            ],
        ] {
            let mut all = vec![host.clone()];
            all.extend(from.iter().cloned());
            assert!(check(&headers(&all), false).is_err(), "{from:?}");
        }
        let no_host = headers(&[(header::ORIGIN, "http://school.example:8080")]);
        assert!(check(&no_host, false).is_err());
    }

    #[test]
    fn behind_tls_only_an_https_page_counts() {
        let h = |o| headers(&[(header::HOST, "school.example"), (header::ORIGIN, o)]);
        assert!(check(&h("https://school.example"), true).is_ok());
        assert!(check(&h("http://school.example"), true).is_err());
    }
}
