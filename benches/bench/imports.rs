//! Measure 3: importing the synthetic log into an empty store, each system in turn.
use std::{sync::Arc, time::Instant};

use events::Catalog;
use serde_json::json;

use crate::{
    child::{self, num},
    fresh, open,
    peer::Sqlite,
    rawsled, say, Runs, Work,
};

/// Measure 3: import into an empty store, each system in turn in every run: Annals' JSONL
/// import and raw sled's writes of the same records in fresh processes (which also
/// give their peak memory), SQLite's batched inserts of the JSONL here. After Annals'
/// first import its records are read back for raw sled. Returns the rates and the
/// peak memory (Annals, raw sled), and raw sled's count and checksum to check against.
pub fn imports(w: &Work, bytes: &[u8], runs: usize) -> (Runs, Runs, (u64, u32)) {
    let (mut rate, mut rss) = (Runs::default(), Runs::default());
    let mut expected = (0, 0);
    for run in 0..runs {
        fresh(&w.annals);
        let v = child::spawn("import-annals", &w.annals, Some(&w.jsonl));
        assert_eq!(v["added"], json!(w.n), "{v}");
        rate.annals.push(w.n as f64 / (num(&v, "ms") / 1e3));
        rss.annals.push(num(&v, "rss_mb"));
        if run == 0 {
            let catalog = Arc::new(Catalog::embedded());
            let records = rawsled::records_of(&open(&w.annals, &catalog));
            assert_eq!(records.len(), w.n + 1, "the events and the import's record");
            rawsled::save(&records, &w.records).expect("the records file");
            expected = rawsled::checksum(&records);
        }
        fresh(&w.raw);
        let v = child::spawn("import-raw", &w.raw, Some(&w.records));
        assert_eq!(v["added"], json!(w.n + 1), "{v}");
        rate.raw.push(w.n as f64 / (num(&v, "ms") / 1e3));
        rss.raw.push(num(&v, "rss_mb"));
        fresh(&w.sqlite);
        let mut db = Sqlite::open(&w.sqlite).expect("SQLite opens");
        let t = Instant::now();
        db.import(bytes, 10_000).expect("SQLite imports");
        rate.sqlite.push(w.n as f64 / t.elapsed().as_secs_f64());
        say(
            w.n,
            &format!(
                "import run {}: Annals {:.0}/s ({:.0} MB), raw sled {:.0}/s ({:.0} MB), SQLite {:.0}/s",
                run + 1,
                rate.annals[run],
                rss.annals[run],
                rate.raw[run],
                rss.raw[run],
                rate.sqlite[run]
            ),
        );
    }
    (rate, rss, expected)
}
