//! What the hub refuses: an edited event (naming school and seq, storing nothing), and
//! a fork (a school restored from an old backup that then recorded more): detected,
//! kept in quarantine, never counted, and shown.
use annals::hub::{protocol::Piece, push::PushError};
use reqwest::StatusCode;

use super::app::spawn_hub;
use crate::helpers::{meeting, TestStore};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edited_event_in_a_push_is_refused_naming_school_and_seq() {
    let hub = spawn_hub().await;
    let token = hub.add_school("county-a", "甲县委党校", None).await;
    let school = TestStore::with_example();
    let mut events = school.events();
    events[4].data["trainees"] = serde_json::json!(999);
    let resp = reqwest::Client::new()
        .post(format!("{}/hub/api/schools/county-a/push", hub.address))
        .bearer_auth(&token)
        .json(&Piece {
            events: events[..20].to_vec(),
            seal: None,
            receipts: Vec::new(),
        })
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["school"], "county-a");
    assert_eq!(body["seq"], 5);
    let detail = body["detail"].as_str().unwrap();
    assert!(
        detail.contains("county-a") && detail.contains("seq 5"),
        "{detail}"
    );
    assert_eq!(
        hub.count("SELECT COUNT(*) FROM events").await,
        0,
        "nothing of the piece is kept"
    );
    assert_eq!(
        hub.count("SELECT COUNT(*) FROM quarantine").await,
        0,
        "an edit is not a fork"
    );
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_school_restored_from_an_old_backup_that_records_more_is_a_fork() {
    let hub = spawn_hub().await;
    let token = hub.add_school("county-a", "甲县委党校", None).await;
    let school = TestStore::with_example();
    let head = school.head_seq();
    hub.push(&school, &token, 100).await.unwrap();
    let before = hub.read("/hub/api/progress?year=2023&on=2023-06-30").await;

    // The backup of 20 events ago, restored, with an older copy only: behind, not forked.
    let export = school.export();
    let lines: Vec<&[u8]> = export
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    let backup: Vec<u8> = lines[..lines.len() - 20]
        .join(&b'\n')
        .into_iter()
        .chain([b'\n'])
        .collect();
    let restored = TestStore::new();
    restored.import(&backup).expect("the backup restores");
    let err = hub.push(&restored, &token, 100).await.unwrap_err();
    assert!(
        matches!(err, PushError::Behind { hub_seq, own_seq } if hub_seq == head && own_seq == head - 20),
        "{err}"
    );
    assert_eq!(hub.count("SELECT COUNT(*) FROM quarantine").await, 0);

    // It then records more: its seqs from head - 19 on are other events than the hub's.
    for day in ["2023-07-03", "2023-07-04", "2023-07-05"] {
        restored.record(meeting(day));
    }
    let err = hub.push(&restored, &token, 100).await.unwrap_err();
    let PushError::Forked { seq, .. } = err else {
        panic!("not a fork: {err}")
    };
    assert!(seq > head - 20 && seq <= head, "{seq}");
    assert!(
        hub.count("SELECT COUNT(*) FROM quarantine").await >= 1,
        "kept in quarantine"
    );
    assert_eq!(
        hub.count("SELECT MAX(seq) FROM events").await,
        head as i64,
        "nothing stored"
    );

    let listed = hub.read("/hub/api/schools").await;
    assert!(listed[0]["forks"].as_u64().unwrap() >= 1);
    assert_eq!(listed[0]["fork_seq"], seq);
    let after = hub.read("/hub/api/progress?year=2023&on=2023-06-30").await;
    assert_eq!(
        after["totals"], before["totals"],
        "a fork counts in no figure"
    );
    let page = hub.get("/hub", &hub.reader).await.text().await.unwrap();
    assert!(
        page.contains("日志分叉") && page.contains("甲县委党校"),
        "{page}"
    );
    let school_page = hub
        .get("/hub/schools/county-a", &hub.reader)
        .await
        .text()
        .await
        .unwrap();
    assert!(school_page.contains("已隔离的分叉记录"), "{school_page}");
    hub.stop().await;
}
