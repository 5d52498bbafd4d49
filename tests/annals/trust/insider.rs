//! Issue 13, section 2: a recorder tries to write history as someone else, at another
//! time, or past the store's checks. Every way in is tried: the JSON API, an upload,
//! the store's restore of an export.
use annals::{
    intake::{IntakeError, Mode},
    store::{Batch, StoreError},
};
use chrono::{DateTime, Utc};
use events::{Envelope, Hash, NewEvent, Occurred};
use reqwest::StatusCode;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::{
    helpers::{catalog, jsonl, TestStore, AUTHOR},
    server::app::{spawn_app, Who, RECORDER},
};

/// An envelope of `kind` sealed onto `(seq, hash)`, as a forger would write one.
fn forged(after: (u64, Hash), kind: &str, at: &str, by: &str, data: Value) -> Envelope {
    Envelope {
        id: Uuid::now_v7(),
        seq: after.0 + 1,
        kind: kind.into(),
        version: 1,
        occurred: "2023-03-01".parse().unwrap(),
        recorded_at: at.parse().unwrap(),
        recorded_by: by.into(),
        data,
        prev_hash: after.1,
        hash: Hash([0; 32]),
    }
    .sealed()
}

fn target_set(after: (u64, Hash), at: &str) -> Envelope {
    forged(
        after,
        "target_set",
        at,
        "县委组织部",
        json!({"year": 2023, "metric": "main_classes", "value": 1}),
    )
}

fn lines(envs: &[Envelope]) -> Vec<u8> {
    jsonl(
        &envs
            .iter()
            .map(|e| serde_json::to_value(e).unwrap())
            .collect::<Vec<_>>(),
    )
}

/// The head the server holds, as `(seq, hash)`.
async fn head(app: &crate::server::app::TestApp) -> (u64, Hash) {
    let p = app.get_json("/api/progress?year=2023", Who::Admin).await;
    let hash = p["head"]["hash"].as_str().or(p["head_hash"].as_str());
    let seq = p["head"]["seq"].as_u64().or(p["head_seq"].as_u64());
    (
        seq.expect("progress names the head's seq"),
        hash.expect("progress names the head's hash")
            .parse()
            .unwrap(),
    )
}

async fn event(app: &crate::server::app::TestApp, id: Uuid) -> Value {
    app.get_json(&format!("/api/events/{id}"), Who::Admin).await
}

fn recorded_at(e: &Value) -> DateTime<Utc> {
    let e = e.get("event").unwrap_or(e);
    e["recorded_at"].as_str().unwrap().parse().unwrap()
}

fn recorded_by(e: &Value) -> String {
    let e = e.get("event").unwrap_or(e);
    e["recorded_by"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn issue_13_an_upload_that_continues_the_chain_is_recorded_by_the_uploader_now() {
    for who in [Who::Recorder, Who::Admin] {
        let app = spawn_app().await;
        let start = Utc::now();
        let after = head(&app).await;
        // Backdated to before the log's last event, in another's name, and one in 2099.
        let first = target_set(after, "2023-01-02T00:00:00Z");
        let second = forged(
            (first.seq, first.hash),
            "meeting_held",
            "2099-01-01T00:00:00Z",
            "校长",
            json!({"type": "school_committee"}),
        );
        let resp = app
            .post_raw(
                "/api/imports?name=forged.jsonl",
                who,
                "application/x-ndjson",
                lines(&[first.clone(), second.clone()]),
            )
            .await;
        let status = resp.status();
        let outcome: Value = resp.json().await.unwrap();
        assert_eq!(status, StatusCode::CREATED, "{outcome}");
        assert_eq!(
            outcome["mode"],
            json!("appended"),
            "never restored: {outcome}"
        );
        for forged in [&first, &second] {
            let stored = event(&app, forged.id).await;
            let by = recorded_by(&stored);
            assert_eq!(by, app_name(who), "{stored}");
            let at = recorded_at(&stored);
            assert!(
                at >= start - chrono::TimeDelta::seconds(1) && at <= Utc::now(),
                "{at}"
            );
            let e = stored.get("event").unwrap_or(&stored);
            assert_ne!(
                e["hash"],
                json!(forged.hash.to_string()),
                "not appended verbatim"
            );
        }
        // The log still verifies, and later events are not hidden behind 2099.
        let verified = app.get_json("/api/verify", Who::Admin).await;
        assert_eq!(verified["ok"], json!(true), "{verified}");
    }
}

fn app_name(who: Who) -> &'static str {
    match who {
        Who::Admin => crate::server::app::ADMIN,
        _ => RECORDER,
    }
}

#[tokio::test]
async fn issue_13_a_recorder_cannot_forge_a_system_record_by_upload() {
    let app = spawn_app().await;
    let after = head(&app).await;
    let fake = forged(
        after,
        "import_completed",
        "2023-07-01T00:00:00Z",
        "系统",
        json!({"file_sha256": "0".repeat(64), "file_name": "x", "lines": 1, "added": 1}),
    );
    let resp = app
        .post_raw(
            "/api/imports?name=forged.jsonl",
            Who::Recorder,
            "application/x-ndjson",
            lines(std::slice::from_ref(&fake)),
        )
        .await;
    assert!(resp.status().is_success(), "{}", resp.text().await.unwrap());
    let missing = app
        .get(&format!("/api/events/{}", fake.id), Who::Admin)
        .await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(head(&app).await.0, after.0, "nothing was written");
}

#[tokio::test]
async fn issue_13_a_draft_sent_to_the_api_is_recorded_now_whatever_time_it_names() {
    let app = spawn_app().await;
    let start = Utc::now();
    let mut draft = crate::server::app::class("2023-ZZ", 1, "2023-03-01");
    draft["recorded_at"] = json!("2023-03-01T09:00:00+08:00");
    draft["recorded_by"] = json!("县委组织部");
    let receipts = app.record(&draft).await;
    let id: Uuid = receipts[0]["id"].as_str().unwrap().parse().unwrap();
    let stored = event(&app, id).await;
    assert_eq!(recorded_by(&stored), RECORDER);
    assert!(recorded_at(&stored) >= start - chrono::TimeDelta::seconds(1));
}

/// The store refuses, on its restore path too, what it refuses of a new event.
#[test]
fn issue_13_a_restore_is_held_to_the_stores_checks() {
    let s = TestStore::new();
    let genesis = (0, events::GENESIS);
    let good = target_set(genesis, "2023-01-02T00:00:00Z");
    let after = (good.seq, good.hash);
    let void = |target: Uuid, at: &str, after| {
        forged(
            after,
            "event_voided",
            at,
            AUTHOR,
            json!({"target": target, "reason": "x"}),
        )
    };
    let cases: Vec<(&str, Vec<Envelope>, &str)> = vec![
        (
            "in 2099",
            vec![target_set(genesis, "2099-01-01T00:00:00Z")],
            "recorded_at",
        ),
        (
            "a void of nothing",
            vec![
                good.clone(),
                void(Uuid::from_u128(9), "2023-01-03T00:00:00Z", after),
            ],
            "data.target",
        ),
        (
            "a version the catalog lacks",
            vec![version(genesis, 99)],
            "version",
        ),
    ];
    for (what, envs, field) in cases {
        match s.store.restore(envs) {
            Err(StoreError::Rejected(items)) => assert!(
                items.iter().any(|i| i.error.field == field),
                "{what}: {items:?}"
            ),
            other => panic!("{what}: expected a refusal naming {field}, got {other:?}"),
        }
        assert_eq!(s.head_seq(), 0, "{what}: nothing was written");
    }

    // Voiding twice: the second void finds its target voided by the first.
    let first = void(good.id, "2023-01-03T00:00:00Z", after);
    let second = void(good.id, "2023-01-04T00:00:00Z", (first.seq, first.hash));
    match s.store.restore(vec![good.clone(), first.clone(), second]) {
        Err(StoreError::Rejected(items)) => {
            assert_eq!(items.len(), 1, "{items:?}");
            assert_eq!(
                (items[0].index, items[0].error.field.as_str()),
                (2, "data.target")
            );
        }
        other => panic!("expected the second void refused, got {other:?}"),
    }
    // A correction of a correction.
    let amend_void = void(first.id, "2023-01-04T00:00:00Z", (first.seq, first.hash));
    assert!(s
        .store
        .restore(vec![good.clone(), first.clone(), amend_void])
        .is_err());
    assert_eq!(s.head_seq(), 0);
    // What is right is restored as it is.
    let restored = s.store.restore(vec![good.clone(), first.clone()]).unwrap();
    assert_eq!(restored[1].hash, first.hash);
}

fn version(after: (u64, Hash), v: u32) -> Envelope {
    let mut e = target_set(after, "2023-01-02T00:00:00Z");
    e.version = v;
    e.sealed()
}

/// An import at the command line of lines that continue the log cannot slip a bad
/// envelope past the store either.
#[test]
fn issue_13_a_continuation_with_a_bad_void_writes_nothing() {
    let s = TestStore::with_example();
    let head = s.store.head().unwrap();
    let bad = forged(
        (head.seq, head.hash),
        "event_voided",
        &Utc::now().to_rfc3339(),
        AUTHOR,
        json!({"target": Uuid::from_u128(5), "reason": "x"}),
    );
    match s.import(&lines(&[bad])) {
        Err(IntakeError::Refused(lines)) => {
            assert_eq!(lines.listed()[0].field, "data.target", "{lines:?}")
        }
        other => panic!("expected a refused line, got {other:?}"),
    }
    assert_eq!(s.head_seq(), head.seq);
    // The example itself still restores into an empty store as it is.
    let copy = TestStore::new();
    assert_eq!(copy.import(&s.export()).unwrap().mode, Mode::Restored);
}

/// A system kind handed to the store as if a person recorded it is refused there, not
/// only where drafts are parsed.
#[test]
fn issue_13_the_store_refuses_a_system_kind_from_a_person() {
    let s = TestStore::new();
    let ev = NewEvent::system(
        &catalog(),
        "import_completed",
        Occurred::on("2023-07-01".parse().unwrap()),
        json!({"file_sha256": "0".repeat(64), "file_name": "x", "lines": 1, "added": 1}),
    )
    .unwrap();
    match s.store.append(Batch {
        events: vec![ev],
        author: AUTHOR.into(),
        ..Batch::default()
    }) {
        Err(StoreError::Rejected(items)) => assert_eq!(items[0].error.field, "kind"),
        other => panic!("expected the system kind refused, got {other:?}"),
    }
}
