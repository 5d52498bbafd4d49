//! Issue 5's smoke test: the benchmark's synthetic log (N = 10 000, one repetition) in
//! Annals and in SQLite, and both must give the same figures; and (issue 14) raw sled,
//! the bench's third system, must hold exactly the records Annals stored. No timing is
//! asserted; the generator, the SQLite peer, raw sled and the comparison are the
//! benchmark's own (`benches/common/`), so what CI checks is what `cargo bench` measures.
// The parts only the timing uses (appends, sizes on disk) go unused here.
#[allow(dead_code)]
#[path = "../../benches/common/agree.rs"]
mod agree;
#[allow(dead_code)]
#[path = "../../benches/common/peer.rs"]
mod peer;
#[path = "../../benches/common/rawsled.rs"]
mod rawsled;
// Shared with the hub's tests (`hub::figures`), which simulate schools with it.
#[path = "../../benches/common/synth.rs"]
pub(crate) mod synth;

use annals::views::{self, Cache};
use chrono::Utc;
use projections::metric::Metrics;
use uuid::Uuid;

use crate::helpers::{catalog, TestStore};

#[test]
fn annals_and_sqlite_agree_on_every_figure_of_the_synthetic_log() {
    let log = synth::generate(10_000, synth::SEED);
    assert_eq!(log.drafts.len(), 10_000);
    let bytes = log.jsonl();
    let annals = TestStore::new();
    let outcome = annals
        .import(&bytes)
        .expect("the synthetic log is catalog-valid");
    assert_eq!(outcome.added, 10_000);
    let dir = tempfile::tempdir().expect("a temporary folder");
    let mut db = peer::Sqlite::open(&dir.path().join("peer.sqlite")).expect("SQLite opens");
    assert_eq!(db.import(&bytes, 10_000).expect("SQLite imports"), 10_000);

    let metrics = Metrics::embedded(&catalog()).expect("the embedded metrics");
    let facts = views::fold(&annals.store).expect("the log folds");
    let mut rng = synth::Rng::new(synth::SEED);
    let now = Utc::now();
    let agreed = agree::check(&facts, &db, &metrics, &mut rng, log.recorded_span(), now)
        .unwrap_or_else(|diffs| panic!("Annals and SQLite disagree:\n{diffs}"));
    assert_eq!(agreed.metrics, metrics.iter().count());
    assert!(agreed.progress_lines >= 3, "{agreed:?}");
    assert!(agreed.values["main_sessions"] > 0, "{agreed:?}");

    // Known now, a metric's value comes from running totals built once per fold; on
    // any day of any year they give what a scan of the facts gives.
    for _ in 0..40 {
        let on = agree::random_on(&mut rng);
        let period = projections::period::Period::year(chrono::Datelike::year(&on));
        let q = projections::period::Query {
            period,
            on,
            known_at: now,
        };
        for m in metrics.iter() {
            let from = match m.scope {
                projections::metric::Scope::Period => period.from(),
                projections::metric::Scope::Cumulative => chrono::NaiveDate::MIN,
            };
            assert_eq!(
                m.value(&facts, &q),
                m.value_between(&facts, from, period.to().min(on), now),
                "{} on {on}",
                m.name
            );
        }
    }

    // The server's cache answers as the fold does on the same log.
    let cache = Cache::default();
    let cached = cache.read(&annals.store).expect("the cache fills");
    let q = agree::year_query(now);
    assert_eq!(
        agree::annals_values(&cached, &metrics, &q),
        agreed.values,
        "the cache equals the fold"
    );

    // Raw sled holds, written in its own transactions, exactly the records Annals stored
    // (the import's own record included), and its writer appends after them.
    let records = rawsled::records_of(&annals.store);
    assert_eq!(records.len(), 10_001);
    assert_eq!(
        records.iter().filter(|r| r.target.is_some()).count(),
        agreed_corrections(&annals),
    );
    let file = dir.path().join("records.bin");
    rawsled::save(&records, &file).expect("the records file");
    assert_eq!(rawsled::load(&file).expect("it reads back"), records);
    let raw = rawsled::RawSled::open(&dir.path().join("raw-sled")).expect("raw sled opens");
    raw.write(&records).expect("raw sled writes");
    assert_eq!(
        raw.scan().expect("raw sled scans"),
        rawsled::checksum(&records)
    );
    let group = rawsled::GroupWriter::start(raw);
    std::thread::scope(|s| {
        for t in 0..4u128 {
            let appender = group.handle();
            let bytes = records[0].bytes.clone();
            s.spawn(move || {
                for i in 0..3 {
                    let record = rawsled::Record {
                        seq: 0,
                        id: Uuid::from_u128(t * 10 + i),
                        target: None,
                        bytes: bytes.clone(),
                    };
                    appender.append(record).expect("a raw append");
                }
            });
        }
    });
    let raw = group.stop();
    assert_eq!(raw.last_seq().expect("raw sled reads"), 10_001 + 12);
}

/// How many corrections the store holds (every one has a target).
fn agreed_corrections(annals: &TestStore) -> usize {
    annals
        .events()
        .iter()
        .filter(|e| matches!(e.kind.as_str(), "event_voided" | "event_amended"))
        .count()
}
