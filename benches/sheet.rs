//! `cargo bench --bench sheet`: how fast a large register kept in Excel imports against
//! calamine's own reading of the same workbook (issue 15: importing 100 000 rows takes at
//! most 1.3 times calamine's time, and at least 50 000 rows a second), with the same
//! rows as a JSONL file of drafts imported in the same run for comparison, and Annals'
//! reading of the workbook (calamine, the limits, rows gathered) timed on its own.
//!
//! ```sh
//! cargo bench --bench sheet                        # 100 000 rows, 5 runs: median and best
//! cargo bench --bench sheet -- --rows 20000 --runs 3
//! cargo bench --bench sheet -- --only import    # one step (calamine, read, rows, check, import, jsonl), to profile
//! ```
//!
//! Each run takes the steps in turn, so calamine's time and the import's are measured
//! within the same seconds on a machine whose speed moves; the ratio is given per run
//! and of the medians. Every import goes into a fresh store in a temporary folder on the
//! project's disk.
use std::{io::Cursor, path::Path, sync::Arc, time::Instant};

use annals::{
    intake::{self, ImportOptions},
    office,
    store::{Options, Store},
};
use calamine::{Reader, SheetType, Xlsx};
use events::Catalog;
use rust_xlsxwriter::{Workbook, Worksheet, XlsxError};
use serde_json::json;

/// One row's cells, the same for the workbook and the JSONL file.
struct Row {
    day: String,
    class_id: String,
    category: (&'static str, &'static str),
    session: u32,
    trainees: u32,
}

fn row(r: u32) -> Row {
    Row {
        day: format!("2023-{:02}-{:02}", r % 12 + 1, r % 28 + 1),
        class_id: format!("2023-ZT-{}", r % 500),
        category: if r.is_multiple_of(5) {
            ("协助承办班", "co_organised")
        } else {
            ("主体班", "main")
        },
        session: r % 3 + 1,
        trainees: r % 90 + 10,
    }
}

fn workbook(rows: u32) -> Vec<u8> {
    let mut book = Workbook::new();
    let ws = book.add_worksheet();
    ws.set_name("举办培训班").expect("a valid sheet name");
    let catalog = Catalog::embedded();
    let kind = catalog.kind("class_held").expect("the catalog has classes");
    for (i, h) in office::sheet::accepted_headers(kind).iter().enumerate() {
        ws.write(0, i as u16, h).expect("a header cell");
    }
    for r in 1..=rows {
        fill(ws, r, &row(r)).expect("a row of cells");
    }
    book.save_to_buffer().expect("the workbook saves")
}

fn fill(ws: &mut Worksheet, r: u32, row: &Row) -> Result<(), XlsxError> {
    ws.write(r, 0, row.day.as_str())?;
    ws.write(r, 2, row.class_id.as_str())?;
    ws.write(r, 3, "全县科级干部进修班")?;
    ws.write(r, 4, row.category.0)?;
    ws.write(r, 5, f64::from(row.session))?;
    ws.write(r, 6, f64::from(row.trainees))?;
    ws.write(r, 9, "张三、李四")?;
    Ok(())
}

fn jsonl(rows: u32) -> Vec<u8> {
    let mut out = Vec::new();
    for r in 1..=rows {
        let row = row(r);
        let line = json!({
            "kind": "class_held",
            "occurred": row.day,
            "data": {
                "class_id": row.class_id,
                "class_name": "全县科级干部进修班",
                "category": row.category.1,
                "session": row.session,
                "trainees": row.trainees,
                "teachers": ["张三", "李四"],
            }
        });
        serde_json::to_writer(&mut out, &line).expect("a line");
        out.push(b'\n');
    }
    out
}

/// Seconds to import `bytes` as `name` into a fresh store (or only check it).
fn import(catalog: &Arc<Catalog>, dir: &Path, bytes: &[u8], name: &str, dry_run: bool) -> f64 {
    let _ = std::fs::remove_dir_all(dir);
    let store = Store::open(dir, catalog.clone(), Options::default()).expect("the store opens");
    let options = ImportOptions {
        name,
        author: "bench",
        trust: annals::intake::Trust::Operator,
        dry_run,
        max_events: None,
    };
    let started = Instant::now();
    intake::import_file(&store, bytes, options, &mut |_, _| {}).expect("the file imports");
    let took = started.elapsed().as_secs_f64();
    eprintln!("{name} (dry run: {dry_run}): {took:.3} s");
    took
}

/// Seconds for calamine alone to read every cell of every worksheet, as fast as it
/// streams them (its cell reader, which Annals reads with too); the cells are counted.
fn calamine_read(book: &[u8], rows: u32) -> f64 {
    let started = Instant::now();
    let mut workbook: Xlsx<_> = Xlsx::new(Cursor::new(book)).expect("calamine opens it");
    let names: Vec<String> = workbook
        .sheets_metadata()
        .iter()
        .filter(|s| s.typ == SheetType::WorkSheet)
        .map(|s| s.name.clone())
        .collect();
    let mut cells = 0usize;
    for name in names {
        let mut reader = workbook.worksheet_cells_reader(&name).expect("a worksheet");
        while let Some(cell) = reader.next_cell().expect("a cell") {
            cells += usize::from(!matches!(cell.get_value(), calamine::DataRef::Empty));
        }
    }
    let took = started.elapsed().as_secs_f64();
    assert!(cells >= rows as usize * 7, "every row's cells were read");
    eprintln!("calamine alone: {took:.3} s");
    took
}

/// Seconds to check a workbook's rows, read beforehand, on this thread alone (a dry run
/// fed the pieces the reader gave): the checking's own cost, which `valgrind --tool=
/// cachegrind` counts the same from run to run.
fn check_rows(catalog: &Arc<Catalog>, dir: &Path, book: &[u8]) -> f64 {
    let mut pieces = Vec::new();
    office::xlsx::read(book, &mut |piece| {
        pieces.push(piece);
        true
    })
    .expect("the workbook reads");
    let _ = std::fs::remove_dir_all(dir);
    let store = Store::open(dir, catalog.clone(), Options::default()).expect("the store opens");
    let options = ImportOptions {
        name: "登记表.xlsx",
        author: "bench",
        trust: annals::intake::Trust::Operator,
        dry_run: true,
        max_events: None,
    };
    let started = Instant::now();
    let replay = |send: &mut dyn FnMut(office::sheet::Piece) -> bool| {
        for piece in pieces {
            if !send(piece) {
                break;
            }
        }
        Ok(())
    };
    intake::sheet::import(&store, replay, book, options, &mut |_, _| {}).expect("the rows check");
    let took = started.elapsed().as_secs_f64();
    eprintln!("rows checked alone: {took:.3} s");
    took
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn main() {
    let mut rows = 100_000u32;
    let mut runs = 5usize;
    let mut only = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--rows" => rows = args.next().and_then(|v| v.parse().ok()).expect("--rows N"),
            "--runs" => runs = args.next().and_then(|v| v.parse().ok()).expect("--runs R"),
            "--only" => only = Some(args.next().expect("--only STEP")),
            // `cargo bench` passes `--bench` to every bench binary.
            _ => {}
        }
    }
    let catalog = Arc::new(Catalog::embedded());
    let book = workbook(rows);
    let lines = jsonl(rows);
    let tmp = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("a temporary folder");
    let dir = tmp.path().join("store");
    let per_second = |s: f64| f64::from(rows) / s;
    let mut alone = Vec::new();
    let mut read = Vec::new();
    let mut rows_only = Vec::new();
    let (mut checked, mut xlsx, mut json) = (Vec::new(), Vec::new(), Vec::new());
    let step = |name: &str| only.as_deref().is_none_or(|o| o == name);
    for _ in 0..runs {
        if step("calamine") {
            alone.push(calamine_read(&book, rows));
        }
        if step("import") {
            xlsx.push(import(&catalog, &dir, &book, "登记表.xlsx", false));
        }
        if step("read") {
            let started = Instant::now();
            let mut cells = 0usize;
            office::xlsx::read(&book, &mut |piece| {
                if let office::sheet::Piece::Rows(rows) = piece {
                    cells += rows.iter().map(|r| r.cells.len()).sum::<usize>();
                }
                true
            })
            .expect("the workbook reads");
            read.push(started.elapsed().as_secs_f64());
            assert!(cells >= rows as usize * 7, "every row's cells were read");
        }
        if step("rows") {
            rows_only.push(check_rows(&catalog, &dir, &book));
        }
        if step("check") {
            checked.push(import(&catalog, &dir, &book, "登记表.xlsx", true));
        }
        if step("jsonl") {
            json.push(import(&catalog, &dir, &lines, "登记表.jsonl", false));
        }
    }
    println!(
        "{rows} rows, workbook {} bytes, JSONL {} bytes; medians of {runs} runs",
        book.len(),
        lines.len()
    );
    println!("| step | median s | events/s | best s | events/s |");
    println!("|---|---:|---:|---:|---:|");
    let ratios: Vec<f64> = alone.iter().zip(&xlsx).map(|(c, i)| i / c).collect();
    let medians = (!alone.is_empty() && !xlsx.is_empty())
        .then(|| (median(alone.clone()), median(xlsx.clone())));
    for (step, xs) in [
        ("calamine alone reads every cell", alone),
        ("Annals reads the workbook (limits, calamine, rows)", read),
        ("check its rows, read beforehand (one thread)", rows_only),
        ("check the workbook (--dry-run)", checked),
        ("import the workbook", xlsx),
        ("import the same rows as JSONL", json),
    ] {
        if xs.is_empty() {
            continue;
        }
        let best = xs.iter().copied().fold(f64::INFINITY, f64::min);
        let s = median(xs);
        println!(
            "| {step} | {s:.3} | {:.0} | {best:.3} | {:.0} |",
            per_second(s),
            per_second(best)
        );
    }
    if let Some((calamine, import)) = medians {
        let ratio = import / calamine;
        let rate = per_second(import);
        println!();
        println!(
            "import / calamine alone, per run: {}",
            ratios
                .iter()
                .map(|r| format!("{r:.2}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        println!(
            "import / calamine alone, of the medians: {ratio:.2} (bar ≤ 1.30: {}); \
             import {rate:.0} rows/s (bar ≥ 50 000: {})",
            if ratio <= 1.3 { "met" } else { "missed" },
            if rate >= 50_000.0 { "met" } else { "missed" },
        );
    }
}
