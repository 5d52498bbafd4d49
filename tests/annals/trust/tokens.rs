//! Issue 6, authorization extras: a token is kept only as its SHA-256. Nothing in the
//! store's folder (any sled tree, any file, old pages included) holds a token in plain
//! text, whichever way it was made: the library, `POST /api/tokens`, `annals token
//! create`. (Role checks, revocation and the logs are in `server/`.)
use std::path::Path;

use annals::store::Role;
use events::Hash;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::{
    helpers::{annals, meeting, run, TestStore},
    server::app::{spawn_app, Who},
};

/// Every file under `dir`, recursively, with its bytes.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push((path.display().to_string(), std::fs::read(&path).unwrap()));
        }
    }
    out
}

fn holds(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Panics if any file of the closed store in `dir`, or any key or value of any of its
/// sled trees, holds a token or its secret part; checks the tokens tree is keyed by
/// the tokens' hashes.
fn assert_no_plaintext(dir: &Path, tokens: &[String]) {
    let needles: Vec<&str> = tokens
        .iter()
        .flat_map(|t| {
            assert!(t.starts_with("ann_") && t.len() > 40, "a token: {t}");
            [t.as_str(), &t[4..]]
        })
        .collect();
    let all = files(dir);
    assert!(
        all.iter().any(|(name, _)| name.contains("sled")),
        "the store's files are there: {:?}",
        all.iter().map(|(n, _)| n).collect::<Vec<_>>()
    );
    for (name, bytes) in &all {
        for needle in &needles {
            assert!(
                !holds(bytes, needle.as_bytes()),
                "{name} holds a token in plain text"
            );
        }
    }
    let db = sled::open(dir.join("sled")).expect("sled opens the closed store");
    for name in db.tree_names() {
        let tree = db.open_tree(&name).unwrap();
        for item in tree.iter() {
            let (k, v) = item.unwrap();
            for needle in &needles {
                assert!(!holds(&k, needle.as_bytes()) && !holds(&v, needle.as_bytes()));
            }
        }
    }
    let stored = db.open_tree("tokens").unwrap();
    for t in tokens {
        let value = stored
            .get(Hash::of(t.as_bytes()).0)
            .unwrap()
            .unwrap_or_else(|| panic!("the token is stored under its SHA-256"));
        let info: Value = serde_json::from_slice(&value).unwrap();
        let keys: Vec<&String> = info.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            ["created_at", "name", "revoked_at", "role"],
            "a token's record holds its name, role and times only"
        );
    }
}

#[test]
fn tokens_made_through_the_library_are_stored_only_as_hashes() {
    let s = TestStore::new();
    let mut tokens = vec![
        s.store.create_token("管理员", Role::Admin).unwrap(),
        s.store.create_token("办公室", Role::Recorder).unwrap(),
        s.store.create_token("校领导", Role::Reader).unwrap(),
    ];
    s.record(meeting("2023-03-01"));
    s.store.revoke_token("办公室").unwrap();
    tokens.push(s.store.create_token("办公室", Role::Recorder).unwrap());
    for t in &tokens {
        // Used, so any lookup path that could keep it has run.
        let _ = s.store.check_token(t).unwrap();
    }
    let dir = s.close();
    assert_no_plaintext(dir.path(), &tokens);
}

#[tokio::test(flavor = "multi_thread")]
async fn tokens_made_over_http_are_stored_only_as_hashes() {
    let app = spawn_app().await;
    let resp = app
        .post_json(
            "/api/tokens",
            Who::Admin,
            &json!({"name": "组织科", "role": "recorder"}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let made: Value = resp.json().await.unwrap();
    let new = made["token"].as_str().unwrap().to_owned();
    let resp = app
        .client
        .post(app.url("/api/events"))
        .bearer_auth(&new)
        .json(&meeting("2023-03-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let tokens = vec![
        app.admin.clone(),
        app.recorder.clone(),
        app.reader.clone(),
        new,
    ];
    let dir = app.shutdown().await;
    assert_no_plaintext(dir.path(), &tokens);
}

#[test]
fn a_token_made_by_the_command_line_is_stored_only_as_its_hash() {
    let dir = tempfile::tempdir().unwrap();
    let out =
        run(annals(dir.path()).args(["token", "create", "--name", "教务科", "--role", "recorder"]))
            .ok();
    let token = out
        .stdout
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("ann_"))
        .unwrap_or_else(|| panic!("the token is printed once: {out:?}"))
        .to_owned();
    assert_no_plaintext(dir.path(), &[token]);
}

/// Issue 13: revoking by name once hit an expired token of the same name and left the
/// live one working.
#[test]
fn issue_13_revoking_by_name_ends_the_live_token_not_an_expired_twin() {
    let s = TestStore::new();
    let expired = s
        .store
        .create_expiring_token("办公室", Role::Recorder, Some(0))
        .unwrap();
    let live = s.store.create_token("办公室", Role::Recorder).unwrap();
    assert!(s.store.check_token(&expired).unwrap().is_none());
    assert!(s.store.check_token(&live).unwrap().is_some());
    let ended = s.store.revoke_token("办公室").unwrap();
    assert!(
        ended.revoked_at.is_some() && ended.expires_at.is_none(),
        "{ended:?}"
    );
    assert!(
        s.store.check_token(&live).unwrap().is_none(),
        "the live one is ended"
    );
    assert!(matches!(
        s.store.revoke_token("办公室"),
        Err(annals::store::TokenError::Unknown(_))
    ));
    // A new token of that name may be made once none is live.
    s.store.create_token("办公室", Role::Recorder).unwrap();
}

/// Issue 13: `expires_in_days` near 2³² panicked the handler and the command line.
#[tokio::test(flavor = "multi_thread")]
async fn issue_13_an_absurd_expiry_is_a_422_naming_the_range() {
    let app = spawn_app().await;
    for days in [u32::MAX, 4_000_000_000, annals::store::MAX_TOKEN_DAYS + 1] {
        let body = serde_json::json!({"name": "长期", "role": "reader", "expires_in_days": days});
        let resp = app.post_json("/api/tokens", Who::Admin, &body).await;
        let p = crate::server::app::problem(resp, reqwest::StatusCode::UNPROCESSABLE_ENTITY).await;
        assert!(p.to_string().contains("expires_in_days"), "{p}");
        assert!(p.to_string().contains("3653"), "{p}");
    }
    let dir = tempfile::tempdir().unwrap();
    let out = crate::helpers::run(crate::helpers::annals(dir.path()).args([
        "token",
        "create",
        "--name",
        "长期",
        "--role",
        "reader",
        "--expires-in-days",
        "4294967295",
    ]))
    .failed();
    assert!(out.stderr.contains("3653"), "{}", out.stderr);
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
}

/// Issue 13: a revocation says which token it ended.
#[tokio::test(flavor = "multi_thread")]
async fn issue_13_a_revocation_over_http_names_the_token_it_ended() {
    let app = spawn_app().await;
    let body = serde_json::json!({"name": "临时", "role": "reader"});
    let made = app.post_json("/api/tokens", Who::Admin, &body).await;
    assert_eq!(made.status(), reqwest::StatusCode::CREATED);
    let resp = app
        .request(
            reqwest::Method::DELETE,
            "/api/tokens/%E4%B8%B4%E6%97%B6",
            Who::Admin,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), reqwest::StatusCode::OK);
    let v: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(v["revoked"]["name"], "临时", "{v}");
    assert_eq!(v["revoked"]["role"], "reader", "{v}");
    assert!(v["revoked"]["revoked_at"].is_string(), "{v}");
}
