//! Issue 13, section 4: the smaller holes an insider or a careless visitor found: a
//! verification walked per request, an import holding every other append, crowding
//! connections, a body that never ends, store files open to everyone.
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::{
    helpers::frames_end,
    server::app::{class, spawn_app, Who},
};

/// `/api/verify` answers from the last walk while the head stays where it was; a
/// change on disk behind the server's back is found by the walk the next append asks for.
#[tokio::test(flavor = "multi_thread")]
async fn issue_13_verify_walks_the_log_again_only_when_the_head_moves() {
    let app = spawn_app().await;
    let first = app.get_json("/api/verify", Who::Reader).await;
    assert_eq!(first["ok"], json!(true), "{first}");

    let path = app.dir().join(annals::store::LOG_FILE);
    let mut log = std::fs::read(&path).unwrap();
    let middle = frames_end(&log) / 2;
    log[middle] ^= 0x20;
    std::fs::write(&path, &log).unwrap();

    let again = app.get_json("/api/verify", Who::Reader).await;
    assert_eq!(again, first, "the same head: the last walk's answer");

    app.record(&class("2023-ZT-99", 1, "2023-07-03")).await;
    let moved = app.get_json("/api/verify", Who::Reader).await;
    assert_eq!(
        moved["ok"],
        json!(false),
        "a new head: walked again: {moved}"
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
