//! Measure 2: durable concurrent appends, sixteen threads at once through each system.
use std::time::Instant;

use annals::store::Store;
use chrono::Utc;
use events::{Catalog, NewEvent};

use crate::{
    append_one,
    appends::ROUNDS,
    meeting, new_event,
    peer::{Row, Sqlite},
    raw_record,
    rawsled::{self, RawSled, Record},
    say,
    synth::Rng,
    Runs, Work,
};

/// Measure 2: durable concurrent appends: 16 threads each appending single events
/// through `Store::append`, through a group-committing writer over raw sled, and through
/// 16 SQLite connections (one insert per transaction each); the systems take turns in
/// [`ROUNDS`] rounds of every run, as in measure 1.
#[allow(clippy::too_many_arguments)]
pub fn writers(
    w: &Work,
    store: &Store,
    raw_db: RawSled,
    catalog: &Catalog,
    rng: &mut Rng,
    k: usize,
    runs: usize,
) -> (Runs, RawSled) {
    let per = (k * 4 / WRITERS / ROUNDS).max(1);
    let count = (WRITERS * per * ROUNDS) as f64;
    let mut rate = Runs::default();
    let mut raw_db = Some(raw_db);
    for _ in 0..runs {
        let mut secs = [0.0; 3];
        for round in 0..ROUNDS {
            let mut batches = Some(writer_events(catalog, rng, per));
            let mut records = Some(writer_records(catalog, rng, per));
            let mut rows: Option<Vec<Vec<Row>>> = Some(
                (0..WRITERS)
                    .map(|_| {
                        (0..per)
                            .map(|_| Row::of(&meeting(rng), Utc::now()))
                            .collect()
                    })
                    .collect(),
            );
            let mut order = [0, 1, 2];
            if round % 2 == 1 {
                order.reverse();
            }
            for system in order {
                let t = Instant::now();
                match system {
                    0 => {
                        annals_writers(store, batches.take().expect("once"));
                    }
                    1 => {
                        let db = raw_db.take().expect("raw sled");
                        let (_, db) = raw_writers(db, records.take().expect("once"));
                        raw_db = Some(db);
                    }
                    _ => std::thread::scope(|s| {
                        for rows in rows.take().expect("once") {
                            let path = w.sqlite.clone();
                            s.spawn(move || {
                                let db = Sqlite::open(&path).expect("SQLite opens");
                                for row in &rows {
                                    db.append(row).expect("the insert");
                                }
                            });
                        }
                    }),
                }
                secs[system] += t.elapsed().as_secs_f64();
            }
        }
        rate.annals.push(count / secs[0]);
        rate.raw.push(count / secs[1]);
        rate.sqlite.push(count / secs[2]);
    }
    let (a, r, s) = rate.medians();
    say(
        w.n,
        &format!("16 writers: Annals {a:.0}/s, raw sled {r:.0}/s, SQLite {s:.0}/s"),
    );
    (rate, raw_db.expect("raw sled"))
}

/// How many threads append at once in measure 2.
pub const WRITERS: usize = 16;

/// `per` new events for each of the [`WRITERS`].
pub fn writer_events(catalog: &Catalog, rng: &mut Rng, per: usize) -> Vec<Vec<NewEvent>> {
    (0..WRITERS)
        .map(|_| {
            (0..per)
                .map(|_| new_event(catalog, &meeting(rng)))
                .collect()
        })
        .collect()
}

/// `per` records of new events for each of the [`WRITERS`] (the writer gives each its
/// seq).
pub fn writer_records(catalog: &Catalog, rng: &mut Rng, per: usize) -> Vec<Vec<Record>> {
    writer_events(catalog, rng, per)
        .iter()
        .map(|evs| evs.iter().map(|ev| raw_record(ev, 0)).collect())
        .collect()
}

/// Each thread appends its events one by one through `Store::append`; events/s.
pub fn annals_writers(store: &Store, batches: Vec<Vec<NewEvent>>) -> f64 {
    let count: usize = batches.iter().map(Vec::len).sum();
    let t = Instant::now();
    std::thread::scope(|s| {
        for evs in batches {
            s.spawn(move || {
                for ev in evs {
                    append_one(store, ev);
                }
            });
        }
    });
    count as f64 / t.elapsed().as_secs_f64()
}

/// Each thread appends its records one by one through raw sled's group-committing
/// writer; events/s, and the database back.
pub fn raw_writers(db: RawSled, records: Vec<Vec<Record>>) -> (f64, RawSled) {
    let count: usize = records.iter().map(Vec::len).sum();
    let group = rawsled::GroupWriter::start(db);
    let t = Instant::now();
    std::thread::scope(|s| {
        for records in records {
            let appender = group.handle();
            s.spawn(move || {
                for r in records {
                    appender.append(r).expect("the raw append");
                }
            });
        }
    });
    let rate = count as f64 / t.elapsed().as_secs_f64();
    (rate, group.stop())
}
