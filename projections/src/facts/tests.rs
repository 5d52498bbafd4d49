//! The compact fold and its snapshot: the fold of the example log and of random logs
//! reads back from its snapshot equal in every figure, fact and revision; cut or
//! changed snapshots are refused, and never make a panic.
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use events::{Envelope, GENESIS};
use serde_json::{json, Value};
use uuid::Uuid;

use super::*;
use crate::{metric::Metrics, period::Query, SnapshotError};

/// The example dataset (import lines) as a log.
fn example() -> Vec<Envelope> {
    include_str!("../../../examples/school-2023h1.jsonl")
        .lines()
        .enumerate()
        .map(|(i, line)| {
            let mut d: Value = serde_json::from_str(line).unwrap();
            let at = DateTime::parse_from_rfc3339(d["recorded_at"].as_str().unwrap())
                .unwrap()
                .with_timezone(&Utc);
            Envelope {
                id: d["id"].as_str().unwrap().parse().unwrap(),
                seq: i as u64 + 1,
                kind: d["kind"].as_str().unwrap().to_owned(),
                version: 1,
                occurred: d["occurred"]
                    .as_str()
                    .unwrap_or(&at.date_naive().to_string())
                    .parse()
                    .unwrap(),
                recorded_at: at,
                recorded_by: d["recorded_by"].as_str().unwrap().to_owned(),
                data: d["data"].take(),
                prev_hash: GENESIS,
                hash: GENESIS,
            }
        })
        .collect()
}

/// xorshift64*: the same random log on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

/// Any JSON value, nested up to `depth`.
fn any_value(rng: &mut Rng, depth: u32) -> Value {
    match rng.below(if depth == 0 { 7 } else { 9 }) {
        0 => Value::Null,
        1 => json!(rng.below(2) == 0),
        2 => json!(rng.next() >> rng.below(64)),
        3 => json!(-((rng.next() >> (rng.below(63) + 1)) as i64) - 1),
        4 => json!((rng.next() >> 11) as f64 / 1024.0 - 1e9),
        5 => json!(rng.pick(&["第3支部", "", "x", "会议第8362号", "\"quoted\" \\"])),
        6 => json!(format!("text {}", rng.below(1000))),
        7 => Value::Array(
            (0..rng.below(4))
                .map(|_| any_value(rng, depth - 1))
                .collect(),
        ),
        _ => Value::Object(
            (0..rng.below(4))
                .map(|_| {
                    (
                        rng.pick(&["a", "b", "名", "type"]).to_owned(),
                        any_value(rng, depth - 1),
                    )
                })
                .collect(),
        ),
    }
}

/// A random log: activities metrics count (with fields their filters read, and odd
/// extra ones), targets, amendments and voids (some of unknown events), recording times
/// with and without whole microseconds, ranges across New Year.
fn random_log(seed: u64, n: usize) -> Vec<Envelope> {
    let mut rng = Rng(seed | 1);
    let mut log: Vec<Envelope> = Vec::new();
    let mut at = Utc.with_ymd_and_hms(2021, 1, 1, 0, 0, 0).unwrap();
    let mut ids: Vec<Uuid> = Vec::new();
    for seq in 1..=n as u64 {
        at += Duration::seconds(rng.below(3 * 86_400) as i64)
            + Duration::nanoseconds(if rng.below(4) == 0 {
                rng.below(1_000_000_000) as i64
            } else {
                rng.below(1_000_000) as i64 * 1000
            });
        let start = NaiveDate::from_ymd_opt(2021, 1, 1).unwrap()
            + Duration::days(rng.below(6 * 365) as i64);
        let end = start
            + Duration::days(if rng.below(5) == 0 {
                rng.below(40) as i64
            } else {
                0
            });
        let id = Uuid::from_u128(u128::from(rng.next()) << 64 | u128::from(rng.next()));
        let (kind, mut data) = match rng.below(10) {
            0 | 1 if !ids.is_empty() => {
                let target = if rng.below(10) == 0 {
                    Uuid::from_u128(1).to_string()
                } else {
                    ids[rng.below(ids.len() as u64) as usize].to_string()
                };
                if rng.below(2) == 0 {
                    (
                        "event_voided",
                        json!({"target": target, "reason": rng.pick(&["重复录入", "错"])}),
                    )
                } else {
                    let mut d = json!({"target": target, "data": {"category": rng.pick(&["main", "co_organised"]), "trainees": rng.below(100), "class_id": format!("C{}", rng.below(5))}});
                    if rng.below(2) == 0 {
                        d["reason"] = json!("更正人数");
                    }
                    ("event_amended", d)
                }
            }
            2 => (
                "target_set",
                json!({"year": 2021 + rng.below(6), "metric": rng.pick(&["main_classes", "main_sessions", "main_class_trainees"]), "value": rng.below(50)}),
            ),
            3 | 4 => (
                "class_held",
                json!({"category": rng.pick(&["main", "co_organised"]), "trainees": rng.below(100), "class_id": format!("C{}", rng.below(5)), "teachers": ["王敏", rng.pick(&["李伟", "张静"])]}),
            ),
            5 => (
                "project_applied",
                json!({"funder": rng.pick(&["provincial_school", "city_cppcc", "city_social_science"]), "key": rng.below(2) == 0, "lead": "王敏", "members": ["李伟"], "project_id": format!("P{}", rng.below(9))}),
            ),
            _ => (
                "meeting_held",
                json!({"type": rng.pick(&["school_committee", "theory_study", "other"]), "attendees": rng.below(90)}),
            ),
        };
        if rng.below(3) == 0 {
            data["extra"] = any_value(&mut rng, 3);
        }
        if !kind.starts_with("event_") {
            ids.push(id);
        }
        log.push(Envelope {
            id,
            seq,
            kind: kind.into(),
            version: 1,
            occurred: Occurred::range(start, end).unwrap(),
            recorded_at: at,
            recorded_by: rng.pick(&["办公室", "教务科", "科研科"]).into(),
            data,
            prev_hash: GENESIS,
            hash: GENESIS,
        });
    }
    log
}

/// Every figure of every embedded metric, over years, days and moments.
fn figures(facts: &Facts, log: &[Envelope]) -> Vec<u64> {
    let metrics = metrics();
    let step = (log.len() / 8).max(1);
    let mut moments: Vec<DateTime<Utc>> = log.iter().step_by(step).map(|e| e.recorded_at).collect();
    moments.push(Utc::now());
    let mut out = Vec::new();
    for year in 2021..=2027 {
        for period in [format!("{year}"), format!("{year}H1")] {
            for &known_at in &moments {
                let q = Query {
                    period: period.parse().unwrap(),
                    on: NaiveDate::from_ymd_opt(year, 9, 30).unwrap(),
                    known_at,
                };
                out.extend(metrics.iter().map(|m| m.value(facts, &q)));
            }
        }
    }
    out
}

fn metrics() -> &'static Metrics {
    static METRICS: std::sync::OnceLock<Metrics> = std::sync::OnceLock::new();
    METRICS.get_or_init(|| Metrics::embedded(&events::Catalog::embedded()).unwrap())
}

/// Everything the facts say of every fact, as JSON.
fn content(facts: &Facts) -> Value {
    json!({
        "facts": facts.iter().collect::<Vec<_>>(),
        "head_seq": facts.head_seq(),
        "head_recorded_at": facts.head_recorded_at(),
    })
}

/// The two folds hold the same rows, data, texts and indexes, and answer alike.
fn assert_same(a: &Facts, b: &Facts, log: &[Envelope]) {
    assert_eq!(a.rows, b.rows);
    assert_eq!(a.corrections, b.corrections);
    assert_eq!(a.data, b.data);
    assert!(a.strings.iter().eq(b.strings.iter()));
    assert_eq!(a.by_kind.len(), b.by_kind.len());
    for (kind, index) in &a.by_kind {
        assert_eq!(Some(index), b.by_kind.get(kind));
    }
    assert_eq!(content(a), content(b));
    assert_eq!(figures(a, log), figures(b, log));
    for f in a.iter() {
        assert_eq!(b.get(f.id()).map(|g| g.seq()), Some(f.seq()));
    }
}

#[test]
fn a_row_stays_at_64_bytes() {
    // A million of them are most of a large fold's memory.
    assert_eq!(std::mem::size_of::<Row>(), 64);
}

#[test]
fn the_example_folds_to_a_snapshot_that_reads_back_equal() {
    let log = example();
    let facts = Facts::from_log(&log);
    let back = Facts::from_snapshot(&facts.to_snapshot()).unwrap();
    assert_same(&facts, &back, &log);
    let taken = Facts::from_snapshot_vec(facts.to_snapshot()).unwrap();
    assert_same(&facts, &taken, &log);
    assert!(
        facts.iter().any(|f| f.corrections().len() > 0),
        "the example has corrections"
    );
}

#[test]
fn random_logs_fold_to_snapshots_that_read_back_equal_and_extend_as_a_fold() {
    for seed in 1..=12 {
        let log = random_log(seed, 400);
        let facts = Facts::from_log(&log);
        let back = Facts::from_snapshot(&facts.to_snapshot()).unwrap();
        assert_same(&facts, &back, &log);
        // A snapshot of a prefix, extended with the rest, is the fold of the whole.
        let cut = (seed as usize * 31) % log.len();
        let mut extended =
            Facts::from_snapshot(&Facts::from_log(&log[..cut]).to_snapshot()).unwrap();
        for e in &log[cut..] {
            extended.apply(e);
        }
        assert_same(&facts, &extended, &log);
    }
}

#[test]
fn the_empty_fold_round_trips() {
    let back = Facts::from_snapshot(&Facts::default().to_snapshot()).unwrap();
    assert!(back.is_empty());
    assert_eq!(back.head_recorded_at(), None);
}

#[test]
fn a_cut_or_changed_snapshot_is_refused() {
    let log = random_log(7, 60);
    let bytes = Facts::from_log(&log).to_snapshot();
    for cut in 0..bytes.len() {
        assert!(Facts::from_snapshot(&bytes[..cut]).is_err(), "cut at {cut}");
        assert!(
            Facts::from_snapshot_vec(bytes[..cut].to_vec()).is_err(),
            "cut at {cut}"
        );
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(Facts::from_snapshot(&longer).is_err());
    for at in 0..bytes.len() {
        for bit in [0x01, 0x80] {
            let mut changed = bytes.clone();
            changed[at] ^= bit;
            assert!(
                Facts::from_snapshot(&changed).is_err(),
                "byte {at} ^ {bit:#x}"
            );
        }
    }
    assert!(matches!(
        Facts::from_snapshot(b"PK\x03\x04 a zip"),
        Err(SnapshotError::NotASnapshot)
    ));
    let mut other_version = bytes.clone();
    other_version[8] = 99;
    assert!(matches!(
        Facts::from_snapshot(&other_version),
        Err(SnapshotError::Version { found: 99, .. })
    ));
}

/// Recomputes the checksum, as if the bytes had been written that way.
fn reseal(bytes: &mut [u8]) {
    let end = bytes.len() - 4;
    let sum = super::snapshot::tests_checksum(&bytes[..end]);
    bytes[end..].copy_from_slice(&sum.to_le_bytes());
}

#[test]
fn garbled_content_with_a_good_checksum_is_refused_or_read_safely() {
    // Past the checksum, every number is checked as it is read: whatever the bytes say,
    // decoding and then asking the result anything must not panic.
    let log = random_log(3, 80);
    let bytes = Facts::from_log(&log).to_snapshot();
    let mut rng = Rng(99);
    let mut refused = 0;
    for round in 0..3000 {
        let mut garbled = bytes.clone();
        for _ in 0..=rng.below(3) {
            let at = 12 + rng.below(garbled.len() as u64 - 20) as usize;
            garbled[at] = match round % 3 {
                0 => rng.next() as u8,
                1 => garbled[at] ^ (1 << rng.below(8)),
                _ => 0xff,
            };
        }
        reseal(&mut garbled);
        match Facts::from_snapshot(&garbled) {
            Err(_) => refused += 1,
            Ok(facts) => {
                let _ = content(&facts);
                for m in metrics().iter() {
                    let on = NaiveDate::from_ymd_opt(2023, 6, 30).unwrap();
                    m.value_between(&facts, NaiveDate::MIN, on, log[40].recorded_at);
                    m.window(&facts, NaiveDate::MIN, on);
                }
            }
        }
    }
    assert!(refused > 1000, "most garbles are noticed: {refused}");
}

#[test]
fn a_kind_s_facts_come_in_seq_order_and_a_period_s_each_once() {
    let log = random_log(5, 600);
    let facts = Facts::from_log(&log);
    for kind in [
        "class_held",
        "meeting_held",
        "target_set",
        "project_applied",
        "none",
    ] {
        let scan: Vec<u64> = facts
            .iter()
            .filter(|f| f.kind() == kind)
            .map(|f| f.seq())
            .collect();
        let indexed: Vec<u64> = facts.of_kind(kind).map(|f| f.seq()).collect();
        assert_eq!(indexed, scan, "{kind}");
        for (from, to) in [(2021, 2021), (2022, 2024), (2019, 2030), (2026, 2026)] {
            let from = NaiveDate::from_ymd_opt(from, 3, 1).unwrap();
            let to = NaiveDate::from_ymd_opt(to, 11, 30).unwrap();
            for day in [Day::Start, Day::End] {
                let pick = |f: &Fact<'_>| match day {
                    Day::Start => f.occurred().start(),
                    Day::End => f.occurred().end(),
                };
                let mut found = Vec::new();
                for run in facts.of_kind_in(kind, day, from, to) {
                    let run: Vec<Fact<'_>> = run.collect();
                    assert!(
                        run.windows(2).all(|w| w[0].seq() < w[1].seq()),
                        "a run in seq order"
                    );
                    found.extend(
                        run.iter()
                            .filter(|f| (from..=to).contains(&pick(f)))
                            .map(|f| f.seq()),
                    );
                }
                found.sort_unstable();
                let expected: Vec<u64> = facts
                    .iter()
                    .filter(|f| f.kind() == kind && (from..=to).contains(&pick(f)))
                    .map(|f| f.seq())
                    .collect();
                assert_eq!(found, expected, "{kind} {day:?} {from}..{to}");
            }
        }
    }
}
