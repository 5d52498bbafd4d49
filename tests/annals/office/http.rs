//! Office files over HTTP: `POST /api/imports` (the body is the file, its Content-Type
//! says which kind), with the command line's error list as problem details; the report
//! as Word and the figures as Excel to download.
use annals::{
    http::Config,
    office::{DOCX_TYPE, XLSX_TYPE},
};
use calamine::Data;
use reqwest::{header, StatusCode};
use serde_json::Value;

use super::{class_book, part, read_book};
use crate::server::app::{fields, problem, spawn_app, spawn_app_with, AppOptions, Who, RECORDER};

async fn json(resp: reqwest::Response, status: StatusCode) -> Value {
    let got = resp.status();
    let text = resp.text().await.unwrap();
    assert_eq!(got, status, "{text}");
    serde_json::from_str(&text).unwrap()
}

#[tokio::test]
async fn a_recorder_imports_a_workbook_all_or_nothing_with_the_cli_s_error_list() {
    let app = spawn_app().await;
    let head = app.head_at_start;
    let good = class_book(&[("2023-ZT-H1", "45"), ("2023-ZT-H2", "50")]);
    let path = "/api/imports?name=%E7%99%BB%E8%AE%B0%E8%A1%A8.xlsx";

    let checked = app
        .post_raw(
            &format!("{path}&dry_run=true"),
            Who::Recorder,
            XLSX_TYPE,
            good.clone(),
        )
        .await;
    let checked = json(checked, StatusCode::OK).await;
    assert_eq!(
        (checked["mode"].as_str(), checked["added"].as_u64()),
        (Some("checked"), Some(2))
    );

    let created = app
        .post_raw(path, Who::Recorder, XLSX_TYPE, good.clone())
        .await;
    let created = json(created, StatusCode::CREATED).await;
    assert_eq!(created["mode"], "appended");
    assert_eq!(created["written"], serde_json::json!([head + 1, head + 3]));
    let log = app
        .get_json(&format!("/api/events?after={head}"), Who::Reader)
        .await;
    let events = log["events"].as_array().unwrap();
    assert_eq!(events.len(), 3);
    assert!(
        events.iter().all(|e| e["recorded_by"] == RECORDER),
        "the token names the author"
    );
    assert_eq!(events[2]["data"]["file_name"], "登记表.xlsx");

    let again = app.post_raw(path, Who::Recorder, XLSX_TYPE, good).await;
    assert_eq!(json(again, StatusCode::OK).await["mode"], "unchanged");

    let bad = class_book(&[
        ("2023-ZT-H3", "45"),
        ("2023-ZT-H4", "-3"),
        ("2023-ZT-H5", "很多"),
    ]);
    let p = problem(
        app.post_raw(path, Who::Recorder, XLSX_TYPE, bad).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        fields(&p),
        ["举办培训班!G3: 培训人数", "举办培训班!G4: 培训人数"]
    );
    // In Chinese, the API's language unless the client asks for English (issue 17
    // item 3).
    assert_eq!(
        p["errors"][0]["reason"],
        "必须是不小于 0 的整数，而不是“-3”"
    );
    // Each problem reads, field then reason, as the command line prints it.
    let lines: Vec<String> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{}: {}",
                e["field"].as_str().unwrap(),
                e["reason"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        lines,
        [
            "举办培训班!G3: 培训人数: 必须是不小于 0 的整数，而不是“-3”",
            "举办培训班!G4: 培训人数: 必须是不小于 0 的整数，而不是“很多”",
        ]
    );
    let verify = app.get_json("/api/verify", Who::Reader).await;
    assert_eq!(verify["count"], head + 3, "the bad workbook wrote nothing");
}

#[tokio::test]
async fn csv_and_jsonl_are_told_by_their_content_type_and_other_bodies_are_refused() {
    let app = spawn_app().await;
    let csv = "开始日期,班次编号,班次名称,班次类别,期次,培训人数\n2023-06-12,2023-ZT-H6,进修班,主体班,1,45\n";
    let created = app
        .post_raw(
            "/api/imports?name=class_held.csv",
            Who::Recorder,
            "text/csv; charset=utf-8",
            csv,
        )
        .await;
    assert_eq!(json(created, StatusCode::CREATED).await["added"], 1);
    // Without a name, a CSV cannot say its kind.
    let p = problem(
        app.post_raw("/api/imports", Who::Recorder, "text/csv", csv)
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(fields(&p), ["upload!A1: sheet"]);

    let line =
        r#"{"kind":"meeting_held","occurred":"2023-06-21","data":{"type":"school_committee"}}"#;
    let created = app
        .post_raw(
            "/api/imports",
            Who::Recorder,
            "application/x-ndjson",
            format!("{line}\n"),
        )
        .await;
    assert_eq!(json(created, StatusCode::CREATED).await["added"], 1);
    let p = problem(
        app.post_raw(
            "/api/imports",
            Who::Recorder,
            "application/x-ndjson",
            "{\"kind\": 1}\n",
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(fields(&p), ["1: line"], "{p}");

    let p = problem(
        app.post_raw(
            "/api/imports",
            Who::Recorder,
            "application/x-www-form-urlencoded",
            csv,
        )
        .await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("text/csv"), "{p}");
    let p = problem(
        app.post_raw("/api/imports", Who::Recorder, XLSX_TYPE, csv)
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(fields(&p), ["body"]);
    assert!(
        p["errors"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("不是 Excel 工作簿"),
        "{p}"
    );
    let locked = include_bytes!("../../fixtures/password-protected.xlsx").to_vec();
    let p = problem(
        app.post_raw("/api/imports", Who::Recorder, XLSX_TYPE, locked)
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(
        p["errors"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("设有密码"),
        "{p}"
    );
}

#[tokio::test]
async fn an_import_over_the_batch_limit_is_413_and_writes_nothing() {
    let app = spawn_app_with(AppOptions {
        config: Config {
            batch_limit: 2,
            ..Config::default()
        },
        ..AppOptions::default()
    })
    .await;
    let three = class_book(&[("A", "1"), ("B", "2"), ("C", "3")]);
    let p = problem(
        app.post_raw("/api/imports?name=x.xlsx", Who::Recorder, XLSX_TYPE, three)
            .await,
        StatusCode::PAYLOAD_TOO_LARGE,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("at most 2"), "{p}");
    let verify = app.get_json("/api/verify", Who::Reader).await;
    assert_eq!(verify["count"], app.head_at_start);
}

#[tokio::test]
async fn the_report_downloads_as_word_and_the_figures_as_excel() {
    let app = spawn_app().await;
    let resp = app
        .get(
            "/api/report?period=2023H1&on=2023-06-30&format=docx",
            Who::Reader,
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let header_of = |resp: &reqwest::Response, h| {
        resp.headers()
            .get(h)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(header_of(&resp, header::CONTENT_TYPE), DOCX_TYPE);
    assert!(header_of(&resp, header::CONTENT_DISPOSITION).contains("annals-report-2023H1.docx"));
    let docx = resp.bytes().await.unwrap();
    let xml = part(&docx, "word/document.xml");
    assert!(
        xml.contains("培训党员干部853人"),
        "the figures are in the document"
    );

    let resp = app
        .get("/api/metrics.xlsx?period=2023H1&on=2023-06-30", Who::Reader)
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(header_of(&resp, header::CONTENT_TYPE), XLSX_TYPE);
    let book = read_book(&resp.bytes().await.unwrap());
    let row = book[0]
        .1
        .iter()
        .find(|r| r[3] == "school_committee_meetings")
        .expect("the metric's row");
    assert_eq!(row[4], Data::Float(8.0));
    let english = read_book(
        &app.get("/api/metrics.xlsx?period=2023H1&lang=en", Who::Reader)
            .await
            .bytes()
            .await
            .unwrap(),
    );
    assert_eq!(english[0].0, "Metrics");

    let p = problem(
        app.get("/api/report?format=pdf", Who::Reader).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("md, html, json or docx"),
        "{p}"
    );
    problem(
        app.get("/api/metrics.xlsx?by=week", Who::Reader).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
}
