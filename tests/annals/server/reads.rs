//! The read routes: progress, metrics and timelines, people, the report, verification,
//! the catalog, health, the API description, and their bad parameters.
use reqwest::{header, StatusCode};
use serde_json::Value;

use super::app::{bad_request, problem, spawn_app, Who};

fn line<'a>(progress: &'a Value, metric: &str) -> &'a Value {
    progress["progress"]
        .as_array()
        .expect("progress lines")
        .iter()
        .find(|l| l["metric"] == metric)
        .unwrap_or_else(|| panic!("a progress line for {metric}: {progress}"))
}

#[tokio::test]
async fn progress_on_30_june_2023_shows_the_examples_figures_and_the_head() {
    let app = spawn_app().await;
    let p = app
        .get_json("/api/progress?year=2023&on=2023-06-30", Who::Reader)
        .await;
    assert_eq!(p["year"], 2023);
    assert_eq!(p["on"], "2023-06-30");

    let classes = line(&p, "main_classes");
    assert_eq!(
        (classes["actual"].as_u64(), classes["target"].as_u64()),
        (Some(9), Some(17))
    );
    assert!((classes["share_done"].as_f64().unwrap() - 9.0 / 17.0).abs() < 1e-9);
    assert_eq!(classes["elapsed_days"], 181);
    assert_eq!(classes["days_in_year"], 365);
    assert!((classes["share_elapsed"].as_f64().unwrap() - 181.0 / 365.0).abs() < 1e-9);
    assert_eq!(
        classes["pace"], "on_track",
        "52.9% done with 49.6% of the year gone"
    );
    assert!(classes.get("last_year_actual").is_some());

    let sessions = line(&p, "main_sessions");
    assert_eq!(
        (sessions["actual"].as_u64(), sessions["target"].as_u64()),
        (Some(10), Some(21))
    );

    // The head cites exactly what the figures were computed from.
    let verify = app.get_json("/api/verify", Who::Reader).await;
    assert_eq!(p["head"]["seq"], app.head_at_start);
    assert_eq!(p["head"]["seq"], verify["count"]);
    assert_eq!(p["head"]["hash"], verify["head_hash"]);
}

#[tokio::test]
async fn progress_as_known_at_a_day_leaves_out_what_was_recorded_later() {
    let app = spawn_app().await;
    let before = app
        .get_json(
            "/api/progress?on=2023-06-30&known_at=2023-01-01",
            Who::Reader,
        )
        .await;
    assert_eq!(
        before["progress"],
        serde_json::json!([]),
        "no 2023 target was known on 1 January"
    );
}

#[tokio::test]
async fn bad_times_periods_and_choices_are_400_naming_the_parameter() {
    let app = spawn_app().await;
    for (path, field) in [
        ("/api/progress?on=2023-13-01", "on"),
        ("/api/progress?on=2023-06-30&known_at=whenever", "known_at"),
        ("/api/progress?year=1800", "year"),
        ("/api/metrics?period=2023H3", "period"),
        ("/api/metrics?lang=fr", "lang"),
        ("/api/metrics/main_classes/timeline?by=week", "by"),
        (
            "/api/metrics/main_classes/timeline?period=last-year",
            "period",
        ),
        ("/api/people?on=30/06/2023", "on"),
        ("/api/report?period=2023H1&format=pdf", "format"),
        ("/api/report?period=2023Q5", "period"),
        ("/api/report?period=2023H1&known_at=tomorrow", "known_at"),
    ] {
        let p = bad_request(app.get(path, Who::Reader).await, field).await;
        assert!(
            p["errors"][0]["reason"]
                .as_str()
                .is_some_and(|r| !r.is_empty()),
            "{path}: {p}"
        );
    }
    let p = problem(
        app.get("/api/progress?year=soon", Who::Reader).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("year"), "{p}");
}

#[tokio::test]
async fn every_metric_is_listed_with_last_years_figure() {
    let app = spawn_app().await;
    let m = app
        .get_json("/api/metrics?period=2023H1&on=2023-06-30", Who::Reader)
        .await;
    let list = m["metrics"].as_array().unwrap();
    let sessions = list
        .iter()
        .find(|x| x["name"] == "main_sessions")
        .expect("main_sessions");
    assert_eq!(sessions["value"], 10);
    assert_eq!(sessions["figure"], "F20");
    assert!(sessions.get("last_year").is_some());
    let en = app
        .get_json("/api/metrics?period=2023H1&lang=en", Who::Reader)
        .await;
    let label = en["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == "main_sessions")
        .unwrap()["label"]
        .clone();
    assert_eq!(label, "Main class sessions held");
}

#[tokio::test]
async fn a_metric_timeline_is_a_series_by_month_quarter_or_half() {
    let app = spawn_app().await;
    let t = app
        .get_json(
            "/api/metrics/main_sessions/timeline?period=2023H1&on=2023-06-30",
            Who::Reader,
        )
        .await;
    assert_eq!(t["metric"], "main_sessions");
    let points = t["points"].as_array().unwrap();
    assert_eq!(points.len(), 6, "six months: {t}");
    let total: u64 = points.iter().map(|p| p["value"].as_u64().unwrap()).sum();
    assert_eq!(total, 10);
    let q = app
        .get_json(
            "/api/metrics/main_sessions/timeline?period=2023&by=quarter",
            Who::Reader,
        )
        .await;
    assert_eq!(q["points"].as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn an_unknown_metric_is_404() {
    let app = spawn_app().await;
    let p = problem(
        app.get("/api/metrics/no_such_metric/timeline", Who::Reader)
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert!(
        p["detail"].as_str().unwrap().contains("no_such_metric"),
        "{p}"
    );
}

#[tokio::test]
async fn people_are_listed_and_shown_one_by_one_and_a_stranger_is_404() {
    let app = spawn_app().await;
    let all = app
        .get_json("/api/people?year=2023&on=2023-06-30", Who::Reader)
        .await;
    let people = all["people"].as_array().unwrap();
    assert!(!people.is_empty(), "{all}");
    let someone = people
        .iter()
        .find(|p| p["classes_taught"].as_u64() > Some(0))
        .expect("someone taught");
    let name = someone["person"].as_str().unwrap();
    let one = app
        .get_json(
            &format!("/api/people/{}?year=2023&on=2023-06-30", urlencode(name)),
            Who::Reader,
        )
        .await;
    assert_eq!(&one, someone);
    let p = problem(
        app.get(&format!("/api/people/{}", urlencode("无名氏")), Who::Reader)
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("无名氏"), "{p}");
}

#[tokio::test]
async fn the_half_year_report_comes_as_markdown_or_json_sealed_with_the_head() {
    let app = spawn_app().await;
    let resp = app
        .get("/api/report?period=2023H1&on=2023-06-30", Who::Reader)
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.headers()[header::CONTENT_TYPE],
        "text/markdown; charset=utf-8"
    );
    let md = resp.text().await.unwrap();
    assert!(md.contains("52.9%") && md.contains("49.6%"), "{md}");
    let verify = app.get_json("/api/verify", Who::Reader).await;
    assert!(
        md.contains(verify["head_hash"].as_str().unwrap()),
        "the report cites the head"
    );

    let json = app
        .get_json("/api/report?period=2023H1&format=json&lang=en", Who::Reader)
        .await;
    assert!(json.is_object());
    assert!(json
        .to_string()
        .contains(verify["head_hash"].as_str().unwrap()));
}

#[tokio::test]
async fn verify_kinds_and_health_answer() {
    let app = spawn_app().await;
    let v = app.get_json("/api/verify", Who::Reader).await;
    assert_eq!(v["ok"], true);
    assert_eq!(v["count"], app.head_at_start);
    let kinds = app.get_json("/api/kinds", Who::Reader).await;
    assert!(kinds["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .any(|k| k["name"] == "class_held"));
    let health = app.get("/healthz", Who::Nobody).await;
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(health.text().await.unwrap(), "ok");
}

#[tokio::test]
async fn an_unknown_route_is_a_404_naming_the_path() {
    let app = spawn_app().await;
    for who in [Who::Admin, Who::Nobody] {
        let p = problem(
            app.get("/api/nothing/here", who).await,
            StatusCode::NOT_FOUND,
        )
        .await;
        assert!(
            p["detail"].as_str().unwrap().contains("/api/nothing/here"),
            "{p}"
        );
    }
}

#[tokio::test]
async fn every_answer_carries_a_request_id() {
    let app = spawn_app().await;
    for path in ["/healthz", "/api/nothing", "/api/verify"] {
        let resp = app.get(path, Who::Nobody).await;
        assert!(resp.headers().contains_key("x-request-id"), "{path}");
    }
}

#[tokio::test]
async fn the_api_is_described_by_openapi_json_and_a_docs_page_with_no_network() {
    let app = spawn_app().await;
    let spec = app.get_json("/openapi.json", Who::Nobody).await;
    assert!(spec["openapi"].as_str().unwrap().starts_with("3."));
    let paths = spec["paths"].as_object().unwrap();
    for (method, path) in super::roles::documented_routes() {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} is in openapi.json"
        );
    }

    let docs = app.get("/docs", Who::Nobody).await;
    assert_eq!(docs.status(), StatusCode::OK);
    assert!(docs.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    // The template engine escapes every value, slashes included (issue 13).
    let html = docs.text().await.unwrap().replace("&#x2f;", "/");
    assert!(html.contains("/api/progress") && html.contains("/openapi.json"));
    assert!(
        !html.contains("https://"),
        "the docs load nothing from the network"
    );
}

/// Percent-encodes a path segment.
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
