//! Issue 13, section 4: the smaller holes an insider or a careless visitor found: a
//! verification walked per request, an import holding every other append, crowding
//! connections, a body that never ends, store files open to everyone.
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::server::app::{class, spawn_app, Who};

/// `/api/verify` answers from the last walk while the head stays where it was, and
/// walks again once it moves.
#[tokio::test(flavor = "multi_thread")]
async fn issue_13_verify_walks_the_log_again_only_when_the_head_moves() {
    let app = spawn_app().await;
    let first = app.get_json("/api/verify", Who::Reader).await;
    assert_eq!(first["ok"], json!(true), "{first}");
    tokio::time::sleep(Duration::from_millis(20)).await;
    let again = app.get_json("/api/verify", Who::Reader).await;
    assert_eq!(
        again, first,
        "the same head: the last walk's answer, its time included"
    );

    app.record(&class("2023-ZT-99", 1, "2023-07-03")).await;
    let moved = app.get_json("/api/verify", Who::Reader).await;
    assert_eq!(moved["count"], json!(app.head_at_start + 1), "{moved}");
    assert_ne!(
        moved["verified_at"], first["verified_at"],
        "a new head: walked again"
    );
}

/// A single append made while a large workbook imports is answered at once: the
/// import is read and checked before it takes the store's writer.
#[tokio::test(flavor = "multi_thread")]
async fn issue_13_a_single_append_is_not_held_behind_a_large_import() {
    let app = spawn_app().await;
    let rows = 10_000;
    let bytes = crate::office::sheets::class_rows(rows, |_, _| Ok(()));
    let upload = {
        let (client, url, token) = (
            app.client.clone(),
            app.url("/api/imports?name=登记表.xlsx"),
            app.recorder.clone(),
        );
        tokio::spawn(async move {
            let resp = client
                .post(url)
                .bearer_auth(token)
                .header(
                    "content-type",
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                )
                .body(bytes)
                .send()
                .await
                .unwrap();
            let status = resp.status();
            (status, Instant::now())
        })
    };
    // Let the upload arrive and its reading begin.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let sent = Instant::now();
    app.record(&class("2023-ZT-98", 1, "2023-07-03")).await;
    let answered = Instant::now();
    let (status, imported) = upload.await.unwrap();
    assert_eq!(status, StatusCode::CREATED);
    assert!(
        imported > sent,
        "the import ended before the append was sent"
    );
    let waited = answered - sent;
    assert!(
        answered < imported && waited < Duration::from_secs(1),
        "the append waited {waited:?}, until {:?} after the import ended",
        answered.saturating_duration_since(imported)
    );
    let verified: Value = app.get_json("/api/verify", Who::Reader).await;
    assert_eq!(
        verified["count"],
        json!(app.head_at_start + rows as u64 + 2),
        "{verified}"
    );
}

/// The store's folder and the files in it are its owner's only.
#[cfg(unix)]
#[test]
fn issue_13_the_store_is_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("store");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let store = crate::helpers::open(&dir);
    store
        .create_token("办公室", annals::store::Role::Recorder)
        .unwrap();
    drop(store);
    // Opened again, as a store made by an older release would be.
    drop(crate::helpers::open(&dir));
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    let mut files = 0;
    let mut walk = vec![dir.clone()];
    while let Some(d) = walk.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                assert_eq!(mode(&path), 0o700, "{}", path.display());
                walk.push(path);
            } else {
                assert_eq!(mode(&path) & 0o077, 0, "{} is private", path.display());
                files += 1;
            }
        }
    }
    assert!(
        files >= 3,
        "the log, the lock and sled's files were looked at"
    );
}

/// The first admin token goes to a file only its owner can read, named in the log;
/// a service's output (not a terminal) never shows it.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn issue_13_the_first_admin_token_goes_to_a_private_file_not_the_log() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let served = {
        let store = store.clone();
        tokio::task::spawn_blocking(move || {
            crate::server::binary::serve(&store, &["--no-demo"], "warn")
        })
        .await
        .unwrap()
    };
    let file = crate::server::binary::admin_token_file(&store);
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let token = served.admin_token.clone();
    let resp = crate::server::app::client()
        .get(format!("{}/api/tokens", served.address))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "the token in the file works");
    let exited = served.terminate().await;
    let everything = format!("{}\n{}", exited.stdout.join("\n"), exited.log);
    assert!(!everything.contains(&token), "{everything}");
    assert!(
        exited.log.contains(&file.display().to_string()),
        "the log names the file: {}",
        exited.log
    );
}

fn connect(address: &str) -> std::net::TcpStream {
    let s = std::net::TcpStream::connect(address.trim_start_matches("http://")).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

fn read_answer(s: &mut std::net::TcpStream) -> String {
    use std::io::Read;
    let mut buf = vec![0; 4096];
    let n = s.read(&mut buf).unwrap_or(0);
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// A body sent a byte at a time never resets the clock: the whole body has the
/// configured time, not each byte.
#[tokio::test(flavor = "multi_thread")]
async fn issue_13_a_trickled_body_times_out_as_a_whole() {
    use std::io::Write;
    let app = crate::server::app::spawn_app_with(crate::server::app::AppOptions {
        config: annals::http::Config {
            body_timeout: Duration::from_secs(1),
            ..annals::http::Config::default()
        },
        ..Default::default()
    })
    .await;
    let (address, token) = (app.address.clone(), app.recorder.clone());
    tokio::task::spawn_blocking(move || {
        let mut s = connect(&address);
        let head = format!("POST /api/events HTTP/1.1\r\nHost: x\r\nauthorization: Bearer {token}\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n");
        s.write_all(head.as_bytes()).unwrap();
        let started = Instant::now();
        // A byte every 200 ms: far inside any per-byte timeout, 4 s in all.
        for _ in 0..20 {
            if s.write_all(b" ").is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
            s.set_nonblocking(true).unwrap();
            let mut peek = [0u8; 1];
            let answered = s.peek(&mut peek).is_ok_and(|n| n > 0);
            s.set_nonblocking(false).unwrap();
            if answered {
                break;
            }
        }
        let took = started.elapsed();
        let answer = read_answer(&mut s);
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        assert!(took < Duration::from_millis(2_500), "answered after {took:?}");
    })
    .await
    .unwrap();
}

/// Event streams are capped apart from other requests.
#[tokio::test(flavor = "multi_thread")]
async fn issue_13_event_streams_are_capped_and_their_places_come_back() {
    let app = crate::server::app::spawn_app_with(crate::server::app::AppOptions {
        config: annals::http::Config {
            open_reads: true,
            max_streams: 2,
            ..annals::http::Config::default()
        },
        ..Default::default()
    })
    .await;
    let open = || app.client.get(app.url("/api/stream")).send();
    let first = open().await.unwrap();
    let second = open().await.unwrap();
    assert_eq!(
        (first.status(), second.status()),
        (StatusCode::OK, StatusCode::OK)
    );
    let third = open().await.unwrap();
    let p = crate::server::app::problem(third, StatusCode::SERVICE_UNAVAILABLE).await;
    assert!(
        p["detail"].as_str().unwrap().contains("event streams"),
        "{p}"
    );
    // Other requests are still served.
    assert_eq!(
        app.get("/healthz", Who::Nobody).await.status(),
        StatusCode::OK
    );
    drop(first);
    let mut again = None;
    for _ in 0..50 {
        let resp = open().await.unwrap();
        if resp.status() == StatusCode::OK {
            again = Some(resp);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        again.is_some(),
        "a stream's place comes back when it is closed"
    );
}

/// Anonymous connections cannot take every place: the last few serve signed-in
/// callers only, and no one address may hold them, even with sockets that never send a
/// byte (found by the hostile review of issue 13).
#[tokio::test(flavor = "multi_thread")]
async fn issue_13_anonymous_connections_leave_room_for_signed_in_callers() {
    use std::io::Write;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = crate::server::app::spawn_app_with(crate::server::app::AppOptions {
        config: annals::http::Config {
            open_reads: true,
            max_connections: 16,
            ..annals::http::Config::default()
        },
        ..Default::default()
    })
    .await;
    let address = app.address.clone();
    // Sixteen sockets from 127.0.0.1 that never send a byte: the fifteenth and
    // sixteenth are turned away at once, the reserve stays free.
    let silent = tokio::task::spawn_blocking(move || {
        let mut silent: Vec<std::net::TcpStream> = (0..16).map(|_| connect(&address)).collect();
        std::thread::sleep(Duration::from_millis(200));
        let refused = silent
            .iter_mut()
            .map(|s| {
                s.set_read_timeout(Some(Duration::from_millis(300)))
                    .unwrap();
                read_answer(s).starts_with("HTTP/1.1 503")
            })
            .filter(|refused| *refused)
            .count();
        assert_eq!(refused, 2, "one address holds at most its share");
        silent
    })
    .await
    .unwrap();
    // Another machine (here 127.0.0.2) is served in the reserve when it signs in, and
    // only then.
    let ask = |auth: String| {
        let target: std::net::SocketAddr =
            app.address.trim_start_matches("http://").parse().unwrap();
        async move {
            let socket = tokio::net::TcpSocket::new_v4().unwrap();
            socket.bind("127.0.0.2:0".parse().unwrap()).unwrap();
            let mut s = socket.connect(target).await.unwrap();
            let req =
                format!("GET /healthz HTTP/1.1\r\nHost: x\r\nconnection: close\r\n{auth}\r\n");
            s.write_all(req.as_bytes()).await.unwrap();
            let mut answer = String::new();
            let _ =
                tokio::time::timeout(Duration::from_secs(5), s.read_to_string(&mut answer)).await;
            answer
        }
    };
    let anonymous = ask(String::new()).await;
    assert!(anonymous.starts_with("HTTP/1.1 503"), "{anonymous}");
    assert!(anonymous.contains("signed-in"), "{anonymous}");
    let staff = ask(format!("authorization: Bearer {}\r\n", app.reader)).await;
    assert!(staff.starts_with("HTTP/1.1 200"), "{staff}");
    drop(silent);
    let _ = std::io::stdout().flush();
}

/// Found by the hostile review: an upload whose client hung up gave back its turn while
/// its import went on reading, so imports added up past `--imports-at-once`. Now the
/// turn goes with the work: the next upload waits until the abandoned one has ended.
#[tokio::test(flavor = "multi_thread")]
async fn issue_13_an_abandoned_upload_keeps_its_turn_until_its_import_ends() {
    let app = spawn_app().await;
    let large = crate::office::sheets::class_rows(10_000, |_, _| Ok(()));
    let xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let gone = impatient
        .post(app.url("/api/imports?name=登记表.xlsx"))
        .bearer_auth(&app.recorder)
        .header("content-type", xlsx)
        .body(large)
        .send()
        .await;
    assert!(gone.is_err(), "the first client hung up before its answer");
    let small =
        r#"{"kind":"meeting_held","occurred":"2023-07-05","data":{"type":"school_committee"}}"#;
    let resp = app
        .post_raw(
            "/api/imports",
            Who::Recorder,
            "application/x-ndjson",
            format!("{small}\n"),
        )
        .await;
    let status = resp.status();
    let outcome: Value = resp.json().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{outcome}");
    // The abandoned import finished first: its rows and its record come before these.
    let first = outcome["written"][0].as_u64().unwrap();
    assert_eq!(first, app.head_at_start + 10_000 + 2, "{outcome}");
}

/// Found by the hostile review: anonymous readers of an open server could take every
/// event stream; an eighth is kept for signed-in callers.
#[tokio::test(flavor = "multi_thread")]
async fn issue_13_anonymous_streams_leave_room_for_signed_in_callers() {
    let app = crate::server::app::spawn_app_with(crate::server::app::AppOptions {
        config: annals::http::Config {
            open_reads: true,
            max_streams: 8,
            ..annals::http::Config::default()
        },
        ..Default::default()
    })
    .await;
    let mut open = Vec::new();
    for _ in 0..7 {
        let resp = app.get("/api/stream", Who::Nobody).await;
        assert_eq!(resp.status(), StatusCode::OK);
        open.push(resp);
    }
    let anonymous = app.get("/api/stream", Who::Nobody).await;
    assert_eq!(anonymous.status(), StatusCode::SERVICE_UNAVAILABLE);
    let signed_in = app.get("/api/stream", Who::Reader).await;
    assert_eq!(signed_in.status(), StatusCode::OK);
}
