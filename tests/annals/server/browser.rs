//! The page in a real browser: the `annals` binary serves the example, headless Chromium
//! (Debian's `chromium` and `chromium-driver`, installed by `.ci/run`) opens it through
//! chromedriver's WebDriver protocol, checks the progress bars (F20–F24), signs in,
//! records a class session through the form, sees it appear, and saves a screenshot
//! under `target/browser/`. Issue 13: a recorder's markup is shown as text and never
//! runs, and the browser enforces the Content-Security-Policy. Issue 17: a clerk's day
//! through the page, in the same session (`clerk.rs`).
//!
//! Set `CHROMIUM` and `CHROMEDRIVER` to use binaries elsewhere than `/usr/bin`.
use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use base64::Engine;
use serde_json::{json, Value};

use crate::server::binary::{self, free_port, Running, Served};

mod clerk;

/// WebDriver's key for an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

fn tool(var: &str, default: &str) -> PathBuf {
    let path = std::env::var_os(var).map_or_else(|| PathBuf::from(default), PathBuf::from);
    assert!(
        path.exists(),
        "the browser test needs {} ({var}); install Chromium and its driver with \
         `apt-get install -y chromium chromium-driver fonts-noto-cjk` (CI's .ci/run does), \
         or set {var} to where they are",
        path.display()
    );
    path
}

/// A WebDriver session, spoken to as plain JSON over HTTP.
struct Browser {
    http: reqwest::Client,
    session: String,
}

impl Browser {
    async fn start(http: reqwest::Client, driver: &str, profile: &Path, chromium: &Path) -> Self {
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    format!("--user-data-dir={}", profile.display()),
                    "--window-size=1366,768",
                ],
            },
        }}});
        let resp: Value = http
            .post(format!("{driver}/session"))
            .json(&caps)
            .send()
            .await
            .expect("chromedriver answers")
            .json()
            .await
            .expect("JSON");
        let session = resp["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("chromedriver started Chromium: {resp}"))
            .to_owned();
        Browser {
            http,
            session: format!("{driver}/session/{session}"),
        }
    }

    async fn command(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.session));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("chromedriver answers");
        let status = resp.status();
        let v: Value = resp.json().await.expect("JSON");
        assert!(status.is_success(), "{method} {path}: {v}");
        v["value"].clone()
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.command(reqwest::Method::POST, path, Some(body)).await
    }

    async fn get(&self, path: &str) -> Value {
        self.command(reqwest::Method::GET, path, None).await
    }

    async fn goto(&self, url: &str) {
        self.post("/url", json!({ "url": url })).await;
    }

    async fn find_all(&self, css: &str) -> Vec<String> {
        self.post("/elements", json!({"using": "css selector", "value": css}))
            .await
            .as_array()
            .expect("a list")
            .iter()
            .map(|e| e[ELEMENT].as_str().expect("an element").to_owned())
            .collect()
    }

    async fn find(&self, css: &str) -> String {
        let v = self
            .post("/element", json!({"using": "css selector", "value": css}))
            .await;
        v[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("the page has {css}: {v}"))
            .to_owned()
    }

    async fn text(&self, element: &str) -> String {
        self.get(&format!("/element/{element}/text"))
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    async fn texts(&self, css: &str) -> Vec<String> {
        let mut out = Vec::new();
        for e in self.find_all(css).await {
            out.push(self.text(&e).await);
        }
        out
    }

    async fn click(&self, css: &str) {
        let e = self.find(css).await;
        self.post(&format!("/element/{e}/click"), json!({})).await;
    }

    async fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        self.post(&format!("/element/{e}/value"), json!({ "text": text }))
            .await;
    }

    /// Sets an input's value as a date picker would (typing into one depends on the locale).
    async fn set_value(&self, css: &str, value: &str) {
        let e = self.find(css).await;
        self.post(
            "/execute/sync",
            json!({"script": "arguments[0].value = arguments[1];",
                   "args": [{ ELEMENT: e }, value]}),
        )
        .await;
    }

    async fn script(&self, script: &str) -> Value {
        self.post("/execute/sync", json!({"script": script, "args": []}))
            .await
    }

    async fn url(&self) -> String {
        self.get("/url")
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    async fn wait_for_url(&self, part: &str) -> String {
        let start = Instant::now();
        loop {
            let url = self.url().await;
            if url.contains(part) {
                return url;
            }
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "the browser reached a URL with {part}; it is at {url}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn wait_until_gone(&self, css: &str) {
        let start = Instant::now();
        while !self.find_all(css).await.is_empty() {
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "{css} went away; the browser is at {}",
                self.url().await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn screenshot(&self, to: &Path) {
        let b64 = self.get("/screenshot").await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().expect("base64"))
            .expect("a PNG in base64");
        std::fs::create_dir_all(to.parent().expect("a folder")).expect("target/browser");
        std::fs::write(to, png).expect("the screenshot is saved");
    }

    async fn quit(&self) {
        let _ = self.http.delete(&self.session).send().await;
    }
}

/// The bars as the browser lays them out: figure, words, the fill's share of the track,
/// the marker's place, and the fill's colour (each bar is an SVG: issue 13's policy
/// allows no inline style to size a `div`).
const BARS: &str = r#"
return Array.from(document.querySelectorAll('#progress .bar')).map(bar => {
  const track = bar.querySelector('.track').getBoundingClientRect();
  const fill = bar.querySelector('.fill');
  const marker = bar.querySelector('.marker').getBoundingClientRect();
  return {
    figure: bar.querySelector('.figure').textContent.trim(),
    words: bar.querySelector('.words').textContent.trim(),
    fill: fill.getBoundingClientRect().width / track.width,
    marker: (marker.left - track.left) / track.width,
    colour: getComputedStyle(fill).fill,
  };
});"#;

const GREEN: &str = "rgb(46, 125, 50)";

/// `annals serve --open-reads` over a new store in `dir`, chromedriver, and a Chromium
/// session through it; each is stopped when the test ends.
async fn launch(dir: &Path) -> (Served, Running, Browser) {
    let chromium = tool("CHROMIUM", "/usr/bin/chromium");
    let chromedriver = tool("CHROMEDRIVER", "/usr/bin/chromedriver");
    let store = dir.join("store");
    let server =
        tokio::task::spawn_blocking(move || binary::serve(&store, &["--open-reads"], "warn"))
            .await
            .unwrap();
    let driver_port = free_port();
    let driver_process = Running(
        Command::new(&chromedriver)
            .arg(format!("--port={driver_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts"),
    );
    let driver = format!("http://127.0.0.1:{driver_port}");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let start = Instant::now();
    loop {
        let ready = match http.get(format!("{driver}/status")).send().await {
            Ok(r) => r.json::<Value>().await.ok(),
            Err(_) => None,
        };
        if ready.is_some_and(|v| v["value"]["ready"] == true) {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "chromedriver is ready"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let browser = Browser::start(http, &driver, &dir.join("profile"), &chromium).await;
    (server, driver_process, browser)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_page_in_chromium_shows_the_figures_and_records_through_the_form() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let (server, _driver, browser) = launch(dir.path()).await;
    let (address, admin_token) = (server.address.clone(), server.admin_token.clone());

    // The figures of 30 June 2023, as anyone sees them where reads are open.
    browser.goto(&format!("{address}/?on=2023-06-30")).await;
    let bars = browser.script(BARS).await;
    let bars = bars.as_array().expect("the bars");
    assert_eq!(bars.len(), 2, "{bars:#?}");
    let (classes, sessions) = (&bars[0], &bars[1]);
    assert_eq!(classes["figure"], "9 / 17个", "F22 against F21");
    assert_eq!(sessions["figure"], "10 / 21期", "F20 against its target");
    let words = classes["words"].as_str().unwrap();
    assert!(
        words.contains("完成52.9%") && words.contains("时间过去49.6%"),
        "F24 in words: {words}"
    );
    let share = |v: &Value| v.as_f64().expect("a number");
    assert!(
        (share(&classes["fill"]) - 9.0 / 17.0).abs() < 0.01,
        "{classes}"
    );
    assert!(
        (share(&sessions["fill"]) - 10.0 / 21.0).abs() < 0.01,
        "{sessions}"
    );
    assert!(
        (share(&classes["marker"]) - 181.0 / 365.0).abs() < 0.01,
        "{classes}"
    );
    assert_eq!(
        classes["colour"], GREEN,
        "52.9% done of 49.6% elapsed is on track"
    );
    let page = browser.text(&browser.find("body").await).await;
    assert!(
        page.contains("演示数据"),
        "the demo data is said to be demo data"
    );
    assert!(page.contains("✓ 通过"), "the log verifies");

    // Sign in with the admin token through the form on the page.
    browser
        .type_into("#login input[name=token]", &admin_token)
        .await;
    browser.click("#login button").await;
    browser.wait_until_gone("#login").await;
    browser.goto(&format!("{address}/?on=2023-06-30")).await;
    browser.find("#record-form").await;
    let header = browser.text(&browser.find("header").await).await;
    assert!(header.contains("管理员"), "signed in: {header}");

    // A third session of the village secretaries' class, recorded through the form.
    let kind = browser
        .script("return document.querySelector('#record-form input[name=kind]').value;")
        .await;
    assert_eq!(kind, "class_held", "the form records a class by default");
    clerk::enter_the_class(&browser).await;
    browser.click("#record-submit").await;
    let url = browser.wait_for_url("recorded=").await;
    let seq: u64 = url
        .split("recorded=")
        .nth(1)
        .and_then(|s| s.split('&').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("the redirect names the new seq: {url}"));

    // It is the newest row of the latest events.
    let rows = browser.texts("#latest tr").await;
    let newest = rows.get(1).expect("a row under the header");
    assert!(newest.starts_with(&seq.to_string()), "{newest}");
    assert!(
        newest.contains("2023-ZT02") && newest.contains("管理员"),
        "{newest}"
    );
    assert!(browser
        .text(&browser.find("body").await)
        .await
        .contains(&format!("已记录，序号 {seq}")));

    // And the sessions bar has moved; the class was already counted.
    browser.goto(&format!("{address}/?on=2023-06-30")).await;
    assert_eq!(
        browser.texts("#progress .figure").await,
        ["9 / 17个", "11 / 21期"]
    );
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the target folder")
        .join("browser");
    let shot = shots.join("progress.png");
    browser.screenshot(&shot).await;
    println!("screenshot: {}", shot.display());

    clerk::a_clerks_day(&browser, &address, &admin_token, seq, &shots).await;
    browser.quit().await;

    // SIGTERM: the real binary shuts down gracefully and exits 0.
    let exited = server.terminate().await;
    assert!(
        exited.status.success(),
        "annals serve exits 0 on SIGTERM: {}\n{}",
        exited.status,
        exited.log
    );
}

/// Markup a hostile recorder types: each would set the title if it ran.
const IMG: &str = r#"<img src=x onerror="document.title='pwned'">"#;
const SCRIPT: &str = "<script>document.title='pwned'</script>";

/// Issue 13: a recorder's markup (in a class's id, in its own token's name, in a form
/// that comes back refused) reached every reader as markup and ran as script in the
/// administrator's session. Now it is shown as the text it is, nothing runs, and the
/// browser enforces the Content-Security-Policy.
#[tokio::test(flavor = "multi_thread")]
async fn issue_13_what_a_recorder_types_is_shown_as_text_and_never_runs() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let (server, _driver, browser) = launch(dir.path()).await;
    let address = server.address.clone();
    let http = crate::server::app::client();

    // The administrator made a recorder token; its holder chose a name with markup.
    let made: Value = http
        .post(format!("{address}/api/tokens"))
        .bearer_auth(&server.admin_token)
        .json(&json!({"name": IMG, "role": "recorder"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let hostile = made["token"].as_str().expect("a token").to_owned();
    for class_id in [IMG, SCRIPT] {
        let resp = http
            .post(format!("{address}/api/events"))
            .bearer_auth(&hostile)
            .json(
                &json!({"kind": "class_held", "occurred": "2023-06-20", "data": {
                "class_id": class_id, "class_name": "专题班", "category": "main",
                "session": 1, "trainees": 30}}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), reqwest::StatusCode::CREATED);
    }
    let page = http.get(format!("{address}/")).send().await.unwrap();
    let policy = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        policy.contains("default-src 'self'") && policy.contains("frame-ancestors 'none'"),
        "{policy}"
    );

    // Everyone who opens the page sees the markup as text, and nothing ran.
    browser.goto(&format!("{address}/")).await;
    let title = browser.script("return document.title;").await;
    assert!(
        title.as_str().unwrap().contains("工作纪实"),
        "no script ran: {title}"
    );
    let latest = browser.text(&browser.find("#latest").await).await;
    assert!(
        latest.contains(IMG) && latest.contains(SCRIPT),
        "shown as typed: {latest}"
    );
    let injected = browser
        .script(
            "return document.querySelectorAll('#latest img, #latest script, header img').length;",
        )
        .await;
    assert_eq!(injected, 0, "no element was made from what was typed");

    // The browser enforces the policy: a script put inline into the page does not run.
    let title = browser
        .script(
            "const s = document.createElement('script'); \
             s.textContent = \"document.title = 'inline ran'\"; \
             document.body.appendChild(s); return document.title;",
        )
        .await;
    assert_ne!(title, "inline ran", "the policy refuses inline script");

    // Signed in as the hostile token, its name is text in the header too; a refused
    // form comes back with the typed markup as the field's value.
    browser
        .type_into("#login input[name=token]", &hostile)
        .await;
    browser.click("#login button").await;
    browser.wait_until_gone("#login").await;
    browser.goto(&format!("{address}/")).await;
    let header = browser.text(&browser.find("header").await).await;
    assert!(header.contains(IMG), "the name is shown as typed: {header}");
    browser
        .set_value("#record-form input[name=occurred_from]", "2023-06-21")
        .await;
    browser
        .type_into("#record-form input[name=f_class_id]", "2023-XSS")
        .await;
    browser
        .type_into("#record-form input[name=f_class_name]", SCRIPT)
        .await;
    // No trainee count: refused, and the page comes back with the messages.
    browser.click("#record-submit").await;
    browser.wait_for_url("/record").await;
    browser.find("#record-form .error").await;
    let echoed = browser
        .script("return document.querySelector('#record-form input[name=f_class_name]').value;")
        .await;
    assert_eq!(
        echoed, SCRIPT,
        "the refused form keeps what was typed, as text"
    );
    let title = browser.script("return document.title;").await;
    assert!(
        title.as_str().unwrap().contains("工作纪实"),
        "no script ran: {title}"
    );
    browser.quit().await;
    server.terminate().await;
}
