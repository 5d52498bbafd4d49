//! Issue 17 in Chromium, as a school office clerk goes through a day: the page opens on
//! the demo's day, a wrong token and a bad date are said in place, a class recorded
//! twice is held back, a row is voided and another amended from the list, a refused
//! field is brought into view, a workbook is checked then imported, the report opens as
//! a page; and the layout holds at 1400 px and at a phone's 390 px. Screenshots go to
//! `target/browser/`. Run inside the first browser test, in its session.
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::Browser;

/// The class session the first browser test records through the form, and this one
/// again.
const CLASS: [(&str, &str); 5] = [
    ("f_class_id", "2023-ZT02"),
    ("f_class_name", "村（社区）党组织书记培训班"),
    ("f_session", "3"),
    ("f_trainees", "99"),
    ("f_methods", "讲授式、研讨式"),
];

impl Browser {
    async fn wait_for(&self, css: &str) -> String {
        let start = Instant::now();
        loop {
            if let Some(e) = self.find_all(css).await.into_iter().next() {
                return e;
            }
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "{css} appeared; the browser is at {}",
                self.url().await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn wait_for_text(&self, css: &str, part: &str) -> String {
        let start = Instant::now();
        loop {
            let texts = self.texts(css).await;
            if let Some(t) = texts.iter().find(|t| t.contains(part)) {
                return t.clone();
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "{css} came to say {part}; it says {texts:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The width the page is laid out at, as a phone or a desk sets it.
    async fn width(&self, width: u32, height: u32, mobile: bool) {
        self.post(
            "/goog/cdp/execute",
            json!({"cmd": "Emulation.setDeviceMetricsOverride", "params": {
                "width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}}),
        )
        .await;
    }

    /// Whether an element lies within the window as it is scrolled now.
    async fn in_view(&self, css: &str) -> bool {
        self.post(
            "/execute/sync",
            json!({"script": "const r = document.querySelector(arguments[0]).getBoundingClientRect(); \
                              return r.top >= 0 && r.bottom <= window.innerHeight && r.height > 0;",
                   "args": [css]}),
        )
        .await
            == true
    }

    async fn fill(&self, fields: &[(&str, &str)]) {
        for (name, value) in fields {
            let css = format!("#record-form [name={name}]");
            let e = self.find(&css).await;
            self.post(&format!("/element/{e}/clear"), json!({})).await;
            self.type_into(&css, value).await;
        }
    }
}

/// Types the third session of the village secretaries' class into the record form.
pub async fn enter_the_class(browser: &Browser) {
    browser
        .set_value("#record-form input[name=occurred_from]", "2023-06-26")
        .await;
    browser
        .set_value("#record-form input[name=occurred_to]", "2023-06-28")
        .await;
    browser.fill(&CLASS).await;
    browser
        .click("#record-form select[name=f_category] option[value=main]")
        .await;
}

/// How the page lays itself out: what overflows, what wraps, what is left blank.
const LAYOUT: &str = r#"
const lines = el => {
  const r = document.createRange(); r.selectNodeContents(el);
  return new Set(Array.from(r.getClientRects()).map(x => Math.round(x.top))).size;
};
const luminance = c => {
  const [r, g, b] = c.match(/\d+/g).slice(0, 3).map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
};
const out = document.querySelector('header form button');
const style = out && getComputedStyle(out);
const [hi, lo] = out ? [luminance(style.color), luminance(style.backgroundColor)].sort((a, b) => b - a) : [0, 0];
const progress = document.querySelector('#progress');
const bars = progress.querySelectorAll('.bar');
const lastBar = bars[bars.length - 1].getBoundingClientRect();
return {
  page: document.documentElement.scrollWidth,
  window: window.innerWidth,
  sections: Array.from(document.querySelectorAll('main > section, main > div')).map(s => Math.round(s.getBoundingClientRect().right)),
  blank: Math.round(progress.getBoundingClientRect().bottom - lastBar.bottom),
  wrapped: Array.from(document.querySelectorAll('#latest th.seq, #latest th.kind, #latest th.by, #latest td.seq, #latest td.by'))
    .filter(el => lines(el) > 1).map(el => el.textContent.trim()),
  contrast: (hi + 0.05) / (lo + 0.05),
  months: Array.from(document.querySelectorAll('#months svg text')).map(t => t.textContent),
  dates: Array.from(document.querySelectorAll('#latest td.date')).map(t => t.textContent),
};"#;

async fn layout(browser: &Browser, width: u32, shot: &Path) -> Value {
    let l = browser.script(LAYOUT).await;
    println!("layout at {width} px: {l}");
    assert!(
        l["page"].as_u64() <= l["window"].as_u64(),
        "at {width} px nothing is wider than the window: {l}"
    );
    let window = l["window"].as_i64().unwrap();
    assert!(
        l["sections"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r.as_i64().unwrap() <= window),
        "at {width} px every card fits: {l}"
    );
    assert_eq!(
        l["wrapped"],
        json!([]),
        "at {width} px short columns keep to a line"
    );
    assert!(
        l["blank"].as_i64().unwrap() < 60,
        "at {width} px the progress card ends after its bars: {l}"
    );
    assert!(
        l["contrast"].as_f64().unwrap() >= 4.5,
        "at {width} px 退出 can be read: {l}"
    );
    browser.screenshot(shot).await;
    l
}

/// The day: the first browser test has signed in as the administrator and recorded
/// the third session of class 2023-ZT02 (seq `first`) through the form.
pub async fn a_clerks_day(
    browser: &Browser,
    address: &str,
    admin_token: &str,
    first: u64,
    shots: &Path,
) {
    // Issue 17 item 8: the address the server prints opens on the demo's half-year.
    browser.width(1400, 1000, false).await;
    browser.goto(&format!("{address}/")).await;
    let on = browser
        .script("return document.querySelector('form.times input[name=on]').value;")
        .await;
    assert_eq!(on, "2023-06-30", "the demo opens on a day with its data");

    // Item 10 at a desk's width; the kinds in a clerk's order, months in 月.
    let l = layout(browser, 1400, &shots.join("desk.png")).await;
    assert!(
        l["months"].as_array().unwrap().iter().any(|m| m == "6月"),
        "{l}"
    );
    assert!(
        l["dates"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d.as_str().unwrap()[..10] <= *"2023-06-30"),
        "nothing after the page's day: {l}"
    );
    let kinds = browser
        .script("return Array.from(document.querySelectorAll('select[name=kind] option')).map(o => o.value).slice(0, 2);")
        .await;
    assert_eq!(kinds, json!(["class_held", "lecture_given"]));

    // Item 4 and 8: signing out and in keeps the day; a wrong token is said in place.
    browser.goto(&format!("{address}/?on=2023-05-31")).await;
    browser.click("header button").await;
    browser.wait_for("#login").await;
    assert!(
        browser.url().await.contains("on=2023-05-31"),
        "signed out on the same day"
    );
    browser
        .type_into("#login input[name=token]", "ann_wrong")
        .await;
    browser.click("#login button").await;
    let said = browser.wait_for_text("#login .error", "令牌无效").await;
    assert!(browser.in_view("#login .error").await, "{said} is in view");
    browser
        .type_into("#login input[name=token]", admin_token)
        .await;
    browser.click("#login button").await;
    browser.wait_for("#record-form").await;
    assert!(
        browser.url().await.contains("on=2023-05-31"),
        "signed in on the same day"
    );

    // Item 4: a date that is not one.
    browser.goto(&format!("{address}/?on=2023-02-30")).await;
    let said = browser
        .wait_for_text(".error[data-field=on]", "统计日期")
        .await;
    assert!(said.contains("2023-06-30"), "{said}");

    // Item 2: the same class session again is held back, then recorded when confirmed.
    browser.goto(&format!("{address}/?on=2023-06-30")).await;
    enter_the_class(browser).await;
    browser.click("#record-submit").await;
    let same = browser.wait_for_text("#same", "看起来与第").await;
    assert!(
        same.contains(&format!("看起来与第 {first} 条相同，仍要录入？")),
        "{same}"
    );
    assert!(browser.in_view("#same").await, "the question is in view");
    browser.screenshot(&shots.join("repeat.png")).await;
    browser.click("#confirm-same").await;
    browser.wait_for_url("recorded=").await;
    let second = first + 1;
    assert!(browser.url().await.contains("on=2023-06-30"));

    // Item 1: the repeat voided from its row, the first amended from its row.
    browser
        .click(&format!("tr[data-seq='{second}'] a.void"))
        .await;
    let heading = browser.wait_for_text("#record h2", "作废第").await;
    assert!(heading.contains(&second.to_string()), "{heading}");
    browser
        .type_into("#record-form input[name=reason]", "重复录入")
        .await;
    browser.click("#record-submit").await;
    browser.wait_for_url("recorded=").await;
    let row = browser.texts(&format!("tr[data-seq='{second}']")).await;
    assert!(row[0].contains("已作废"), "{row:?}");

    browser
        .click(&format!("tr[data-seq='{first}'] a.amend"))
        .await;
    browser.wait_for_text("#record h2", "更正第").await;
    let filled = browser
        .script("return document.querySelector('#record-form input[name=f_class_id]').value;")
        .await;
    assert_eq!(filled, "2023-ZT02", "filled with the event's fields");
    browser.fill(&[("f_trainees", "98")]).await;
    browser
        .type_into("#record-form input[name=reason]", "人数有误")
        .await;
    browser.click("#record-submit").await;
    browser.wait_for_url("recorded=").await;
    let row = browser.texts(&format!("tr[data-seq='{first}']")).await;
    assert!(
        row[0].contains("已更正") && row[0].contains("98"),
        "{row:?}"
    );

    // Item 4: a refused field far down the form is brought into view, its message beside it.
    browser
        .goto(&format!("{address}/?on=2023-06-30&kind=class_held"))
        .await;
    browser
        .set_value("#record-form input[name=occurred_from]", "2023-06-19")
        .await;
    browser
        .fill(&[
            ("f_class_id", "2023-ZT-99"),
            ("f_class_name", "专题班"),
            ("f_session", "1"),
            ("f_trainees", "四十"),
        ])
        .await;
    browser.click("#record-submit").await;
    browser.wait_for(".error[data-field=trainees]").await;
    assert!(
        browser.in_view(".error[data-field=trainees]").await,
        "the message is scrolled into view"
    );

    // Item 5: a filled-in template, checked first, then imported.
    let book = shots.join("register.xlsx");
    std::fs::write(&book, crate::office::class_book(&[("2023-ZT-91", "41")])).unwrap();
    browser.goto(&format!("{address}/?on=2023-06-30")).await;
    browser
        .type_into("#upload-file", book.to_str().unwrap())
        .await;
    browser.click("#upload-check").await;
    browser.wait_for_text("#upload-result", "检查通过").await;
    browser.click("#upload-import").await;
    let done = browser.wait_for_text("#upload-result", "已导入").await;
    assert!(done.contains("新增 1 条"), "{done}");
    browser.screenshot(&shots.join("upload.png")).await;

    // Item 5: the report as a page.
    browser.click("#report-html").await;
    browser.wait_for_url("format=html").await;
    browser.wait_for("article h1").await;
    assert!(
        !browser.find_all("article table").await.is_empty(),
        "its tables are tables"
    );
    browser.screenshot(&shots.join("report.png")).await;

    // Item 10 at a phone's width.
    browser.width(390, 844, true).await;
    browser.goto(&format!("{address}/?on=2023-06-30")).await;
    layout(browser, 390, &shots.join("phone.png")).await;
}
