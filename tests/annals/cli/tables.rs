//! Issue 17, item 13: the command line's tables line up with Chinese text: columns are
//! padded to the width a terminal shows (a Chinese character takes two columns), not to
//! a count of characters.
use unicode_width::UnicodeWidthStr;

use crate::helpers::{annals, run, TestStore};

/// The columns each line takes before `marker` (for the lines that hold it), which in a
/// table that lines up are all the same.
fn columns_before(text: &str, marker: impl Fn(&str) -> Option<usize>) -> Vec<usize> {
    text.lines()
        .filter_map(|l| marker(l).map(|i| l[..i].width()))
        .collect()
}

fn all_equal(widths: &[usize], what: &str, text: &str) {
    assert!(widths.len() >= 2, "{what}: too few rows in\n{text}");
    assert!(
        widths.iter().all(|w| *w == widths[0]),
        "{what} does not line up ({widths:?}):\n{text}"
    );
}

#[test]
fn the_progress_and_metrics_tables_line_up_with_chinese_labels_issue_17() {
    let dir = TestStore::with_example().close();
    let progress = run(annals(dir.path()).args(["progress", "--on", "2023-06-30"])).ok();
    // 主体班 and 主体班期次: the bars start in one column.
    all_equal(
        &columns_before(&progress.stdout, |l| l.find(['█', '░'])),
        "progress",
        &progress.stdout,
    );
    let metrics =
        run(annals(dir.path()).args(["metrics", "--period", "2023H1", "--on", "2023-06-30"])).ok();
    // Every unit is one Chinese character, so the 上年同期 column is one column too.
    all_equal(
        &columns_before(&metrics.stdout, |l| l.find("上年同期")),
        "metrics",
        &metrics.stdout,
    );
    let people =
        run(annals(dir.path()).args(["person", "--year", "2023", "--on", "2023-06-30"])).ok();
    all_equal(
        &columns_before(&people.stdout, |l| l.find(['✓', '✗'])),
        "person",
        &people.stdout,
    );
}
