//! The HTTP API and the page, through the router with no socket: hostile requests are
//! answered with success or a problem, never a 500.
use super::*;

/// A route: its own method, its path with `{}` where a parameter goes, and the query
/// parameters it reads.
type Route = (&'static str, &'static str, &'static [&'static str]);

const EVENTS_QUERY: &[&str] = &[
    "kind",
    "from",
    "to",
    "recorded_from",
    "recorded_to",
    "after",
    "limit",
];
const WHEN: &[&str] = &["period", "on", "known_at", "lang", "year", "by", "format"];

const API: &[Route] = &[
    ("POST", "/api/events", &["expected_seq"]),
    ("GET", "/api/events", EVENTS_QUERY),
    ("GET", "/api/events/{}", &[]),
    ("GET", "/api/tokens", &[]),
    ("POST", "/api/tokens", &[]),
    ("DELETE", "/api/tokens/{}", &[]),
    ("GET", "/api/progress", WHEN),
    ("GET", "/api/metrics", WHEN),
    ("GET", "/api/metrics/{}/timeline", WHEN),
    ("GET", "/api/people", WHEN),
    ("GET", "/api/people/{}", WHEN),
    ("GET", "/api/report", WHEN),
    ("GET", "/api/verify", &[]),
    ("GET", "/api/kinds", &[]),
    ("GET", "/api/stream", &[]),
    ("GET", "/api/{}", &[]),
];

const PAGES: &[Route] = &[
    ("GET", "/", &["on", "known_at", "lang", "kind", "recorded"]),
    ("POST", "/login", &[]),
    ("POST", "/logout", &[]),
    ("POST", "/record", &["lang", "kind"]),
    ("GET", "/docs", &[]),
    ("GET", "/openapi.json", &[]),
    ("GET", "/healthz", &[]),
    ("GET", "/{}", &[]),
];

const QUERY_KEYS: &[&str] = &[
    "period",
    "on",
    "known_at",
    "year",
    "by",
    "lang",
    "format",
    "kind",
    "from",
    "to",
    "recorded_from",
    "recorded_to",
    "after",
    "limit",
    "recorded",
    "token",
];

/// Who a request claims to be.
#[derive(Debug, Clone)]
enum Auth {
    None,
    Token(Role),
    Cookie(Role),
    Header(Vec<u8>),
}

#[derive(Debug, Clone)]
enum BodyInput {
    None,
    Draft(Mutated),
    Batch(Vec<Mutated>, Option<Value>),
    Json(Value),
    Bytes(Vec<u8>),
    Form(Vec<(String, String)>),
    Huge(usize),
}

/// A query parameter's name: one the route reads, one some route reads, or anything.
#[derive(Debug, Clone)]
enum Key {
    Route(Index),
    Known(Index),
    Random(String),
}

#[derive(Debug, Clone)]
struct Hostile {
    route: Route,
    method: Option<&'static str>,
    param: String,
    query: Option<Vec<(Key, String)>>,
    raw_query: Option<String>,
    auth: Auth,
    content_type: Option<String>,
    body: BodyInput,
}

/// Percent-encodes everything but the unreserved characters.
fn encode(s: &[u8]) -> String {
    let mut out = String::new();
    for b in s {
        if b.is_ascii_alphanumeric() || b"-._~".contains(b) {
            out.push(*b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn hostile(routes: &'static [Route], known: Arc<Vec<String>>) -> BoxedStrategy<Hostile> {
    let param = prop_oneof![
        3 => text(known.clone()).prop_map(|s| encode(s.as_bytes())),
        1 => "[a-zA-Z0-9%._~-]{0,12}",
        1 => Just("%FF%FE".to_owned()),
        1 => Just("..%2F..%2Fetc".to_owned()),
    ];
    let pair = (
        prop_oneof![
            5 => any::<Index>().prop_map(Key::Route),
            2 => any::<Index>().prop_map(Key::Known),
            1 => any::<String>().prop_map(Key::Random),
        ],
        prop_oneof![text(known.clone()), number().prop_map(|n| n.to_string())],
    );
    let auth = prop_oneof![
        1 => Just(Auth::None),
        4 => sample::select(vec![Role::Reader, Role::Recorder, Role::Admin]).prop_map(Auth::Token),
        1 => sample::select(vec![Role::Reader, Role::Recorder, Role::Admin]).prop_map(Auth::Cookie),
        1 => prop_oneof![
            collection::vec(any::<u8>(), 0..40),
            Just(b"Bearer".to_vec()),
            Just(b"Bearer ".to_vec()),
            Just(b"bearer  ann_".to_vec()),
            Just(b"Basic YWRtaW46YWRtaW4=".to_vec()),
        ]
        .prop_map(Auth::Header),
    ];
    let content_type = prop_oneof![
        4 => Just(Some("application/json".to_owned())),
        1 => Just(None),
        1 => Just(Some("application/x-www-form-urlencoded".to_owned())),
        1 => Just(Some("text/plain".to_owned())),
        1 => Just(Some("application/json; charset=utf-8".to_owned())),
        1 => "[ -~]{0,30}".prop_map(Some),
    ];
    let body = prop_oneof![
        1 => Just(BodyInput::None),
        4 => mutated(known.clone(), 2, 1).prop_map(BodyInput::Draft),
        2 => (collection::vec(mutated(known.clone(), 1, 0), 0..4),
              option::of(prop_oneof![number(), json_value(known.clone())]))
            .prop_map(|(b, seq)| BodyInput::Batch(b, seq)),
        2 => json_value(known.clone()).prop_map(BodyInput::Json),
        1 => collection::vec(any::<u8>(), 0..200).prop_map(BodyInput::Bytes),
        2 => collection::vec((sample::select(FIELDS).prop_map(str::to_owned), text(known.clone())), 0..6)
            .prop_map(BodyInput::Form),
        1 => prop_oneof![Just(70 * 1024), Just(2 * 1024 * 1024)].prop_map(BodyInput::Huge),
    ];
    // The first route of a list is the one that writes, so it gets the most cases.
    (
        prop_oneof![
            2 => Just(routes[0]),
            3 => sample::select(routes),
        ],
        option::weighted(
            0.15,
            sample::select(vec!["GET", "POST", "PUT", "DELETE", "PATCH"]),
        ),
        param,
        option::of(collection::vec(pair, 0..5)),
        option::weighted(0.15, "[a-zA-Z0-9%&=+;._~ -]{0,40}"),
        auth,
        content_type,
        body,
    )
        .prop_map(
            |(route, method, param, query, raw_query, auth, content_type, body)| Hostile {
                route,
                method,
                param,
                query,
                raw_query,
                auth,
                content_type,
                body,
            },
        )
        .boxed()
}

/// A server's router over a store with the example and three tokens, as the fuzz's
/// target, with a body limit low enough for the fuzz to cross it.
struct Target {
    router: Router,
    tokens: BTreeMap<Role, String>,
    lines: Vec<String>,
    runtime: tokio::runtime::Runtime,
    state: AppState,
    _dir: tempfile::TempDir,
}

impl Target {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = open_store(dir.path());
        intake::jsonl::import(
            &store,
            annals::EXAMPLE_DATASET.as_bytes(),
            annals::EXAMPLE_NAME,
            AUTHOR,
            annals::intake::Trust::Operator,
            false,
            &mut |_, _| {},
        )
        .unwrap();
        let mut tokens = BTreeMap::new();
        for (name, role) in [
            ("fuzz-reader-5d1c", Role::Reader),
            ("fuzz-recorder-5d1c", Role::Recorder),
            ("fuzz-admin-5d1c", Role::Admin),
        ] {
            tokens.insert(role, store.create_token(name, role).unwrap());
        }
        let metrics = Metrics::embedded(store.catalog()).unwrap();
        let templates = Templates::embedded().unwrap();
        let config = Config {
            body_limit: 64 * 1024,
            ..Config::default()
        };
        let state = AppState::new(store, metrics, templates, config, true);
        Target {
            router: http::app(state.clone()),
            tokens,
            lines: example_lines(),
            runtime: tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap(),
            state,
            _dir: dir,
        }
    }

    fn request(&self, h: &Hostile) -> Option<Request<Body>> {
        let method = h.method.unwrap_or(h.route.0);
        let mut uri = h.route.1.replace("{}", &h.param);
        if let Some(pairs) = &h.query {
            let q: Vec<String> = pairs
                .iter()
                .map(|(k, v)| {
                    let k = match k {
                        Key::Route(i) if !h.route.2.is_empty() => i.get(h.route.2),
                        Key::Route(i) | Key::Known(i) => i.get(QUERY_KEYS),
                        Key::Random(k) => k.as_str(),
                    };
                    format!("{}={}", encode(k.as_bytes()), encode(v.as_bytes()))
                })
                .collect();
            uri = format!("{uri}?{}", q.join("&"));
        } else if let Some(raw) = &h.raw_query {
            uri = format!("{uri}?{}", raw.replace(' ', "+"));
        }
        let mut req = Request::builder()
            .method(Method::from_bytes(method.as_bytes()).ok()?)
            .uri(uri);
        match &h.auth {
            Auth::None => {}
            Auth::Token(role) => {
                req = req.header(
                    header::AUTHORIZATION,
                    format!("Bearer {}", self.tokens[role]),
                );
            }
            Auth::Cookie(role) => {
                req = req.header(
                    header::COOKIE,
                    format!("annals_session={}", self.tokens[role]),
                );
            }
            Auth::Header(bytes) => {
                let value = header::HeaderValue::from_bytes(bytes).ok()?;
                req = req.header(header::AUTHORIZATION, value);
            }
        }
        if let Some(ct) = &h.content_type {
            req = req.header(
                header::CONTENT_TYPE,
                header::HeaderValue::from_str(ct).ok()?,
            );
        }
        let body = match &h.body {
            BodyInput::None => Vec::new(),
            BodyInput::Draft(m) => m.bytes(&self.lines),
            BodyInput::Batch(items, seq) => {
                let events: Vec<Value> = items.iter().map(|m| m.value(&self.lines)).collect();
                match seq {
                    Some(seq) => serde_json::to_vec(&json!({"events": events, "expected_seq": seq})),
                    None => serde_json::to_vec(&events),
                }
                .unwrap()
            }
            BodyInput::Json(v) => serde_json::to_vec(v).unwrap(),
            BodyInput::Bytes(b) => b.clone(),
            BodyInput::Form(pairs) => pairs
                .iter()
                .map(|(k, v)| format!("{}={}", encode(k.as_bytes()), encode(v.as_bytes())))
                .collect::<Vec<_>>()
                .join("&")
                .into_bytes(),
            BodyInput::Huge(n) => serde_json::to_vec(&json!({"kind": "meeting_held", "occurred": "2023-03-01", "data": {"title": "x".repeat(*n)}})).unwrap(),
        };
        req.body(Body::from(body)).ok()
    }

    /// Sends the request; returns the status, content type, `Allow` header and body (the
    /// body is not read for a stream that was opened, which never ends).
    fn send(&self, req: Request<Body>) -> (StatusCode, String, Option<String>, Vec<u8>) {
        let streaming = req.uri().path() == "/api/stream";
        self.runtime.block_on(async {
            let resp = self.router.clone().oneshot(req).await.unwrap();
            let status = resp.status();
            let content_type = resp
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            let allow = resp
                .headers()
                .get(header::ALLOW)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            if streaming && status.is_success() {
                return (status, content_type, allow, Vec::new());
            }
            let body = resp
                .into_body()
                .collect()
                .await
                .unwrap()
                .to_bytes()
                .to_vec();
            (status, content_type, allow, body)
        })
    }
}

#[test]
fn the_api_answers_hostile_requests_with_success_or_a_problem_never_a_500() {
    let target = Target::new();
    let known = Arc::new(known_strings());
    let tally = RefCell::new(BTreeMap::new());
    let ran = check("http api", cases(512), hostile(API, known), |h| {
        let Some(req) = target.request(&h) else {
            count(&tally, "not a request http can carry");
            return Ok(());
        };
        let what = format!("{} {}", req.method(), req.uri());
        let (status, content_type, allow, body) = target.send(req);
        count(&tally, status.as_u16().to_string());
        prop_assert!(
            status.is_success() || status.is_client_error(),
            "{what}: {status} {}",
            String::from_utf8_lossy(&body)
        );
        if status == StatusCode::METHOD_NOT_ALLOWED && content_type != "application/problem+json" {
            // A wrong method on a route that exists is answered by axum's default,
            // which names the allowed methods but has no body; see RELIABILITY.md.
            prop_assert!(allow.is_some(), "{what}: a 405 names the allowed methods");
            count(&tally, "405 without a problem body");
            return Ok(());
        }
        if status.is_client_error() {
            prop_assert_eq!(
                &content_type,
                "application/problem+json",
                "{}: {} {}",
                what,
                status,
                String::from_utf8_lossy(&body)
            );
            let problem: Value = serde_json::from_slice(&body)
                .map_err(|e| TestCaseError::fail(format!("{what}: a problem is JSON: {e}")))?;
            prop_assert_eq!(problem["status"].as_u64(), Some(u64::from(status.as_u16())));
            prop_assert!(
                problem["detail"].as_str().is_some_and(|d| !d.is_empty()),
                "{what}: {problem}"
            );
        }
        Ok(())
    });
    let verified = target.state.store.verify().unwrap();
    assert!(verified.is_ok(), "{verified:?}");
    print("http api", ran, &tally);
}

#[test]
fn the_page_answers_hostile_requests_without_a_500() {
    let target = Target::new();
    let known = Arc::new(known_strings());
    let tally = RefCell::new(BTreeMap::new());
    let ran = check("http page", cases(256), hostile(PAGES, known), |h| {
        let Some(req) = target.request(&h) else {
            count(&tally, "not a request http can carry");
            return Ok(());
        };
        let what = format!("{} {}", req.method(), req.uri());
        let (status, _, _, body) = target.send(req);
        count(&tally, status.as_u16().to_string());
        prop_assert!(
            !status.is_server_error(),
            "{what}: {status} {}",
            String::from_utf8_lossy(&body)
        );
        Ok(())
    });
    assert!(target.state.store.verify().unwrap().is_ok());
    print("http page", ran, &tally);
}

/// Regression, issue 6: a cursor at the largest seq (`after=18446744073709551615`)
/// overflowed `after + 1` (a panic in a debug build; in a release build it wrapped to 0
/// and the "next" page started over from seq 1). Every numeric parameter is tried at its
/// edges here, since random cases rarely land on them.
#[test]
fn issue_6_numeric_parameters_at_their_edges_are_answered_not_a_panic() {
    let target = Target::new();
    let edges = [
        "0",
        "1",
        "-1",
        "4294967295",
        "4294967296",
        "9223372036854775807",
        "18446744073709551615",
        "18446744073709551616",
        "-9223372036854775808",
        "1e3",
        "1.5",
        "",
    ];
    let mut answered = 0;
    for (path, param) in [
        ("/api/events", "after"),
        ("/api/events", "limit"),
        ("/api/progress", "year"),
        ("/api/people", "year"),
        ("/api/report", "year"),
        ("/", "recorded"),
    ] {
        for value in edges {
            let uri = format!("{path}?{param}={value}");
            let req = Request::get(&uri)
                .header(
                    header::AUTHORIZATION,
                    format!("Bearer {}", target.tokens[&Role::Reader]),
                )
                .header(
                    header::COOKIE,
                    format!("annals_session={}", target.tokens[&Role::Reader]),
                )
                .body(Body::empty())
                .unwrap();
            let (status, content_type, _, body) = target.send(req);
            assert!(
                status.is_success() || status.is_client_error(),
                "{uri}: {status} {}",
                String::from_utf8_lossy(&body)
            );
            if status.is_client_error() && path != "/" {
                assert_eq!(content_type, "application/problem+json", "{uri}");
            }
            answered += 1;
        }
    }
    // The cursor at the end of the log gives an empty last page, not the log again.
    let req = Request::get("/api/events?after=18446744073709551615")
        .header(
            header::AUTHORIZATION,
            format!("Bearer {}", target.tokens[&Role::Reader]),
        )
        .body(Body::empty())
        .unwrap();
    let (status, _, _, body) = target.send(req);
    assert_eq!(status, StatusCode::OK);
    let page: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(page["events"], json!([]), "{page}");
    assert_eq!(page["next"], Value::Null);
    // expected_seq at its edges: a head that is not there is a conflict; a number that
    // is not a seq names the field.
    for (seq, expected) in [
        (json!(u64::MAX), StatusCode::CONFLICT),
        (json!(-1), StatusCode::UNPROCESSABLE_ENTITY),
        (json!(1e300), StatusCode::UNPROCESSABLE_ENTITY),
    ] {
        let body = json!({"events": [{"kind": "meeting_held", "occurred": "2023-03-01",
            "data": {"type": "school_committee"}}], "expected_seq": seq});
        let req = Request::post("/api/events")
            .header(
                header::AUTHORIZATION,
                format!("Bearer {}", target.tokens[&Role::Recorder]),
            )
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        let (status, content_type, _, body) = target.send(req);
        assert_eq!(status, expected, "{}", String::from_utf8_lossy(&body));
        assert_eq!(content_type, "application/problem+json");
        answered += 1;
    }
    println!("fuzz [edges]: {answered} requests with numeric parameters at their edges");
}
