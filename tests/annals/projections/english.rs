//! Issue 17, item 11: English as an English reader expects it, in the report, the command
//! line and the page: a space between a number and its unit, the names Annals gives
//! itself translated, no full-width punctuation, plurals that agree, and the year on
//! year naming sessions as well as classes.
use projections::period::Lang;

use crate::{
    helpers::{annals, run, TestStore},
    projections::pacing::report_on_june_30,
    server::app::{spawn_open_app, Who},
};

/// Chinese punctuation, which has no place in English text.
const FULL_WIDTH: &[char] = &[
    '（', '）', '，', '。', '：', '；', '、', '“', '”', '！', '？',
];

fn assert_no_full_width(what: &str, text: &str) {
    for line in text.lines() {
        assert!(
            !line.contains(FULL_WIDTH),
            "{what}: full-width punctuation in «{line}»"
        );
    }
}

#[test]
fn the_english_report_agrees_in_number_and_keeps_the_sessions_issue_17() {
    let example = TestStore::with_example();
    let (_, en) = report_on_june_30(&example, Lang::En);
    assert!(!en.contains("(s)"), "no «meeting(s)»: {en}");
    assert!(en.contains("1 organisational life meeting,"), "{en}");
    assert!(en.contains("1 advisory report was endorsed"), "{en}");
    assert!(en.contains("The school committee met 8 times"), "{en}");
    assert!(
        en.contains("The 2023 plan is 17 main classes in 21 sessions (2022: 15 classes in 18 sessions; a change of +2 classes and +3 sessions)."),
        "{en}"
    );
    // The plans' titles are the school's own Chinese text; everything else is English.
    let template_text: String = en
        .lines()
        .filter(|l| !l.starts_with(|c: char| c.is_ascii_digit()))
        .collect::<Vec<_>>()
        .join("\n");
    assert_no_full_width("the English report", &template_text);
}

#[test]
fn the_english_command_line_spaces_units_and_names_its_own_author_issue_17() {
    let dir = TestStore::with_example().close();
    let progress =
        run(annals(dir.path()).args(["--lang", "en", "progress", "--on", "2023-06-30"])).ok();
    assert!(
        progress.stdout.contains("9/17 classes"),
        "{}",
        progress.stdout
    );
    assert_no_full_width("annals progress", &progress.stdout);
    let metrics = run(annals(dir.path()).args([
        "--lang",
        "en",
        "metrics",
        "--period",
        "2023H1",
        "--on",
        "2023-06-30",
    ]))
    .ok();
    for line in metrics.stdout.lines().filter(|l| l.starts_with("  F")) {
        let glued = line
            .as_bytes()
            .windows(2)
            .skip(6)
            .any(|w| w[0].is_ascii_digit() && w[1].is_ascii_alphabetic());
        assert!(!glued, "a number glued to its unit: «{line}»");
        assert!(!line.contains(" 1 meetings"), "«{line}»");
    }
    assert_no_full_width("annals metrics", &metrics.stdout);

    // Recorded with no --by: the command line is the author, named in English.
    run(annals(dir.path()).args([
        "record",
        "meeting_held",
        "--occurred",
        "2023-07-03",
        "--set",
        "type=school_committee",
    ]))
    .ok();
    let log = run(annals(dir.path()).args(["--lang", "en", "log", "--from", "2023-07-03"])).ok();
    assert!(log.stdout.contains("command line]"), "{}", log.stdout);
    assert!(!log.stdout.contains("命令行"), "{}", log.stdout);
    let zh = run(annals(dir.path()).args(["log", "--from", "2023-07-03"])).ok();
    assert!(zh.stdout.contains("命令行]"), "{}", zh.stdout);
}

#[tokio::test]
async fn the_english_page_spaces_a_count_from_its_unit_issue_17() {
    let app = spawn_open_app().await;
    let html = app
        .get("/?on=2023-06-30&lang=en", Who::Nobody)
        .await
        .text()
        .await
        .unwrap()
        .replace("&#x2f;", "/");
    assert!(html.contains("9 / 17 classes"), "{html}");
    assert!(!html.contains("17classes"), "{html}");
    assert!(html.contains("Events in the log: "), "{html}");
    assert!(
        html.contains("Type: School committee meeting; Topic: "),
        "a record's fields are joined the English way: {html}"
    );
}
