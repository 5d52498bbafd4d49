//! `POST /api/events`, `GET /api/events` and `GET /api/events/{id}`: recording one event
//! or a batch, idempotent retries, `expected_seq`, every error status, and paging.
use std::collections::BTreeSet;

use annals::http::Config;
use reqwest::StatusCode;
use serde_json::{json, Value};

use super::app::{
    bad_request, class, fields, problem, spawn_app, spawn_app_with, AppOptions, Who, RECORDER,
};

#[tokio::test]
async fn one_event_is_recorded_with_its_seq_and_hash_and_the_token_as_author() {
    let app = spawn_app().await;
    let mut draft = class("2023-ZT-50", 1, "2023-07-03");
    // Whoever the body claims to be, the author is the token's name.
    draft["recorded_by"] = json!("冒名者");
    let receipts = app.record(&draft).await;
    assert_eq!(receipts.len(), 1);
    let r = &receipts[0];
    assert_eq!(r["seq"], app.head_at_start + 1);
    assert_eq!(r["existing"], false);
    assert_eq!(r["hash"].as_str().map(str::len), Some(64), "{r}");

    let id = r["id"].as_str().unwrap();
    let shown = app
        .get_json(&format!("/api/events/{id}"), Who::Reader)
        .await;
    assert_eq!(shown["event"]["recorded_by"], RECORDER);
    assert_eq!(shown["event"]["data"]["class_id"], "2023-ZT-50");
    assert_eq!(shown["event"]["hash"], r["hash"]);
    assert_eq!(shown["corrections"], json!([]));
}

#[tokio::test]
async fn a_batch_is_recorded_in_order_in_either_form() {
    let app = spawn_app().await;
    let list = app
        .record(&json!([
            class("2023-ZT-51", 1, "2023-07-03"),
            class("2023-ZT-51", 2, "2023-07-10")
        ]))
        .await;
    let seqs: Vec<u64> = list.iter().map(|r| r["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, [app.head_at_start + 1, app.head_at_start + 2]);

    let wrapped = app
        .record(&json!({"events": [class("2023-ZT-52", 1, "2023-07-03")]}))
        .await;
    assert_eq!(wrapped[0]["seq"], app.head_at_start + 3);
}

#[tokio::test]
async fn an_exact_repeat_is_answered_200_with_the_first_receipt_and_writes_nothing() {
    let app = spawn_app().await;
    let mut draft = class("2023-ZT-53", 1, "2023-07-03");
    draft["id"] = json!(uuid::Uuid::now_v7().to_string());
    let first = app.record(&draft).await;

    let retry = app.append(&draft).await;
    assert_eq!(retry.status(), StatusCode::OK);
    let retry: Value = retry.json().await.unwrap();
    let again = &retry["receipts"][0];
    assert_eq!(again["existing"], true);
    assert_eq!(again["seq"], first[0]["seq"]);
    assert_eq!(again["hash"], first[0]["hash"]);

    let verify = app.get_json("/api/verify", Who::Reader).await;
    assert_eq!(
        verify["count"],
        app.head_at_start + 1,
        "the retry wrote nothing"
    );
}

#[tokio::test]
async fn the_same_id_with_other_content_is_a_409_naming_the_id() {
    let app = spawn_app().await;
    let id = uuid::Uuid::now_v7().to_string();
    let mut draft = class("2023-ZT-54", 1, "2023-07-03");
    draft["id"] = json!(id);
    app.record(&draft).await;

    draft["data"]["trainees"] = json!(46);
    let p = problem(app.append(&draft).await, StatusCode::CONFLICT).await;
    assert_eq!(fields(&p), ["id"]);
    assert!(
        p["errors"][0]["reason"].as_str().unwrap().contains(&id),
        "{p}"
    );
}

#[tokio::test]
async fn expected_seq_at_the_head_is_accepted_and_behind_it_is_a_409() {
    let app = spawn_app().await;
    let head = app.head_at_start;
    let ok = app
        .record(&json!({"expected_seq": head, "events": [class("2023-ZT-55", 1, "2023-07-03")]}))
        .await;
    assert_eq!(ok[0]["seq"], head + 1);

    let stale = json!({"expected_seq": head, "events": [class("2023-ZT-55", 2, "2023-07-10")]});
    let p = problem(app.append(&stale).await, StatusCode::CONFLICT).await;
    let detail = p["detail"].as_str().unwrap();
    assert!(
        detail.contains(&(head + 1).to_string()) && detail.contains(&head.to_string()),
        "the problem says where the head is and what was expected: {detail}"
    );

    let p = problem(
        app.append(
            &json!({"expected_seq": "soon", "events": [class("2023-ZT-55", 2, "2023-07-10")]}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(fields(&p), ["expected_seq"]);
}

#[tokio::test]
async fn every_failing_field_of_every_event_is_listed_in_one_422() {
    let app = spawn_app().await;
    let bad = json!([
        {"kind": "class_held", "occurred": "2023-07-03",
         "data": {"class_id": "2023-ZT-56", "category": "nonsense", "session": 0, "trainees": "many"}},
        class("2023-ZT-56", 1, "2023-07-03"),
        {"kind": "class_held", "occurred": "2023-02-30",
         "data": {"class_id": "2023-ZT-56", "class_name": "班", "category": "main", "session": 2, "trainees": 4}},
        {"kind": "no_such_kind", "occurred": "2023-07-03", "data": {}},
    ]);
    let p = problem(app.append(&bad).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    let errors = p["errors"].as_array().unwrap();
    let by_index = |i: u64| -> BTreeSet<String> {
        errors
            .iter()
            .filter(|e| e["index"] == i)
            .map(|e| e["field"].as_str().unwrap().to_owned())
            .collect()
    };
    let first = by_index(0);
    for field in [
        "data.class_name",
        "data.category",
        "data.session",
        "data.trainees",
    ] {
        assert!(first.contains(field), "{field} is listed: {p}");
    }
    assert!(by_index(1).is_empty(), "the valid event is not blamed: {p}");
    assert_eq!(by_index(2), BTreeSet::from(["occurred".to_owned()]), "{p}");
    assert_eq!(by_index(3), BTreeSet::from(["kind".to_owned()]), "{p}");
    for e in errors {
        assert!(!e["reason"].as_str().unwrap().is_empty(), "{e}");
    }
    let verify = app.get_json("/api/verify", Who::Reader).await;
    assert_eq!(
        verify["count"], app.head_at_start,
        "nothing of the batch was written"
    );
}

#[tokio::test]
async fn bodies_that_are_not_events_are_refused_with_the_right_status() {
    let app = spawn_app().await;
    let p = problem(
        app.post_raw(
            "/api/events",
            Who::Recorder,
            "application/json",
            "{\"kind\": ",
        )
        .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(fields(&p), ["body"]);
    assert!(p["detail"].as_str().unwrap().contains("JSON"), "{p}");

    let body = class("2023-ZT-57", 1, "2023-07-03").to_string();
    let p = problem(
        app.post_raw("/api/events", Who::Recorder, "text/plain", body)
            .await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
    )
    .await;
    assert!(
        p["detail"].as_str().unwrap().contains("application/json"),
        "{p}"
    );

    for (body, field) in [
        (json!(42), "body"),
        (json!([]), "events"),
        (json!({"events": "all of them"}), "events"),
    ] {
        let p = problem(app.append(&body).await, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(fields(&p), [field], "{body}: {p}");
    }
}

#[tokio::test]
async fn a_body_over_the_limit_and_a_batch_over_the_limit_are_413() {
    let app = spawn_app_with(AppOptions {
        example: false,
        config: Config {
            body_limit: 4096,
            batch_limit: 5,
            ..Config::default()
        },
    })
    .await;
    let mut big = class("2023-ZT-58", 1, "2023-07-03");
    big["data"]["class_name"] = json!("长".repeat(2000));
    let p = problem(app.append(&big).await, StatusCode::PAYLOAD_TOO_LARGE).await;
    assert!(p["detail"].as_str().unwrap().contains("limit"), "{p}");

    let six: Vec<Value> = (1..=6)
        .map(|s| class("2023-ZT-58", s, "2023-07-03"))
        .collect();
    let six = json!(six);
    assert!(
        six.to_string().len() < 4096,
        "the batch itself fits the body limit"
    );
    let p = problem(app.append(&six).await, StatusCode::PAYLOAD_TOO_LARGE).await;
    let detail = p["detail"].as_str().unwrap();
    assert!(detail.contains('6') && detail.contains('5'), "{detail}");

    let five: Vec<Value> = (1..=5)
        .map(|s| class("2023-ZT-58", s, "2023-07-03"))
        .collect();
    assert_eq!(
        app.record(&json!(five)).await.len(),
        5,
        "a batch at the limit is fine"
    );
}

#[tokio::test]
async fn the_default_limits_are_one_mebibyte_and_ten_thousand_events() {
    let config = Config::default();
    assert_eq!(config.body_limit, 1024 * 1024);
    assert_eq!(config.batch_limit, 10_000);
    let app = spawn_app_with(AppOptions {
        example: false,
        config: Config {
            body_limit: 8 * 1024 * 1024,
            ..Config::default()
        },
    })
    .await;
    let many: Vec<Value> = (0..10_001)
        .map(|i| json!({"kind": "meeting_held", "occurred": "2023-07-03", "data": {"type": format!("t{i}")}}))
        .collect();
    let p = problem(
        app.append(&json!(many)).await,
        StatusCode::PAYLOAD_TOO_LARGE,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("10000"), "{p}");
}

#[tokio::test]
async fn an_event_is_shown_with_its_corrections() {
    let app = spawn_app().await;
    let original = app.record(&class("2023-ZT-59", 1, "2023-07-03")).await;
    let id = original[0]["id"].as_str().unwrap().to_owned();
    let mut data = class("2023-ZT-59", 1, "2023-07-03")["data"].clone();
    data["trainees"] = json!(50);
    app.record(&json!({"kind": "event_amended",
        "data": {"target": id, "data": data, "reason": "人数有误"}}))
        .await;

    let shown = app
        .get_json(&format!("/api/events/{id}"), Who::Reader)
        .await;
    let corrections = shown["corrections"].as_array().unwrap();
    assert_eq!(corrections.len(), 1);
    assert_eq!(corrections[0]["kind"], "event_amended");
    assert_eq!(corrections[0]["data"]["data"]["trainees"], 50);
}

#[tokio::test]
async fn an_unknown_event_is_404_and_a_malformed_id_is_400() {
    let app = spawn_app().await;
    let unknown = uuid::Uuid::new_v4();
    let p = problem(
        app.get(&format!("/api/events/{unknown}"), Who::Reader)
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains(&unknown.to_string()));
    bad_request(app.get("/api/events/not-a-uuid", Who::Reader).await, "id").await;
}

#[tokio::test]
async fn the_list_filters_by_kind_and_dates() {
    let app = spawn_app().await;
    let page = app
        .get_json(
            "/api/events?kind=class_held&from=2023-03-01&to=2023-04-30&limit=1000",
            Who::Reader,
        )
        .await;
    let events = page["events"].as_array().unwrap();
    assert!(!events.is_empty());
    for e in events {
        assert_eq!(e["kind"], "class_held");
        let occurred = e["occurred"].as_str().unwrap();
        let (start, end) = occurred.split_once("..").unwrap_or((occurred, occurred));
        assert!(
            start <= "2023-04-30" && end >= "2023-03-01",
            "{occurred} overlaps March and April"
        );
    }
    assert_eq!(page["next"], Value::Null);

    let recorded = app
        .get_json(
            "/api/events?recorded_from=2023-07-06T00:00:00%2B08:00&limit=1000",
            Who::Reader,
        )
        .await;
    let since = chrono::DateTime::parse_from_rfc3339("2023-07-06T00:00:00+08:00").unwrap();
    let recorded = recorded["events"].as_array().unwrap();
    assert!(!recorded.is_empty());
    for e in recorded {
        let at = chrono::DateTime::parse_from_rfc3339(e["recorded_at"].as_str().unwrap()).unwrap();
        assert!(at >= since, "{e}");
    }
}

#[tokio::test]
async fn bad_list_parameters_are_400_naming_the_parameter() {
    let app = spawn_app().await;
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("from=2023-02-30", "from"),
        ("to=yesterday", "to"),
        ("recorded_from=2023-07-06", "recorded_from"),
        ("recorded_to=noon", "recorded_to"),
    ] {
        bad_request(
            app.get(&format!("/api/events?{query}"), Who::Reader).await,
            field,
        )
        .await;
    }
    for (query, name) in [("limit=lots", "limit"), ("after=-1", "after")] {
        let p = problem(
            app.get(&format!("/api/events?{query}"), Who::Reader).await,
            StatusCode::BAD_REQUEST,
        )
        .await;
        assert!(
            p["detail"].as_str().unwrap().contains(name),
            "names {name}: {p}"
        );
    }
}

/// Pages through the whole log with `after`/`limit`, appending between pages, and checks
/// that every event is seen once, in seq order.
#[tokio::test]
async fn paging_across_appends_skips_and_repeats_nothing() {
    let app = spawn_app().await;
    let mut seen: Vec<u64> = Vec::new();
    let mut after = 0u64;
    let mut appended = 0u64;
    let mut pages = 0;
    loop {
        let page = app
            .get_json(&format!("/api/events?after={after}&limit=37"), Who::Reader)
            .await;
        pages += 1;
        let events = page["events"].as_array().unwrap();
        assert!(events.len() <= 37);
        seen.extend(events.iter().map(|e| e["seq"].as_u64().unwrap()));
        if let Some(last) = seen.last() {
            after = *last;
        }
        // Appends land behind the cursor while the reader is mid-way.
        if pages <= 4 {
            let batch: Vec<Value> = (1..=3)
                .map(|s| class(&format!("2023-ZT-P{pages}"), s, "2023-07-03"))
                .collect();
            app.record(&json!(batch)).await;
            appended += 3;
        }
        match page["next"].as_u64() {
            Some(next) => assert_eq!(next, after, "next is the last seq of the page"),
            None if pages > 4 => break,
            None => {}
        }
        assert!(pages < 100, "paging ends");
    }
    let head = app.head_at_start + appended;
    assert_eq!(
        seen,
        (1..=head).collect::<Vec<_>>(),
        "every seq once, in order"
    );
    let rest = app
        .get_json(&format!("/api/events?after={head}"), Who::Reader)
        .await;
    assert_eq!(rest["events"], json!([]));
    assert_eq!(rest["next"], Value::Null);
}
