//! The report's Markdown as HTML (`/api/report?format=html`): the same template as the
//! Markdown and Word reports, turned into markup by pulldown-cmark with every raw HTML
//! block or tag in the text made plain text, then placed in the escaping template
//! `report.html`.
use axum::{http::StatusCode, response::Response};
use projections::period::Lang;
use pulldown_cmark::{html, Event, Options, Parser, Tag, TagEnd};
use serde_json::json;

use super::{html as pages, page::Keep, ApiError};

/// The report as a page: its HTML in the report template, with a way back to the page
/// on the same day and a link to the Word file.
pub fn report_page(period: &str, keep: Keep, markdown: &str) -> Result<Response, ApiError> {
    let lang = keep.lang();
    let title = markdown
        .lines()
        .find_map(|l| l.strip_prefix("# "))
        .unwrap_or(period);
    let docx = format!("/api/report?period={period}&{}&format=docx", keep.query());
    let body = pages::render(
        "report.html",
        json!({
            "zh": lang == Lang::Zh,
            "title": title,
            "body": to_html(markdown),
            "back": keep.query(),
            "docx": docx,
        }),
    )?;
    Ok(pages::answer(StatusCode::OK, body))
}

/// The Markdown as HTML. Raw HTML is never passed through, and no link or image is
/// made: the report's templates have none, so any there came from what a recorder typed
/// (a plan's title `[登录](https://elsewhere/)` or `![](https://elsewhere/t.png)`), and
/// is shown as the text it is, its words without the address.
pub fn to_html(markdown: &str) -> String {
    let parser =
        Parser::new_ext(markdown, Options::ENABLE_TABLES).filter_map(|event| match event {
            Event::Html(text) | Event::InlineHtml(text) => Some(Event::Text(text)),
            Event::Start(Tag::Link { .. } | Tag::Image { .. })
            | Event::End(TagEnd::Link | TagEnd::Image) => None,
            other => Some(other),
        });
    let mut out = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut out, parser);
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn raw_html_in_the_markdown_is_shown_as_text() {
        let html = super::to_html(
            "# 报告\n\n<script>alert(1)</script>\n\n| a | b |\n|---|---|\n| <img src=x onerror=alert(1)> | 2 |\n",
        );
        assert!(html.contains("<h1>报告</h1>"), "{html}");
        assert!(html.contains("<table>"), "{html}");
        assert!(
            !html.contains("<script") && !html.contains("<img"),
            "{html}"
        );
        assert!(html.contains("&lt;script&gt;"), "{html}");
    }

    #[test]
    fn links_and_images_typed_by_a_recorder_are_shown_as_text() {
        let html = super::to_html(
            "1. [登录](javascript:alert(1)) ![图](https://elsewhere.example/t.png) <https://elsewhere.example/>\n",
        );
        assert!(
            !html.contains("<a") && !html.contains("<img") && !html.contains("javascript:"),
            "{html}"
        );
        assert!(html.contains("登录") && html.contains("图"), "{html}");
    }
}
