//! Reading: scans by kind, day, recording time and seq, lookups by id, corrections.
use super::*;

/// Five events with known days and recording times:
/// 1 meeting 01-10, 2 class 03-06..03-10, 3 meeting 03-08, 4 lecture 05-20, 5 meeting 06-30.
fn reading_fixture() -> (TestStore, Vec<Uuid>) {
    let s = TestStore::new();
    let lecture = json!({"kind": "lecture_given", "occurred": "2023-05-20",
        "data": {"type": "monthly", "speaker": "王晓梅", "title": "学习贯彻党的二十大精神"}});
    let ids = [
        recorded(meeting("2023-01-10"), "2023-01-10T10:00:00+08:00"),
        recorded(
            class_with("2023-03-06..2023-03-10", json!({})),
            "2023-03-11T09:00:00+08:00",
        ),
        recorded(meeting("2023-03-08"), "2023-03-12T09:00:00+08:00"),
        recorded(lecture, "2023-05-21T16:30:00+08:00"),
        recorded(meeting("2023-06-30"), "2023-07-01T08:00:00+08:00"),
    ]
    .into_iter()
    .map(|d| s.record(d).id)
    .collect();
    (s, ids)
}

#[test]
fn a_scan_by_kind_yields_only_that_kind_in_seq_order() {
    let (s, _) = reading_fixture();
    let only = |kind: &str| {
        seqs(&scan(
            &s.store,
            Filter {
                kind: Some(kind.into()),
                ..Filter::default()
            },
        ))
    };
    assert_eq!(only("meeting_held"), [1, 3, 5]);
    assert_eq!(only("class_held"), [2]);
    assert_eq!(only("visit_hosted"), Vec::<u64>::new());
}

#[test]
fn a_scan_by_occurred_range_yields_every_event_whose_days_overlap_it() {
    let (s, _) = reading_fixture();
    let between = |from: &str, to: &str| {
        seqs(&scan(
            &s.store,
            Filter {
                occurred: Some((day(from), day(to))),
                ..Filter::default()
            },
        ))
    };
    // The class's last day overlaps the start of the range.
    assert_eq!(between("2023-03-10", "2023-05-31"), [2, 4]);
    assert_eq!(between("2023-03-07", "2023-03-08"), [2, 3]);
    assert_eq!(between("2023-06-30", "2023-06-30"), [5]);
    assert_eq!(between("2023-02-01", "2023-02-28"), Vec::<u64>::new());
}

#[test]
fn a_scan_by_recorded_range_yields_the_events_recorded_in_it() {
    let (s, _) = reading_fixture();
    let between = |from: &str, to: &str| {
        seqs(&scan(
            &s.store,
            Filter {
                recorded: Some((moment(from), moment(to))),
                ..Filter::default()
            },
        ))
    };
    assert_eq!(
        between("2023-03-01T00:00:00+08:00", "2023-05-31T00:00:00+08:00"),
        [2, 3, 4]
    );
    // Both bounds are inclusive.
    assert_eq!(
        between("2023-03-11T09:00:00+08:00", "2023-03-12T09:00:00+08:00"),
        [2, 3]
    );
    assert_eq!(
        s.store.get_seq(5).unwrap().unwrap().recorded_at,
        moment("2023-07-01T00:00:00Z")
    );
}

#[test]
fn a_scan_by_seq_range_and_limit_yields_that_slice() {
    let (s, _) = reading_fixture();
    let slice = |filter: Filter| seqs(&scan(&s.store, filter));
    assert_eq!(
        slice(Filter {
            from_seq: Some(2),
            to_seq: Some(4),
            ..Filter::default()
        }),
        [2, 3, 4]
    );
    assert_eq!(
        slice(Filter {
            from_seq: Some(2),
            limit: Some(2),
            ..Filter::default()
        }),
        [2, 3]
    );
    assert_eq!(
        slice(Filter {
            from_seq: Some(4),
            kind: Some("meeting_held".into()),
            ..Filter::default()
        }),
        [5]
    );
    assert_eq!(
        slice(Filter {
            from_seq: Some(6),
            ..Filter::default()
        }),
        Vec::<u64>::new()
    );
}

#[test]
fn an_event_is_found_by_its_id_and_an_unknown_id_finds_nothing() {
    let (s, ids) = reading_fixture();
    for (i, id) in ids.iter().enumerate() {
        let e = s.store.get(*id).unwrap().expect("the event is found");
        assert_eq!((e.id, e.seq), (*id, i as u64 + 1));
        assert_eq!(e.recorded_by, AUTHOR);
    }
    assert_eq!(s.store.get(Uuid::now_v7()).unwrap(), None);
}

#[test]
fn corrections_are_readable_and_the_original_stays_readable() {
    let s = TestStore::new();
    let class = s.record(class_with("2023-03-06..2023-03-10", json!({})));
    let untouched = s.record(meeting("2023-03-08"));
    let original = s.store.get(class.id).unwrap().unwrap();

    let mut fixed = original.data.clone();
    fixed["trainees"] = json!(46);
    let amended = s.record(amend(class.id, fixed.clone()));
    let voided = s.record(void(class.id));

    let corrections = s.store.corrections_of(class.id).unwrap();
    assert_eq!(
        corrections
            .iter()
            .map(|c| (c.id, c.kind.as_str()))
            .collect::<Vec<_>>(),
        [(amended.id, "event_amended"), (voided.id, "event_voided")]
    );
    assert_eq!(corrections[0].data["data"], fixed);
    assert_eq!(corrections[0].data["target"], json!(class.id.to_string()));

    // Nothing was overwritten: the original reads as it was recorded.
    assert_eq!(s.store.get(class.id).unwrap().unwrap(), original);
    assert_eq!(original.data["trainees"], json!(45));
    assert!(s.store.corrections_of(untouched.id).unwrap().is_empty());
    assert_eq!(s.head_seq(), 4);
}
