//! Issue 13, the page attacked as an insider would: markup typed by a recorder is
//! escaped wherever it is shown, every answer carries the security headers, the sign-in
//! cookie is a server-side session rather than the token, and a change made with that
//! cookie must come from the server's own page. (The browser's side is in `browser.rs`.)
use reqwest::{header, Response, StatusCode};
use serde_json::{json, Value};

use crate::server::app::{spawn_app, spawn_app_with, spawn_open_app, AppOptions, TestApp, Who};

/// The page's one script, served by this server (`/assets/page.js`), not inline.
const PAGE_SCRIPT: &str = "<script src=\"/assets/page.js\" defer></script>";

const MARKUP: &str = r#"<img src=x onerror="alert(1)"><script>alert(2)</script>"#;

fn assert_secure_headers(resp: &Response, what: &str) {
    let h = resp.headers();
    let policy = h
        .get(header::CONTENT_SECURITY_POLICY)
        .unwrap_or_else(|| panic!("{what} has a Content-Security-Policy"))
        .to_str()
        .unwrap();
    for part in [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(policy.contains(part), "{what}: {policy}");
    }
    assert!(!policy.contains("unsafe"), "{what}: {policy}");
    assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{what}");
    assert_eq!(h[header::REFERRER_POLICY], "same-origin", "{what}");
}

/// What a browser would be told to keep: `name=value` of the `Set-Cookie`.
fn set_cookie(resp: &Response) -> Option<String> {
    resp.headers()
        .get(header::SET_COOKIE)
        .map(|v| v.to_str().unwrap().to_owned())
}

/// `GET path` with a cookie.
async fn get_with(app: &TestApp, path: &str, cookie: &str) -> Response {
    app.client
        .get(app.url(path))
        .header(header::COOKIE, cookie)
        .send()
        .await
        .unwrap()
}

fn class(class_id: &str, class_name: &str) -> Value {
    json!({"kind": "class_held", "occurred": "2023-06-20", "data": {
        "class_id": class_id, "class_name": class_name, "category": "main",
        "session": 1, "trainees": 30}})
}

#[tokio::test]
async fn issue_13_every_answer_carries_the_security_headers() {
    let app = spawn_open_app().await;
    for path in [
        "/",
        "/docs",
        "/no/such/page",
        "/assets/page.css",
        "/api/verify",
    ] {
        let resp = app.get(path, Who::Nobody).await;
        assert_secure_headers(&resp, path);
    }
    let refused = app
        .post_json("/api/events", Who::Nobody, &class("A", "B"))
        .await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_secure_headers(&refused, "an error");
    let css = app.get("/assets/page.css", Who::Nobody).await;
    assert!(css.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/css"));

    // Nothing on the pages needs the policy loosened: no inline script or style (the
    // page's one script is a file of this server's, issue 17).
    for path in ["/", "/docs", "/?lang=en"] {
        let html = app.get(path, Who::Nobody).await.text().await.unwrap();
        let html = html.replace(PAGE_SCRIPT, "");
        for inline in ["<script", "<style", "style=\"", "onclick=", "javascript:"] {
            assert!(!html.contains(inline), "{path} has {inline}");
        }
        assert!(html.contains("href=\"/assets/page.css\""), "{path}");
    }
    let closed = spawn_app().await;
    let login = closed.get("/", Who::Nobody).await;
    assert_secure_headers(&login, "the sign-in page");
    assert!(!login.text().await.unwrap().contains("style="));
}

#[tokio::test]
async fn issue_13_markup_in_an_event_or_a_token_name_is_shown_as_text() {
    let app = spawn_open_app().await;
    let made = app
        .post_json(
            "/api/tokens",
            Who::Admin,
            &json!({"name": "<b>x</b>", "role": "recorder"}),
        )
        .await;
    assert_eq!(made.status(), StatusCode::CREATED);
    let token = made.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let resp = app
        .client
        .post(app.url("/api/events"))
        .bearer_auth(&token)
        .json(&class(&MARKUP[..30], &MARKUP[30..]))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let cookie = app.login(&token).await;
    let html = get_with(&app, "/", &cookie).await.text().await.unwrap();
    let html = html.replace(PAGE_SCRIPT, "");
    for raw in ["<img", "<script", "<b>"] {
        assert!(!html.contains(raw), "{raw} reached the page as markup");
    }
    assert!(html.contains("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;"));
    assert!(
        html.contains("&lt;b&gt;x&lt;&#x2f;b&gt;"),
        "the token's name"
    );
}

#[tokio::test]
async fn issue_13_a_refused_form_comes_back_with_markup_escaped() {
    let app = spawn_open_app().await;
    let cookie = app.login(&app.recorder).await;
    let quote = r#""><script>alert(1)</script>"#;
    let resp = app
        .post_form(
            "/record",
            Some(&cookie),
            &[
                ("kind", "class_held"),
                ("occurred_from", quote),
                ("f_class_id", quote),
                ("f_class_name", MARKUP),
                ("f_trainees", "四十"),
            ],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_secure_headers(&resp, "the refused form");
    let html = resp.text().await.unwrap();
    assert!(!html.contains("<script>alert"), "echoed as markup");
    assert!(!html.contains("<img src=x"), "echoed as markup");
    assert!(
        html.contains("value=\"&quot;&gt;&lt;script&gt;"),
        "the typed value is kept, escaped inside its attribute"
    );
}

#[tokio::test]
async fn issue_13_the_cookie_is_a_session_not_the_token() {
    let app = spawn_app().await;
    let resp = app
        .post_form("/login", None, &[("token", &app.reader)])
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let set = set_cookie(&resp).expect("a cookie");
    for part in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age="] {
        assert!(set.contains(part), "{set}");
    }
    assert!(
        !set.contains("Secure"),
        "not marked Secure unless behind TLS: {set}"
    );
    assert!(
        !set.contains(&app.reader[4..]),
        "the token is not in the cookie"
    );
    let cookie = set.split(';').next().unwrap().to_owned();
    assert_eq!(
        get_with(&app, "/api/verify", &cookie).await.status(),
        StatusCode::OK
    );

    // The token itself, under either cookie name, opens nothing.
    for forged in [
        format!("annals_session={}", app.reader),
        format!("annals_token={}", app.reader),
    ] {
        let resp = get_with(&app, "/api/verify", &forged).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{forged}");
        let page = get_with(&app, "/", &forged).await.text().await.unwrap();
        assert!(page.contains("action=\"/login\""), "asked to sign in");
    }
}

#[tokio::test]
async fn issue_13_behind_tls_the_cookie_is_secure_and_changes_come_from_https() {
    let mut options = AppOptions::default();
    options.config.secure_cookies = true;
    let app = spawn_app_with(options).await;
    let https = app.address.replace("http://", "https://");
    let plain = app
        .post_form_from(
            Some(&app.address),
            "/login",
            None,
            &[("token", &app.recorder)],
        )
        .await;
    assert_eq!(plain.status(), StatusCode::FORBIDDEN);
    let resp = app
        .post_form_from(Some(&https), "/login", None, &[("token", &app.recorder)])
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let set = set_cookie(&resp).unwrap();
    assert!(set.ends_with("; Secure"), "{set}");
}

#[tokio::test]
async fn issue_13_a_change_with_the_cookie_must_come_from_this_servers_page() {
    let app = spawn_open_app().await;
    let cookie = app.login(&app.recorder).await;
    let form = [
        ("kind", "meeting_held"),
        ("occurred_from", "2023-07-04"),
        ("f_type", "school_committee"),
    ];
    for origin in [None, Some("http://evil.example"), Some("null")] {
        let resp = app
            .post_form_from(origin, "/record", Some(&cookie), &form)
            .await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{origin:?}");
    }
    // The JSON API with the cookie too; and an admin's cookie cannot revoke a token.
    let api = |origin: &str| {
        app.client
            .post(app.url("/api/events"))
            .header(header::COOKIE, &cookie)
            .header(header::ORIGIN, origin)
            .json(&class("2023-CSRF", "跨站"))
    };
    let resp = api("http://evil.example").send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let admin = app.login(&app.admin).await;
    let revoke = app
        .client
        .delete(app.url("/api/tokens/%E5%8A%9E%E5%85%AC%E5%AE%A4"))
        .header(header::COOKIE, &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), StatusCode::FORBIDDEN);
    let verify = app.get_json("/api/verify", Who::Recorder).await;
    assert_eq!(verify["count"], app.head_at_start, "nothing was recorded");

    // From the page itself, by Origin or (without one) by Referer, it goes through.
    let resp = app.post_form("/record", Some(&cookie), &form).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    // Another day's meeting: the same one again would be held back as a likely repeat.
    let next_day = [form[0], ("occurred_from", "2023-07-05"), form[2]];
    let resp = app
        .client
        .post(app.url("/record"))
        .header(header::COOKIE, &cookie)
        .header(header::REFERER, app.url("/?lang=zh"))
        .form(&next_day)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        api(&app.address).send().await.unwrap().status(),
        StatusCode::CREATED
    );
    // A bearer token cannot be sent by another site's page: no Origin is needed.
    let resp = app
        .post_json("/api/events", Who::Recorder, &class("2023-B", "班"))
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn issue_13_signing_in_must_come_from_this_servers_page() {
    let app = spawn_app().await;
    for origin in [None, Some("http://evil.example")] {
        let resp = app
            .post_form_from(origin, "/login", None, &[("token", &app.admin)])
            .await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{origin:?}");
        assert_eq!(set_cookie(&resp), None, "no session was opened");
    }
}

#[tokio::test]
async fn issue_13_signing_out_ends_the_session_on_the_server() {
    let app = spawn_app().await;
    let cookie = app.login(&app.reader).await;
    assert_eq!(
        get_with(&app, "/api/verify", &cookie).await.status(),
        StatusCode::OK
    );
    let out = app.post_form("/logout", Some(&cookie), &[]).await;
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert!(set_cookie(&out).unwrap().contains("Max-Age=0"));
    // A browser (or a thief) that kept the cookie gets nothing with it.
    let replay = get_with(&app, "/api/verify", &cookie).await;
    assert_eq!(replay.status(), StatusCode::UNAUTHORIZED);
    let page = get_with(&app, "/", &cookie).await.text().await.unwrap();
    assert!(page.contains("action=\"/login\""));
}

#[tokio::test]
async fn issue_13_revoking_a_token_ends_its_sessions() {
    let app = spawn_app().await;
    let made = app
        .post_json(
            "/api/tokens",
            Who::Admin,
            &json!({"name": "temp-recorder", "role": "recorder"}),
        )
        .await;
    let token = made.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let cookie = app.login(&token).await;
    assert_eq!(
        get_with(&app, "/api/verify", &cookie).await.status(),
        StatusCode::OK
    );
    let revoked = app
        .request(
            reqwest::Method::DELETE,
            "/api/tokens/temp-recorder",
            Who::Admin,
        )
        .send()
        .await
        .unwrap();
    assert!(revoked.status().is_success(), "{}", revoked.status());
    let after = get_with(&app, "/api/verify", &cookie).await;
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
    let resp = app
        .post_form(
            "/record",
            Some(&cookie),
            &[
                ("kind", "meeting_held"),
                ("occurred_from", "2023-07-04"),
                ("f_type", "school_committee"),
            ],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}
