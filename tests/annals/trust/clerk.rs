//! Issue 17's new ways in (the page's record, amend and void forms, the report as a
//! page, corrections sent through the API) attacked as a recorder with a token would.
use reqwest::{header, StatusCode};
use serde_json::{json, Value};

use crate::server::{
    app::{class, spawn_app, Who},
    clerk::{head, with, CLASS},
};

#[tokio::test]
async fn issue_17_a_link_or_image_typed_into_a_plan_is_text_on_the_report_page() {
    let app = spawn_app().await;
    let title = "[登录查看](javascript:alert(1)) ![图](https://elsewhere.example/t.png) \
                 [下载](https://elsewhere.example/x)";
    app.record(&json!({"kind": "plan_made", "occurred": "2023-06-20",
        "data": {"title": title, "due": "2023-12-31", "area": "party"}}))
        .await;
    let resp = app
        .get(
            "/api/report?period=2023H1&on=2023-06-30&format=html",
            Who::Reader,
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let csp = resp.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(!csp.contains("unsafe"), "{csp}");
    let body = resp.text().await.unwrap();
    assert!(
        body.contains("登录查看"),
        "the plan is in the report: {body}"
    );
    for made in ["javascript:", "<img", "elsewhere.example/x\""] {
        assert!(!body.contains(made), "{made} in {body}");
    }
}

#[tokio::test]
async fn issue_17_a_form_id_the_page_could_not_have_drawn_is_not_the_events_id() {
    let app = spawn_app().await;
    let cookie = app.login(&app.recorder).await;
    // A UUIDv8, the form a register row's content-derived id takes: taken first with
    // other content, the register's import would be refused whole.
    let squatted = "0190f0aa-0000-8000-8000-000000000001";
    let resp = app
        .post_form("/record", Some(&cookie), &with(&[("form_id", squatted)]))
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let shown = app
        .get(&format!("/api/events/{squatted}"), Who::Reader)
        .await;
    assert_eq!(shown.status(), StatusCode::NOT_FOUND, "the id was taken");

    // A page's form id sent again with other fields: refused, nothing written.
    let form_id = uuid::Uuid::now_v7().to_string();
    let first = with(&[("form_id", &form_id), ("f_class_id", "2023-ZT-92")]);
    let resp = app.post_form("/record", Some(&cookie), &first).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let at = head(&app).await;
    for other in [
        with(&[
            ("form_id", &form_id),
            ("f_class_id", "2023-ZT-92"),
            ("f_trainees", "99"),
        ]),
        vec![
            ("kind", "plan_made"),
            ("form_id", &form_id),
            ("occurred_from", "2023-06-20"),
            ("f_title", "另一件事"),
            ("f_due", "2023-12-31"),
            ("f_area", "party"),
        ],
    ] {
        let resp = app.post_form("/record", Some(&cookie), &other).await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body = resp.text().await.unwrap();
        assert!(body.contains("class=\"error\""), "{body}");
        assert_eq!(head(&app).await, at, "nothing written");
    }
}

#[tokio::test]
async fn issue_17_an_amendment_through_the_api_keeps_one_teacher_one_person() {
    let app = spawn_app().await;
    let mut event = class("2023-ZT-93", 1, "2023-06-05");
    event["data"]["teachers"] = json!(["Ｌｉ\u{3000}Ｍｉｎｇ"]);
    let original = app.record(&event).await;
    let id = original[0]["id"].as_str().unwrap().to_owned();
    let shown = app
        .get_json(&format!("/api/events/{id}"), Who::Reader)
        .await;
    assert_eq!(
        shown["event"]["data"]["teachers"],
        json!(["Li Ming"]),
        "{shown}"
    );

    let mut data = event["data"].clone();
    data["trainees"] = json!(50);
    app.record(&json!({"kind": "event_amended",
        "data": {"target": id, "data": data, "reason": "人数有误"}}))
        .await;
    let shown = app
        .get_json(&format!("/api/events/{id}"), Who::Reader)
        .await;
    assert_eq!(
        shown["corrections"][0]["data"]["data"]["teachers"],
        json!(["Li Ming"]),
        "the same teacher as the event itself: {shown}"
    );
}

#[tokio::test]
async fn issue_17_a_form_of_many_made_up_fields_is_answered_in_a_page_of_bounded_size() {
    let app = spawn_app().await;
    let cookie = app.login(&app.recorder).await;
    let names: Vec<String> = (0..5_000).map(|i| format!("f_x{i}")).collect();
    let mut form: Vec<(&str, &str)> = CLASS.to_vec();
    form.extend(names.iter().map(|n| (n.as_str(), "1")));
    let resp = app.post_form("/record", Some(&cookie), &form).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = resp.text().await.unwrap();
    let said = body.matches("class=\"error\"").count();
    assert!((1..=110).contains(&said), "{said} messages");
    assert!(body.len() < 200_000, "a page of {} bytes", body.len());
}

#[tokio::test]
async fn issue_17_people_sent_as_one_item_through_the_api_are_the_people_the_form_would_make() {
    let app = spawn_app().await;
    let mut event = class("2023-ZT-94", 1, "2023-06-07");
    event["data"]["teachers"] = json!(["张三、李四", "王五"]);
    let id = app.record(&event).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let shown = app
        .get_json(&format!("/api/events/{id}"), Who::Reader)
        .await;
    assert_eq!(
        shown["event"]["data"]["teachers"],
        json!(["张三", "李四", "王五"]),
        "three teachers, as the page's form and a cell read 张三、李四, 王五: {shown}"
    );
}

/// A register row's id is derived from its content alone, so it can be worked out; a
/// recorder who took it first with other content would make the register's import fail
/// for good (voiding does not free an id). A person may now repeat such an id the log
/// holds (a re-sent export) but not bring a new one: through the API, a JSONL upload or
/// the command line, it is refused naming `id`, and the register then imports.
#[tokio::test]
async fn issue_17_a_recorder_cannot_take_a_register_rows_id_first() {
    const CSV: &str = "开始日期,结束日期,班次编号,班次名称,班次类别,期次,培训人数,委托/主办单位,教学方式,授课教师\n\
                       2023-05-08,2023-05-12,SQ-2,青年干部班,main,1,40,,,\n";
    let path = "/api/imports?name=%E4%B8%BE%E5%8A%9E%E5%9F%B9%E8%AE%AD%E7%8F%AD.csv";
    // Where the row's id comes from: the same register imported elsewhere.
    let elsewhere = spawn_app().await;
    let resp = elsewhere
        .post_raw(path, Who::Recorder, "text/csv", CSV)
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let events = elsewhere
        .get_json("/api/events?kind=class_held", Who::Reader)
        .await;
    let row_id = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["data"]["class_id"] == "SQ-2")
        .unwrap()["id"]
        .clone();

    let app = spawn_app().await;
    let squat = json!({"id": row_id, "kind": "plan_made", "occurred": "2023-06-20",
        "data": {"title": "占位", "due": "2023-12-31", "area": "party"}});
    let resp = app.append(&squat).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = resp.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "id", "{problem}");
    let line = format!("{squat}\n");
    let resp = app
        .post_raw(
            "/api/imports?name=squat.jsonl",
            Who::Recorder,
            "application/x-ndjson",
            line,
        )
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = resp.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "1: id", "{problem}");
    let resp = app.post_raw(path, Who::Recorder, "text/csv", CSV).await;
    assert_eq!(
        resp.status(),
        StatusCode::CREATED,
        "{}",
        resp.text().await.unwrap()
    );
}
