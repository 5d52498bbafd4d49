//! Issue 13, section 3: one small file must not exhaust memory. Hostile workbooks,
//! JSONL and CSV files (`files`) are sent to the real server and given to the real
//! command line, whose peak resident memory is read from the kernel.
//!
//! To measure by hand (RELIABILITY.md, "Imports: memory"), write every file with
//! `HOSTILE_OUT=/tmp/hostile cargo test --test annals hostile::write -- --ignored`.
mod files;

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

/// Writes every hostile file into `$HOSTILE_OUT`, for measuring by hand.
#[test]
#[ignore = "writes files for measuring by hand"]
fn write_every_hostile_file() {
    let out = std::path::PathBuf::from(std::env::var_os("HOSTILE_OUT").expect("HOSTILE_OUT"));
    std::fs::create_dir_all(&out).unwrap();
    for (name, bytes) in every_file() {
        println!("{name}: {} bytes", bytes.len());
        std::fs::write(out.join(name), bytes).unwrap();
    }
}
