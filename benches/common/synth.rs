//! The synthetic log: deterministic (fixed seed), catalog-valid drafts over ten years,
//! in the order they were recorded, as the JSONL an import reads.
//!
//! Kinds come in the proportions of a county school's year (meetings and lectures
//! most, then classes, outreach, research…); classes carry trainee counts and share
//! class ids across sessions; people come from a pool of teachers; each year has
//! `target_set` events for the main-class metrics (some revised mid-year); and about
//! 1% of the events are corrections (`event_voided` / `event_amended`) of an earlier,
//! not yet voided activity.
use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use serde_json::{json, Value};
use uuid::Uuid;

/// The first year of the log.
pub const FIRST_YEAR: i32 = 2016;
/// The last year of the log: the "current year" every figure is asked for.
pub const LAST_YEAR: i32 = 2025;
/// The seed every run uses.
pub const SEED: u64 = 0x0020_2306_30a1_1a15;
/// The metrics that get a target every year.
pub const TARGET_METRICS: [&str; 3] = ["main_classes", "main_sessions", "main_class_trainees"];

/// SplitMix64: small, fast, and the same on every machine.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// A number in `lo..=hi`.
    pub fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }

    /// One item of a slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// A random (version 4) UUID.
    pub fn uuid(&mut self) -> Uuid {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.next_u64().to_le_bytes());
        bytes[8..].copy_from_slice(&self.next_u64().to_le_bytes());
        uuid::Builder::from_random_bytes(bytes).into_uuid()
    }
}

/// Kinds with their weight in a year's activity (relative, per mille).
const KINDS: [(&str, u64); 16] = [
    ("meeting_held", 280),
    ("lecture_given", 180),
    ("class_held", 120),
    ("outreach_done", 80),
    ("result_submitted", 70),
    ("project_applied", 40),
    ("visit_hosted", 40),
    ("commendation_given", 30),
    ("course_developed", 30),
    ("project_approved", 20),
    ("plan_made", 20),
    ("placement_started", 15),
    ("placement_ended", 15),
    ("site_designated", 10),
    ("election_completed", 10),
    ("group_formed", 5),
];

const OFFICES: [&str; 6] = [
    "办公室",
    "教务科",
    "科研科",
    "组织人事科",
    "后勤科",
    "信息中心",
];
const SURNAMES: [&str; 20] = [
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "林", "罗", "高",
];
const GIVEN: [&str; 16] = [
    "立新", "敏", "建华", "秀英", "志强", "丽", "海燕", "军", "红梅", "文", "国庆", "静", "伟",
    "晓东", "春燕", "磊",
];
const FUNDERS: [&str; 7] = [
    "provincial_school",
    "city_social_science",
    "city_cppcc",
    "city_organs",
    "county_social_science",
    "provincial_think_tank",
    "city_policy_office",
];

/// What one run generates: drafts in recorded order.
#[derive(Debug, Clone)]
pub struct Log {
    /// Every draft, as the JSON an import line holds.
    pub drafts: Vec<Value>,
}

impl Log {
    /// The drafts as a JSONL file.
    pub fn jsonl(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.drafts.len() * 400);
        for d in &self.drafts {
            serde_json::to_writer(&mut out, d).expect("a draft serialises");
            out.push(b'\n');
        }
        out
    }

    /// The earliest and latest recording times.
    pub fn recorded_span(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        let at = |d: &Value| moment(d["recorded_at"].as_str().expect("every draft has a time"));
        (
            at(self.drafts.first().expect("a log")),
            at(self.drafts.last().expect("a log")),
        )
    }
}

/// Parses an RFC 3339 moment.
pub fn moment(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("an RFC 3339 moment")
        .with_timezone(&Utc)
}

fn person(rng: &mut Rng) -> String {
    // A pool of 320 teachers (surname × given name).
    format!("{}{}", rng.pick(&SURNAMES), rng.pick(&GIVEN))
}

fn people(rng: &mut Rng, lo: u64, hi: u64) -> Value {
    let n = rng.between(lo, hi);
    Value::Array((0..n).map(|_| Value::String(person(rng))).collect())
}

struct Draft {
    id: Uuid,
    kind: &'static str,
    from: NaiveDate,
    to: NaiveDate,
    at: DateTime<Utc>,
    by: &'static str,
    data: Value,
}

/// The data of one event of `kind` in `year`. `classes` is how many distinct class ids
/// a category has per year, so sessions share ids.
fn data(rng: &mut Rng, kind: &str, year: i32, classes: u64) -> Value {
    let title = |rng: &mut Rng, what: &str| format!("{what}第{}号", rng.between(1, 9999));
    match kind {
        "meeting_held" => {
            let types = [
                ("school_committee", 12),
                ("theory_study", 10),
                ("branch_general", 10),
                ("organisational_life", 6),
                ("branch_committee", 20),
                ("themed_party_day", 14),
                ("film_screening", 4),
                ("lesson_preparation", 14),
                ("other", 10),
            ];
            json!({
                "type": weighted(rng, &types),
                "title": title(rng, "会议"),
                "attendees": rng.between(5, 120),
                "branch": format!("第{}支部", rng.between(1, 6)),
            })
        }
        "lecture_given" => {
            let types = [
                ("monthly", 20),
                ("party", 20),
                ("thematic", 30),
                ("micro_trial", 10),
                ("contest", 5),
                ("forum", 15),
            ];
            json!({
                "type": weighted(rng, &types),
                "speaker": person(rng),
                "title": title(rng, "专题讲座"),
                "venue": format!("第{}乡镇", rng.between(1, 30)),
            })
        }
        "class_held" => {
            let category = weighted(rng, &[("main", 50), ("co_organised", 20), ("other", 30)]);
            let prefix = match category {
                "main" => "ZT",
                "co_organised" => "XB",
                _ => "QT",
            };
            json!({
                "class_id": format!("{year}-{prefix}{:04}", rng.below(classes.max(1))),
                "class_name": title(rng, "干部培训班"),
                "category": category,
                "session": rng.between(1, 3),
                "trainees": rng.between(20, 150),
                "methods": ["讲授式", "案例式"],
                "teachers": people(rng, 1, 3),
            })
        }
        "outreach_done" => {
            let t = weighted(
                rng,
                &[("community", 45), ("village", 35), ("hardship_visit", 20)],
            );
            let mut d = json!({"type": t, "place": format!("第{}社区", rng.between(1, 50))});
            if t == "hardship_visit" {
                d["people_visited"] = json!(rng.between(1, 12));
            }
            d
        }
        "result_submitted" => {
            let mut d = json!({
                "type": weighted(rng, &[("paper", 40), ("case", 20), ("advisory_report", 20), ("article", 20)]),
                "title": title(rng, "研究成果"),
                "venue": "市委党校",
                "outcome": weighted(rng, &[("submitted", 40), ("selected", 25), ("endorsed", 15), ("published", 20)]),
                "authors": people(rng, 1, 3),
            });
            if rng.chance(0.5) {
                d["project_id"] = json!(format!("{year}-KT{:04}", rng.below(500)));
            }
            d
        }
        "project_applied" | "project_approved" => {
            let mut d = json!({
                "project_id": format!("{year}-KT{:04}", rng.below(500)),
                "title": title(rng, "课题"),
                "funder": rng.pick(&FUNDERS),
                "lead": person(rng),
                "members": people(rng, 0, 4),
            });
            if kind == "project_approved" && rng.chance(0.3) {
                d["key"] = json!(rng.chance(0.5));
            }
            d
        }
        "visit_hosted" => json!({
            "class_name": title(rng, "外来班次"),
            "from": format!("第{}县委党校", rng.between(1, 40)),
            "trainees": rng.between(20, 120),
            "sites": ["红色教育基地", "乡村振兴示范村"],
        }),
        "commendation_given" => json!({
            "honour": weighted(rng, &[("party_affairs_worker", 40), ("party_member", 60)]),
            "recipient": person(rng),
        }),
        "course_developed" => json!({
            "type": weighted(rng, &[("micro_party", 40), ("thematic", 40), ("field_micro", 20)]),
            "title": title(rng, "课程"),
            "authors": people(rng, 1, 2),
        }),
        "plan_made" => json!({
            "title": title(rng, "工作打算"),
            "due": format!("{year}-12-31"),
            "area": weighted(rng, &[("party", 25), ("training", 25), ("research", 25), ("teachers", 25)]),
        }),
        "placement_started" => json!({
            "teacher": person(rng),
            "department": format!("县直第{}部门", rng.between(1, 40)),
            "months": rng.between(3, 12),
        }),
        "placement_ended" => json!({
            "teacher": person(rng),
            "department": format!("县直第{}部门", rng.between(1, 40)),
        }),
        "site_designated" => json!({
            "type": weighted(rng, &[("party_spirit", 40), ("rural_revitalisation", 40), ("featured", 20)]),
            "site": title(rng, "教学点"),
            "location": format!("第{}镇", rng.between(1, 20)),
        }),
        "election_completed" => json!({"branch": format!("第{}支部", rng.between(1, 6))}),
        "group_formed" => json!({"name": title(rng, "教研组"), "members": people(rng, 2, 5)}),
        other => unreachable!("no generator for {other}"),
    }
}

fn weighted<'a>(rng: &mut Rng, items: &[(&'a str, u64)]) -> &'a str {
    let total: u64 = items.iter().map(|(_, w)| w).sum();
    let mut r = rng.below(total);
    for (item, w) in items {
        if r < *w {
            return item;
        }
        r -= w;
    }
    items[items.len() - 1].0
}

fn weighted_kind(rng: &mut Rng) -> &'static str {
    let total: u64 = KINDS.iter().map(|(_, w)| w).sum();
    let mut r = rng.below(total);
    for (kind, w) in KINDS {
        if r < w {
            return kind;
        }
        r -= w;
    }
    KINDS[0].0
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("a real day")
}

/// Noon-ish on a day in the school's zone, plus some seconds, as UTC.
fn at(d: NaiveDate, seconds: u64) -> DateTime<Utc> {
    let local = d.and_hms_opt(1, 0, 0).expect("a real time");
    Utc.from_utc_datetime(&local) + Duration::seconds(seconds as i64)
}

/// Generates a log of exactly `n` drafts (n ≥ 100).
pub fn generate(n: usize, seed: u64) -> Log {
    assert!(n >= 100, "a log needs at least 100 events");
    let mut rng = Rng::new(seed);
    let years = (LAST_YEAR - FIRST_YEAR + 1) as usize;
    let corrections = n / 100;
    // Targets: each metric each year, and a revision of main_sessions in odd years.
    let targets = years * TARGET_METRICS.len() + years / 2;
    let activities = n - corrections - targets;
    let per_year = activities / years;
    let mut drafts: Vec<Draft> = Vec::with_capacity(n);
    let mut main_counts = vec![(0u64, 0u64, 0u64); years];
    for (y, counts) in main_counts.iter_mut().enumerate() {
        let year = FIRST_YEAR + y as i32;
        let count = if y == years - 1 {
            activities - per_year * (years - 1)
        } else {
            per_year
        };
        // Distinct class ids per category: about two sessions per class.
        let classes = (count as u64 * 12 / 100 / 2 / 2).max(1);
        let mut main_ids = std::collections::BTreeSet::new();
        let days = if year % 4 == 0 { 366 } else { 365 };
        for _ in 0..count {
            let kind = weighted_kind(&mut rng);
            let from = day(year, 1, 1) + Duration::days(rng.below(days) as i64);
            let to = match kind {
                "class_held" => from + Duration::days(rng.between(1, 5) as i64),
                "visit_hosted" => from + Duration::days(rng.below(2) as i64),
                _ => from,
            };
            let data = data(&mut rng, kind, year, classes);
            if kind == "class_held" && data["category"] == "main" {
                counts.1 += 1;
                counts.2 += data["trainees"].as_u64().unwrap_or(0);
                main_ids.insert(data["class_id"].as_str().unwrap_or_default().to_owned());
            }
            // Recorded within two weeks of its last day, at some second of the day.
            let recorded = at(to, rng.below(86_400)) + Duration::days(rng.below(14) as i64);
            drafts.push(Draft {
                id: rng.uuid(),
                kind,
                from,
                to,
                at: recorded,
                by: OFFICES[rng.below(OFFICES.len() as u64) as usize],
                data,
            });
        }
        counts.0 = main_ids.len() as u64;
    }
    for (y, (classes, sessions, trainees)) in main_counts.iter().enumerate() {
        let year = FIRST_YEAR + y as i32;
        let set_on = day(year, 1, 15);
        for (metric, value) in TARGET_METRICS.iter().zip([classes, sessions, trainees]) {
            drafts.push(Draft {
                id: rng.uuid(),
                kind: "target_set",
                from: set_on,
                to: set_on,
                at: at(set_on, rng.below(3_600)),
                by: "办公室",
                data: json!({"year": year, "metric": metric, "value": value * 95 / 100 + 1, "basis": format!("{year}年工作要点")}),
            });
        }
        if y % 2 == 1 && drafts.len() < n {
            let revised = day(year, 7, 1);
            drafts.push(Draft {
                id: rng.uuid(),
                kind: "target_set",
                from: revised,
                to: revised,
                at: at(revised, rng.below(3_600)),
                by: "办公室",
                data: json!({"year": year, "metric": "main_sessions", "value": sessions + 3, "basis": "年中调整"}),
            });
        }
    }
    // In the order the log learned of them (stable, so ties keep generation order).
    drafts.sort_by_key(|d| d.at);
    let mut out = Vec::with_capacity(n);
    // Indexes into `out` of activities that may still be corrected.
    let mut correctable: Vec<usize> = Vec::new();
    let mut left = n - drafts.len();
    let stride = (drafts.len() / left.max(1)).max(1);
    for (i, d) in drafts.into_iter().enumerate() {
        let recorded_at = d.at;
        if d.kind != "target_set" {
            correctable.push(out.len());
        }
        out.push(json!({
            "id": d.id.to_string(),
            "kind": d.kind,
            "occurred": if d.from == d.to { d.from.to_string() } else { format!("{}..{}", d.from, d.to) },
            "recorded_at": recorded_at.to_rfc3339(),
            "recorded_by": d.by,
            "data": d.data,
        }));
        if left > 0 && i % stride == stride - 1 && correctable.len() > 10 {
            // Correct one of the recent thousand activities not yet voided.
            let window = correctable.len().min(1000);
            let pos = correctable.len() - 1 - rng.below(window as u64) as usize;
            let t = correctable[pos];
            let target = out[t]["id"].as_str().expect("an id").to_owned();
            let void = rng.chance(0.5);
            let correction = if void {
                correctable.swap_remove(pos);
                json!({"kind": "event_voided", "data": {"target": target, "reason": "重复录入"}})
            } else {
                let kind = out[t]["kind"].as_str().expect("a kind").to_owned();
                let year = out[t]["occurred"].as_str().expect("a day")[..4]
                    .parse()
                    .expect("a year");
                let mut replacement = data(&mut rng, &kind, year, 50);
                if kind == "class_held" {
                    // Mostly a corrected head count; sometimes another category.
                    replacement["class_id"] = out[t]["data"]["class_id"].clone();
                }
                json!({"kind": "event_amended", "data": {"target": target, "data": replacement, "reason": "数据有误"}})
            };
            let mut c = correction;
            c["id"] = json!(rng.uuid().to_string());
            c["recorded_at"] = json!(recorded_at.to_rfc3339());
            c["recorded_by"] = json!("办公室");
            out.push(c);
            left -= 1;
        }
    }
    // Any corrections the stride did not place go at the end, a second apart.
    let mut last = moment(
        out.last().expect("a log")["recorded_at"]
            .as_str()
            .expect("a time"),
    );
    while left > 0 {
        let pos = rng.below(correctable.len() as u64) as usize;
        let t = correctable.swap_remove(pos);
        last += Duration::seconds(1);
        out.push(json!({
            "id": rng.uuid().to_string(),
            "kind": "event_voided",
            "recorded_at": last.to_rfc3339(),
            "recorded_by": "办公室",
            "data": {"target": out[t]["id"].clone(), "reason": "重复录入"},
        }));
        left -= 1;
    }
    debug_assert_eq!(out.len(), n);
    Log { drafts: out }
}

/// A random day in a year.
pub fn random_day(rng: &mut Rng, year: i32) -> NaiveDate {
    let days = if day(year, 12, 31).ordinal() == 366 {
        366
    } else {
        365
    };
    day(year, 1, 1) + Duration::days(rng.below(days) as i64)
}
