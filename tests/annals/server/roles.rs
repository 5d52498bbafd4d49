//! Who may do what: every route walked with every role and with no token, reads closed
//! and open; revoked and unknown tokens; tokens made and revoked over the API.
use std::collections::BTreeSet;

use annals::http::Config;
use reqwest::{header, Method, StatusCode};
use serde_json::{json, Value};

use super::app::{class, problem, spawn_app, spawn_app_with, AppOptions, TestApp, Who};

/// What a route asks of its caller.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Need {
    /// Nothing: anyone.
    Nothing,
    /// A reader token, unless the deployment opens reads.
    Read,
    /// A recorder or admin token.
    Record,
    /// An admin token.
    Admin,
    /// Any valid token (signing in).
    AnyToken,
}

enum Body {
    Empty,
    Json(Value),
    Form(Vec<(&'static str, String)>),
    /// The login form, with the caller's own token, sent from the server's own page.
    Login,
    /// A file, with its content type.
    File(&'static str, String),
}

struct Case {
    method: Method,
    /// The documented route, with `{param}` segments.
    route: &'static str,
    /// The path actually requested.
    path: String,
    body: Body,
    need: Need,
    /// The answer for a caller who may.
    ok: StatusCode,
}

/// Every route of the API table (`src/http/docs.rs`), as `(method, path)`.
pub fn documented_routes() -> Vec<(&'static str, &'static str)> {
    vec![
        ("post", "/api/events"),
        ("get", "/api/events"),
        ("get", "/api/events/{id}"),
        ("get", "/api/progress"),
        ("get", "/api/metrics"),
        ("get", "/api/metrics/{name}/timeline"),
        ("get", "/api/people"),
        ("get", "/api/people/{id}"),
        ("get", "/api/report"),
        ("post", "/api/imports"),
        ("get", "/api/metrics.xlsx"),
        ("get", "/api/template.xlsx"),
        ("get", "/api/verify"),
        ("get", "/api/kinds"),
        ("get", "/api/stream"),
        ("get", "/api/tokens"),
        ("post", "/api/tokens"),
        ("delete", "/api/tokens/{name}"),
        ("get", "/healthz"),
    ]
}

/// The record form's fields for a valid class session.
fn class_form(session: u32) -> Vec<(&'static str, String)> {
    vec![
        ("kind", "class_held".into()),
        ("occurred_from", "2023-07-03".into()),
        ("occurred_to", "2023-07-07".into()),
        ("f_class_id", "2023-ZT-90".into()),
        ("f_class_name", "全县科级干部进修班".into()),
        ("f_category", "main".into()),
        ("f_session", session.to_string()),
        ("f_trainees", "45".into()),
    ]
}

fn cases(event_id: &str, person: &str, run: usize, who: Who) -> Vec<Case> {
    let get = |route: &'static str, path: &str, need: Need| Case {
        method: Method::GET,
        route,
        path: path.to_owned(),
        body: Body::Empty,
        need,
        ok: StatusCode::OK,
    };
    vec![
        Case {
            method: Method::POST,
            route: "/api/events",
            path: "/api/events".into(),
            body: Body::Json(class(&format!("2023-ZT-{run}-{who:?}"), 1, "2023-07-03")),
            need: Need::Record,
            ok: StatusCode::CREATED,
        },
        get("/api/events", "/api/events?limit=5", Need::Read),
        get(
            "/api/events/{id}",
            &format!("/api/events/{event_id}"),
            Need::Read,
        ),
        get(
            "/api/progress",
            "/api/progress?year=2023&on=2023-06-30",
            Need::Read,
        ),
        get("/api/metrics", "/api/metrics?period=2023H1", Need::Read),
        get(
            "/api/metrics/{name}/timeline",
            "/api/metrics/main_sessions/timeline?period=2023",
            Need::Read,
        ),
        get("/api/people", "/api/people?year=2023", Need::Read),
        get(
            "/api/people/{id}",
            &format!("/api/people/{}?year=2023", super::reads::urlencode(person)),
            Need::Read,
        ),
        get("/api/report", "/api/report?period=2023H1", Need::Read),
        Case {
            method: Method::POST,
            route: "/api/imports",
            path: "/api/imports?name=class_held.csv".into(),
            body: Body::File(
                "text/csv",
                format!("开始日期,班次编号,班次名称,班次类别,期次,培训人数\n2023-07-03,2023-IMP-{run}-{who:?},进修班,主体班,1,45\n"),
            ),
            need: Need::Record,
            ok: StatusCode::CREATED,
        },
        get("/api/metrics.xlsx", "/api/metrics.xlsx?period=2023H1", Need::Read),
        get("/api/template.xlsx", "/api/template.xlsx", Need::Read),
        get("/api/verify", "/api/verify", Need::Read),
        get("/api/kinds", "/api/kinds", Need::Read),
        get("/api/stream", "/api/stream", Need::Read),
        get("/api/tokens", "/api/tokens", Need::Admin),
        Case {
            method: Method::POST,
            route: "/api/tokens",
            path: "/api/tokens".into(),
            body: Body::Json(json!({"name": format!("教务科{run}-{who:?}"), "role": "recorder"})),
            need: Need::Admin,
            ok: StatusCode::CREATED,
        },
        Case {
            method: Method::DELETE,
            route: "/api/tokens/{name}",
            path: format!("/api/tokens/{}", super::reads::urlencode("待吊销")),
            body: Body::Empty,
            need: Need::Admin,
            ok: StatusCode::OK,
        },
        get("/healthz", "/healthz", Need::Nothing),
        get("/openapi.json", "/openapi.json", Need::Nothing),
        get("/docs", "/docs", Need::Nothing),
        // The page answers everyone: the figures, or the sign-in form when reads are closed.
        get("/", "/?on=2023-06-30", Need::Nothing),
        Case {
            method: Method::POST,
            route: "/login",
            path: "/login".into(),
            body: Body::Login,
            need: Need::AnyToken,
            ok: StatusCode::SEE_OTHER,
        },
        Case {
            method: Method::POST,
            route: "/logout",
            path: "/logout".into(),
            body: Body::Form(vec![]),
            need: Need::Nothing,
            ok: StatusCode::SEE_OTHER,
        },
        Case {
            method: Method::POST,
            route: "/record",
            path: "/record".into(),
            body: Body::Form(class_form(run as u32 * 10 + who as u32 + 1)),
            need: Need::Record,
            ok: StatusCode::SEE_OTHER,
        },
    ]
}

fn expected(need: Need, who: Who, open_reads: bool, ok: StatusCode) -> StatusCode {
    match (need, who) {
        (Need::Nothing, _) => ok,
        (Need::Read, Who::Nobody) if !open_reads => StatusCode::UNAUTHORIZED,
        (Need::Read, _) => ok,
        (Need::Record | Need::Admin | Need::AnyToken, Who::Nobody) => StatusCode::UNAUTHORIZED,
        (Need::Record, Who::Reader) => StatusCode::FORBIDDEN,
        (Need::Admin, Who::Reader | Who::Recorder) => StatusCode::FORBIDDEN,
        _ => ok,
    }
}

async fn send(app: &TestApp, case: &Case, who: Who) -> reqwest::Response {
    let req = app.request(case.method.clone(), &case.path, who);
    let req = match &case.body {
        Body::Empty => req,
        Body::Json(v) => req.json(v),
        Body::Form(f) => req.form(f),
        // From the page itself, as a browser signs in (issue 13).
        Body::Login => req
            .header(header::ORIGIN, &app.address)
            .form(&[("token", app.token(who).unwrap_or(""))]),
        Body::File(content_type, text) => req
            .header(header::CONTENT_TYPE, *content_type)
            .body(text.clone()),
    };
    req.send().await.expect("the server answers")
}

async fn walk(open_reads: bool) {
    let app = spawn_app_with(AppOptions {
        config: Config {
            open_reads,
            ..Config::default()
        },
        ..AppOptions::default()
    })
    .await;
    let first = app.get_json("/api/events?limit=1", Who::Admin).await;
    let event_id = first["events"][0]["id"].as_str().unwrap().to_owned();
    let people = app.get_json("/api/people?year=2023", Who::Admin).await;
    let person = people["people"][0]["person"].as_str().unwrap().to_owned();
    let victim = app
        .post_json(
            "/api/tokens",
            Who::Admin,
            &json!({"name": "待吊销", "role": "reader"}),
        )
        .await;
    assert_eq!(victim.status(), StatusCode::CREATED);

    let mut failures = Vec::new();
    let mut walked = BTreeSet::new();
    for (run, who) in Who::ALL.into_iter().enumerate() {
        for case in cases(&event_id, &person, run, who) {
            walked.insert((case.method.as_str().to_lowercase(), case.route));
            let want = expected(case.need, who, open_reads, case.ok);
            let resp = send(&app, &case, who).await;
            let got = resp.status();
            let content_type = resp
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            if got != want {
                let body = if case.route == "/api/stream" {
                    String::new()
                } else {
                    resp.text().await.unwrap_or_default()
                };
                failures.push(format!(
                    "{} {} as {who:?}: want {want}, got {got} {body}",
                    case.method, case.path
                ));
                continue;
            }
            if got.is_client_error() && case.route.starts_with("/api/") {
                let p = problem(resp, got).await;
                assert!(
                    !p["detail"].as_str().unwrap().contains("ann_"),
                    "no token in {p}"
                );
            } else if case.route == "/api/stream" {
                assert_eq!(content_type, "text/event-stream", "{who:?}");
                drop(resp);
            } else if case.route == "/" {
                let html = resp.text().await.unwrap();
                let sign_in = !open_reads && who == Who::Nobody;
                assert_eq!(
                    html.contains("name=\"token\""),
                    sign_in || who == Who::Nobody,
                    "{who:?}: the sign-in form shows to those who have not signed in"
                );
                assert_eq!(html.contains("class=\"bar\""), !sign_in, "{who:?}");
            }
        }
    }
    assert!(
        failures.is_empty(),
        "open_reads={open_reads}:\n{}",
        failures.join("\n")
    );
    for (method, path) in documented_routes() {
        assert!(
            walked.contains(&(method.to_owned(), path)),
            "the walk covers {method} {path}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_route_answers_every_role_as_it_should_with_reads_closed() {
    walk(false).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_route_answers_every_role_as_it_should_with_reads_open() {
    walk(true).await;
}

#[tokio::test]
async fn no_token_is_401_and_a_reader_cannot_write() {
    let app = spawn_app().await;
    let p = problem(
        app.post_json(
            "/api/events",
            Who::Nobody,
            &class("2023-ZT-60", 1, "2023-07-03"),
        )
        .await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("Bearer"), "{p}");
    let p = problem(
        app.post_json(
            "/api/events",
            Who::Reader,
            &class("2023-ZT-60", 1, "2023-07-03"),
        )
        .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    let detail = p["detail"].as_str().unwrap().to_lowercase();
    assert!(
        detail.contains("reader") && detail.contains("recorder"),
        "{p}"
    );
    let verify = app.get_json("/api/verify", Who::Reader).await;
    assert_eq!(verify["count"], app.head_at_start, "nothing was written");
}

#[tokio::test]
async fn a_revoked_token_is_refused_at_once_even_where_reads_are_open() {
    let app = spawn_app_with(AppOptions {
        config: Config {
            open_reads: true,
            ..Config::default()
        },
        ..AppOptions::default()
    })
    .await;
    let made = app
        .post_json(
            "/api/tokens",
            Who::Admin,
            &json!({"name": "临时", "role": "recorder"}),
        )
        .await;
    assert_eq!(made.status(), StatusCode::CREATED);
    let made: Value = made.json().await.unwrap();
    let token = made["token"].as_str().unwrap().to_owned();
    assert_eq!(made["role"], "recorder");

    let record = |n: u64| {
        app.client
            .post(app.url("/api/events"))
            .bearer_auth(&token)
            .json(&class("2023-ZT-61", n, "2023-07-03"))
            .send()
    };
    assert_eq!(record(1).await.unwrap().status(), StatusCode::CREATED);

    let revoked = app
        .request(Method::DELETE, "/api/tokens/%E4%B8%B4%E6%97%B6", Who::Admin)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::OK);

    let p = problem(record(2).await.unwrap(), StatusCode::UNAUTHORIZED).await;
    assert!(p["detail"].as_str().unwrap().contains("revoked"), "{p}");
    // Open reads do not make a revoked token good again.
    let read = app
        .client
        .get(app.url("/api/verify"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    problem(read, StatusCode::UNAUTHORIZED).await;

    let listed = app.get_json("/api/tokens", Who::Admin).await;
    let entry = listed["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "临时")
        .expect("the revoked token is still listed");
    assert!(entry["revoked_at"].is_string());
    assert!(
        !listed.to_string().contains(&token),
        "the list never shows a token"
    );
}

#[tokio::test]
async fn an_unknown_token_is_401_and_tokens_are_managed_with_clear_errors() {
    let app = spawn_app().await;
    let resp = app
        .client
        .get(app.url("/api/verify"))
        .bearer_auth("ann_not_a_real_token")
        .send()
        .await
        .unwrap();
    problem(resp, StatusCode::UNAUTHORIZED).await;

    let again = app
        .post_json(
            "/api/tokens",
            Who::Admin,
            &json!({"name": super::app::RECORDER, "role": "reader"}),
        )
        .await;
    problem(again, StatusCode::CONFLICT).await;
    let unnamed = app
        .post_json(
            "/api/tokens",
            Who::Admin,
            &json!({"name": " ", "role": "reader"}),
        )
        .await;
    let p = problem(unnamed, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(super::app::fields(&p), ["name"]);
    let gone = app
        .request(Method::DELETE, "/api/tokens/nobody", Who::Admin)
        .send()
        .await
        .unwrap();
    problem(gone, StatusCode::NOT_FOUND).await;
}

/// Regression (issue 4): the 401 told callers to send `authorization: bearer <token>`
/// (the whole hint lower-cased), and a lower-case scheme was then not recognised.
#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive_and_the_hint_spells_it_right() {
    let app = spawn_app().await;
    for scheme in ["Bearer", "bearer", "BEARER"] {
        let resp = app
            .client
            .get(app.url("/api/verify"))
            .header(header::AUTHORIZATION, format!("{scheme} {}", app.reader))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{scheme}");
    }
    let p = problem(
        app.get("/api/verify", Who::Nobody).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("Authorization: Bearer <token>"),
        "{p}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_token_is_refused_and_a_live_one_is_not() {
    // Issue 4: "expired or revoked token: each the right status".
    let app = spawn_app().await;
    let mut made = Vec::new();
    for (name, days) in [("今天到期", 0), ("一周有效", 7)] {
        let body = json!({"name": name, "role": "recorder", "expires_in_days": days});
        let resp = app.post_json("/api/tokens", Who::Admin, &body).await;
        assert_eq!(resp.status(), StatusCode::CREATED);
        made.push(resp.json::<Value>().await.unwrap());
    }
    let (expired, live) = (&made[0], &made[1]);
    let send = |token: String| {
        app.client
            .post(app.url("/api/events"))
            .bearer_auth(token)
            .json(&class("2023-ZT-71", 1, "2023-07-03"))
            .send()
    };
    let refused = send(expired["token"].as_str().unwrap().to_owned())
        .await
        .unwrap();
    let body = problem(refused, StatusCode::UNAUTHORIZED).await;
    assert!(
        body["detail"].as_str().unwrap().contains("has expired"),
        "{body}"
    );
    let accepted = send(live["token"].as_str().unwrap().to_owned())
        .await
        .unwrap();
    assert_eq!(accepted.status(), StatusCode::CREATED);
    let listed = app.get_json("/api/tokens", Who::Admin).await;
    let expiring = listed["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["expires_at"].is_string())
        .count();
    assert_eq!(expiring, 2, "{listed}");
}
