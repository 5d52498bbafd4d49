//! Issue 3: every figure of the seed report (F01–F43) computed from the example log on
//! 2023-06-30, exactly, and worded into the report; the query arguments' errors; and the
//! in-memory cache agreeing with a fold from scratch.
use std::collections::BTreeMap;

use annals::views::{self, Cache};
use chrono::{DateTime, NaiveDate, Utc};
use projections::{
    metric::Metrics,
    period::{Lang, Query},
    progress,
    report::{self, Templates},
};
use serde_json::json;

use crate::helpers::{annals, class_with, meeting, run, void, TestStore};

/// The seed's figures, by metric, as the example dataset must reproduce them.
pub const SEED: &[(&str, &str, u64)] = &[
    ("F01", "school_committee_meetings", 8),
    ("F02", "theory_study_sessions", 2),
    ("F03", "branch_general_meetings", 2),
    ("F04", "organisational_life_meetings", 1),
    ("F05", "branch_committee_meetings", 7),
    ("F06", "themed_party_days", 6),
    ("F07", "party_lectures", 2),
    ("F08", "branch_elections", 2),
    ("F09", "commended_party_affairs_workers", 2),
    ("F09", "commended_party_members", 3),
    ("F10", "film_screenings", 2),
    ("F11", "community_visits", 2),
    ("F12", "village_visits", 4),
    ("F13", "members_in_difficulty_visited", 5),
    ("F22", "main_classes", 9),
    ("F23", "main_class_trainees", 853),
    ("F25", "co_organised_classes", 2),
    ("F26", "sites_party_spirit", 3),
    ("F26", "sites_rural_revitalisation", 3),
    ("F26", "sites_featured", 5),
    ("F27", "visits_hosted", 2),
    ("F28", "field_micro_courses", 9),
    ("F30", "applied_provincial_school", 14),
    ("F30", "applied_city_social_science", 14),
    ("F30", "applied_city_cppcc", 1),
    ("F30", "applied_city_organs", 1),
    ("F30", "applied_county_social_science", 11),
    ("F30", "applied_research_total", 41),
    ("F31", "approved_provincial_school", 3),
    ("F31", "approved_city_social_science", 6),
    ("F31", "approved_city_social_science_key", 1),
    ("F31", "approved_county_social_science", 11),
    ("F31", "approved_city_organs", 1),
    ("F31", "approved_research_total", 21),
    ("F32", "rural_cases_submitted", 5),
    ("F33", "applied_provincial_think_tank", 3),
    ("F33", "applied_city_policy_office", 4),
    ("F34", "advisory_reports_endorsed", 1),
    ("F35", "papers_submitted", 11),
    ("F35", "papers_selected", 1),
    ("F36", "articles_published", 10),
    ("F40", "placed_teachers", 5),
    ("F40", "placement_departments", 5),
    ("F41", "research_groups_formed", 4),
    ("F42", "monthly_lectures", 4),
    ("F42", "lesson_preparations", 3),
    ("F42", "micro_course_trials", 1),
    ("F42", "micro_course_contests", 1),
    ("F42", "teaching_forums", 1),
    ("F43", "micro_party_courses", 7),
    ("F43", "thematic_courses", 9),
];

/// The report's sentences for the seed figures (F01–F43), as the Chinese template words
/// them for the example on 2023-06-30; the Word report is checked against them too.
pub const REPORT_SENTENCES: &[&str] = &[
    "召开校委会8次",
    "理论学习中心组学习2次",
    "支部党员大会2次",
    "组织生活会1次",
    "支委会7次",
    "主题党日活动6次",
    "讲党课2次",
    "2个支部按期完成换届",
    "优秀党务工作者2名",
    "优秀共产党员3名",
    "红色电影2次",
    "“双报到”活动2次",
    "到联系村开展活动4次",
    "慰问困难党员5名",
    "拟办主体班17个21期",
    "比2022年多2个3期",
    "完成9个主体班",
    "培训党员干部853人",
    "52.9%",
    "49.6%",
    "181/365",
    "协助承办培训班2个",
    "3个党性教育现场教学点+3个乡村振兴教学点+5个特色现场教学点",
    "承接外来班次现场教学2个",
    "现场教学微课9门",
    "申报省委党校课题14项，市社科联课题14项，市政协课题1项，市直机关工委微课题1项，县社科联课题11项，合计41项",
    "成功立项课题21项，其中省委党校立项3项，市社科联立项6项（其中重点1项），县社科联立项11项，市直机关工委微课题报送成果1项",
    "乡村振兴案例5个",
    "智库、决咨课题3项",
    "市政研室课题4项",
    "1篇咨政专报获县领导签批",
    "征文共11篇，其中1篇论文入选",
    "发表文章10篇",
    "选派5名教师到5个经济部门",
    "成立4个教研组",
    "“每月一讲”4次，集体备课3次，“微课试讲”1次，“微课竞赛”1次，参与市委党校教学论坛1次",
    "开发微党课7门及专题课9门",
];

fn metrics() -> Metrics {
    Metrics::embedded(&events::Catalog::embedded()).expect("the embedded metrics load")
}

fn h1_on_june_30() -> Query {
    Query::parse(
        Some("2023H1"),
        Some("2023-06-30"),
        None,
        Utc::now(),
        8 * 3600,
    )
    .expect("a valid query")
}

#[test]
fn the_example_log_gives_every_seed_figure_on_30_june_2023() {
    let example = TestStore::with_example();
    let facts = views::fold(&example.store).unwrap();
    let metrics = metrics();
    let q = h1_on_june_30();
    let got: BTreeMap<&str, u64> = SEED
        .iter()
        .map(|(_, name, _)| {
            (
                *name,
                metrics
                    .get(name)
                    .unwrap_or_else(|| panic!("metric {name}"))
                    .value(&facts, &q),
            )
        })
        .collect();
    let want: BTreeMap<&str, u64> = SEED.iter().map(|(_, name, v)| (*name, *v)).collect();
    assert_eq!(got, want);
}

#[test]
fn the_example_plan_and_progress_match_f20_f21_and_f24() {
    let example = TestStore::with_example();
    let facts = views::fold(&example.store).unwrap();
    let day = NaiveDate::from_ymd_opt(2023, 6, 30).unwrap();
    let lines = progress::progress(&facts, &metrics(), 2023, day, Utc::now());
    let classes = lines
        .iter()
        .find(|p| p.metric == "main_classes")
        .expect("a main_classes target");
    let sessions = lines
        .iter()
        .find(|p| p.metric == "main_sessions")
        .expect("a main_sessions target");
    // F20 and F21: 17 classes and 21 sessions, against 15 and 18 in 2022.
    assert_eq!((classes.target, sessions.target), (17, 21));
    assert_eq!(
        (classes.last_year_target, sessions.last_year_target),
        (Some(15), Some(18))
    );
    // F24: 9/17 = 52.9% done at 181/365 = 49.6% of the year.
    assert_eq!(
        (classes.actual, classes.elapsed_days, classes.days_in_year),
        (9, 181, 365)
    );
    assert_eq!(format!("{:.1}", classes.share_done * 100.0), "52.9");
    assert_eq!(format!("{:.1}", classes.share_elapsed * 100.0), "49.6");
    assert_eq!(classes.pace, progress::Pace::OnTrack);
}

#[test]
fn the_chinese_report_names_its_period_and_holds_every_figure() {
    let example = TestStore::with_example();
    let facts = views::fold(&example.store).unwrap();
    let offset = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
    let r = report::build(
        &facts,
        &metrics(),
        &h1_on_june_30(),
        Lang::Zh,
        None,
        Utc::now(),
        offset,
    );
    let text = Templates::embedded().unwrap().markdown(&r).unwrap();
    assert!(text.contains("县委党校2023年上半年工作情况"), "{text}");
    assert!(
        !text.contains("2022年上半年工作"),
        "the period is named from the query"
    );
    for sentence in REPORT_SENTENCES {
        assert!(
            text.contains(sentence),
            "the report lacks «{sentence}»:\n{text}"
        );
    }
}

#[test]
fn the_english_report_and_the_json_form_carry_the_same_figures() {
    let example = TestStore::with_example();
    let facts = views::fold(&example.store).unwrap();
    let offset = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
    let r = report::build(
        &facts,
        &metrics(),
        &h1_on_june_30(),
        Lang::En,
        None,
        Utc::now(),
        offset,
    );
    let text = Templates::embedded().unwrap().markdown(&r).unwrap();
    assert!(text.contains("the first half of 2023"), "{text}");
    assert!(text.contains("training 853 cadres"), "{text}");
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["f"]["main_classes"], 9);
    assert_eq!(json["p"]["main_classes"]["target"], 17);
}

#[test]
fn a_report_as_known_before_a_correction_gives_the_numbers_it_gave_then() {
    let example = TestStore::with_example();
    let class = example.record(class_with(
        "2023-06-12..2023-06-16",
        json!({"class_id": "2023-ZT99", "trainees": 40}),
    ));
    let before_void: DateTime<Utc> = Utc::now();
    std::thread::sleep(std::time::Duration::from_millis(5));
    example.record(void(class.id));
    let facts = views::fold(&example.store).unwrap();
    let m = metrics();
    let sessions = m.get("main_sessions").unwrap();
    let mut q = h1_on_june_30();
    q.known_at = before_void;
    assert_eq!(
        sessions.value(&facts, &q),
        11,
        "as known before the void: the extra class counts"
    );
    q.known_at = Utc::now();
    assert_eq!(
        sessions.value(&facts, &q),
        10,
        "as known now: the void removed it"
    );
}

#[test]
fn bad_query_arguments_are_refused_naming_the_argument() {
    let example = TestStore::with_example();
    let dir = example.close();
    for (args, needle) in [
        (
            vec!["timeline", "--metric", "no_such_metric"],
            "unknown metric 'no_such_metric'",
        ),
        (
            vec!["metrics", "--period", "2023H3"],
            "period: '2023H3' is not a period",
        ),
        (
            vec!["metrics", "--on", "2023-02-30"],
            "on: '2023-02-30' is not a real date",
        ),
        (
            vec!["metrics", "--period", "2023-07-01..2023-06-01"],
            "period: the period ends (2023-06-01) before it starts",
        ),
        (vec!["progress", "--known-at", "last tuesday"], "known_at:"),
        (
            vec!["timeline", "--metric", "main_classes", "--by", "week"],
            "by: 'week' is not a bucket",
        ),
    ] {
        let out = run(annals(dir.path()).args(&args)).failed();
        assert!(out.stderr.contains(needle), "{args:?}: {}", out.stderr);
    }
}

#[test]
fn an_on_later_than_known_at_asks_what_was_known_then_about_a_later_day() {
    let example = TestStore::with_example();
    let dir = example.close();
    let out = run(annals(dir.path()).args([
        "--json",
        "progress",
        "--on",
        "2023-12-31",
        "--known-at",
        "2023-07-05",
    ]))
    .ok();
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let classes = v["progress"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["metric"] == "main_classes")
        .unwrap();
    // The class of 29 June–2 July was recorded on 3 July, so it is known by 5 July.
    assert_eq!(classes["actual"], 10);
}

#[test]
fn the_report_command_prints_the_chinese_summary_for_the_period() {
    let example = TestStore::with_example();
    let dir = example.close();
    let out = run(annals(dir.path()).args(["report", "--period", "2023H1"])).ok();
    assert!(
        out.stdout.contains("# 县委党校2023年上半年工作情况"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("完成9个主体班（10期）"),
        "{}",
        out.stdout
    );
    let json =
        run(annals(dir.path()).args(["report", "--period", "2023H1", "--format", "json"])).ok();
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["period_label"], "2023年上半年");
}

#[test]
fn the_person_command_shows_who_meets_the_three_ones_rule() {
    let example = TestStore::with_example();
    let dir = example.close();
    let out =
        run(annals(dir.path()).args(["--json", "person", "--year", "2023", "--on", "2023-06-30"]))
            .ok();
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let people = v["people"].as_array().unwrap();
    let met = |name: &str| {
        people
            .iter()
            .find(|p| p["person"] == name)
            .map(|p| p["three_ones"]["met"].clone())
    };
    assert_eq!(
        people
            .iter()
            .filter(|p| p["three_ones"]["met"] == true)
            .count(),
        10,
        "10 of the 12 teachers meet the rule"
    );
    assert_eq!(met("孙立新"), Some(json!(false)), "leads no project");
    assert_eq!(met("徐敏"), Some(json!(false)), "has no result yet");
}

#[test]
fn the_cache_extended_after_appends_equals_a_fold_from_scratch() {
    // Random splits of a growing log: after each chunk the cache (which only applies the
    // new events) must answer every metric exactly as a fresh fold does.
    let example = TestStore::with_example();
    let cache = Cache::default();
    let m = metrics();
    let mut seed = 0x2023_0630_u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut recorded = Vec::new();
    for round in 0..12 {
        for _ in 0..(next() % 5 + 1) {
            let day = format!("2023-{:02}-{:02}", next() % 12 + 1, next() % 28 + 1);
            match next() % 4 {
                0 if !recorded.is_empty() => {
                    example.record(void(recorded.remove((next() as usize) % recorded.len())));
                }
                1 => recorded.push(example.record(meeting(&day)).id),
                _ => recorded.push(
                    example
                        .record(class_with(&day, json!({"class_id": format!("R{}", next() % 7), "trainees": next() % 90 + 1})))
                        .id,
                ),
            }
        }
        let cached = cache.read(&example.store).unwrap();
        let fresh = views::fold(&example.store).unwrap();
        for _ in 0..8 {
            let on =
                NaiveDate::from_ymd_opt(2023, (next() % 12 + 1) as u32, (next() % 28 + 1) as u32)
                    .unwrap();
            let events = example.events();
            let at = events[(next() as usize) % events.len()].recorded_at;
            let q = Query {
                period: projections::period::Period::year(2023),
                on,
                known_at: at,
            };
            for metric in m.iter() {
                assert_eq!(
                    metric.value(&cached, &q),
                    metric.value(&fresh, &q),
                    "round {round}, {} on {on} known at {at}",
                    metric.name
                );
            }
        }
    }
}
