//! Issue 17, the page as a school office clerk uses it, over HTTP: correcting from a
//! row, a form sent twice, a likely repeat held back, errors said on the page, the
//! report and files linked, the page's day kept, and what the list and charts show.
//! The browser drives the same in `browser.rs`.
use reqwest::{header, StatusCode};

use super::app::{spawn_app, spawn_open_app, TestApp, Who};

async fn html(app: &TestApp, path: &str, cookie: Option<&str>) -> (StatusCode, String) {
    let mut req = app.client.get(app.url(path));
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    assert_eq!(
        resp.headers()[header::CONTENT_TYPE],
        "text/html; charset=utf-8",
        "{path} is a page, not JSON"
    );
    (status, resp.text().await.unwrap())
}

fn location(resp: &reqwest::Response) -> String {
    resp.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned()
}

/// The value of the first `<input … name="NAME" … value="…">` after `from`.
fn value_of(html: &str, name: &str) -> String {
    let at = html
        .find(&format!("name=\"{name}\""))
        .unwrap_or_else(|| panic!("the form has {name}"));
    let tag_start = html[..at].rfind('<').unwrap();
    let tag = &html[tag_start..at + html[at..].find('>').unwrap()];
    tag.split("value=\"")
        .nth(1)
        .map(|v| v.split('"').next().unwrap().to_owned())
        .unwrap_or_default()
}

/// The page's form for one class session, as a clerk fills it.
pub(crate) const CLASS: [(&str, &str); 10] = [
    ("kind", "class_held"),
    ("lang", "zh"),
    ("on", "2023-06-30"),
    ("occurred_from", "2023-06-12"),
    ("occurred_to", "2023-06-16"),
    ("f_class_id", "2023-ZT-71"),
    ("f_class_name", "乡镇党委书记专题培训班"),
    ("f_category", "main"),
    ("f_session", "1"),
    ("f_trainees", "38"),
];

/// [`CLASS`] with some fields replaced or added.
pub(crate) fn with<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut form: Vec<(&str, &str)> = CLASS
        .iter()
        .filter(|(k, _)| !extra.iter().any(|(e, _)| e == k))
        .copied()
        .collect();
    form.extend_from_slice(extra);
    form
}

/// How many events the log holds.
pub(crate) async fn head(app: &TestApp) -> u64 {
    app.get_json("/api/verify", Who::Reader).await["count"]
        .as_u64()
        .unwrap()
}

#[tokio::test]
async fn issue_17_a_row_opens_a_correction_filled_with_its_fields_and_takes_a_seq_or_an_id() {
    let app = spawn_open_app().await;
    let cookie = app.login(&app.recorder).await;
    let (_, page) = html(&app, "/?on=2023-06-30", Some(&cookie)).await;
    // A class in the list, and its row's 更正 and 作废 links.
    let row = page
        .split("<tr class=")
        .find(|r| r.contains("举办培训班") && r.contains("correct=amend"))
        .expect("a class row with its actions");
    let seq: u64 = row
        .split("data-seq=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .and_then(|s| s.parse().ok())
        .unwrap();
    assert!(
        row.contains(&format!("correct=amend&amp;target={seq}#record")),
        "{row}"
    );
    assert!(
        row.contains(&format!("correct=void&amp;target={seq}#record")),
        "{row}"
    );
    let class = app
        .get_json(
            &format!("/api/events?after={}&limit=1", seq - 1),
            Who::Reader,
        )
        .await["events"][0]
        .clone();
    assert_eq!(class["kind"], "class_held");
    let (status, form) = html(
        &app,
        &format!("/?on=2023-06-30&correct=amend&target={seq}"),
        Some(&cookie),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(form.contains(&format!("更正第 {seq} 条记录")), "{form}");
    assert_eq!(value_of(&form, "correct"), "amend");
    assert_eq!(value_of(&form, "target"), class["id"].as_str().unwrap());
    assert_eq!(
        value_of(&form, "f_class_id"),
        class["data"]["class_id"].as_str().unwrap(),
        "filled with the event's fields"
    );
    assert_eq!(
        value_of(&form, "f_trainees"),
        class["data"]["trainees"].to_string()
    );
    assert!(!form.contains("name=\"f_data\""), "no JSON to type");

    // Sent with the seq typed as the target (what a clerk knows), one field changed.
    let seq_text = seq.to_string();
    let fields: Vec<(String, String)> =
        ["class_id", "class_name", "category", "session", "organiser"]
            .iter()
            .filter_map(|f| {
                let v = class["data"][f]
                    .as_str()
                    .map(str::to_owned)
                    .or_else(|| class["data"][f].as_u64().map(|n| n.to_string()))?;
                Some((format!("f_{f}"), v))
            })
            .collect();
    let mut amend: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    amend.extend([
        ("correct", "amend"),
        ("target", seq_text.as_str()),
        ("f_trainees", "77"),
        ("reason", "人数有误"),
        ("on", "2023-06-30"),
        ("lang", "zh"),
    ]);
    let resp = app.post_form("/record", Some(&cookie), &amend).await;
    assert_eq!(
        resp.status(),
        StatusCode::SEE_OTHER,
        "{}",
        resp.text().await.unwrap()
    );
    assert!(
        location(&resp).contains("on=2023-06-30"),
        "{}",
        location(&resp)
    );
    let shown = app
        .get_json(
            &format!("/api/events/{}", class["id"].as_str().unwrap()),
            Who::Reader,
        )
        .await;
    assert_eq!(
        shown["corrections"][0]["data"]["data"]["trainees"], 77,
        "{shown}"
    );

    // Voided by its id.
    let id = class["id"].as_str().unwrap().to_owned();
    let void = [
        ("correct", "void"),
        ("target", id.as_str()),
        ("reason", "重复录入"),
        ("on", "2023-06-30"),
    ];
    let resp = app.post_form("/record", Some(&cookie), &void).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let (_, after) = html(&app, "/?on=2023-06-30", Some(&cookie)).await;
    let row = after
        .split(&format!("data-seq=\"{seq}\""))
        .nth(1)
        .unwrap()
        .split("</tr>")
        .next()
        .unwrap();
    assert!(row.contains("已作废"), "{row}");
    assert!(
        !row.contains("correct=amend"),
        "a voided event is not corrected again"
    );

    // A seq the log does not hold is said beside the field.
    let (_, missing) = html(&app, "/?correct=amend&target=99999", Some(&cookie)).await;
    assert!(missing.contains("data-field=\"lookup\""), "{missing}");
    assert!(missing.contains("没有可更正的第 99999 条记录"));
}

#[tokio::test]
async fn issue_17_a_form_sent_twice_records_once_and_a_likely_repeat_waits_for_a_confirm() {
    let app = spawn_open_app().await;
    let cookie = app.login(&app.recorder).await;
    let (_, page) = html(&app, "/?on=2023-06-30", Some(&cookie)).await;
    let form_id = value_of(&page, "form_id");
    assert_eq!(form_id.len(), 36, "the form carries a one-time id");

    let first = with(&[("form_id", &form_id)]);
    let resp = app.post_form("/record", Some(&cookie), &first).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let seq = app.head_at_start + 1;
    assert!(location(&resp).starts_with(&format!("/?recorded={seq}&")));
    // The same form again (a reload, a second click): the same seq, nothing new.
    let again = app.post_form("/record", Some(&cookie), &first).await;
    assert_eq!(again.status(), StatusCode::SEE_OTHER);
    assert!(location(&again).starts_with(&format!("/?recorded={seq}&")));
    assert_eq!(head(&app).await, seq);

    // The same class session in a new form: held back, nothing written.
    let fresh = "0190f0aa-0000-7000-8000-000000000017";
    let repeat = with(&[("form_id", fresh), ("f_trainees", "39")]);
    let held = app.post_form("/record", Some(&cookie), &repeat).await;
    assert_eq!(held.status(), StatusCode::CONFLICT);
    let body = held.text().await.unwrap();
    assert!(
        body.contains(&format!("看起来与第 {seq} 条相同，仍要录入？")),
        "{body}"
    );
    assert!(body.contains(&format!("name=\"confirm_same\" value=\"{seq}\"")));
    assert_eq!(value_of(&body, "form_id"), fresh, "the same form, kept");
    assert_eq!(
        value_of(&body, "f_trainees"),
        "39",
        "what was typed is kept"
    );
    assert_eq!(head(&app).await, seq);

    // Confirmed: recorded.
    let seq_text = seq.to_string();
    let confirmed = with(&[
        ("form_id", fresh),
        ("f_trainees", "39"),
        ("confirm_same", &seq_text),
    ]);
    let resp = app.post_form("/record", Some(&cookie), &confirmed).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(head(&app).await, seq + 1);

    // Another session of the class is another happening.
    let second = with(&[
        ("form_id", "0190f0aa-0000-7000-8000-000000000018"),
        ("f_session", "2"),
    ]);
    let resp = app.post_form("/record", Some(&cookie), &second).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(head(&app).await, seq + 2);
}

#[tokio::test]
async fn issue_17_errors_are_said_on_the_page_beside_their_field_never_as_json() {
    let app = spawn_open_app().await;
    // A wrong token at 登录: the page, on its day, the message beside the token field.
    let resp = app
        .post_form(
            "/login",
            None,
            &[("token", "ann_wrong"), ("on", "2023-03-31"), ("lang", "zh")],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        resp.headers()[header::CONTENT_TYPE],
        "text/html; charset=utf-8"
    );
    let body = resp.text().await.unwrap();
    assert!(body.contains("data-field=\"token\">令牌无效"), "{body}");
    assert!(body.contains("action=\"/login#login\""));
    assert!(
        body.contains("value=\"2023-03-31\""),
        "the page's day is kept"
    );

    // A date that is not one: the page of today, the message beside the date.
    let (status, body) = html(&app, "/?on=2023-02-30&lang=en", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body.contains("data-field=\"on\">On: write the date as 2023-06-30"),
        "{body}"
    );

    // A refused form comes back scrolled to itself, its messages in place.
    let cookie = app.login(&app.recorder).await;
    let (_, page) = html(&app, "/", Some(&cookie)).await;
    assert!(page.contains("action=\"/record#record\""));
    assert!(page.contains("<script src=\"/assets/page.js\" defer></script>"));
    let script = app
        .client
        .get(app.url("/assets/page.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        script.headers()[header::CONTENT_TYPE],
        "text/javascript; charset=utf-8"
    );
    assert!(script.text().await.unwrap().contains("scrollIntoView"));

    // Where reads are closed, the sign-in page says it.
    let closed = spawn_app().await;
    let resp = closed
        .post_form("/login", None, &[("token", "ann_wrong"), ("lang", "en")])
        .await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let body = resp.text().await.unwrap();
    assert!(
        body.contains("data-field=\"token\">The token is not valid"),
        "{body}"
    );
}

#[tokio::test]
async fn issue_17_the_page_links_the_report_as_a_page_the_word_file_and_the_workbooks() {
    let app = spawn_open_app().await;
    let (_, page) = html(&app, "/?on=2023-06-30", None).await;
    for link in [
        "/api/report?period=2023H1&amp;on=2023-06-30&amp;lang=zh&amp;format=html",
        "/api/report?period=2023H1&amp;on=2023-06-30&amp;lang=zh&amp;format=docx",
        "/api/metrics.xlsx?period=2023H1&amp;on=2023-06-30&amp;lang=zh",
        "/api/template.xlsx",
    ] {
        assert!(page.contains(link), "the page links {link}");
        let resp = app
            .client
            .get(app.url(&link.replace("&amp;", "&")))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{link}");
    }
    let (status, report) = html(
        &app,
        "/api/report?period=2023H1&on=2023-06-30&format=html",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(report.contains("<h1>"), "{report}");
    assert!(report.contains("<table>"), "the report's tables are tables");
    assert!(
        !report.contains("\n# ") && !report.contains("|---"),
        "no Markdown left"
    );
    assert!(
        report.contains("href=\"/?on=2023-06-30&amp;lang=zh\""),
        "back to the page's day"
    );
}

#[tokio::test]
async fn issue_17_the_demo_opens_on_its_half_year_and_every_redirect_keeps_the_page_query() {
    let app = spawn_open_app().await;
    let (_, page) = html(&app, "/", None).await;
    assert!(
        page.contains("name=\"on\" value=\"2023-06-30\""),
        "the demo's day"
    );
    assert!(page.contains("<span class=\"figure\">9 / 17个</span>"));

    let resp = app
        .post_form(
            "/login",
            None,
            &[
                ("token", &app.recorder),
                ("on", "2023-03-31"),
                ("lang", "en"),
            ],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&resp), "/?on=2023-03-31&lang=en");
    let cookie = resp.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    // Every form of the page carries its day: sign-out, the record form, the lookup.
    let (_, page) = html(&app, "/?on=2023-03-31&lang=en", Some(&cookie)).await;
    let kept = "<input type=\"hidden\" name=\"on\" value=\"2023-03-31\">";
    assert_eq!(page.matches(kept).count(), 4, "{page}");
    let resp = app
        .post_form(
            "/record",
            Some(&cookie),
            &with(&[("on", "2023-03-31"), ("lang", "en")]),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert!(
        location(&resp).ends_with("&kind=class_held&on=2023-03-31&lang=en#latest"),
        "{}",
        location(&resp)
    );
    let out = app
        .post_form(
            "/logout",
            Some(&cookie),
            &[("on", "2023-03-31"), ("lang", "en")],
        )
        .await;
    assert_eq!(location(&out), "/?on=2023-03-31&lang=en");
}

#[tokio::test]
async fn issue_17_the_list_shows_what_had_occurred_by_the_day_in_the_order_a_clerk_expects() {
    let app = spawn_open_app().await;
    // An upload named with the folders of the clerk's computer.
    let book = crate::office::class_book(&[("2023-ZT-90", "30")]);
    let resp = app
        .client
        .post(app.url("/api/imports?name=C%3A%5CUsers%5Cclerk%5CDesktop%5Cregister.xlsx"))
        .bearer_auth(&app.recorder)
        .header(header::CONTENT_TYPE, annals::office::XLSX_TYPE)
        .body(book)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let cookie = app.login(&app.recorder).await;
    let (_, today) = html(&app, "/?on=2099-12-31", Some(&cookie)).await;
    assert!(
        today.contains("文件名：register.xlsx"),
        "the file's name is shown"
    );
    assert!(!today.contains("Desktop"), "not the folders it was in");

    let (_, march) = html(&app, "/?on=2023-03-31", Some(&cookie)).await;
    let dates: Vec<&str> = march
        .split("<td class=\"date\">")
        .skip(1)
        .map(|s| s.split('<').next().unwrap())
        .collect();
    assert!(!dates.is_empty());
    assert!(
        dates.iter().all(|d| d[..10] <= *"2023-03-31"),
        "nothing after the page's day: {dates:?}"
    );

    // The kinds, as a clerk looks for them; corrections have forms of their own.
    let options: Vec<&str> = march
        .split("<select name=\"kind\">")
        .nth(1)
        .unwrap()
        .split("</select>")
        .next()
        .unwrap()
        .split("<option value=\"")
        .skip(1)
        .map(|s| s.split('"').next().unwrap())
        .collect();
    assert_eq!(
        &options[..3],
        ["class_held", "lecture_given", "meeting_held"]
    );
    assert!(!options.contains(&"event_amended") && !options.contains(&"import_completed"));

    // Month axes say 月.
    assert!(march.contains(">3月</text>"), "month axes say 月");
}
