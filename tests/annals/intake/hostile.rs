//! Issue 13, section 3: one small file must not exhaust memory. Hostile workbooks,
//! JSONL and CSV files (`files`) are sent to the real server and given to the real
//! command line, whose peak resident memory is read from the kernel (`peak`), and
//! imported in this process to check what they are refused with.
//!
//! To measure by hand (RELIABILITY.md, "Imports: memory"), write every file with
//! `HOSTILE_OUT=/tmp/hostile cargo test --test annals intake::hostile::write -- --ignored`.
use annals::intake::IntakeError;
use annals::office::{OfficeError, XLSX_TYPE};
use reqwest::{header::CONTENT_TYPE, StatusCode};
use serde_json::Value;

use crate::{
    helpers::{annals, TestStore},
    office::import,
    server::{app::client, binary},
};

mod files;
mod peak;

/// What an import may raise a process's peak resident memory by (issue 13).
const BOUND_KIB: u64 = 256 * 1024;

/// Every hostile file, by name, as measured in RELIABILITY.md.
fn every_file() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("bad-cells.xlsx", files::bad_cells(1_000_000, 30_000)),
        ("bomb.xlsx", files::bomb(1 << 30, None)),
        ("bomb-lying.xlsx", files::bomb(1 << 30, Some(4096))),
        ("spaces.xlsx", files::spaces(1 << 30)),
        (
            "strings-count.xlsx",
            files::shared_strings_count(4_000_000_000),
        ),
        ("many-strings.xlsx", files::many_strings(25_000_000)),
        ("most-held.xlsx", files::most_held(999_990, 47, 200 << 20)),
        // The worst a workbook within every limit can do to calamine: shared strings
        // and styles at theirs, and a worksheet at its 32 MiB of one text, or of
        // elements nested as deep as it allows.
        (
            "text-at-limits.xlsx",
            files::at_limits(
                r#"<c t="inlineStr"><is><t>"#,
                "a",
                33_300_000,
                "</t></is></c>",
            ),
        ),
        (
            "deep-at-limits.xlsx",
            files::at_limits("", "<a>", 11_100_000, ""),
        ),
        ("styles.xlsx", files::styles(300_000, 100_000)),
        ("styles-short.xlsx", files::styles(1, 2_000_000)),
        ("merged.xlsx", files::merged(8_000_000)),
        ("far-cells.xlsx", files::far_cells(100_000)),
        ("huge-dimension.xlsx", files::huge_dimension()),
        ("many-sheets.xlsx", files::many_sheets(2_000_000)),
        ("deep.xlsx", files::deep(100_000_000)),
        ("formulas.xlsx", files::formulas(500_000)),
        ("bad-lines.jsonl", files::bad_lines(340_000)),
        ("long-days.jsonl", files::long_days(30, 30_000)),
        ("giant-line.jsonl", files::giant_line(1_000_000)),
        ("举办培训班.csv", files::bad_csv(50_000)),
        ("class_held.csv", files::wide_csv(1_000_000)),
    ]
}

/// Writes every hostile file into `$HOSTILE_OUT` (or a folder in the temporary folder,
/// when run with the other ignored tests), for measuring by hand.
#[test]
#[ignore = "writes files for measuring by hand"]
fn write_every_hostile_file() {
    let out = std::env::var_os("HOSTILE_OUT").map_or_else(
        || std::env::temp_dir().join("annals-hostile"),
        std::path::PathBuf::from,
    );
    std::fs::create_dir_all(&out).unwrap();
    for (name, bytes) in every_file() {
        println!("{name}: {} bytes", bytes.len());
        std::fs::write(out.join(name), bytes).unwrap();
    }
}

/// Issue 13: three hostile workbooks sent at once (a sheet that unpacks to 300 MiB, a
/// shared strings table that says it holds four billion strings, styles that would copy
/// a long font name into each of 100 000 styles), then a JSONL file of 9 000 bad lines
/// (more are over a request's limit) and a CSV file of 200 000 bad cells: each is refused with a 4xx that says why, the
/// server still answers, and its peak resident memory rose by at most 256 MB.
#[tokio::test(flavor = "multi_thread")]
async fn issue_13_hostile_imports_leave_the_server_answering_within_256_mb() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().to_owned();
    let served = tokio::task::spawn_blocking(move || binary::serve(&store, &["--no-demo"], "warn"))
        .await
        .unwrap();
    let pid = served.process.0.id();
    let http = client();
    let post = |name: &'static str, content_type: &'static str, body: Vec<u8>| {
        http.post(format!("{}/api/imports?name={name}", served.address))
            .bearer_auth(&served.admin_token)
            .header(CONTENT_TYPE, content_type)
            .body(body)
            .send()
    };
    let answer = |resp: reqwest::Response| async move {
        let status = resp.status();
        let problem: Value = serde_json::from_str(&resp.text().await.unwrap()).unwrap();
        (status, problem)
    };
    // The import path once, so that what it always takes is in the baseline.
    let (status, _) = answer(
        post("warm.jsonl", "application/x-ndjson", files::bad_lines(10))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let before = peak::high_water_kib(pid).expect("the server runs");

    let (bomb, strings, styles) = tokio::join!(
        post("bomb.xlsx", XLSX_TYPE, files::bomb(300 << 20, None)),
        post(
            "strings.xlsx",
            XLSX_TYPE,
            files::shared_strings_count(4_000_000_000)
        ),
        post("styles.xlsx", XLSX_TYPE, files::styles(300_000, 100_000)),
    );
    for (resp, part) in [
        (bomb, "xl/worksheets/sheet1.xml"),
        (strings, "xl/sharedStrings.xml"),
        (styles, "xl/styles.xml"),
    ] {
        let (status, problem) = answer(resp.expect("the server answers")).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{problem}");
        let detail = problem["detail"].as_str().unwrap();
        assert!(
            detail.contains("无法安全读取") && detail.contains(part),
            "{detail}"
        );
    }
    let (status, problem) = answer(
        post(
            "lines.jsonl",
            "application/x-ndjson",
            files::bad_lines(9_000),
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        problem["detail"],
        "9000 problem(s) found; nothing was imported (the first 100 are listed, and 8900 more)"
    );
    assert_eq!(problem["errors"].as_array().unwrap().len(), 100);
    let (status, problem) = answer(
        post("举办培训班.csv", "text/csv", files::bad_csv(50_000))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        problem["detail"].as_str().unwrap().contains("and "),
        "{problem}"
    );

    let health = http
        .get(format!("{}/healthz", served.address))
        .send()
        .await
        .expect("the server still answers");
    assert_eq!(health.status(), StatusCode::OK);
    let after = peak::high_water_kib(pid).expect("the server runs");
    println!("server peak: {before} KiB before, {after} KiB after");
    assert!(
        after - before <= BOUND_KIB,
        "the server's peak rose by {} MiB",
        (after - before) / 1024
    );
}

/// Issue 13: the command line reads the same code, so a workbook whose sheet unpacks to
/// 300 MiB is refused as over the server, and the process's peak stays within 256 MB of
/// what a command that only opens the store takes.
#[test]
fn issue_13_the_command_line_refuses_a_hostile_workbook_within_256_mb() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let file = dir.path().join("bomb.xlsx");
    std::fs::write(&file, files::bomb(300 << 20, None)).unwrap();
    let opened = peak::run(annals(&store).arg("log"), dir.path());
    assert!(opened.status.success(), "{}", opened.stderr);
    let import = peak::run(annals(&store).arg("import").arg(&file), dir.path());
    assert!(!import.status.success());
    assert!(
        import.stderr.contains("无法安全读取")
            && import.stderr.contains("xl/worksheets/sheet1.xml"),
        "{}",
        import.stderr
    );
    println!(
        "command line peak: {} KiB to open the store, {} KiB to refuse the workbook",
        opened.peak_kib, import.peak_kib
    );
    assert!(
        import.peak_kib <= opened.peak_kib + BOUND_KIB,
        "the import's peak was {} MiB",
        import.peak_kib / 1024
    );
}

/// Issue 13: a file's problems past the first hundred are counted and not kept, and a
/// value a problem quotes is cut to 40 characters.
#[test]
fn issue_13_problems_past_the_first_hundred_are_counted_and_quoted_values_cut() {
    let s = TestStore::new();
    let short = |reason: &str| reason.chars().count() <= 300;
    match import(&s.store, &files::long_days(300, 30_000), "long.jsonl") {
        Err(IntakeError::Refused(lines)) => {
            assert_eq!(lines.listed().len(), 100);
            assert!(lines.total() > 300, "{}", lines.total());
            assert!(lines.iter().all(|l| short(&l.reason.to_string())));
            let first = lines.listed()[0].reason.to_string();
            assert!(
                first.starts_with(&format!("'{}…'", "9".repeat(40))),
                "{first}"
            );
            let message = IntakeError::Refused(lines.clone()).to_string();
            assert!(
                message.ends_with(&format!("… and {} more", lines.total() - 100)),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
    match import(&s.store, &files::bad_cells(300, 30_000), "登记表.xlsx") {
        Err(IntakeError::Refused(cells)) => {
            assert_eq!(cells.listed().len(), 100);
            assert!(cells.total() > 1_000, "{}", cells.total());
            assert!(cells.iter().all(|c| short(&c.reason.to_string())));
            assert!(cells.iter().any(|c| c
                .reason
                .to_string()
                .contains(&format!("{}…", "x".repeat(40)))));
        }
        other => panic!("{other:?}"),
    }
    // Merged regions are a sheet's problems: 200 000 of them, the first hundred kept.
    match import(&s.store, &files::merged(200_000), "登记表.xlsx") {
        Err(IntakeError::Refused(cells)) => {
            assert_eq!(
                (cells.listed().len(), cells.more()),
                (100, cells.total() - 100)
            );
            assert!(cells.total() >= 199_000, "{}", cells.total());
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(s.store.head().unwrap().seq, 0);
}

/// Issue 13: files that would exhaust memory or keep a thread busy for minutes are
/// refused, naming the part and the limit.
#[test]
fn issue_13_files_that_would_exhaust_memory_are_refused_naming_the_part_and_the_limit() {
    let s = TestStore::new();
    let refused = |bytes: Vec<u8>, name: &str| match import(&s.store, &bytes, name) {
        Err(IntakeError::File(
            e @ (OfficeError::OverLimit { .. } | OfficeError::Unreadable(_)),
        )) => e.to_string(),
        other => panic!("{name}: {other:?}"),
    };
    for (bytes, wanted) in [
        (
            files::bomb(1 << 30, None),
            [
                "xl/worksheets/sheet1.xml unpacks to 1025 MiB",
                "512 MiB a part may hold",
            ],
        ),
        (
            files::shared_strings_count(4_000_000_000),
            [
                "xl/sharedStrings.xml says it holds 4000000000 strings",
                "1000000",
            ],
        ),
        (
            files::styles(300_000, 100_000),
            ["xl/styles.xml has 99976 cell styles", "64 MiB"],
        ),
        (
            files::many_sheets(1_100),
            [
                "sheets, more than the 1000 a workbook may have",
                "xl/workbook.xml",
            ],
        ),
        (
            files::far_cells(7_000),
            [
                "its sheets hold more than 100000000 cells",
                "an import reads",
            ],
        ),
    ] {
        let message = refused(bytes, "登记表.xlsx");
        assert!(wanted.iter().all(|w| message.contains(w)), "{message}");
    }
    // A lying zip is refused where its part goes past the size it declared.
    let message = refused(files::bomb(300 << 20, Some(4096)), "登记表.xlsx");
    assert!(message.contains("declared"), "{message}");
    let message = refused(files::wide_csv(1_000_000), "举办培训班.csv");
    assert!(message.contains("more than the 16384 columns"), "{message}");
    assert_eq!(s.store.head().unwrap().seq, 0);
}
