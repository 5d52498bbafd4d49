//! The hub's Chinese page: schools as rows with their 时间过半任务过半 bars, totals by
//! region, stale schools (未报送) and forks flagged, sortable, and a page per school
//! with its report as the hub holds it. Rendered on the server by a template engine
//! that escapes every value; the bars are SVG built here from numbers only.
use std::sync::LazyLock;

use axum::{
    extract::{Path, Query, State},
    http::header,
    response::{Html, IntoResponse, Redirect, Response},
    routing::get,
    Router,
};
use chrono::{DateTime, FixedOffset, Utc};
use minijinja::{AutoEscape, Environment};
use projections::period::Lang;
use serde::Serialize;
use serde_json::json;

use super::{api, auth::Reader, error::HubApiError, HubState};
use crate::hub::{
    figures::{Overview, SchoolLine, Total},
    schools,
};

static ENV: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    // Every value escaped, whatever the template's name: names come from the schools.
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.add_template("hub.html", include_str!("page.html.j2"))
        .expect("the hub page parses");
    env.add_template("school.html", include_str!("school.html.j2"))
        .expect("the school page parses");
    env
});

/// The page's routes.
pub fn router() -> Router<HubState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/hub") }))
        .route("/hub", get(page))
        .route("/hub/schools/{id}", get(school))
        .route("/hub/assets/hub.css", get(css))
}

fn render(name: &str, ctx: impl Serialize) -> Result<Response, HubApiError> {
    let html = ENV
        .get_template(name)
        .and_then(|t| t.render(ctx))
        .map_err(|e| anyhow::anyhow!("the template {name} failed: {e:#}"))?;
    Ok(Html(html).into_response())
}

async fn css() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("hub.css"),
    )
}

#[tracing::instrument(skip_all)]
async fn page(
    State(s): State<HubState>,
    reader: Reader,
    Query(when): Query<api::When>,
) -> Result<Response, HubApiError> {
    let ask = when.ask(&s)?;
    let overview = api::overview(&s, &reader, ask).await?;
    render(
        "hub.html",
        view(overview, when.sort.as_deref(), s.config.offset),
    )
}

#[tracing::instrument(skip_all, fields(school = %id))]
async fn school(
    State(s): State<HubState>,
    reader: Reader,
    Path(id): Path<String>,
) -> Result<Response, HubApiError> {
    let offset = s.config.offset;
    let q =
        projections::period::Query::parse(None, None, None, Utc::now(), offset.local_minus_utc())
            .map_err(|e| anyhow::anyhow!("the default query: {e}"))?;
    let (school, report) = api::school_report(&s, &reader, &id, q, Lang::Zh).await?;
    let quarantine = schools::quarantined(&s.pool.get().await?, &id).await?;
    let text = s
        .templates
        .markdown(&report)
        .map_err(|e| anyhow::anyhow!("the report template failed: {e}"))?;
    render(
        "school.html",
        school_view(&school, &quarantine, text, offset),
    )
}

fn school_view(
    school: &schools::School,
    quarantine: &[schools::Quarantined],
    report: String,
    offset: FixedOffset,
) -> serde_json::Value {
    json!({
        "name": school.name,
        "head_seq": school.head_seq,
        "head_hash": school.head_hash.to_string(),
        "last_push": school.last_push.map(|t| local(t, offset)),
        "seal": school.seal,
        "quarantine": quarantine.iter().map(|q| json!({
            "seq": q.seq, "hash": q.hash, "held": q.held.clone().unwrap_or_default(),
            "received_at": local(q.received_at, offset),
        })).collect::<Vec<_>>(),
        "report": report,
    })
}

fn local(t: DateTime<Utc>, offset: FixedOffset) -> String {
    t.with_timezone(&offset)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// One cell: a bar and its words, or nothing when the school has no such target.
#[derive(Serialize, Default)]
struct Cell {
    svg: String,
    text: String,
    behind: bool,
}

/// A bar 120 wide: the share done filled, the share of the year elapsed marked.
/// Built from numbers only, so nothing in it needs escaping.
fn bar(done: f64, elapsed: f64) -> String {
    let w = |x: f64| (x.clamp(0.0, 1.0) * 120.0).round();
    format!(
        r#"<svg viewBox="0 0 120 14" role="img" xmlns="http://www.w3.org/2000/svg"><rect class="bar-bg" x="0" y="0" width="120" height="14"/><rect class="bar-done" x="0" y="0" width="{}" height="14"/><line class="bar-mark" x1="{m}" y1="0" x2="{m}" y2="14"/></svg>"#,
        w(done),
        m = w(elapsed)
    )
}

fn cell(actual: u64, target: u64, unit: &str, done: f64, elapsed: f64) -> Cell {
    Cell {
        svg: bar(done, elapsed),
        text: format!("{actual}/{target}{unit}（{:.1}%）", done * 100.0),
        behind: actual < target && done + 1e-12 < elapsed,
    }
}

fn total_cells(metrics: &[(String, String)], totals: &[Total], elapsed: f64) -> Vec<Cell> {
    metrics
        .iter()
        .map(|(m, _)| match totals.iter().find(|t| &t.metric == m) {
            Some(t) => cell(t.actual, t.target, &t.unit_zh, t.share_done, elapsed),
            None => Cell::default(),
        })
        .collect()
}

fn school_cells(metrics: &[(String, String)], line: &SchoolLine) -> Vec<Cell> {
    metrics
        .iter()
        .map(
            |(m, _)| match line.progress.iter().find(|p| &p.metric == m) {
                Some(p) => cell(
                    p.actual,
                    p.target,
                    &p.unit_zh,
                    p.share_done,
                    p.share_elapsed,
                ),
                None => Cell::default(),
            },
        )
        .collect()
}

/// The lowest share done of a line, for sorting by how far behind a school is.
fn least_done(line: &SchoolLine) -> f64 {
    line.progress
        .iter()
        .map(|p| p.share_done)
        .fold(f64::INFINITY, f64::min)
}

fn view(mut o: Overview, sort: Option<&str>, offset: FixedOffset) -> serde_json::Value {
    let sort = sort.unwrap_or("region");
    match sort {
        "name" => o.schools.sort_by(|a, b| a.school.name.cmp(&b.school.name)),
        "done" => o
            .schools
            .sort_by(|a, b| least_done(a).total_cmp(&least_done(b))),
        "push" => o.schools.sort_by_key(|l| l.school.last_push),
        _ => o.schools.sort_by(|a, b| {
            (&a.school.parent, &a.school.id).cmp(&(&b.school.parent, &b.school.id))
        }),
    }
    let mut metrics: Vec<(String, String)> = Vec::new();
    for p in o.schools.iter().flat_map(|l| &l.progress) {
        if !metrics.iter().any(|(m, _)| *m == p.metric) {
            metrics.push((p.metric.clone(), p.label_zh.clone()));
        }
    }
    let name_of = |id: &str| {
        o.schools
            .iter()
            .find(|l| l.school.id == id)
            .map_or(id.to_owned(), |l| l.school.name.clone())
    };
    let rows: Vec<_> = o
        .schools
        .iter()
        .map(|l| {
            json!({
                "id": l.school.id, "name": l.school.name,
                "region": l.school.parent.as_deref().map(name_of).unwrap_or_default(),
                "head_seq": l.school.head_seq,
                "last_push": l.school.last_push.map(|t| local(t, offset)),
                "stale": l.stale, "forks": l.school.forks,
                "cells": school_cells(&metrics, l),
            })
        })
        .collect();
    let forks: Vec<_> = o
        .schools
        .iter()
        .filter(|l| l.school.forks > 0)
        .map(|l| json!({"id": l.school.id, "name": l.school.name, "seq": l.school.fork_seq, "count": l.school.forks}))
        .collect();
    let regions: Vec<_> = o
        .regions
        .iter()
        .filter(|g| o.regions.len() > 1 || g.schools > 1)
        .map(|g| json!({"name": g.name, "schools": g.schools, "cells": total_cells(&metrics, &g.totals, o.share_elapsed)}))
        .collect();
    json!({
        "on": o.on.to_string(),
        "year": o.year,
        "elapsed_pct": format!("{:.1}%", o.share_elapsed * 100.0),
        "received_by": o.received_by.map(|t| local(t, offset)),
        "forks": forks,
        "sort": sort,
        "sorts": [["region", "按所属地区"], ["name", "按名称"], ["done", "按完成比例"], ["push", "按最近报送"]],
        "metrics": metrics.iter().map(|(m, label)| json!({"metric": m, "label": label})).collect::<Vec<_>>(),
        "rows": rows,
        "regions": regions,
        "totals": total_cells(&metrics, &o.totals, o.share_elapsed),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_hub_page_escapes_what_schools_named_themselves() {
        let hostile = "<script>alert(1)</script>";
        let html = super::ENV
            .get_template("hub.html")
            .unwrap()
            .render(serde_json::json!({"rows": [{"id": "a", "name": hostile, "region": hostile, "cells": []}],
                "forks": [{"id": "a", "name": hostile, "seq": 3, "count": 1}], "metrics": [], "regions": [], "totals": [], "sorts": []}))
            .unwrap();
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;"));
    }
}
