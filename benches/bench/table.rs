//! The benchmark's Markdown table: one row per measure, the three
//! systems side by side, Annals ÷ raw sled and Annals against SQLite, and the bar.

/// The median of a measure's runs (the upper one of an even count): a handful of
/// figures, one a run, where latencies within a run go to a histogram (`stats.rs`).
pub fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    if xs.is_empty() {
        return f64::NAN;
    }
    xs[xs.len() / 2]
}

/// One row of the table.
pub struct Line {
    measure: &'static str,
    unit: &'static str,
    annals: f64,
    raw: Option<f64>,
    sqlite: Option<f64>,
    higher_is_better: bool,
    bar: Option<(String, bool)>,
}

impl Line {
    /// A row with Annals' figure alone.
    pub fn new(measure: &'static str, unit: &'static str, annals: f64) -> Self {
        Line {
            measure,
            unit,
            annals,
            raw: None,
            sqlite: None,
            higher_is_better: unit.ends_with("/s"),
            bar: None,
        }
    }

    /// Raw sled's figure beside it.
    pub fn raw(mut self, raw: f64) -> Self {
        self.raw = Some(raw);
        self
    }

    /// SQLite's figure beside it.
    pub fn sqlite(mut self, sqlite: f64) -> Self {
        self.sqlite = Some(sqlite);
        self
    }

    /// The bar this row is held to, and whether it was met.
    pub fn bar(mut self, text: impl Into<String>, met: bool) -> Self {
        self.bar = Some((text.into(), met));
        self
    }
}

/// A figure with three significant digits or so; "—" for none.
pub fn fmt(v: f64) -> String {
    if v.is_nan() {
        "—".into()
    } else if v >= 100.0 {
        format!("{:.0}", v)
    } else if v >= 10.0 {
        format!("{:.1}", v)
    } else if v >= 0.1 {
        format!("{:.2}", v)
    } else {
        format!("{:.3}", v)
    }
}

/// The table for one size. "Annals ÷ raw sled" is the plain quotient of the figures
/// (what the bars against raw sled are written in); "× better than SQLite" is Annals ÷
/// SQLite for rates and SQLite ÷ Annals for times and sizes.
pub fn table(n: usize, lines: &[Line]) -> String {
    let mut t = format!(
        "### N = {n}\n\n| measure | unit | Annals | raw sled | SQLite | Annals ÷ raw sled | Annals vs SQLite (× better) | bar (at 1 000 000) | met? |\n| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | --- |\n"
    );
    for l in lines {
        let quotient = |other: Option<f64>, better: bool| match other {
            Some(o) if o > 0.0 && l.annals > 0.0 => {
                let r = if better && !l.higher_is_better {
                    o / l.annals
                } else {
                    l.annals / o
                };
                format!("{}×", fmt(r))
            }
            _ => "—".into(),
        };
        let (bar, met) = match &l.bar {
            Some((text, met)) => (text.clone(), if *met { "met" } else { "**missed**" }),
            None => ("—".into(), ""),
        };
        t += &format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            l.measure,
            l.unit,
            fmt(l.annals),
            l.raw.map_or("—".into(), fmt),
            l.sqlite.map_or("—".into(), fmt),
            quotient(l.raw, false),
            quotient(l.sqlite, true),
            bar,
            met
        );
    }
    t.push('\n');
    t
}
