//! Measure 4: cold starts in fresh processes (every default metric; open and scan),
//! the systems checked against each other as they go.
use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::{
    child::{self, num},
    say,
    table::median,
    Runs, Work,
};

/// Measure 4: cold starts, each in a fresh process: every default metric (Annals from its
/// snapshot, SQLite by its queries), and opening the store and reading every event
/// once (Annals through `Store::scan`, raw sled bare). The first Annals start after the
/// import folds the whole log and leaves the snapshot; it is returned on its own.
pub struct Cold {
    pub first_ms: f64,
    pub metrics: Runs,
    pub cpu: Runs,
    pub open: Runs,
    pub scan: Runs,
}

pub fn cold(w: &Work, runs: usize, expected: (u64, u32)) -> Cold {
    let first = child::spawn("cold-annals", &w.annals, None);
    let first_values: BTreeMap<String, u64> =
        serde_json::from_value(first["values"].clone()).expect("values");
    let mut c = Cold {
        first_ms: num(&first, "ms"),
        metrics: Runs::default(),
        cpu: Runs::default(),
        open: Runs::default(),
        scan: Runs::default(),
    };
    for _ in 0..runs {
        let a = child::spawn("cold-annals", &w.annals, None);
        let s = child::spawn("cold-sqlite", &w.sqlite, None);
        let values = |v: &Value| -> BTreeMap<String, u64> {
            serde_json::from_value(v["values"].clone()).expect("values")
        };
        assert_eq!(
            values(&a),
            values(&s),
            "the cold rebuilds disagree on the current year's metrics"
        );
        assert_eq!(
            values(&a),
            first_values,
            "the fold from the snapshot disagrees with the fold of the whole log"
        );
        c.metrics.annals.push(num(&a, "ms"));
        c.metrics.sqlite.push(num(&s, "ms"));
        c.cpu.annals.push(num(&a, "cpu_ms"));
        c.cpu.sqlite.push(num(&s, "cpu_ms"));
        let a = child::spawn("scan-annals", &w.annals, None);
        let r = child::spawn("scan-raw", &w.raw, None);
        assert_eq!(a["count"], json!(expected.0), "Annals' scan: {a}");
        assert_eq!(
            (r["count"].clone(), r["crc"].clone()),
            (json!(expected.0), json!(expected.1)),
            "raw sled holds other records than Annals"
        );
        c.open.annals.push(num(&a, "open_ms"));
        c.open.raw.push(num(&r, "open_ms"));
        c.scan.annals.push(num(&a, "scan_ms"));
        c.scan.raw.push(num(&r, "scan_ms"));
    }
    say(
        w.n,
        &format!(
            "cold: every metric Annals {:.0} ms, SQLite {:.0} ms; open + scan Annals {:.0} + {:.0} ms, raw sled {:.0} + {:.0} ms",
            median(c.metrics.annals.clone()),
            median(c.metrics.sqlite.clone()),
            median(c.open.annals.clone()),
            median(c.scan.annals.clone()),
            median(c.open.raw.clone()),
            median(c.scan.raw.clone()),
        ),
    );
    c
}
