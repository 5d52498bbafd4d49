//! `spawn_app()`: the real server on port 0 over a temporary sled folder, and a
//! `TestApp` with request helpers (zero2prod's `tests/api/helpers.rs`).
use std::{path::Path, sync::Once, time::Duration};

use annals::{
    http::{self, AppState, Config},
    store::{Options, Role, Store},
};
use projections::{metric::Metrics, report::Templates};
use reqwest::{header, Response, StatusCode};
use serde_json::Value;
use tempfile::TempDir;
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};

/// Who a request is sent as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    /// An admin token.
    Admin,
    /// A recorder token.
    Recorder,
    /// A reader token.
    Reader,
    /// No token at all.
    Nobody,
}

impl Who {
    /// Every caller, most powerful first.
    pub const ALL: [Who; 4] = [Who::Admin, Who::Recorder, Who::Reader, Who::Nobody];
}

/// The names the test tokens are made under; they become `recorded_by`.
pub const ADMIN: &str = "管理员";
pub const RECORDER: &str = "办公室";
pub const READER: &str = "校领导";

/// How to set up a server.
pub struct AppOptions {
    /// Import the example dataset (the school's first half of 2023) first.
    pub example: bool,
    /// The deployment's limits and switches.
    pub config: Config,
}

impl Default for AppOptions {
    fn default() -> Self {
        AppOptions {
            example: true,
            config: Config::default(),
        }
    }
}

/// A running server and what a test needs to talk to it.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub address: String,
    /// A client that does not follow redirects, so tests see them.
    pub client: reqwest::Client,
    /// The admin token.
    pub admin: String,
    /// The recorder token.
    pub recorder: String,
    /// The reader token.
    pub reader: String,
    /// The log's head seq once set up.
    pub head_at_start: u64,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<std::io::Result<()>>>,
    dir: Option<TempDir>,
}

/// Installs a tracing subscriber when `TEST_LOG` is set; otherwise tests stay quiet.
pub fn init_tracing() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
                .with_test_writer()
                .try_init();
        }
    });
}

/// Opens the store in `dir` as the server does.
pub fn open_store(dir: &Path) -> Store {
    Store::open(dir, crate::helpers::catalog(), Options::default()).expect("the store opens")
}

/// A server over the example dataset, reads closed, default limits.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(AppOptions::default()).await
}

/// A server over the example dataset with reads open to anyone.
pub async fn spawn_open_app() -> TestApp {
    spawn_app_with(AppOptions {
        config: Config {
            open_reads: true,
            ..Config::default()
        },
        ..AppOptions::default()
    })
    .await
}

/// A server set up as asked.
pub async fn spawn_app_with(options: AppOptions) -> TestApp {
    init_tracing();
    let dir = tempfile::tempdir().expect("a temporary folder");
    let store = open_store(dir.path());
    let (admin, recorder, reader, head_at_start) = tokio::task::spawn_blocking({
        let store = store.clone();
        move || {
            if options.example {
                annals::intake::jsonl::import(
                    &store,
                    annals::EXAMPLE_DATASET.as_bytes(),
                    annals::EXAMPLE_NAME,
                    "测试",
                    annals::intake::Trust::Operator,
                    false,
                    &mut |_, _| {},
                )
                .expect("the example imports");
            }
            let token = |name, role| store.create_token(name, role).expect("a token");
            (
                token(ADMIN, Role::Admin),
                token(RECORDER, Role::Recorder),
                token(READER, Role::Reader),
                store.head_seq(),
            )
        }
    })
    .await
    .expect("the set-up runs");
    let metrics = Metrics::embedded(store.catalog()).expect("the embedded metrics load");
    let templates = Templates::embedded().expect("the embedded templates parse");
    let state = AppState::new(store, metrics, templates, options.config, options.example);
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
    let address = format!("http://{}", listener.local_addr().expect("an address"));
    let (tx, rx) = oneshot::channel::<()>();
    let server = tokio::spawn(http::serve(listener, state, async {
        let _ = rx.await;
    }));
    TestApp {
        address,
        client: client(),
        admin,
        recorder,
        reader,
        head_at_start,
        shutdown: Some(tx),
        server: Some(server),
        dir: Some(dir),
    }
}

/// An HTTP client that shows redirects instead of following them.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("a client")
}

impl TestApp {
    /// The full URL of a path.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// The token of a caller, if it has one.
    pub fn token(&self, who: Who) -> Option<&str> {
        match who {
            Who::Admin => Some(&self.admin),
            Who::Recorder => Some(&self.recorder),
            Who::Reader => Some(&self.reader),
            Who::Nobody => None,
        }
    }

    /// A request with the caller's bearer token, if any.
    pub fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        who: Who,
    ) -> reqwest::RequestBuilder {
        let req = self.client.request(method, self.url(path));
        match self.token(who) {
            Some(t) => req.bearer_auth(t),
            None => req,
        }
    }

    /// `GET path`.
    pub async fn get(&self, path: &str, who: Who) -> Response {
        self.request(reqwest::Method::GET, path, who)
            .send()
            .await
            .expect("the server answers")
    }

    /// `GET path` expecting 200 and JSON.
    pub async fn get_json(&self, path: &str, who: Who) -> Value {
        let resp = self.get(path, who).await;
        let status = resp.status();
        let body = resp.text().await.expect("a body");
        assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
        serde_json::from_str(&body).expect("JSON")
    }

    /// `POST path` with a JSON body.
    pub async fn post_json(&self, path: &str, who: Who, body: &Value) -> Response {
        self.request(reqwest::Method::POST, path, who)
            .json(body)
            .send()
            .await
            .expect("the server answers")
    }

    /// `POST path` with raw bytes and a content type.
    pub async fn post_raw(
        &self,
        path: &str,
        who: Who,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> Response {
        self.request(reqwest::Method::POST, path, who)
            .header(header::CONTENT_TYPE, content_type)
            .body(body)
            .send()
            .await
            .expect("the server answers")
    }

    /// `POST path` with a form, signed in by the page's cookie when `cookie` is given,
    /// sent from the server's own page (its `Origin`), as a browser sends it.
    pub async fn post_form(
        &self,
        path: &str,
        cookie: Option<&str>,
        form: &[(&str, &str)],
    ) -> Response {
        self.post_form_from(Some(&self.address), path, cookie, form)
            .await
    }

    /// [`TestApp::post_form`] from a page of `origin`, or with no `Origin` at all.
    pub async fn post_form_from(
        &self,
        origin: Option<&str>,
        path: &str,
        cookie: Option<&str>,
        form: &[(&str, &str)],
    ) -> Response {
        let mut req = self.client.post(self.url(path)).form(form);
        if let Some(c) = cookie {
            req = req.header(header::COOKIE, c);
        }
        if let Some(o) = origin {
            req = req.header(header::ORIGIN, o);
        }
        req.send().await.expect("the server answers")
    }

    /// Records events (one draft, a list, or `{events, expected_seq}`) as the recorder.
    pub async fn append(&self, body: &Value) -> Response {
        self.post_json("/api/events", Who::Recorder, body).await
    }

    /// Records events that must be accepted as new, returning the receipts.
    pub async fn record(&self, body: &Value) -> Vec<Value> {
        let resp = self.append(body).await;
        let status = resp.status();
        let text = resp.text().await.expect("a body");
        assert_eq!(status, StatusCode::CREATED, "recording failed: {text}");
        let v: Value = serde_json::from_str(&text).expect("JSON");
        v["receipts"].as_array().expect("receipts").clone()
    }

    /// Signs in through the page's login form and returns the session cookie.
    pub async fn login(&self, token: &str) -> String {
        let resp = self.post_form("/login", None, &[("token", token)]).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let cookie = resp
            .headers()
            .get(header::SET_COOKIE)
            .expect("a session cookie")
            .to_str()
            .expect("ASCII");
        cookie.split(';').next().expect("name=value").to_owned()
    }

    /// Triggers graceful shutdown, waits for the server to finish (stopped accepting,
    /// in-flight requests done, store flushed) and hands back the store's folder.
    pub async fn shutdown(mut self) -> TempDir {
        self.stop().await;
        self.dir.take().expect("the folder")
    }

    async fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            tokio::time::timeout(Duration::from_secs(20), server)
                .await
                .expect("the server stops within 20 s of the shutdown signal")
                .expect("the server task does not panic")
                .expect("the server stops without error");
        }
    }

    /// Sends the shutdown signal without waiting.
    pub fn signal_shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.signal_shutdown();
    }
}

/// Reads an error answer, checks it is problem details with that status, and returns it.
pub async fn problem(resp: Response, status: StatusCode) -> Value {
    let got = resp.status();
    let content_type = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or_default().to_owned())
        .unwrap_or_default();
    let text = resp.text().await.expect("a body");
    assert_eq!(got, status, "unexpected status; body: {text}");
    assert_eq!(
        content_type, "application/problem+json",
        "errors are RFC 9457 problem details: {text}"
    );
    let body: Value = serde_json::from_str(&text).expect("problem details are JSON");
    assert_eq!(body["status"], status.as_u16(), "{body}");
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "a problem says what went wrong in words: {body}"
    );
    body
}

/// The fields a problem names, in order.
pub fn fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|e| e["field"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Checks an error answer names the failing parameter, and returns the problem.
pub async fn bad_request(resp: Response, field: &str) -> Value {
    let p = problem(resp, StatusCode::BAD_REQUEST).await;
    assert_eq!(fields(&p), [field], "the problem names '{field}': {p}");
    p
}

/// A valid main-class session of a new class, held on `day`.
pub fn class(class_id: &str, session: u64, day: &str) -> Value {
    serde_json::json!({
        "kind": "class_held",
        "occurred": day,
        "data": {
            "class_id": class_id,
            "class_name": "全县科级干部进修班",
            "category": "main",
            "session": session,
            "trainees": 45,
        }
    })
}
