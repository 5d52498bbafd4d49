//! `GET /api/stream`: server-sent events carrying each new event and the refreshed progress.
use std::time::Duration;

use reqwest::{header, StatusCode};
use serde_json::Value;

use super::app::{class, spawn_app, Who};

/// One server-sent event: its name, id and data.
#[derive(Debug, Default)]
struct Frame {
    event: String,
    id: Option<String>,
    data: String,
}

/// Reads frames off a stream until `want` frames matched or the time runs out.
async fn read_frames(
    resp: &mut reqwest::Response,
    mut done: impl FnMut(&[Frame]) -> bool,
) -> Vec<Frame> {
    let mut frames = Vec::new();
    let mut buffer = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !done(&frames) {
        let chunk = tokio::time::timeout_at(deadline, resp.chunk())
            .await
            .unwrap_or_else(|_| panic!("the stream sent what was expected in time: {frames:#?}"))
            .expect("the stream stays open")
            .expect("the stream does not end");
        buffer.push_str(std::str::from_utf8(&chunk).expect("UTF-8"));
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let mut frame = Frame::default();
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event:") {
                    frame.event = v.trim().to_owned();
                } else if let Some(v) = line.strip_prefix("id:") {
                    frame.id = Some(v.trim().to_owned());
                } else if let Some(v) = line.strip_prefix("data:") {
                    frame.data.push_str(v.strip_prefix(' ').unwrap_or(v));
                }
            }
            if !frame.event.is_empty() || !frame.data.is_empty() {
                frames.push(frame);
            }
        }
    }
    frames
}

#[tokio::test(flavor = "multi_thread")]
async fn the_stream_delivers_an_appended_event_and_then_the_refreshed_progress() {
    let app = spawn_app().await;
    let mut stream = app.get("/api/stream", Who::Reader).await;
    assert_eq!(stream.status(), StatusCode::OK);
    assert_eq!(stream.headers()[header::CONTENT_TYPE], "text/event-stream");

    let receipts = app.record(&class("2023-ZT-80", 1, "2023-07-03")).await;
    let id = receipts[0]["id"].as_str().unwrap().to_owned();
    let seq = receipts[0]["seq"].as_u64().unwrap();

    let frames = read_frames(&mut stream, |f| f.iter().any(|f| f.event == "progress")).await;
    let event = frames
        .iter()
        .find(|f| f.event == "event")
        .expect("an event frame");
    assert_eq!(event.id.as_deref(), Some(seq.to_string().as_str()));
    let envelope: Value = serde_json::from_str(&event.data).unwrap();
    assert_eq!(envelope["id"], id);
    assert_eq!(envelope["seq"], seq);
    assert_eq!(envelope["data"]["class_id"], "2023-ZT-80");

    let progress = frames.iter().find(|f| f.event == "progress").unwrap();
    let progress: Value = serde_json::from_str(&progress.data).unwrap();
    assert_eq!(
        progress["head"]["seq"], seq,
        "the progress is computed after the event"
    );
    assert!(
        frames.iter().position(|f| f.event == "event")
            < frames.iter().position(|f| f.event == "progress"),
        "the event comes before the progress it changed"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_stream_delivers_events_recorded_through_the_page_form() {
    let app = spawn_app().await;
    let mut stream = app.get("/api/stream", Who::Reader).await;
    let cookie = app.login(&app.recorder).await;
    let resp = app
        .post_form(
            "/record",
            Some(&cookie),
            &[
                ("kind", "meeting_held"),
                ("occurred_from", "2023-07-04"),
                ("f_type", "school_committee"),
            ],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let frames = read_frames(&mut stream, |f| f.iter().any(|f| f.event == "event")).await;
    let envelope: Value = serde_json::from_str(&frames[0].data).unwrap();
    assert_eq!(envelope["kind"], "meeting_held");
}

/// Regression (issue 4): an open `/api/stream` never ended, so graceful shutdown waited
/// for it forever and `annals serve` did not exit on SIGTERM while a page listened.
#[tokio::test(flavor = "multi_thread")]
async fn a_listener_on_the_stream_does_not_hold_up_shutdown() {
    let app = spawn_app().await;
    let mut stream = app.get("/api/stream", Who::Reader).await;
    assert_eq!(stream.status(), StatusCode::OK);
    let _dir = app.shutdown().await;
    // The stream ends rather than hanging.
    let end = tokio::time::timeout(Duration::from_secs(5), async {
        while let Ok(Some(_)) = stream.chunk().await {}
    })
    .await;
    assert!(end.is_ok(), "the stream was closed by the shutdown");
}

/// Issue 15: the stream is a catch-up subscription. A client cut off fifty times at
/// random moments while events are being appended, reconnecting each time with the
/// last id it saw (`Last-Event-ID`, or `?after=` every other time), receives the log
/// whole: every event once, in order, chained as stored.
#[tokio::test(flavor = "multi_thread")]
async fn issue_15_a_client_cut_off_fifty_times_receives_the_log_whole() {
    let app = spawn_app().await;
    let (client, url, token) = (
        app.client.clone(),
        app.url("/api/events"),
        app.recorder.clone(),
    );
    let writer = tokio::spawn(async move {
        for i in 0..120u64 {
            let body = serde_json::json!([
                class(&format!("2023-CU-{i}"), 1, "2023-07-03"),
                class(&format!("2023-CU-{i}"), 2, "2023-07-04"),
            ]);
            let resp = client
                .post(&url)
                .bearer_auth(&token)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), StatusCode::CREATED);
            tokio::time::sleep(Duration::from_millis(8)).await;
        }
    });
    let mut seed = 0x9E37_79B9_7F4A_7C15u64 ^ u64::from(std::process::id());
    let mut random = move |below: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % below
    };
    let mut received: Vec<events::Envelope> = Vec::new();
    let mut cuts = 0;
    let target = app.head_at_start + 240;
    while received.len() as u64 != target || cuts < 50 {
        let last = received.last().map_or(0, |e| e.seq);
        let mut req = app
            .client
            .get(app.url(&format!(
                "/api/stream{}",
                if cuts % 2 == 1 {
                    format!("?after={last}")
                } else {
                    String::new()
                }
            )))
            .bearer_auth(&app.reader);
        if cuts % 2 == 0 {
            req = req.header("last-event-id", last.to_string());
        }
        let mut resp = req.send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        // Read for a random while (or to the end, after the fiftieth cut), then hang up.
        let read_for = if cuts < 50 {
            Duration::from_millis(1 + random(40))
        } else {
            Duration::from_secs(10)
        };
        let deadline = tokio::time::Instant::now() + read_for;
        // Bytes, not text: a chunk may end inside a character.
        let mut buffer: Vec<u8> = Vec::new();
        while let Ok(Ok(Some(chunk))) = tokio::time::timeout_at(deadline, resp.chunk()).await {
            buffer.extend_from_slice(&chunk);
            while let Some(end) = buffer.windows(2).position(|w| w == b"\n\n") {
                let block: Vec<u8> = buffer.drain(..end + 2).collect();
                let block = String::from_utf8(block).unwrap();
                if block
                    .lines()
                    .any(|l| l.trim() == "event: event" || l.trim() == "event:event")
                {
                    let data: String = block
                        .lines()
                        .filter_map(|l| l.strip_prefix("data:"))
                        .map(|d| d.strip_prefix(' ').unwrap_or(d))
                        .collect();
                    received.push(serde_json::from_str(&data).unwrap());
                }
            }
            if received.len() as u64 == target && cuts >= 50 {
                break;
            }
        }
        drop(resp);
        cuts += 1;
        assert!(
            cuts < 500,
            "the stream stopped delivering at {}",
            received.len()
        );
    }
    writer.await.unwrap();
    assert!(cuts >= 50, "cut off {cuts} times");
    let mut chain = events::envelope::ChainCheck::default();
    for e in &received {
        chain
            .check(e)
            .unwrap_or_else(|err| panic!("seq {}: {err}", e.seq));
    }
    let verified = app.get_json("/api/verify", Who::Reader).await;
    assert_eq!(
        verified["head_hash"],
        serde_json::json!(chain.head_hash().to_string())
    );
}
