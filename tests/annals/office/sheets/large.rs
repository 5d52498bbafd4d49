//! Large workbooks: imported whole with progress, and issue 7's limits and ordering of
//! problems.
use super::*;

#[test]
fn a_large_workbook_imports_whole_reporting_progress() {
    import_rows(5_000);
}

/// 100 000 rows: about 90 s in a debug build (most of it building the workbook and the
/// store's batch), so it runs on demand:
/// `cargo test --release --test annals hundred_thousand -- --ignored --nocapture`.
#[test]
#[ignore = "slow in debug builds; run with --release --ignored"]
fn a_hundred_thousand_rows_import_with_progress() {
    import_rows(100_000);
}

/// Rows go to the store's writer as they are read (a piece at a time); a bad cell found
/// after thousands of them still leaves the store as it was, and it goes on.
#[test]
fn issue_7_a_workbook_refused_at_its_last_row_writes_nothing_and_the_store_goes_on() {
    let s = TestStore::new();
    let before = s.try_record(crate::helpers::meeting("2023-01-03")).unwrap();
    let bad_last_cell = class_rows(10_000, |ws, r| {
        ws.write(r, 0, "2023-07-01")?;
        ws.write(r, 2, "2023-ZT-X")?;
        ws.write(r, 3, "进修班")?;
        ws.write(r, 4, "主体班")?;
        ws.write(r, 5, 1)?;
        ws.write(r, 6, "很多")?;
        Ok(())
    });
    assert_eq!(
        problems(import(&s.store, &bad_last_cell, "登记表.xlsx")),
        ["举办培训班!G10002: 培训人数: must be a whole number ≥ 0, not '很多'"]
    );
    assert_eq!(
        s.head_seq(),
        before.seq,
        "nothing of the import was written"
    );

    // A value under no header is found only at the end, after the rows above it were
    // handed over: refused all the same.
    let unheaded = class_rows(10_000, |ws, r| ws.write(r, 11, "备注").map(|_| ()));
    let p = problems(import(&s.store, &unheaded, "登记表.xlsx"));
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].starts_with("举办培训班!L1: header: the column has values but no header"),
        "{p:?}"
    );
    assert_eq!(s.head_seq(), before.seq);

    // A dry run of the good rows counts them and writes nothing.
    let good = class_rows(10_000, |_, _| Ok(()));
    let checked = import_with(&s.store, &good, "登记表.xlsx", true).unwrap();
    assert_eq!((checked.mode, checked.added), (Mode::Checked, 10_000));
    assert_eq!(s.head_seq(), before.seq);

    let after = s.try_record(crate::helpers::meeting("2023-03-03")).unwrap();
    assert_eq!(
        after.seq,
        before.seq + 1,
        "the next append chains onto the head"
    );
    let dir = s.close();
    crate::helpers::assert_log_holds_only(dir.path(), 2);
}

/// A request's limit counts the events a file holds, not the rows its sheets say they
/// span: a register with borders drawn far below its few rows is not too large.
#[test]
fn issue_7_the_limit_counts_events_not_formatted_rows() {
    let s = TestStore::new();
    let bytes = class_rows(3, |ws, _| {
        let bordered = Format::new().set_border(rust_xlsxwriter::FormatBorder::Thin);
        ws.write_blank(20_000, 0, &bordered).map(|_| ())
    });
    let options = |max| intake::ImportOptions {
        name: "登记表.xlsx",
        author: crate::helpers::AUTHOR,
        trust: annals::intake::Trust::Operator,
        dry_run: false,
        max_events: Some(max),
    };
    match intake::import_file(&s.store, &bytes, options(2), &mut |_, _| {}) {
        Err(IntakeError::TooMany { rows: 3, limit: 2 }) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(s.head_seq(), 0);
    let outcome = intake::import_file(&s.store, &bytes, options(10), &mut |_, _| {}).unwrap();
    assert_eq!((outcome.mode, outcome.added), (Mode::Appended, 3));
}

/// What is wrong with sheets themselves is listed before any row's problem, whatever
/// the sheets' order, so it is never lost among the first hundred cells listed.
#[test]
fn issue_7_sheet_problems_are_listed_before_row_problems() {
    let s = TestStore::new();
    let bytes = book(|b| {
        let ws = b.add_worksheet().set_name("举办培训班")?;
        header(ws, &CLASS_HEADERS)?;
        for r in 1..=150 {
            row(
                ws,
                r,
                &["2023-06-12", "", "X", "进修班", "主体班", "1", "很多"],
            )?;
        }
        let ws = b.add_worksheet().set_name("培训班登记")?;
        row(ws, 0, &["班次", "人数"])?;
        Ok(())
    });
    let err = import(&s.store, &bytes, "登记表.xlsx").unwrap_err();
    let IntakeError::Refused(cells) = &err else {
        panic!("{err:?}")
    };
    // Issue 13: the first hundred are kept, the rest counted.
    assert_eq!((cells.total(), cells.listed().len()), (151, 100));
    let cells = cells.listed();
    assert!(
        matches!(&cells[0].at, intake::At::Cell(at) if at.starts_with("培训班登记!A1")),
        "{:?}",
        cells[0]
    );
    assert_eq!(cells[1].at, intake::At::Cell("举办培训班!G2".into()));
    let listed = err.to_string();
    assert!(listed.contains("培训班登记!A1") && listed.contains("… and 51 more"));
}

/// A damaged file naming a cell past Excel's last column is refused, not read into a
/// row as wide as the number it names.
#[test]
fn issue_7_a_cell_past_the_last_column_is_refused() {
    use std::io::{Read, Write};
    let good = class_rows(2, |_, _| Ok(()));
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(&good)).unwrap();
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for i in 0..zip.len() {
        let mut part = zip.by_index(i).unwrap();
        let name = part.name().unwrap().into_owned();
        let mut bytes = Vec::new();
        part.read_to_end(&mut bytes).unwrap();
        if name == "xl/worksheets/sheet1.xml" {
            let xml = String::from_utf8(bytes).unwrap();
            assert!(xml.contains(r#"r="J2""#), "the sheet names its cells");
            bytes = xml.replace(r#"r="J2""#, r#"r="XFZ2""#).into_bytes();
        }
        out.start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        out.write_all(&bytes).unwrap();
    }
    let damaged = out.finish().unwrap().into_inner();
    let s = TestStore::new();
    match import(&s.store, &damaged, "登记表.xlsx") {
        Err(IntakeError::File(OfficeError::Unreadable(msg))) => {
            assert!(msg.en.contains("column XFD"), "{msg:?}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(s.head_seq(), 0);
}
