//! Spreadsheets in: the template, a filled-in workbook moving the figures, and every
//! kind of bad input, each refused whole with every bad cell named as `sheet!B12`.
use std::{collections::BTreeMap, time::Instant};

use annals::{
    intake::{self, IntakeError, Mode},
    office::{self, OfficeError},
    store::Filter,
};
use calamine::Data;
use rust_xlsxwriter::{ExcelDateTime, Format, Formula, Workbook, XlsxError};
use serde_json::json;

use super::{book, figures, header, import, import_with, problems, read_book, row, CLASS_HEADERS};
use crate::helpers::{scan, TestStore};

mod large;
mod refused;
mod template;

const MEETING_HEADERS: [&str; 5] = ["日期", "会议类型", "主题", "参加人数", "支部/教研组"];

fn date(y: u16, m: u8, d: u8) -> ExcelDateTime {
    ExcelDateTime::from_ymd(y, m, d).expect("a real day")
}

fn date_format() -> Format {
    Format::new().set_num_format("yyyy-mm-dd")
}

/// A workbook of `rows` valid class sessions below the header, then whatever `below`
/// writes on the row after them.
pub fn class_rows(
    rows: u32,
    below: impl FnOnce(&mut rust_xlsxwriter::Worksheet, u32) -> Result<(), XlsxError>,
) -> Vec<u8> {
    book(|b| {
        let ws = b.add_worksheet().set_name("举办培训班")?;
        header(ws, &CLASS_HEADERS)?;
        for r in 1..=rows {
            let day = format!("2023-{:02}-{:02}", r % 12 + 1, r % 28 + 1);
            ws.write(r, 0, day.as_str())?;
            ws.write(r, 2, format!("2023-ZT-{}", r % 500))?;
            ws.write(r, 3, "全县科级干部进修班")?;
            ws.write(
                r,
                4,
                if r.is_multiple_of(5) {
                    "协助承办班"
                } else {
                    "主体班"
                },
            )?;
            ws.write(r, 5, f64::from(r % 3 + 1))?;
            ws.write(r, 6, f64::from(r % 90 + 10))?;
            ws.write(r, 9, "张三、李四")?;
        }
        below(ws, rows + 1)
    })
}

/// A workbook of `rows` class sessions, imported into an empty store with progress noted:
/// checks every row and the import record landed and progress went forward to the end.
fn import_rows(rows: u32) {
    let started = Instant::now();
    let bytes = class_rows(rows, |_, _| Ok(()));
    let written = started.elapsed();
    let store = TestStore::new();
    let mut calls = Vec::new();
    let started = Instant::now();
    let options = intake::ImportOptions {
        name: "登记表.xlsx",
        author: crate::helpers::AUTHOR,
        trust: annals::intake::Trust::Operator,
        dry_run: false,
        max_events: None,
    };
    let outcome = intake::import_file(&store.store, &bytes, options, &mut |done, total| {
        calls.push((done, total))
    })
    .unwrap();
    let took = started.elapsed();
    let rows_usize = rows as usize;
    assert_eq!((outcome.mode, outcome.added), (Mode::Appended, rows_usize));
    assert_eq!(
        store.head_seq(),
        u64::from(rows) + 1,
        "every row and the import record"
    );
    assert_eq!(calls.last(), Some(&(rows_usize, rows_usize)));
    assert!(
        calls.len() > rows_usize / 1000,
        "progress every 1000 rows: {}",
        calls.len()
    );
    assert!(
        calls.windows(2).all(|w| w[0].0 <= w[1].0),
        "progress only goes forward"
    );
    eprintln!(
        "{rows} rows: workbook of {} bytes written in {written:?}, imported in {took:?} ({:.0} events/s)",
        bytes.len(),
        f64::from(rows) / took.as_secs_f64()
    );
}
