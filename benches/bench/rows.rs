//! The table's rows: each measure's figures for the three systems, with the bar issue
//! 14 (or 5) holds it to.
use crate::{
    appends::Single,
    cold::Cold,
    stats::Latencies,
    table::{median, Line},
    Runs,
};

/// The table's rows, each with issue 14's bar where it sets one (issue 5's for the
/// HTTP rate).
#[allow(clippy::too_many_arguments)]
pub fn lines(
    single: &Single,
    conc: &Runs,
    import: &Runs,
    import_rss: &Runs,
    cold: &Cold,
    [a_on, s_on, a_at, s_at]: [&Latencies; 4],
    (rps, http_p99, first_ms, serve_rss): (f64, f64, f64, f64),
    (a_disk, r_disk, s_disk, a_disk_snapshot): (f64, f64, f64, f64),
) -> Vec<Line> {
    let three = |name, unit, runs: &Runs| {
        let (a, r, s) = runs.medians();
        Line::new(name, unit, a).raw(r).sqlite(s)
    };
    let (a1, r1, s1) = single.rate.medians();
    let (a2, r2, s2) = conc.medians();
    let (a3, r3, _) = import.medians();
    let a4 = median(cold.metrics.annals.clone());
    let a_p99 = median(single.p99.annals.clone());
    let (on_a, on_s) = (a_on.quantile(0.5), s_on.quantile(0.5));
    let (at_a, at_s) = (a_at.quantile(0.5), s_at.quantile(0.5));
    let import_peak = median(import_rss.annals.clone());
    let open_scan = Runs {
        annals: cold
            .open
            .annals
            .iter()
            .zip(&cold.scan.annals)
            .map(|(a, b)| a + b)
            .collect(),
        raw: cold
            .open
            .raw
            .iter()
            .zip(&cold.scan.raw)
            .map(|(a, b)| a + b)
            .collect(),
        sqlite: Vec::new(),
    };
    let only = |name, unit, annals: f64, raw: f64| Line::new(name, unit, annals).raw(raw);
    vec![
        Line::new("1. durable single appends", "events/s", a1)
            .raw(r1)
            .sqlite(s1)
            .bar("≥ 0.9× raw sled's", a1 >= 0.9 * r1),
        three("1. single append latency p50", "ms", &single.p50),
        Line::new(
            "1. durable single appends, raw sled through its writer thread",
            "events/s",
            a1,
        )
        .raw(median(single.handed.0.clone())),
        Line::new(
            "1. single append latency p50, raw sled through its writer thread",
            "ms",
            median(single.p50.annals.clone()),
        )
        .raw(median(single.handed.1.clone())),
        Line::new(
            "1. single append latency p99, raw sled through its writer thread",
            "ms",
            a_p99,
        )
        .raw(median(single.handed.2.clone())),
        three("1. single append latency p99", "ms", &single.p99).bar("≤ 2 ms", a_p99 <= 2.0),
        Line::new(
            "1. disk floor: 300-byte write + fdatasync, p50",
            "ms",
            median(single.floor.clone()),
        ),
        Line::new("2. durable appends, 16 writers", "events/s", a2)
            .raw(r2)
            .sqlite(s2)
            .bar(
                "≥ 0.9× raw sled's and ≥ 3× SQLite's",
                a2 >= 0.9 * r2 && a2 >= 3.0 * s2,
            ),
        three(
            "3. import (raw sled: the same records; SQLite: batched inserts)",
            "events/s",
            import,
        )
        .bar("≥ 0.75× raw sled's", a3 >= 0.75 * r3),
        only(
            "3. import peak RSS (fresh process)",
            "MB",
            import_peak,
            median(import_rss.raw.clone()),
        )
        .bar("≤ 1 000 MB", import_peak <= 1000.0),
        Line::new("4. cold start, every default metric", "ms", a4)
            .sqlite(median(cold.metrics.sqlite.clone()))
            .bar("≤ 1 500 ms with the snapshot", a4 <= 1500.0),
        Line::new(
            "4. cold start, first after the import (no snapshot yet)",
            "ms",
            cold.first_ms,
        ),
        Line::new(
            "4. cold start, CPU time (user + system)",
            "ms",
            median(cold.cpu.annals.clone()),
        )
        .sqlite(median(cold.cpu.sqlite.clone())),
        three("4. cold open", "ms", &cold.open),
        three("4. full scan after the open", "ms", &cold.scan),
        three("4. cold open + full scan", "ms", &open_scan),
        Line::new("5. progress, any on, p50", "ms", on_a)
            .sqlite(on_s)
            .bar(
                "≤ 1 ms and ≥ 100× SQLite",
                on_a <= 1.0 && on_a * 100.0 <= on_s,
            ),
        Line::new("5. progress, any on, p99", "ms", a_on.quantile(0.99))
            .sqlite(s_on.quantile(0.99)),
        Line::new("5. progress, any known_at, p50", "ms", at_a)
            .sqlite(at_s)
            .bar(
                "≤ 1 ms and ≥ 100× SQLite",
                at_a <= 1.0 && at_a * 100.0 <= at_s,
            ),
        Line::new("5. progress, any known_at, p99", "ms", a_at.quantile(0.99))
            .sqlite(s_at.quantile(0.99)),
        Line::new("6. GET /api/progress", "requests/s", rps)
            .bar("≥ 15 000/s (issue 5)", rps >= 15_000.0),
        Line::new("6. GET /api/progress p99", "ms", http_p99),
        Line::new("6. first GET after start (fold)", "ms", first_ms),
        Line::new("7. disk per event", "bytes", a_disk)
            .raw(r_disk)
            .sqlite(s_disk)
            .bar("≤ 1.1× raw sled's", a_disk <= 1.1 * r_disk),
        Line::new(
            "7. disk per event with the fold's snapshot beside the log",
            "bytes",
            a_disk_snapshot,
        )
        .raw(r_disk)
        .sqlite(s_disk),
        Line::new("7. peak RSS of annals serve", "MB", serve_rss)
            .bar("≤ 400 MB", serve_rss <= 400.0),
    ]
}
