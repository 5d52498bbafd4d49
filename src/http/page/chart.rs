//! The month-by-month charts: a series drawn as an SVG bar chart by the server, so the
//! page needs no script and no inline style to show it.
use chrono::Datelike;
use projections::{period::Lang, timeline};

const MONTHS_EN: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A bucket's label under its bar: `3月`, or `Mar`.
fn month(lang: Lang, m: u32) -> String {
    match lang {
        Lang::Zh => format!("{m}月"),
        Lang::En => MONTHS_EN[(m as usize + 11) % 12].to_owned(),
    }
}

/// A bar chart of a series. The page places it as markup (`| safe`), so every text in
/// it is escaped here.
pub fn svg(points: &[timeline::Point], lang: Lang) -> String {
    let (w, h, pad) = (360.0_f64, 120.0_f64, 18.0_f64);
    let max = points.iter().map(|p| p.value).max().unwrap_or(0).max(1) as f64;
    let slot = (w - pad) / points.len().max(1) as f64;
    let mut out =
        format!(r#"<svg viewBox="0 0 {w} {h}" role="img" xmlns="http://www.w3.org/2000/svg">"#);
    for (i, p) in points.iter().enumerate() {
        let bh = (h - 2.0 * pad) * p.value as f64 / max;
        let x = pad / 2.0 + i as f64 * slot + slot * 0.15;
        let y = h - pad - bh;
        out.push_str(&format!(
            r##"<rect x="{x:.1}" y="{y:.1}" width="{:.1}" height="{bh:.1}" fill="#b71c1c"><title>{} {}</title></rect>"##,
            slot * 0.7,
            minijinja::HtmlEscape(&p.label),
            p.value
        ));
        if p.value > 0 {
            out.push_str(&format!(
                r#"<text x="{:.1}" y="{:.1}" font-size="10" text-anchor="middle">{}</text>"#,
                x + slot * 0.35,
                y - 2.0,
                p.value
            ));
        }
        out.push_str(&format!(
            r##"<text x="{:.1}" y="{:.1}" font-size="9" text-anchor="middle" fill="#555">{}</text>"##,
            x + slot * 0.35,
            h - 4.0,
            minijinja::HtmlEscape(&month(lang, p.period.from().month()))
        ));
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use projections::period::Lang;

    #[test]
    fn a_month_axis_says_month() {
        assert_eq!(super::month(Lang::Zh, 3), "3月");
        assert_eq!(super::month(Lang::En, 1), "Jan");
        assert_eq!(super::month(Lang::En, 12), "Dec");
    }
}
