//! Bad input: each refused with a message naming the field, and nothing written.
use super::*;

#[test]
fn an_unknown_kind_is_refused_and_nothing_is_written() {
    assert_refused(
        json!({"kind": "party_thrown", "occurred": "2023-03-01", "data": {}}),
        &["kind: unknown kind 'party_thrown'", "class_held"],
    );
}

#[test]
fn an_unknown_field_is_refused_and_nothing_is_written() {
    assert_refused(
        class_with("2023-03-01", json!({"colour": "red"})),
        &["data.colour: is not a field of class_held", "trainees"],
    );
}

#[test]
fn a_missing_required_field_is_refused_and_nothing_is_written() {
    assert_refused(
        class_with("2023-03-01", json!({"trainees": null})),
        &["data.trainees: is required"],
    );
}

#[test]
fn a_value_of_the_wrong_type_is_refused_and_nothing_is_written() {
    assert_refused(
        class_with("2023-03-01", json!({"trainees": "forty-five"})),
        &["data.trainees: must be a whole number"],
    );
    assert_refused(
        class_with("2023-03-01", json!({"class_name": 42})),
        &["data.class_name: must be text"],
    );
}

#[test]
fn an_enum_value_not_in_the_catalog_is_refused_and_nothing_is_written() {
    assert_refused(
        class_with("2023-03-01", json!({"category": "vip"})),
        &["data.category: 'vip' is not one of", "main (主体班)"],
    );
}

#[test]
fn an_unparseable_date_is_refused_and_nothing_is_written() {
    for bad in ["2023/03/01", "yesterday", "2023-3-1x"] {
        assert_refused(meeting(bad), &["occurred:", "is not a real date"]);
    }
}

#[test]
fn an_impossible_date_is_refused_and_nothing_is_written() {
    assert_refused(
        meeting("2023-02-30"),
        &["occurred: '2023-02-30' is not a real date"],
    );
    assert_refused(
        class_with("2023-02-27..2023-02-30", json!({})),
        &["occurred: '2023-02-30' is not a real date"],
    );
}

#[test]
fn a_range_that_ends_before_it_starts_is_refused_and_nothing_is_written() {
    assert_refused(
        class_with("2023-07-02..2023-06-29", json!({})),
        &["occurred: the range ends (2023-06-29) before it starts (2023-07-02)"],
    );
}

#[test]
fn a_negative_count_is_refused_and_nothing_is_written() {
    assert_refused(
        class_with("2023-03-01", json!({"trainees": -5})),
        &["data.trainees: must be a whole number ≥ 0"],
    );
}

#[test]
fn an_absurd_count_is_refused_but_the_catalogs_limit_itself_is_accepted() {
    assert_refused(
        class_with("2023-03-01", json!({"trainees": 100_001})),
        &["data.trainees: must be between 0 and 100000, not 100001"],
    );
    let s = TestStore::new();
    s.record(class_with("2023-03-01", json!({"trainees": 100_000})));
    assert_eq!(s.head_seq(), 1);
}

#[test]
fn text_over_the_catalogs_length_limit_is_refused_and_nothing_is_written() {
    // class_id has its own limit of 64 characters; class_name the default of 200.
    assert_refused(
        class_with("2023-03-01", json!({"class_id": "班".repeat(65)})),
        &["data.class_id: is 65 characters long; the limit is 64"],
    );
    assert_refused(
        class_with("2023-03-01", json!({"class_name": "x".repeat(201)})),
        &["data.class_name: is 201 characters long; the limit is 200"],
    );
    let s = TestStore::new();
    s.record(class_with(
        "2023-03-01",
        json!({"class_id": "班".repeat(64)}),
    ));
    assert_eq!(s.head_seq(), 1);
}

#[test]
fn a_payload_over_64_kib_is_refused_and_nothing_is_written() {
    // 200 items of 200 characters each are within the list limits, but at three bytes
    // a character they make about 120 KB.
    let methods: Vec<String> = (0..200).map(|_| "讲".repeat(200)).collect();
    assert_refused(
        class_with("2023-03-01", json!({"methods": methods})),
        &["data: is larger than 64 KiB"],
    );
}

#[test]
fn a_duplicate_id_with_different_content_is_a_conflict_and_nothing_is_written() {
    let s = TestStore::new();
    let id = Uuid::now_v7();
    let mut first = meeting("2023-03-01");
    first["id"] = json!(id);
    s.record(first.clone());
    let head = s.store.head().unwrap();

    let mut changed = first.clone();
    changed["data"]["type"] = json!("branch_committee");
    let err = s.try_record(changed).unwrap_err();
    assert!(
        err.contains(&format!(
            "id: {id} already exists at seq 1 with different content"
        )),
        "{err}"
    );

    let mut other_day = first;
    other_day["occurred"] = json!("2023-03-02");
    assert!(s
        .try_record(other_day)
        .unwrap_err()
        .contains("different content"));
    assert_eq!(s.store.head().unwrap(), head);
}

#[test]
fn correcting_a_missing_event_is_refused_and_nothing_is_written() {
    let missing = Uuid::now_v7();
    let expected = format!("data.target: there is no event {missing} to correct");
    assert_refused(void(missing), &[&expected]);
    assert_refused(
        amend(missing, json!({"type": "school_committee"})),
        &[&expected],
    );
}

#[test]
fn correcting_a_voided_event_is_refused_and_nothing_is_written() {
    let s = TestStore::new();
    let original = s.record(meeting("2023-03-01"));
    s.record(void(original.id));
    let head = s.store.head().unwrap();

    let expected = format!("data.target: event {} is already voided", original.id);
    let err = s.try_record(void(original.id)).unwrap_err();
    assert!(err.contains(&expected), "{err}");
    let err = s
        .try_record(amend(original.id, json!({"type": "branch_committee"})))
        .unwrap_err();
    assert!(err.contains(&expected), "{err}");
    assert_eq!(s.store.head().unwrap(), head);
}

#[test]
fn voiding_an_event_twice_in_one_batch_is_refused_as_a_whole() {
    let s = TestStore::new();
    let original = s.record(meeting("2023-03-01"));
    let err = s
        .append(vec![
            new_event(void(original.id)),
            new_event(void(original.id)),
        ])
        .unwrap_err()
        .to_string();
    assert!(err.contains("event 2: data.target:"), "{err}");
    assert!(err.contains("already voided"), "{err}");
    assert_eq!(s.head_seq(), 1);
}

#[test]
fn an_amendment_invalid_for_the_targets_kind_is_refused_and_nothing_is_written() {
    let s = TestStore::new();
    let class = s.record(class_with("2023-03-06..2023-03-10", json!({})));
    let head = s.store.head().unwrap();

    // Valid for a meeting, but not for a class: each failing field is named.
    let err = s
        .try_record(amend(class.id, json!({"type": "school_committee"})))
        .unwrap_err();
    for part in [
        "data.data.type: is not a field of class_held",
        "data.data.trainees: is required",
    ] {
        assert!(err.contains(part), "{err:?} should contain {part:?}");
    }
    let mut bad_count =
        class_with("2023-03-06..2023-03-10", json!({"trainees": 100_001}))["data"].clone();
    let err = s
        .try_record(amend(class.id, bad_count.clone()))
        .unwrap_err();
    assert!(
        err.contains("data.data.trainees: must be between 0 and 100000"),
        "{err}"
    );
    assert_eq!(s.store.head().unwrap(), head);

    // The same amendment with valid data is accepted.
    bad_count["trainees"] = json!(46);
    s.record(amend(class.id, bad_count));
    assert_eq!(s.head_seq(), 2);
}

#[test]
fn a_batch_with_one_bad_event_writes_none_of_its_events() {
    let s = TestStore::new();
    let err = s
        .append(vec![
            new_event(meeting("2023-03-01")),
            new_event(void(Uuid::now_v7())),
            new_event(meeting("2023-03-02")),
        ])
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Rejected(ref items) if items.len() == 1 && items[0].index == 1)
    );
    assert_eq!(s.head_seq(), 0);
    assert!(s.events().is_empty());
}

#[test]
fn a_batch_based_on_a_head_that_moved_is_refused() {
    let s = TestStore::new();
    s.record(meeting("2023-03-01"));
    let batch = |expected| Batch {
        events: vec![new_event(meeting("2023-03-02"))],
        expected_seq: Some(expected),
        author: AUTHOR.into(),
        import: None,
    };
    let err = s.store.append(batch(0)).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::HeadMoved {
                expected: 0,
                actual: 1
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "the log's head is at seq 1, not the expected 0"
    );
    assert_eq!(s.head_seq(), 1);

    let receipts = s.store.append(batch(1)).unwrap();
    assert_eq!(receipts[0].seq, 2);
}
