//! Given / when / then tests of the folds: each builds a small log, asks a question on
//! both time axes, and checks the answer.
use chrono::{DateTime, NaiveDate, Utc};
use events::{Envelope, GENESIS};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::{
    facts::{Facts, Status},
    metric::Metrics,
    people,
    period::{Bucket, Lang, Query},
    progress::{self, Pace},
    timeline,
};

/// A log under construction: events get seq in the order they are added.
#[derive(Default)]
struct Given {
    log: Vec<Envelope>,
}

fn t(s: &str) -> DateTime<Utc> {
    let full = if s.len() == 10 {
        format!("{s}T12:00:00+08:00")
    } else {
        s.to_owned()
    };
    DateTime::parse_from_rfc3339(&full)
        .unwrap()
        .with_timezone(&Utc)
}

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

impl Given {
    fn event(&mut self, kind: &str, occurred: &str, recorded: &str, data: Value) -> Uuid {
        let id = Uuid::now_v7();
        self.log.push(Envelope {
            id,
            seq: self.log.len() as u64 + 1,
            kind: kind.into(),
            version: 1,
            occurred: occurred.parse().unwrap(),
            recorded_at: t(recorded),
            recorded_by: "办公室".into(),
            data,
            prev_hash: GENESIS,
            hash: GENESIS,
        });
        id
    }

    fn class(&mut self, id: &str, occurred: &str, recorded: &str, trainees: u64) -> Uuid {
        self.event(
            "class_held",
            occurred,
            recorded,
            json!({"class_id": id, "class_name": id, "category": "main", "session": 1, "trainees": trainees}),
        )
    }

    fn void(&mut self, target: Uuid, recorded: &str) {
        let day = &recorded[..10];
        self.event(
            "event_voided",
            day,
            recorded,
            json!({"target": target.to_string(), "reason": "录入错误"}),
        );
    }

    fn amend(&mut self, target: Uuid, recorded: &str, data: Value) {
        let day = &recorded[..10];
        self.event(
            "event_amended",
            day,
            recorded,
            json!({"target": target.to_string(), "data": data, "reason": "更正人数"}),
        );
    }

    fn target(&mut self, metric: &str, year: i64, value: u64, recorded: &str) {
        self.event(
            "target_set",
            &recorded[..10],
            recorded,
            json!({"year": year, "metric": metric, "value": value}),
        );
    }

    fn facts(&self) -> Facts {
        Facts::from_log(&self.log)
    }
}

fn metrics() -> Metrics {
    Metrics::embedded(&events::Catalog::embedded()).unwrap()
}

fn value(facts: &Facts, metric: &str, period: &str, on: &str, known_at: &str) -> u64 {
    let q = Query {
        period: period.parse().unwrap(),
        on: d(on),
        known_at: t(known_at),
    };
    metrics().get(metric).unwrap().value(facts, &q)
}

#[test]
fn a_class_recorded_late_counts_only_once_it_is_known() {
    let mut given = Given::default();
    given.class("C1", "2023-06-28", "2023-07-03", 50);
    let facts = given.facts();
    assert_eq!(
        value(
            &facts,
            "main_sessions",
            "2023H1",
            "2023-06-30",
            "2023-07-05"
        ),
        1
    );
    assert_eq!(
        value(
            &facts,
            "main_sessions",
            "2023H1",
            "2023-06-30",
            "2023-07-01"
        ),
        0
    );
}

#[test]
fn a_voided_class_stops_counting_only_from_the_void() {
    let mut given = Given::default();
    let class = given.class("C1", "2023-05-10", "2023-05-11", 50);
    given.void(class, "2023-06-15T09:00:00+08:00");
    let facts = given.facts();
    assert_eq!(
        value(
            &facts,
            "main_sessions",
            "2023H1",
            "2023-06-30",
            "2023-06-14"
        ),
        1
    );
    assert_eq!(
        value(
            &facts,
            "main_sessions",
            "2023H1",
            "2023-06-30",
            "2023-06-15T09:00:00+08:00"
        ),
        0
    );
    assert_eq!(
        value(
            &facts,
            "main_sessions",
            "2023H1",
            "2023-06-30",
            "2023-07-01"
        ),
        0
    );
    assert_eq!(
        facts.get(class).unwrap().status_at(t("2023-07-01")),
        Status::Voided
    );
}

#[test]
fn an_amended_trainee_count_changes_the_sum_from_then_on() {
    let mut given = Given::default();
    let class = given.class("C1", "2023-05-10", "2023-05-11", 50);
    given.class("C2", "2023-05-20", "2023-05-21", 30);
    given.amend(
        class,
        "2023-06-01T10:00:00+08:00",
        json!({"class_id": "C1", "class_name": "C1", "category": "main", "session": 1, "trainees": 56}),
    );
    let facts = given.facts();
    assert_eq!(
        value(
            &facts,
            "main_class_trainees",
            "2023H1",
            "2023-06-30",
            "2023-05-31"
        ),
        80
    );
    assert_eq!(
        value(
            &facts,
            "main_class_trainees",
            "2023H1",
            "2023-06-30",
            "2023-06-02"
        ),
        86
    );
    let entries = timeline::events(&facts, &"2023H1".parse().unwrap(), t("2023-06-02"));
    let first = entries.iter().find(|e| e.id == class).unwrap();
    assert_eq!(first.status, Status::Amended);
    assert_eq!(first.original["trainees"], 50);
    assert_eq!(first.corrections.len(), 1);
}

#[test]
fn a_revised_target_changes_progress_and_both_show_in_its_history() {
    let mut given = Given::default();
    given.target("main_sessions", 2023, 21, "2023-02-10");
    for i in 0..11 {
        given.class(
            &format!("C{i}"),
            &format!("2023-05-{:02}", i + 1),
            "2023-05-20",
            40,
        );
    }
    given.target("main_sessions", 2023, 24, "2023-06-01");
    let facts = given.facts();
    let before = progress::progress(&facts, &metrics(), 2023, d("2023-06-30"), t("2023-05-31"));
    let after = progress::progress(&facts, &metrics(), 2023, d("2023-06-30"), t("2023-06-02"));
    assert_eq!(before[0].target, 21);
    assert_eq!(before[0].pace, Pace::OnTrack);
    assert_eq!(after[0].target, 24);
    assert_eq!(after[0].pace, Pace::Behind);
    let history: Vec<u64> = after[0].target_history.iter().map(|r| r.value).collect();
    assert_eq!(history, vec![21, 24]);
    assert_eq!(
        after[0].behind_by, 1,
        "24 × 181/365 = 11.9, so 12 are due and 11 are done"
    );
}

#[test]
fn a_class_spanning_the_end_of_june_counts_in_the_second_half() {
    let mut given = Given::default();
    given.class("C1", "2023-06-29..2023-07-02", "2023-07-03", 60);
    let facts = given.facts();
    assert_eq!(
        value(&facts, "main_classes", "2023H1", "2023-12-31", "2023-12-31"),
        0
    );
    assert_eq!(
        value(&facts, "main_classes", "2023H2", "2023-12-31", "2023-12-31"),
        1
    );
    assert_eq!(
        value(&facts, "main_classes", "2023H2", "2023-07-01", "2023-12-31"),
        0,
        "not held until its last day"
    );
}

#[test]
fn the_share_of_the_year_elapsed_counts_the_leap_day() {
    assert_eq!(progress::elapsed(2023, d("2023-06-30")), (181, 365));
    assert_eq!(progress::elapsed(2024, d("2024-06-30")), (182, 366));
    assert_eq!(progress::elapsed(2024, d("2023-12-31")), (0, 366));
    assert_eq!(progress::elapsed(2024, d("2025-01-01")), (366, 366));
}

#[test]
fn an_on_before_any_event_gives_zeros_not_an_error() {
    let mut given = Given::default();
    given.target("main_classes", 2023, 17, "2023-02-10");
    given.class("C1", "2023-05-10", "2023-05-11", 50);
    let facts = given.facts();
    for m in metrics().iter() {
        let q = Query {
            period: "2023".parse().unwrap(),
            on: d("2022-01-01"),
            known_at: t("2023-12-31"),
        };
        assert_eq!(m.value(&facts, &q), 0, "{}", m.name);
    }
    let p = progress::progress(&facts, &metrics(), 2023, d("2022-01-01"), t("2023-12-31"));
    assert_eq!((p[0].actual, p[0].elapsed_days), (0, 0));
}

#[test]
fn last_years_same_day_figure_is_given_beside_this_years() {
    let mut given = Given::default();
    given.target("main_classes", 2023, 17, "2023-02-10");
    given.class("A", "2022-03-01", "2022-03-02", 10);
    given.class("B", "2022-08-01", "2022-08-02", 10);
    given.class("C", "2023-03-01", "2023-03-02", 10);
    given.class("D", "2023-04-01", "2023-04-02", 10);
    let facts = given.facts();
    let p = progress::progress(&facts, &metrics(), 2023, d("2023-06-30"), t("2023-12-31"));
    assert_eq!((p[0].actual, p[0].last_year_actual, p[0].change), (2, 1, 1));
}

#[test]
fn a_series_by_month_sums_to_the_period_value() {
    let mut given = Given::default();
    given.class("A", "2023-01-10", "2023-01-11", 10);
    given.class("B", "2023-03-10", "2023-03-11", 10);
    given.class("C", "2023-03-20", "2023-03-21", 10);
    let facts = given.facts();
    let q = Query {
        period: "2023H1".parse().unwrap(),
        on: d("2023-06-30"),
        known_at: t("2023-12-31"),
    };
    let m = metrics();
    let points = timeline::series(
        m.get("main_sessions").unwrap(),
        &facts,
        &q,
        Bucket::Month,
        Lang::Zh,
    );
    let values: Vec<u64> = points.iter().map(|p| p.value).collect();
    assert_eq!(values, vec![1, 0, 2, 0, 0, 0]);
    assert_eq!(points[2].label, "2023年3月");
}

/// Issue 13: names pasted with a zero-width space, padded with spaces, or in another
/// Unicode form were three people in the counts; validated, they are one.
#[test]
fn one_teacher_typed_three_ways_is_one_person() {
    let catalog = events::Catalog::embedded();
    let mut given = Given::default();
    for (speaker, day) in [
        ("张三\u{200B}", "2023-03-01"),
        (" 张三 ", "2023-03-02"),
        ("张三", "2023-03-03"),
        ("Zoe\u{0308}", "2023-03-04"),
        ("Zoë", "2023-03-05"),
    ] {
        let draft = serde_json::from_value(json!({
            "kind": "lecture_given",
            "occurred": day,
            "data": {"type": "monthly", "speaker": speaker, "title": "学习贯彻"},
        }))
        .unwrap();
        let event = events::NewEvent::parse(&catalog, draft).unwrap();
        given.event("lecture_given", day, day, event.data());
    }
    let facts = given.facts();
    assert_eq!(people::everyone(&facts, t("2023-12-31")), ["Zoë", "张三"]);
    let zhang = people::person(&facts, "张三", 2023, d("2023-12-31"), t("2023-12-31"));
    assert_eq!(zhang.lectures_given, 3);
    let zoe = people::person(&facts, "Zoë", 2023, d("2023-12-31"), t("2023-12-31"));
    assert_eq!(zoe.lectures_given, 2);
}

#[test]
fn the_year_keeps_pace_when_no_target_lags_by_more_than_five_points() {
    use crate::pacing::{judge, Verdict};
    // On 30 June 49.6% of the year is gone; 20 sessions is the target.
    let verdict = |sessions: usize| {
        let mut given = Given::default();
        given.target("main_sessions", 2023, 20, "2023-01-10");
        given.target("main_classes", 2023, 2, "2023-01-10");
        for n in 0..sessions {
            given.class(&format!("C{}", n % 2), "2023-03-01", "2023-03-01", 10);
        }
        let lines = progress::progress(
            &given.facts(),
            &metrics(),
            2023,
            d("2023-06-30"),
            t("2023-07-01"),
        );
        let pacing = judge(&lines, Lang::Zh).expect("targets");
        (pacing.verdict, pacing.lagging.len())
    };
    // 10 of 20 = 50.0%: on pace (the classes, 2 of 2, are done).
    assert_eq!(verdict(10), (Verdict::Met, 0));
    // 9 of 20 = 45.0%, 4.6 points behind: within the tolerance.
    assert_eq!(verdict(9), (Verdict::Broadly, 1));
    // 8 of 20 = 40.0%, 9.6 points behind: named as lagging.
    assert_eq!(verdict(8), (Verdict::NotMet, 1));
    // No targets, no judgement.
    assert!(judge(&[], Lang::Zh).is_none());
}
