//! HTML answers: one template engine, set to escape every value of every template, and
//! the templates it holds (the progress page, the sign-in page, the API docs, the report).
use std::sync::LazyLock;

use axum::{
    http::StatusCode,
    response::{Html, IntoResponse, Response},
};
use minijinja::{AutoEscape, Environment};
use serde::Serialize;

use super::ApiError;

/// Every template, by the name it is rendered under.
const TEMPLATES: &[(&str, &str)] = &[
    ("page.html", include_str!("page.html.j2")),
    ("login.html", include_str!("login.html.j2")),
    ("docs.html", include_str!("docs.html.j2")),
    ("report.html", include_str!("report.html.j2")),
];

/// The templates, parsed once; the page tests fail if one does not parse.
static ENV: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    // Every value is escaped whatever a template is called: what people typed reaches
    // every reader. Markup the server builds itself (the charts' SVG) escapes its own
    // text and is marked `| safe` where it is placed, the one place to look.
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    for (name, text) in TEMPLATES {
        env.add_template(name, text).expect("the templates parse");
    }
    env
});

/// Renders the template of that name.
pub fn render(name: &str, ctx: impl Serialize) -> Result<String, ApiError> {
    ENV.get_template(name)
        .and_then(|t| t.render(ctx))
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("the template {name} failed: {e:#}")))
}

/// A rendered page as an answer.
pub fn answer(status: StatusCode, body: String) -> Response {
    (status, Html(body)).into_response()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn every_template_escapes_what_it_is_given() {
        let hostile = "<script>alert(1)</script>\"'";
        let html = super::render(
            "docs.html",
            json!({"routes": [{"method": "get", "path": hostile, "zh": hostile, "en": hostile,
                               "query": [hostile], "role": hostile}]}),
        )
        .unwrap();
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
    }
}
