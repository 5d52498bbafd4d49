//! Issue 7: office files. Spreadsheets in (the template, then workbooks and CSV filled
//! in by a script, with every kind of bad input), Word and Excel out (the report through
//! LibreOffice, the figures as a workbook), over the command line and over HTTP.
//!
//! The Word test needs LibreOffice and poppler's `pdftotext` (`.ci/run` installs
//! `libreoffice-writer-nogui` and `poppler-utils`); set `SOFFICE` and `PDFTOTEXT` to use
//! binaries elsewhere.
use std::{collections::BTreeMap, io::Cursor, io::Read};

use annals::{
    intake::{self, ImportOptions, IntakeError, Outcome},
    store::Store,
    views,
};
use calamine::{Data, Reader, Xlsx};
use projections::{metric::Metrics, period::Query};
use rust_xlsxwriter::{Workbook, XlsxError};

use crate::helpers::AUTHOR;

mod http;
mod official;
mod out;
pub mod sheets;

/// The headers of the class sheet, as the template writes them; trainees is column G.
pub const CLASS_HEADERS: [&str; 10] = [
    "开始日期",
    "结束日期",
    "班次编号",
    "班次名称",
    "班次类别",
    "期次",
    "培训人数",
    "委托/主办单位",
    "教学方式",
    "授课教师",
];

/// A workbook written by `fill`, as a script filling in the template would write it.
pub fn book(fill: impl FnOnce(&mut Workbook) -> Result<(), XlsxError>) -> Vec<u8> {
    let mut book = Workbook::new();
    fill(&mut book).expect("the test workbook is written");
    book.save_to_buffer().expect("the test workbook saves")
}

/// A class sheet with one valid row per `(class_id, trainees)`, its days as text.
pub fn class_book(rows: &[(&str, &str)]) -> Vec<u8> {
    book(|b| {
        let ws = b.add_worksheet().set_name("举办培训班")?;
        header(ws, &CLASS_HEADERS)?;
        for (i, (id, trainees)) in rows.iter().enumerate() {
            row(
                ws,
                i as u32 + 1,
                &[
                    "2023-06-12",
                    "2023-06-16",
                    id,
                    "全县科级干部进修班",
                    "主体班",
                    "1",
                    trainees,
                ],
            )?;
        }
        Ok(())
    })
}

/// Writes a header row of text.
pub fn header(ws: &mut rust_xlsxwriter::Worksheet, headers: &[&str]) -> Result<(), XlsxError> {
    for (i, h) in headers.iter().enumerate() {
        ws.write(0, i as u16, *h)?;
    }
    Ok(())
}

/// Writes one row of text cells (empty strings are left blank).
pub fn row(ws: &mut rust_xlsxwriter::Worksheet, r: u32, cells: &[&str]) -> Result<(), XlsxError> {
    for (i, c) in cells.iter().enumerate() {
        if !c.is_empty() {
            ws.write(r, i as u16, *c)?;
        }
    }
    Ok(())
}

/// Imports a file with the library call the command line and the server use.
pub fn import(store: &Store, bytes: &[u8], name: &str) -> Result<Outcome, IntakeError> {
    import_with(store, bytes, name, false)
}

/// Like [`import`], optionally as a dry run.
pub fn import_with(
    store: &Store,
    bytes: &[u8],
    name: &str,
    dry_run: bool,
) -> Result<Outcome, IntakeError> {
    let options = ImportOptions {
        name,
        author: AUTHOR,
        trust: annals::intake::Trust::Operator,
        dry_run,
        max_events: None,
    };
    intake::import_file(store, bytes, options, &mut |_, _| {})
}

/// The listed problems of a refused import, as printed.
pub fn problems(result: Result<Outcome, IntakeError>) -> Vec<String> {
    match result {
        Err(IntakeError::Refused(cells)) => cells.iter().map(ToString::to_string).collect(),
        other => panic!("expected refused cells, got {other:?}"),
    }
}

/// Every metric of the first half of 2023 as on 30 June 2023, as known now.
pub fn figures(store: &Store) -> BTreeMap<String, u64> {
    let facts = views::fold(store).expect("the log folds");
    let metrics = Metrics::embedded(store.catalog()).expect("the embedded metrics load");
    let q = Query::parse(
        Some("2023H1"),
        Some("2023-06-30"),
        None,
        chrono::Utc::now(),
        8 * 3600,
    )
    .expect("a valid query");
    metrics
        .iter()
        .map(|m| (m.name.clone(), m.value(&facts, &q)))
        .collect()
}

/// Every sheet of a workbook as rows of cells.
pub fn read_book(bytes: &[u8]) -> Vec<(String, Vec<Vec<Data>>)> {
    let mut book = Xlsx::new(Cursor::new(bytes.to_vec())).expect("a workbook");
    book.sheet_names()
        .into_iter()
        .map(|name| {
            let range = book.worksheet_range(&name).expect("a sheet");
            let rows = range.rows().map(<[Data]>::to_vec).collect();
            (name, rows)
        })
        .collect()
}

/// One part of a zip package (an xlsx or docx) as text.
pub fn part(package: &[u8], name: &str) -> String {
    let mut zip = zip::ZipArchive::new(Cursor::new(package)).expect("a zip package");
    let mut text = String::new();
    zip.by_name(name)
        .unwrap_or_else(|_| panic!("the package has {name}"))
        .read_to_string(&mut text)
        .expect("UTF-8 XML");
    text
}

/// The names of every part of a zip package.
pub fn parts(package: &[u8]) -> Vec<String> {
    let zip = zip::ZipArchive::new(Cursor::new(package)).expect("a zip package");
    zip.file_names()
        .map(|n| n.expect("a part name").into_owned())
        .collect()
}
