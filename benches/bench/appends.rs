//! Measure 1: durable single appends, one writer, the systems taking turns; and the
//! disk's floor (a small write and fdatasync) in the same runs.
use std::time::Instant;

use annals::store::Store;
use chrono::Utc;
use events::{Catalog, NewEvent};
use serde_json::Value;

use crate::{
    append_one, meeting, new_event,
    peer::{Row, Sqlite},
    raw_record,
    rawsled::{self, RawSled, Record},
    say,
    stats::Latencies,
    synth::Rng,
    table::median,
    Runs, Work,
};

/// Rounds each run's appends are cut into. The systems take turns, in the opposite
/// order every other round, so that a change in the machine's load during a run falls
/// on each of them alike (this machine is shared; its speed moves within seconds).
pub const ROUNDS: usize = 4;

/// One system's latencies (ms) and time appending (s), summed over a run's rounds.
#[derive(Default)]
pub struct Timed {
    lat: Latencies,
    secs: f64,
}

impl Timed {
    /// Times `f`, which appends and notes each append's latency.
    pub fn time(&mut self, f: impl FnOnce(&mut Latencies)) {
        let t = Instant::now();
        f(&mut self.lat);
        self.secs += t.elapsed().as_secs_f64();
    }

    /// Appends per second, p50 and p99 (ms).
    pub fn figures(self) -> (f64, f64, f64) {
        let rate = self.lat.len() as f64 / self.secs;
        (rate, self.lat.quantile(0.5), self.lat.quantile(0.99))
    }
}

/// Times `f` once, in ms.
pub fn ms(f: impl FnOnce()) -> f64 {
    let t = Instant::now();
    f();
    t.elapsed().as_secs_f64() * 1e3
}

/// Measure 1: durable single appends, one writer, the systems taking turns in
/// [`ROUNDS`] rounds of every run; and the disk's floor in the same runs. Raw sled
/// appends twice: by bare calls on the caller's thread (the floor of the design), and
/// through its writer thread as the store's appends go (each handed to the writer and
/// answered), which tells the hand-over's cost apart from the store's own work.
pub struct Single {
    pub rate: Runs,
    pub p50: Runs,
    pub p99: Runs,
    pub floor: Vec<f64>,
    /// Raw sled through its writer thread: events/s, p50 and p99 ms.
    pub handed: (Vec<f64>, Vec<f64>, Vec<f64>),
}

#[allow(clippy::too_many_arguments)]
pub fn single_appends(
    w: &Work,
    store: &Store,
    mut raw_db: RawSled,
    db: &Sqlite,
    catalog: &Catalog,
    rng: &mut Rng,
    k: usize,
    runs: usize,
) -> (Single, RawSled) {
    let mut s = Single {
        rate: Runs::default(),
        p50: Runs::default(),
        p99: Runs::default(),
        floor: Vec::new(),
        handed: (Vec::new(), Vec::new(), Vec::new()),
    };
    let per = (k / ROUNDS).max(1);
    for _ in 0..runs {
        s.floor.push(floor(w, k));
        // Annals, raw sled by bare calls, raw sled through its writer, SQLite.
        let mut timed: [Timed; 4] = Default::default();
        for round in 0..ROUNDS {
            let drafts: Vec<Value> = (0..per).map(|_| meeting(rng)).collect();
            let mut evs: Vec<NewEvent> = drafts.iter().map(|d| new_event(catalog, d)).collect();
            let mut direct: Vec<Record> = evs.iter().map(|ev| raw_record(ev, 0)).collect();
            let mut handed: Vec<Record> = (0..per)
                .map(|_| raw_record(&new_event(catalog, &meeting(rng)), 0))
                .collect();
            let rows: Vec<Row> = drafts.iter().map(|d| Row::of(d, Utc::now())).collect();
            let mut order = [0, 1, 2, 3];
            if round % 2 == 1 {
                order.reverse();
            }
            for system in order {
                let t = &mut timed[system];
                match system {
                    0 => t.time(|lat| {
                        for ev in std::mem::take(&mut evs) {
                            lat.record(ms(|| append_one(store, ev)));
                        }
                    }),
                    1 => {
                        let mut seq = raw_db.last_seq().expect("raw sled reads");
                        t.time(|lat| {
                            for mut r in std::mem::take(&mut direct) {
                                seq += 1;
                                r.seq = seq;
                                lat.record(ms(|| {
                                    raw_db
                                        .write(std::slice::from_ref(&r))
                                        .expect("the raw append");
                                }));
                            }
                        });
                    }
                    2 => {
                        let group = rawsled::GroupWriter::start(raw_db);
                        let appender = group.handle();
                        t.time(|lat| {
                            for r in std::mem::take(&mut handed) {
                                lat.record(ms(|| appender.append(r).expect("the raw append")));
                            }
                        });
                        drop(appender);
                        raw_db = group.stop();
                    }
                    _ => t.time(|lat| {
                        for row in &rows {
                            lat.record(ms(|| db.append(row).expect("the insert")));
                        }
                    }),
                }
            }
        }
        let [annals, raw, handed, sqlite] = timed;
        for (runs, t) in [(0, annals), (1, raw), (2, sqlite)] {
            let (rate, p50, p99) = t.figures();
            for (fig, v) in [(&mut s.rate, rate), (&mut s.p50, p50), (&mut s.p99, p99)] {
                [&mut fig.annals, &mut fig.raw, &mut fig.sqlite][runs].push(v);
            }
        }
        let (rate, p50, p99) = handed.figures();
        s.handed.0.push(rate);
        s.handed.1.push(p50);
        s.handed.2.push(p99);
    }
    let (a, r, q) = s.rate.medians();
    say(
        w.n,
        &format!(
            "single appends: Annals {a:.0}/s p99 {:.2} ms, raw sled {r:.0}/s p99 {:.2} ms (through its writer {:.0}/s p99 {:.2} ms), SQLite {q:.0}/s p99 {:.2} ms",
            median(s.p99.annals.clone()),
            median(s.p99.raw.clone()),
            median(s.handed.0.clone()),
            median(s.handed.2.clone()),
            median(s.p99.sqlite.clone())
        ),
    );
    (s, raw_db)
}

/// The disk's floor: one small write plus fdatasync, in a file whose blocks are
/// already allocated (as a log's are), so no metadata needs journalling. The median
/// of `k`, in ms.
pub fn floor(w: &Work, k: usize) -> f64 {
    use std::io::{Seek, SeekFrom, Write};
    let floor_path = w.annals.with_file_name("floor");
    let mut floor_file = std::fs::File::create(&floor_path).expect("a scratch file");
    floor_file
        .write_all(&vec![0u8; 256 * 4096])
        .and_then(|()| floor_file.sync_all())
        .expect("a preallocated scratch file");
    let mut lat = Latencies::default();
    for i in 0..k {
        let one = Instant::now();
        floor_file
            .seek(SeekFrom::Start((i as u64 % 256) * 4096))
            .and_then(|_| floor_file.write_all(&[b'x'; 300]))
            .and_then(|()| floor_file.sync_data())
            .expect("write and fdatasync");
        lat.record(one.elapsed().as_secs_f64() * 1e3);
    }
    let _ = std::fs::remove_file(&floor_path);
    lat.quantile(0.5)
}
