//! Graceful shutdown: appends in flight when the signal comes are finished, and every
//! append the server acknowledged is in the store when it is opened again.
use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use serde_json::Value;
use uuid::Uuid;

use super::app::{class, open_store, spawn_app_with, AppOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn shutdown_during_many_appends_loses_no_acknowledged_append() {
    let app = spawn_app_with(AppOptions {
        example: false,
        ..AppOptions::default()
    })
    .await;
    const N: usize = 300;
    let landed = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::with_capacity(N);
    for i in 0..N {
        // Each request on its own connection, so they are truly concurrent.
        let client = super::app::client();
        let url = app.url("/api/events");
        let token = app.recorder.clone();
        let mut draft = class(
            &format!("2023-S-{}", i / 50),
            (i % 50 + 1) as u64,
            "2023-07-03",
        );
        let id = Uuid::now_v7();
        let landed = landed.clone();
        draft["id"] = Value::from(id.to_string());
        tasks.push(tokio::spawn(async move {
            let resp = client
                .post(url)
                .bearer_auth(token)
                .json(&draft)
                .send()
                .await;
            match resp {
                Ok(r) if r.status().is_success() => {
                    let body: Value = r.json().await.ok()?;
                    let seq = body["receipts"][0]["seq"].as_u64()?;
                    landed.fetch_add(1, Ordering::SeqCst);
                    Some((id, seq))
                }
                _ => None,
            }
        }));
    }
    // Once the first appends have landed, pull the plug while the rest are in flight.
    tokio::time::timeout(Duration::from_secs(20), async {
        while landed.load(Ordering::SeqCst) < 10 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await
    .expect("the first appends land");
    let dir = app.shutdown().await;

    let mut acknowledged = Vec::new();
    for t in tasks {
        if let Some(ack) = tokio::time::timeout(Duration::from_secs(20), t)
            .await
            .expect("every request ends")
            .expect("no task panics")
        {
            acknowledged.push(ack);
        }
    }
    println!(
        "graceful shutdown: {} of {N} appends acknowledged",
        acknowledged.len()
    );
    assert!(
        !acknowledged.is_empty(),
        "some appends landed before the signal"
    );

    let store = tokio::task::spawn_blocking({
        let path = dir.path().to_owned();
        move || open_store(&path)
    })
    .await
    .unwrap();
    for (id, seq) in &acknowledged {
        let e = store
            .get(*id)
            .expect("the store is readable")
            .unwrap_or_else(|| panic!("acknowledged event {id} (seq {seq}) is in the store"));
        assert_eq!(e.seq, *seq);
    }
    assert!(store.head_seq() >= acknowledged.len() as u64);
    let report = store.verify().expect("readable").expect("the log verifies");
    assert_eq!(report.count, store.head_seq());
}
