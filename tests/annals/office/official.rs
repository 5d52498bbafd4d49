//! Issue 17, item 12: the Word report as a 公文. Read back from the .docx itself: the
//! machine note and the hash in a 附注 at the end, after the 落款 (the configured school)
//! and the 成文日期; days written `2023年6月30日`; the year-on-year table holding only
//! figures with a value, the rest in one line; numbers centred vertically in their cells;
//! page numbers on the outer edge (odd pages right, even pages left).
use chrono::{FixedOffset, Utc};

use super::{part, parts};
use crate::helpers::{annals, run, TestStore};

/// One paragraph of the body: its alignment and its text.
#[derive(Debug)]
struct Para {
    align: Option<String>,
    text: String,
}

/// The text of every `<w:t>` in a piece of WordprocessingML.
fn texts(xml: &str) -> String {
    let mut out = String::new();
    let mut rest = xml;
    while let Some(i) = rest.find("<w:t") {
        rest = &rest[i + 4..];
        // `<w:t>` or `<w:t xml:space=…>`, not `<w:tbl>`, `<w:tc>`, `<w:tr>`.
        if !rest.starts_with('>') && !rest.starts_with(' ') {
            continue;
        }
        let open = rest.find('>').unwrap() + 1;
        let close = rest.find("</w:t>").unwrap();
        out.push_str(&rest[open..close]);
        rest = &rest[close..];
    }
    out
}

/// Attribute `w:val` of the first `<{tag} ` in `xml`.
fn val(xml: &str, tag: &str) -> Option<String> {
    let at = xml.find(&format!("<{tag} "))?;
    let rest = &xml[at..];
    let v = rest.find("w:val=\"")? + 7;
    Some(rest[v..v + rest[v..].find('"')?].to_owned())
}

/// The body's paragraphs outside tables, in order.
fn paragraphs(document: &str) -> Vec<Para> {
    let mut out = Vec::new();
    let mut outside = String::new();
    let mut rest = document;
    while let Some(i) = rest.find("<w:tbl>") {
        outside.push_str(&rest[..i]);
        rest = &rest[i + rest[i..].find("</w:tbl>").unwrap() + 8..];
    }
    outside.push_str(rest);
    for p in outside.split("</w:p>") {
        let Some(start) = p.rfind("<w:p") else {
            continue;
        };
        let p = &p[start..];
        out.push(Para {
            align: val(p, "w:jc"),
            text: texts(p),
        });
    }
    out.into_iter().filter(|p| !p.text.is_empty()).collect()
}

/// The cells' texts of each row of the `n`th table.
fn table(document: &str, n: usize) -> Vec<Vec<String>> {
    let t = document.split("<w:tbl>").nth(n + 1).expect("the table");
    let t = &t[..t.find("</w:tbl>").unwrap()];
    t.split("</w:tr>")
        .filter(|r| r.contains("<w:tc>"))
        .map(|r| {
            r.split("</w:tc>")
                .filter(|c| c.contains("<w:p"))
                .map(texts)
                .collect()
        })
        .collect()
}

fn docx(dir: &std::path::Path, on: &str, school: Option<&str>) -> Vec<u8> {
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("report.docx");
    let mut cmd = annals(dir);
    if let Some(name) = school {
        cmd.args(["--school", name]);
    }
    run(cmd
        .args([
            "report", "--period", "2023H1", "--on", on, "--format", "docx", "--out",
        ])
        .arg(&file))
    .ok();
    std::fs::read(&file).unwrap()
}

/// Whether `text` holds a day written `YYYY-MM-DD`.
fn has_iso_day(text: &str) -> bool {
    let b = text.as_bytes();
    (0..b.len().saturating_sub(9)).any(|i| {
        let d = |j: usize| b[i + j].is_ascii_digit();
        d(0) && d(1)
            && d(2)
            && d(3)
            && b[i + 4] == b'-'
            && d(5)
            && d(6)
            && b[i + 7] == b'-'
            && d(8)
            && d(9)
    })
}

#[test]
fn the_word_report_closes_with_the_school_the_day_and_a_note_issue_17() {
    let dir = TestStore::with_example().close();
    let bytes = docx(dir.path(), "2023-06-30", Some("某某县委党校"));
    let document = part(&bytes, "word/document.xml");
    let paras = paragraphs(&document);
    assert!(
        paras[0].text.contains("某某县委党校2023年上半年工作情况"),
        "the title names the configured school: {:?}",
        paras[0]
    );

    // 落款, 成文日期, 附注: the last three paragraphs, in that order.
    let n = paras.len();
    let (signer, date, note) = (&paras[n - 3], &paras[n - 2], &paras[n - 1]);
    assert_eq!(signer.text, "某某县委党校");
    assert_eq!(signer.align.as_deref(), Some("right"));
    let today = Utc::now()
        .with_timezone(&FixedOffset::east_opt(8 * 3600).unwrap())
        .format("%Y年%-m月%-d日")
        .to_string();
    assert_eq!(date.text, today, "the day it was written, as 公文 write it");
    assert_eq!(date.align.as_deref(), Some("right"));
    assert!(
        note.text.starts_with("（附注：") && note.text.ends_with('）'),
        "{note:?}"
    );
    let hash: String = {
        let at = note.text.find("链头哈希").expect("the note cites the head") + "链头哈希".len();
        note.text[at..]
            .chars()
            .filter(char::is_ascii_hexdigit)
            .take(64)
            .collect()
    };
    assert_eq!(hash.len(), 64, "{note:?}");
    assert!(
        paras[..n - 1]
            .iter()
            .all(|p| !p.text.contains(&hash) && !p.text.contains("自动生成")),
        "the machine note and the hash are only in the 附注 at the end"
    );
    assert!(
        note.text.contains("统计2023年6月30日（含）前发生"),
        "{note:?}"
    );

    // Days are written 2023年6月30日, never 2023-06-30.
    let all = texts(&document);
    assert!(!has_iso_day(&all), "a day written YYYY-MM-DD: {all}");
    assert!(all.contains("至2023年6月30日"), "{all}");

    // Numbers sit in the middle of their cells.
    let cells = document.matches("<w:tc>").count();
    let centred = document.matches("<w:vAlign w:val=\"center\"").count();
    assert!(
        cells > 0 && centred == cells,
        "{centred} of {cells} cells centred"
    );

    // Page numbers on the outer edge: odd pages (the default footer) right, even left.
    let settings = part(&bytes, "word/settings.xml");
    assert!(settings.contains("<w:evenAndOddHeaders"), "{settings}");
    assert!(
        document.contains("w:type=\"even\""),
        "an even-page footer is used"
    );
    let footers: Vec<(Option<String>, String)> = parts(&bytes)
        .into_iter()
        .filter(|p| p.starts_with("word/footer"))
        .map(|p| {
            let xml = part(&bytes, &p);
            (val(&xml, "w:jc"), xml)
        })
        .collect();
    let sides: Vec<Option<&str>> = footers.iter().map(|(a, _)| a.as_deref()).collect();
    assert!(
        sides.contains(&Some("right")) && sides.contains(&Some("left")),
        "{sides:?}"
    );
    assert!(
        footers.iter().all(|(_, xml)| xml.contains("PAGE")),
        "each footer numbers its page"
    );
}

#[test]
fn the_year_on_year_table_lists_only_figures_with_a_value_issue_17() {
    let dir = TestStore::with_example().close();
    // On 31 January most of the half's figures are still nothing, as they were in 2022.
    let bytes = docx(dir.path(), "2023-01-31", None);
    let document = part(&bytes, "word/document.xml");
    let rows = table(&document, 1);
    assert_eq!(rows[0][1], "指标", "the year-on-year table: {rows:?}");
    let listed: Vec<&str> = rows[1..].iter().map(|r| r[1].as_str()).collect();
    for r in &rows[1..] {
        let nothing = |c: &str| c.starts_with('0') || c == "无记录";
        assert!(
            !(nothing(&r[2]) && nothing(&r[3])),
            "a row with no value: {r:?}"
        );
    }
    let line = paragraphs(&document)
        .into_iter()
        .find(|p| p.text.starts_with("本期和上年同期均无数据的指标："))
        .expect("the figures without a value are named in one line");
    let named: Vec<&str> = line
        .text
        .trim_start_matches("本期和上年同期均无数据的指标：")
        .trim_end_matches('。')
        .split('、')
        .collect();
    assert!(named.len() > 10, "{named:?}");
    for label in &named {
        assert!(
            !listed.contains(label),
            "{label} is both listed and named as empty"
        );
    }
}
