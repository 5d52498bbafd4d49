//! The import template, and a filled-in workbook moving the figures as expected.
use super::*;

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
    let xml = crate::office::part(&bytes, &format!("xl/worksheets/sheet{class_sheet}.xml"));
    assert!(
        xml.contains(r#"<formula1>"主体班,协助承办班,其他班次"</formula1>"#),
        "the category column has a drop-down of its labels: {xml}"
    );
    assert!(
        xml.contains("type=\"whole\""),
        "integer columns take whole numbers"
    );
    let comments: String = crate::office::parts(&bytes)
        .iter()
        .filter(|p| p.starts_with("xl/comments"))
        .map(|p| crate::office::part(&bytes, p))
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
