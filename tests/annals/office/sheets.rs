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

const MEETING_HEADERS: [&str; 5] = ["日期", "会议类型", "主题", "参加人数", "支部/教研组"];

fn date(y: u16, m: u8, d: u8) -> ExcelDateTime {
    ExcelDateTime::from_ymd(y, m, d).expect("a real day")
}

fn date_format() -> Format {
    Format::new().set_num_format("yyyy-mm-dd")
}

#[test]
fn the_template_has_a_sheet_per_kind_with_chinese_headers_notes_and_drop_downs() {
    let catalog = events::Catalog::embedded();
    let bytes = office::template::write(&catalog).unwrap();
    let sheets = read_book(&bytes);
    let names: Vec<&str> = sheets.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names[0], "填写说明", "the instructions come first");
    // Every kind people record has its sheet; corrections and system records do not.
    let kinds: Vec<_> = office::template::kinds(&catalog).collect();
    assert_eq!(names.len(), kinds.len() + 1);
    for k in &kinds {
        assert!(
            names.contains(&office::sheet::sheet_title(k).as_str()),
            "{}",
            k.name
        );
    }
    for absent in ["更正记录", "作废记录", "完成导入"] {
        assert!(!names.contains(&absent), "{absent}");
    }
    // A label with a character Excel forbids in sheet names gets its full-width form.
    assert!(names.contains(&"召开会议／组织活动"), "{names:?}");
    let headers = |name: &str| -> Vec<String> {
        let rows = &sheets.iter().find(|(n, _)| n == name).unwrap().1;
        rows[0].iter().map(ToString::to_string).collect()
    };
    assert_eq!(headers("举办培训班"), CLASS_HEADERS);
    assert_eq!(headers("召开会议／组织活动"), MEETING_HEADERS);
    // Nothing below the headers: a template imported as it is holds no events.
    assert!(sheets.iter().skip(1).all(|(_, rows)| rows.len() == 1));

    // The header notes and drop-down lists live in the sheet's XML and its comments.
    let class_sheet = names.iter().position(|n| *n == "举办培训班").unwrap() + 1;
    let xml = super::part(&bytes, &format!("xl/worksheets/sheet{class_sheet}.xml"));
    assert!(
        xml.contains(r#"<formula1>"主体班,协助承办班,其他班次"</formula1>"#),
        "the category column has a drop-down of its labels: {xml}"
    );
    assert!(
        xml.contains("type=\"whole\""),
        "integer columns take whole numbers"
    );
    let comments: String = super::parts(&bytes)
        .iter()
        .filter(|p| p.starts_with("xl/comments"))
        .map(|p| super::part(&bytes, p))
        .collect();
    for note in [
        "培训人数（必填）：整数，0–100000",
        "班次编号（必填）：文字，不超过64字。同一个班的各期使用相同编号",
        "结束日期：一天内完成的可留空",
        "从下拉列表选择：校委会、理论学习中心组学习",
    ] {
        assert!(comments.contains(note), "a header note says «{note}»");
    }
    // An unfilled template is refused as empty, not imported as nothing.
    let empty = TestStore::new();
    let p = problems(import(&empty.store, &bytes, "模板.xlsx"));
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(p[0].contains("holds no events"), "{p:?}");
}

#[test]
fn a_filled_in_template_imports_and_the_figures_move_as_expected() {
    let example = TestStore::with_example();
    let template = office::template::write(example.store.catalog()).unwrap();
    let sheets = read_book(&template);
    // The script: copy each sheet of the template with its header, fill in rows.
    let filled = |extra_meeting: bool| {
        book(|b: &mut Workbook| {
            for (name, rows) in &sheets {
                let ws = b.add_worksheet().set_name(name)?;
                for (r, cells) in rows.iter().enumerate() {
                    for (c, cell) in cells.iter().enumerate() {
                        if !matches!(cell, Data::Empty) {
                            ws.write(r as u32, c as u16, cell.to_string())?;
                        }
                    }
                }
            }
            let ws = b.worksheet_from_name("举办培训班")?;
            // Excel dates in one row, text dates in the next, labels in both languages.
            ws.write_datetime_with_format(1, 0, date(2023, 6, 12), &date_format())?;
            ws.write_datetime_with_format(1, 1, date(2023, 6, 16), &date_format())?;
            row(
                ws,
                1,
                &["", "", "2023-ZT-T1", "乡村振兴专题培训班", "主体班"],
            )?;
            ws.write(1, 5, 1)?;
            ws.write(1, 6, 40)?;
            row(
                ws,
                1,
                &[
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "县委组织部",
                    "讲授式、案例式",
                    "张三、李四",
                ],
            )?;
            row(
                ws,
                2,
                &[
                    "2023-06-26",
                    "2023/6/30",
                    "2023-ZT-T2",
                    "基层党组织书记培训班",
                    "Main class",
                    "1",
                    "50",
                ],
            )?;
            row(
                ws,
                3,
                &[
                    "2023-06-19",
                    "",
                    "2023-XB-T3",
                    "乡镇干部业务培训班",
                    "协助承办班",
                    "1",
                    "60",
                ],
            )?;
            let ws = b.worksheet_from_name("召开会议／组织活动")?;
            ws.write_datetime_with_format(1, 0, date(2023, 6, 20), &date_format())?;
            row(ws, 1, &["", "校委会", "研究秋季办班计划", "9"])?;
            if extra_meeting {
                row(ws, 2, &["2023-06-29", "支委会", "", "7", "机关支部"])?;
            }
            Ok(())
        })
    };
    let before = figures(&example.store);
    let head = example.head_seq();

    let dry = import_with(&example.store, &filled(false), "登记表.xlsx", true).unwrap();
    assert_eq!((dry.mode, dry.added), (Mode::Checked, 4));
    assert_eq!(example.head_seq(), head, "a dry run writes nothing");

    let outcome = import(&example.store, &filled(false), "登记表.xlsx").unwrap();
    assert_eq!(
        (outcome.mode, outcome.lines, outcome.added, outcome.existing),
        (Mode::Appended, 4, 4, 0)
    );
    assert_eq!(outcome.written, Some([head + 1, head + 5]));
    let after = figures(&example.store);
    let moved: BTreeMap<&str, i64> = after
        .iter()
        .filter(|(name, v)| before[*name] != **v)
        .map(|(name, v)| (name.as_str(), *v as i64 - before[name] as i64))
        .collect();
    assert_eq!(
        moved,
        BTreeMap::from([
            ("co_organised_classes", 1),
            ("main_class_trainees", 90),
            ("main_classes", 2),
            ("main_sessions", 2),
            ("school_committee_meetings", 1),
        ]),
        "exactly the figures the rows touch move"
    );
    let events = scan(
        &example.store,
        Filter {
            from_seq: Some(head + 1),
            ..Filter::default()
        },
    );
    assert_eq!(events[0].occurred.to_string(), "2023-06-12..2023-06-16");
    assert_eq!(events[0].data["teachers"], json!(["张三", "李四"]));
    assert_eq!(events[0].data["methods"], json!(["讲授式", "案例式"]));
    assert_eq!(events[1].occurred.to_string(), "2023-06-26..2023-06-30");
    assert_eq!(events[1].data["category"], "main");
    assert_eq!(events[2].occurred.to_string(), "2023-06-19");
    assert_eq!(events[3].kind, "meeting_held");
    assert_eq!(
        events[3].data,
        json!({"type": "school_committee", "title": "研究秋季办班计划", "attendees": 9})
    );
    let note = &events[4];
    assert_eq!(note.kind, "import_completed");
    assert_eq!(
        (note.data["file_name"].as_str(), note.data["added"].as_u64()),
        (Some("登记表.xlsx"), Some(4))
    );

    // The same register again writes nothing; the register with a row added writes the row.
    let again = import(&example.store, &filled(false), "登记表.xlsx").unwrap();
    assert_eq!(
        (again.mode, again.added, again.existing),
        (Mode::Unchanged, 0, 4)
    );
    let grown = import(&example.store, &filled(true), "登记表.xlsx").unwrap();
    assert_eq!(
        (grown.mode, grown.added, grown.existing),
        (Mode::Appended, 1, 4)
    );
    assert_eq!(
        figures(&example.store)["branch_committee_meetings"],
        before["branch_committee_meetings"] + 1
    );
}

#[test]
fn a_workbook_with_five_bad_cells_imports_nothing_and_lists_all_five() {
    let example = TestStore::with_example();
    let head = example.head_seq();
    let bytes = book(|b| {
        let ws = b.add_worksheet().set_name("举办培训班")?;
        header(ws, &CLASS_HEADERS)?;
        let (day, id, name) = ("2023-06-12", "2023-ZT-B", "全县科级干部进修班");
        row(ws, 1, &[day, "", id, name, "主体班", "1"])?;
        ws.write(1, 6, -3)?;
        row(ws, 2, &[day, "", id, name, "夜校", "2", "45"])?;
        row(ws, 3, &["2023-02-30", "", id, name, "主体班", "3", "45"])?;
        row(ws, 4, &[day, "", id, name, "主体班"])?;
        ws.write(4, 5, 0)?;
        ws.write(4, 6, 45)?;
        row(ws, 5, &[day, "", id, "", "主体班", "5", "45"])?;
        row(ws, 6, &[day, "", id, name, "主体班", "6", "45"])?;
        let ws = b.add_worksheet().set_name("召开会议／组织活动")?;
        header(ws, &MEETING_HEADERS)?;
        row(ws, 1, &["2023-06-20", "校委会"])?;
        Ok(())
    });
    let p = problems(import(&example.store, &bytes, "登记表.xlsx"));
    assert_eq!(
        p,
        [
            "举办培训班!G2: 培训人数: must be a whole number ≥ 0, not '-3'",
            "举办培训班!E3: 班次类别: '夜校' is not one of: main (主体班), co_organised (协助承办班), other (其他班次)",
            "举办培训班!A4: 开始日期: '2023-02-30' is not a real date in the form YYYY-MM-DD",
            "举办培训班!F5: 期次: must be between 1 and 100, not 0",
            "举办培训班!D6: 班次名称: is required (班次名称)",
        ]
    );
    assert_eq!(
        example.head_seq(),
        head,
        "nothing was imported, not even the valid rows"
    );
}

#[test]
fn a_file_that_is_not_a_workbook_is_refused_saying_what_to_save_it_as() {
    let store = TestStore::new();
    let closing = projections::report::Closing {
        signer: "县委党校".into(),
        date: "2023年7月3日".into(),
    };
    let docx = office::docx::report("# 标题\n\n正文。", &closing).unwrap();
    let mut old_xls = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1".to_vec();
    old_xls.resize(4096, 0);
    for (bytes, name, needle) in [
        (
            b"hello, world".to_vec(),
            "register.xlsx",
            "is not an Excel workbook (.xlsx): it starts with the text \"hello, world\"",
        ),
        (Vec::new(), "register.xlsx", "nothing (the file is empty)"),
        (docx, "register.xlsx", "is not an Excel workbook (.xlsx)"),
        (old_xls, "register.xls", "Excel 97–2003 workbook (.xls)"),
    ] {
        match import(&store.store, &bytes, name) {
            Err(IntakeError::File(OfficeError::Unreadable(msg))) => {
                assert!(msg.contains(needle), "{msg}")
            }
            other => panic!("{name}: expected unreadable, got {other:?}"),
        }
    }
    assert_eq!(store.head_seq(), 0);
}

/// The fixture is a workbook encrypted with the password `secret` by
/// `msoffcrypto-tool -e -p secret plain.xlsx password-protected.xlsx`, as Excel's
/// 文件 → 信息 → 用密码进行加密 saves one: an OLE container holding `EncryptedPackage`.
#[test]
fn a_password_protected_workbook_is_refused_with_a_clear_message() {
    let bytes = include_bytes!("../../fixtures/password-protected.xlsx");
    let store = TestStore::new();
    let err = import(&store.store, bytes, "加密.xlsx").unwrap_err();
    assert!(
        matches!(err, IntakeError::File(OfficeError::Encrypted)),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("password-protected") && msg.contains("remove the password"),
        "{msg}"
    );
    assert_eq!(store.head_seq(), 0);
}

#[test]
fn unknown_sheets_and_headers_are_listed_with_what_would_be_accepted() {
    let store = TestStore::new();
    let bytes = book(|b| {
        let ws = b.add_worksheet().set_name("培训班登记")?;
        row(ws, 0, &["班次", "人数"])?;
        row(ws, 1, &["进修班", "45"])?;
        let ws = b.add_worksheet().set_name("举办培训班")?;
        let mut headers = CLASS_HEADERS;
        headers[6] = "培训人次";
        header(ws, &headers)?;
        row(
            ws,
            1,
            &[
                "2023-06-12",
                "",
                "2023-ZT-U",
                "全县科级干部进修班",
                "主体班",
                "1",
                "45",
            ],
        )?;
        // An empty sheet that Excel or WPS added is not an error.
        b.add_worksheet().set_name("Sheet3")?;
        Ok(())
    });
    let p = problems(import(&store.store, &bytes, "登记表.xlsx"));
    assert_eq!(p.len(), 3, "{p:#?}");
    assert!(
        p[0].starts_with("培训班登记!A1: sheet: '培训班登记' is not a kind of event; name each sheet after its kind: ")
            && p[0].contains("举办培训班")
            && p[0].contains("召开会议／组织活动"),
        "{}",
        p[0]
    );
    assert_eq!(
        p[1],
        "举办培训班!G1: 培训人次: is not a column of 举办培训班; the headers 举办培训班 accepts are: \
         开始日期, 结束日期, 班次编号, 班次名称, 班次类别, 期次, 培训人数, 委托/主办单位, 教学方式, 授课教师 \
         (or the fields' English labels or names)"
    );
    assert_eq!(
        p[2],
        "举办培训班!1:1: 培训人数: is required, but the sheet has no such column; add it"
    );

    // English sheet names and headers (labels or field names) are accepted as well.
    let catalog = events::Catalog::embedded();
    let meeting = catalog.kind("meeting_held").unwrap();
    let english: Vec<&str> = std::iter::once("Date")
        .chain(meeting.fields.iter().map(|f| f.label_en.as_str()))
        .collect();
    let bytes = book(|b| {
        let ws = b.add_worksheet().set_name("Meeting held")?;
        header(ws, &english)?;
        row(
            ws,
            1,
            &["2023-06-20", "School committee meeting", "Autumn plan", "9"],
        )?;
        let ws = b.add_worksheet().set_name("class_held")?;
        header(
            ws,
            &[
                "start",
                "class_id",
                "class_name",
                "category",
                "session",
                "trainees*",
            ],
        )?;
        row(
            ws,
            1,
            &["2023-06-12", "2023-ZT-E", "Refresher", "main", "1", "45"],
        )?;
        Ok(())
    });
    let outcome = import(&store.store, &bytes, "english.xlsx").unwrap();
    assert_eq!(outcome.added, 2);
}

#[test]
fn merged_cells_are_refused_naming_their_range() {
    let store = TestStore::new();
    let bytes = book(|b| {
        let ws = b.add_worksheet().set_name("举办培训班")?;
        header(ws, &CLASS_HEADERS)?;
        for r in 1..=2 {
            row(
                ws,
                r,
                &[
                    "2023-06-12",
                    "",
                    "",
                    "全县科级干部进修班",
                    "主体班",
                    "1",
                    "45",
                ],
            )?;
        }
        ws.merge_range(1, 2, 2, 2, "2023-ZT-M", &Format::new())?;
        Ok(())
    });
    let p = problems(import(&store.store, &bytes, "登记表.xlsx"));
    assert_eq!(
        p,
        ["举办培训班!C2:C3: 班次编号: merged cells cannot be read row by row; unmerge them (取消合并单元格) and fill in every cell"]
    );
    assert_eq!(store.head_seq(), 0);
}

#[test]
fn formulas_are_read_as_the_values_they_computed() {
    let store = TestStore::new();
    let bytes = book(|b| {
        let ws = b.add_worksheet().set_name("举办培训班")?;
        header(ws, &CLASS_HEADERS)?;
        row(
            ws,
            1,
            &["", "", "2023-ZT-F", "全县科级干部进修班", "主体班", "1"],
        )?;
        ws.write_formula_with_format(
            1,
            0,
            Formula::new("=DATE(2023,6,12)").set_result("45089"),
            &date_format(),
        )?;
        ws.write_formula(1, 6, Formula::new("=20+25").set_result("45"))?;
        ws.write_formula(
            1,
            2,
            Formula::new("=\"2023-\"&\"ZT-F\"").set_result("2023-ZT-F"),
        )?;
        Ok(())
    });
    let outcome = import(&store.store, &bytes, "公式.xlsx").unwrap();
    assert_eq!(outcome.added, 1);
    let e = &store.events()[0];
    assert_eq!(e.occurred.to_string(), "2023-06-12");
    assert_eq!(e.data["trainees"], 45);
    assert_eq!(e.data["class_id"], "2023-ZT-F");

    // A formula that failed is refused, naming the error it shows.
    let broken = book(|b| {
        let ws = b.add_worksheet().set_name("举办培训班")?;
        header(ws, &CLASS_HEADERS)?;
        row(
            ws,
            1,
            &[
                "2023-06-12",
                "",
                "2023-ZT-G",
                "全县科级干部进修班",
                "主体班",
                "1",
            ],
        )?;
        ws.write_formula(1, 6, Formula::new("=1/0").set_result("#DIV/0!"))?;
        Ok(())
    });
    let p = problems(import(&store.store, &broken, "公式.xlsx"));
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].starts_with("举办培训班!G2: 培训人数: ") && p[0].contains("#DIV/0!"),
        "{p:?}"
    );
}

#[test]
fn empty_rows_below_and_between_the_data_are_ignored() {
    let store = TestStore::new();
    let bytes = book(|b| {
        let ws = b.add_worksheet().set_name("召开会议／组织活动")?;
        header(ws, &MEETING_HEADERS)?;
        row(ws, 1, &["2023-06-20", "校委会"])?;
        row(ws, 3, &["2023-06-21", "支委会"])?;
        // Formatted but empty cells, and cells holding only spaces, as registers often have.
        let bordered = Format::new().set_border(rust_xlsxwriter::FormatBorder::Thin);
        for r in 4..200 {
            for c in 0..5 {
                ws.write_blank(r, c, &bordered)?;
            }
        }
        ws.write(150, 2, "   ")?;
        Ok(())
    });
    let outcome = import(&store.store, &bytes, "会议.xlsx").unwrap();
    assert_eq!((outcome.lines, outcome.added), (2, 2));
}

#[test]
fn excel_dates_and_dates_typed_as_text_both_work() {
    let store = TestStore::new();
    let bytes = book(|b| {
        let ws = b.add_worksheet().set_name("召开会议／组织活动")?;
        header(ws, &MEETING_HEADERS)?;
        ws.write_datetime_with_format(1, 0, date(2023, 6, 28), &date_format())?;
        ws.write(2, 0, "2023-06-28")?;
        ws.write(3, 0, "2023/6/28")?;
        ws.write(4, 0, "2023年6月28日")?;
        // A day number whose cell lost its date format.
        ws.write(5, 0, 45105)?;
        for r in 1..=5 {
            ws.write(r, 1, "校委会")?;
        }
        let ws = b.add_worksheet().set_name("制定工作打算")?;
        header(ws, &["日期", "工作打算", "完成期限", "所属工作"])?;
        row(ws, 1, &["2023-06-30", "", "", "教育培训"])?;
        ws.write(1, 1, "秋季主体班开班")?;
        ws.write_datetime_with_format(1, 2, date(2023, 9, 30), &date_format())?;
        Ok(())
    });
    let outcome = import(&store.store, &bytes, "日期.xlsx").unwrap();
    assert_eq!(outcome.added, 6);
    let events = store.events();
    for e in &events[..5] {
        assert_eq!(e.occurred.to_string(), "2023-06-28", "seq {}", e.seq);
    }
    assert_eq!(events[5].data["due"], "2023-09-30");
}

#[test]
fn a_csv_sheet_is_named_by_its_file_and_must_be_utf8() {
    let store = TestStore::new();
    let csv = "\u{feff}开始日期,结束日期,班次编号,班次名称,班次类别,期次,培训人数\n\
               2023-06-12,2023-06-16,2023-ZT-C1,\"进修班,第一期\",主体班,1,45\n\
               2023/6/26,,2023-ZT-C2,进修班,主体班,1,50\n\
               ,,,,,,\n";
    let outcome = import(&store.store, csv.as_bytes(), "exports/举办培训班.csv").unwrap();
    assert_eq!((outcome.mode, outcome.added), (Mode::Appended, 2));
    let events = store.events();
    assert_eq!(events[0].data["class_name"], "进修班,第一期");
    assert_eq!(events[1].occurred.to_string(), "2023-06-26");
    // The kind's name works as the file name too; a bad cell is named like a sheet's.
    let bad =
        "开始日期,班次编号,班次名称,班次类别,期次,培训人数\n2023-06-12,X,进修班,主体班,1,很多\n";
    assert_eq!(
        problems(import(&store.store, bad.as_bytes(), "class_held.csv")),
        ["class_held!F2: 培训人数: must be a whole number ≥ 0, not '很多'"]
    );
    let p = problems(import(&store.store, bad.as_bytes(), "upload.csv"));
    assert!(
        p[0].starts_with("upload!A1: sheet: 'upload' is not a kind of event"),
        "{p:?}"
    );
    // "开始日期" in GBK, as Excel's plain CSV writes it on a Chinese Windows.
    let gbk = b"\xbf\xaa\xca\xbc\xc8\xd5\xc6\xda\n";
    match import(&store.store, gbk, "举办培训班.csv") {
        Err(IntakeError::File(OfficeError::Unreadable(msg))) => {
            assert!(msg.contains("CSV UTF-8"), "{msg}")
        }
        other => panic!("{other:?}"),
    }
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
            assert!(msg.contains("column XFD"), "{msg}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(s.head_seq(), 0);
}
