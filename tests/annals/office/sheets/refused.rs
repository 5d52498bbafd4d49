//! Bad workbooks and CSV sheets: each refused whole, every bad cell named, or read
//! as Excel computed it (formulas, dates, empty rows).
use super::*;

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
                assert!(msg.en.contains(needle), "{msg:?}")
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
    let bytes = include_bytes!("../../../fixtures/password-protected.xlsx");
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
            assert!(msg.en.contains("CSV UTF-8"), "{msg:?}")
        }
        other => panic!("{other:?}"),
    }
}
