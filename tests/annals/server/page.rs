//! `GET /`, `/login`, `/logout` and `/record`: the page people open every day.
use reqwest::{header, StatusCode};

use super::app::{spawn_app, spawn_open_app, Who};

async fn page(app: &super::app::TestApp, path: &str, cookie: Option<&str>) -> String {
    let mut req = app.client.get(app.url(path));
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c);
    }
    let resp = req.send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.headers()[header::CONTENT_TYPE],
        "text/html; charset=utf-8"
    );
    resp.text().await.unwrap()
}

/// The `n / target` figures of the page's bars, in order.
fn figures(html: &str) -> Vec<String> {
    html.split("<span class=\"figure\">")
        .skip(1)
        .map(|s| s.split("</span>").next().unwrap().to_owned())
        .collect()
}

fn record_form(session: &str, trainees: &str) -> Vec<(&'static str, String)> {
    vec![
        ("kind", "class_held".into()),
        ("lang", "zh".into()),
        ("occurred_from", "2023-06-12".into()),
        ("occurred_to", "2023-06-16".into()),
        ("f_class_id", "2023-ZT-70".into()),
        ("f_class_name", "乡镇党委书记专题培训班".into()),
        ("f_category", "main".into()),
        ("f_session", session.into()),
        ("f_trainees", trainees.into()),
        ("f_methods", "讲授式、案例式".into()),
    ]
}

#[tokio::test]
async fn with_open_reads_the_page_shows_the_bars_of_30_june_2023_to_anyone() {
    let app = spawn_open_app().await;
    let html = page(&app, "/?on=2023-06-30", None).await;
    assert_eq!(figures(&html), ["9 / 17个", "10 / 21期"]);
    assert!(
        html.contains("完成52.9%，时间过去49.6%"),
        "the bar says it in words"
    );
    assert!(html.contains("时间进度 181/365天"));
    assert!(
        html.contains("演示数据"),
        "demo data is said to be demo data"
    );
    assert!(
        html.contains("class=\"marker\" x1=\"49.58"),
        "elapsed marker"
    );
    assert!(
        html.contains("<svg"),
        "month-by-month charts are drawn by the server"
    );
    assert!(html.contains("✓ 通过"), "the page shows the verification");
    assert!(
        !html.contains("https://"),
        "nothing is loaded from the network"
    );
    let verify = app.get_json("/api/verify", Who::Reader).await;
    assert!(
        html.contains(verify["head_hash"].as_str().unwrap()),
        "the head hash is shown"
    );

    let en = page(&app, "/?on=2023-06-30&lang=en", None).await;
    assert_eq!(figures(&en), ["9 / 17 classes", "10 / 21 sessions"]);
    assert!(en.contains("with 49.6% of the year gone"));
}

#[tokio::test]
async fn with_reads_closed_the_page_asks_for_a_token_first() {
    let app = spawn_app().await;
    let html = page(&app, "/?on=2023-06-30", None).await;
    assert!(html.contains("action=\"/login\""));
    assert!(figures(&html).is_empty(), "no figures before signing in");

    let bad = app
        .post_form("/login", None, &[("token", "ann_wrong")])
        .await;
    assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);

    let cookie = app.login(&app.reader).await;
    let html = page(&app, "/?on=2023-06-30", Some(&cookie)).await;
    assert_eq!(figures(&html), ["9 / 17个", "10 / 21期"]);
    assert!(
        html.contains("只能查看"),
        "a reader is told it cannot record"
    );
    assert!(!html.contains("id=\"record-form\""));

    let out = app.post_form("/logout", Some(&cookie), &[]).await;
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert!(out.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
}

#[tokio::test]
async fn recording_through_the_form_redirects_and_the_event_appears() {
    let app = spawn_open_app().await;
    let cookie = app.login(&app.recorder).await;
    let signed_in = page(&app, "/?on=2023-06-30", Some(&cookie)).await;
    assert!(
        signed_in.contains("id=\"record-form\""),
        "a recorder sees the form"
    );
    assert!(
        signed_in.contains("name=\"f_trainees\""),
        "the form is built from the catalog"
    );

    let form = record_form("1", "38");
    let resp = app
        .post_form("/record", Some(&cookie), &form_ref(&form))
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let seq = app.head_at_start + 1;
    let location = resp.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        location.starts_with(&format!("/?recorded={seq}")),
        "{location}"
    );

    let after = page(&app, &location, Some(&cookie)).await;
    assert!(after.contains(&format!("已记录，序号 {seq}")));
    assert!(
        after.contains(&format!("<td class=\"seq\">{seq}</td>")),
        "the new event is in the table"
    );
    assert!(after.contains("乡镇党委书记专题培训班"));

    let html = page(&app, "/?on=2023-06-30", Some(&cookie)).await;
    assert_eq!(figures(&html), ["10 / 17个", "11 / 21期"]);

    let shown = app
        .get_json(&format!("/api/events?after={}", seq - 1), Who::Reader)
        .await;
    let event = &shown["events"][0];
    assert_eq!(event["recorded_by"], super::app::RECORDER);
    assert_eq!(event["occurred"], "2023-06-12..2023-06-16");
    assert_eq!(event["data"]["trainees"], 38);
    assert_eq!(
        event["data"]["methods"],
        serde_json::json!(["讲授式", "案例式"])
    );
}

/// Regression (issue 4): re-rendering the form after a refusal called a Python string
/// method the template engine does not have, so every refused form was a 500.
#[tokio::test]
async fn a_bad_trainee_count_comes_back_with_the_message_beside_the_field() {
    let app = spawn_open_app().await;
    let cookie = app.login(&app.recorder).await;
    let form = record_form("1", "四十");
    let resp = app
        .post_form("/record", Some(&cookie), &form_ref(&form))
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = resp.text().await.unwrap();
    let beside = html
        .split("name=\"f_trainees\"")
        .nth(1)
        .expect("the trainees field");
    let message = beside
        .split("<div class=\"error\" data-field=\"trainees\">")
        .nth(1)
        .expect("a message beside the trainees field");
    // In the page's language (issue 17 item 3).
    assert!(message.starts_with("必须是不小于 0 的整数"), "{message}");
    assert!(
        beside.find("data-field=\"trainees\"") < beside.find("name=\"f_"),
        "the message follows its own field, before the next one"
    );
    assert!(
        html.contains("value=\"乡镇党委书记专题培训班\""),
        "what was typed is kept"
    );

    let verify = app.get_json("/api/verify", Who::Reader).await;
    assert_eq!(verify["count"], app.head_at_start, "nothing was recorded");

    // A missing required field is named too.
    let mut form = record_form("1", "40");
    form.retain(|(k, _)| *k != "f_class_name");
    let resp = app
        .post_form("/record", Some(&cookie), &form_ref(&form))
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = resp.text().await.unwrap();
    assert!(html.contains("data-field=\"class_name\""), "{html}");
}

/// Regression (issue 4): a signed-in reader was told to sign in (401) rather than
/// that its token cannot record (403), unlike the API.
#[tokio::test]
async fn the_record_form_needs_a_recorder() {
    let app = spawn_open_app().await;
    let form = record_form("1", "40");
    let anonymous = app.post_form("/record", None, &form_ref(&form)).await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let cookie = app.login(&app.reader).await;
    let reader = app
        .post_form("/record", Some(&cookie), &form_ref(&form))
        .await;
    assert_eq!(reader.status(), StatusCode::FORBIDDEN);
    let verify = app.get_json("/api/verify", Who::Reader).await;
    assert_eq!(verify["count"], app.head_at_start);
}

fn form_ref<'a>(form: &'a [(&'static str, String)]) -> Vec<(&'a str, &'a str)> {
    form.iter().map(|(k, v)| (*k, v.as_str())).collect()
}
