//! The one way in (issue 15): the command line, the page's form, the API and the three
//! import formats refuse the same bad field with the same reason, in the language each
//! front end speaks (issue 17 item 3); `record` lists every problem at once and `--json`
//! makes its errors JSON (item 13); a dry run says what the store would find (item 7).
use std::collections::BTreeSet;

use annals::intake::{self, At, ImportOptions, IntakeError, Mode, Trust};
use events::{Catalog, Reason};
use reqwest::{header, StatusCode};
use serde_json::{json, Value};

use crate::{
    helpers::{annals, run, TestStore, AUTHOR},
    office::{book, header as write_header, row, CLASS_HEADERS},
    server::app::{problem, spawn_open_app, Who},
};

/// One bad class: a day that does not exist, a category that is none of the three, a
/// count that is not a number, and no name.
const BAD_DAY: &str = "2023-02-30";
const BAD_CATEGORY: &str = "夜校";
const BAD_TRAINEES: &str = "很多";

/// The (field, reason in Chinese) each front end must report for the bad class.
fn expected() -> BTreeSet<(String, String)> {
    let catalog = Catalog::embedded();
    let category = catalog.kind("class_held").and_then(|k| k.field("category"));
    let not_one_of = category.unwrap().coerce(BAD_CATEGORY).unwrap_err();
    [
        (
            "occurred",
            Reason::NotDate {
                got: BAD_DAY.into(),
            },
        ),
        ("data.category", not_one_of),
        (
            "data.trainees",
            Reason::NotWholeNumber {
                got: BAD_TRAINEES.into(),
            },
        ),
        (
            "data.class_name",
            Reason::Required {
                label: "班次名称".into(),
            },
        ),
    ]
    .into_iter()
    .map(|(f, r)| (f.to_owned(), r.text(false)))
    .collect()
}

/// A sheet's column, as headed, named as the event's field.
fn field_of_header(header: &str) -> String {
    if ["开始日期", "日期"].contains(&header) {
        return "occurred".into();
    }
    let catalog = Catalog::embedded();
    let kind = catalog.kind("class_held").unwrap();
    let f = kind
        .fields
        .iter()
        .find(|f| f.label_zh == header)
        .unwrap_or_else(|| panic!("no field headed {header}"));
    format!("data.{}", f.name)
}

/// The located problems of a refused import, as (field, reason in Chinese), a sheet's
/// headers mapped to the event's fields.
fn problems(result: Result<intake::Outcome, IntakeError>) -> BTreeSet<(String, String)> {
    let Err(IntakeError::Refused(list)) = result else {
        panic!("expected the import refused, got {result:?}");
    };
    list.iter()
        .map(|p| {
            let field = match &p.at {
                At::Cell(_) => field_of_header(&p.field),
                _ => p.field.clone(),
            };
            (field, p.reason.text(false))
        })
        .collect()
}

/// A JSON problem list's (field, reason).
fn listed(errors: &Value) -> BTreeSet<(String, String)> {
    errors
        .as_array()
        .expect("a list of problems")
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap().to_owned(),
                e["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn options(name: &str) -> ImportOptions<'_> {
    ImportOptions {
        name,
        author: AUTHOR,
        trust: Trust::Operator,
        dry_run: false,
        max_events: None,
    }
}

/// Issue 15, "done when": one bad draft through every front end, one answer.
#[tokio::test]
async fn the_same_bad_field_is_refused_alike_on_every_way_in() {
    let want = expected();

    // The command line, as JSON (its reasons in its language, Chinese by default).
    let dir = tempfile::tempdir().unwrap();
    let cli = run(annals(&dir.path().join("store")).args([
        "--json",
        "record",
        "class_held",
        "--occurred",
        BAD_DAY,
        "--set",
        "class_id=2023-ZT-99",
        "--set",
        &format!("category={BAD_CATEGORY}"),
        "--set",
        "session=1",
        "--set",
        &format!("trainees={BAD_TRAINEES}"),
    ]))
    .failed();
    let cli: Value = serde_json::from_str(&cli.stdout).expect("--json errors are JSON");
    assert_eq!(listed(&cli["errors"]), want, "the command line");

    // The API.
    let app = spawn_open_app().await;
    let draft = json!({
        "kind": "class_held",
        "occurred": BAD_DAY,
        "data": {"class_id": "2023-ZT-99", "category": BAD_CATEGORY, "session": 1,
                 "trainees": BAD_TRAINEES},
    });
    let p = problem(
        app.post_json("/api/events", Who::Recorder, &draft).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(listed(&p["errors"]), want, "the API");

    // The page's form: each message beside its field.
    let cookie = app.login(&app.recorder).await;
    let form = [
        ("kind", "class_held"),
        ("lang", "zh"),
        ("occurred_from", BAD_DAY),
        ("f_class_id", "2023-ZT-99"),
        ("f_category", BAD_CATEGORY),
        ("f_session", "1"),
        ("f_trainees", BAD_TRAINEES),
    ];
    let resp = app.post_form("/record", Some(&cookie), &form).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = resp.text().await.unwrap();
    let page: BTreeSet<(String, String)> = html
        .split("<div class=\"error\" data-field=\"")
        .skip(1)
        .map(|rest| {
            let (name, rest) = rest.split_once("\">").unwrap();
            let message = rest.split("</div>").next().unwrap();
            let field = if name == "occurred" {
                name.to_owned()
            } else {
                format!("data.{name}")
            };
            (field, message.replace("&#x27;", "'"))
        })
        .collect();
    assert_eq!(page, want, "the page's form");

    // A JSONL file, a workbook and a CSV sheet.
    let s = TestStore::new();
    let line = serde_json::to_vec(&draft).unwrap();
    let jsonl = intake::import_file(&s.store, &line, options("bad.jsonl"), &mut |_, _| {});
    assert_eq!(problems(jsonl), want, "a JSONL file");
    let cells = [
        BAD_DAY,
        "",
        "2023-ZT-99",
        "",
        BAD_CATEGORY,
        "1",
        BAD_TRAINEES,
    ];
    let workbook = book(|b| {
        let ws = b.add_worksheet().set_name("举办培训班")?;
        write_header(ws, &CLASS_HEADERS)?;
        row(ws, 1, &cells)
    });
    let xlsx = intake::import_file(&s.store, &workbook, options("bad.xlsx"), &mut |_, _| {});
    assert_eq!(problems(xlsx), want, "a workbook");
    let csv = format!("{}\n{}\n", CLASS_HEADERS[..7].join(","), cells.join(","));
    let csv = intake::import_file(
        &s.store,
        csv.as_bytes(),
        options("举办培训班.csv"),
        &mut |_, _| {},
    );
    assert_eq!(problems(csv), want, "a CSV sheet");
    assert_eq!(s.store.head_seq(), 0, "nothing was written");
}

/// Issue 17 items 3 and 13: every problem of a draft at once, in Chinese unless asked.
#[test]
fn record_lists_every_problem_at_once_in_the_chosen_language() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "record",
        "meeting_held",
        "--occurred",
        "2023-02-30",
        "--set",
        "type=茶话会",
        "--set",
        "attendees=第二期",
    ];
    let zh = run(annals(dir.path()).args(args)).failed();
    for line in [
        "3 处问题，未写入任何内容：",
        "data.type: “茶话会”不是可选项，可选：",
        "data.attendees: 必须是不小于 0 的整数，而不是“第二期”",
        "occurred: “2023-02-30”不是有效日期",
    ] {
        assert!(zh.stderr.contains(line), "{line:?} in {zh:#?}");
    }
    let en = run(annals(dir.path()).args(["--lang", "en"]).args(args)).failed();
    for line in [
        "data.type: '茶话会' is not one of: ",
        "data.attendees: must be a whole number ≥ 0, not '第二期'",
        "occurred: '2023-02-30' is not a real date",
    ] {
        assert!(en.stderr.contains(line), "{line:?} in {en:#?}");
    }
    // Any other error is JSON too with --json: a store that cannot be opened.
    let not_a_folder = dir.path().join("a-file");
    std::fs::write(&not_a_folder, "").unwrap();
    let locked = run(annals(&not_a_folder).args(["--json", "log"])).failed();
    let v: Value = serde_json::from_str(&locked.stdout).expect("the error as JSON");
    assert!(v["error"].as_str().is_some_and(|e| !e.is_empty()), "{v}");
}

/// Issue 17 item 3: the API speaks Chinese unless the client prefers English, and an
/// enum takes its Chinese label as well as its name.
#[tokio::test]
async fn the_api_answers_in_the_language_asked_and_takes_chinese_labels() {
    let app = spawn_open_app().await;
    let bad = json!({"kind": "meeting_held", "occurred": "2023-03-01",
                     "data": {"type": "茶话会"}});
    let zh = problem(
        app.post_json("/api/events", Who::Recorder, &bad).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let reason = zh["errors"][0]["reason"].as_str().unwrap();
    assert!(reason.starts_with("“茶话会”不是可选项，可选："), "{reason}");
    let resp = app
        .request(reqwest::Method::POST, "/api/events", Who::Recorder)
        .header(header::ACCEPT_LANGUAGE, "en-GB,en;q=0.9,zh;q=0.5")
        .json(&bad)
        .send()
        .await
        .unwrap();
    let en = problem(resp, StatusCode::UNPROCESSABLE_ENTITY).await;
    let reason = en["errors"][0]["reason"].as_str().unwrap();
    assert!(reason.starts_with("'茶话会' is not one of: "), "{reason}");

    let by_label = json!({"kind": "class_held", "occurred": "2023-06-12",
        "data": {"class_id": "2023-ZT-98", "class_name": "进修班", "category": "主体班",
                 "session": 1, "trainees": 40}});
    let receipts = app.record(&by_label).await;
    let id = receipts[0]["id"].as_str().unwrap();
    let stored = app
        .get_json(&format!("/api/events/{id}"), Who::Reader)
        .await;
    assert_eq!(stored["event"]["data"]["category"], "main", "{stored}");
}

/// Issue 17 item 7: a dry run says what the import would write: new, already present,
/// conflicting; and writes nothing.
#[test]
fn a_dry_run_asks_the_store_what_the_import_would_find() {
    let s = TestStore::new();
    let id = uuid::Uuid::now_v7();
    let meeting = |id: uuid::Uuid, kind: &str| {
        json!({"id": id, "kind": "meeting_held", "occurred": "2023-03-01",
               "data": {"type": kind}})
        .to_string()
    };
    let first = meeting(id, "school_committee");
    let outcome = intake::jsonl::import(
        &s.store,
        first.as_bytes(),
        "first.jsonl",
        AUTHOR,
        Trust::Operator,
        false,
        &mut |_, _| {},
    )
    .unwrap();
    assert_eq!(outcome.added, 1);
    let head = s.store.head_seq();

    let conflicting_id = uuid::Uuid::now_v7();
    intake::jsonl::import(
        &s.store,
        meeting(conflicting_id, "school_committee").as_bytes(),
        "second.jsonl",
        AUTHOR,
        Trust::Operator,
        false,
        &mut |_, _| {},
    )
    .unwrap();
    let head = head.max(s.store.head_seq());
    let file = [
        first,
        meeting(uuid::Uuid::now_v7(), "school_committee"),
        meeting(conflicting_id, "branch_committee"),
    ]
    .join("\n");
    let dry = intake::import_file(
        &s.store,
        file.as_bytes(),
        ImportOptions {
            dry_run: true,
            ..options("third.jsonl")
        },
        &mut |_, _| {},
    )
    .unwrap();
    assert_eq!(dry.mode, Mode::Checked);
    assert_eq!(
        (dry.added, dry.existing, dry.conflicting),
        (1, 1, 1),
        "{dry:?}"
    );
    assert_eq!(s.store.head_seq(), head, "a dry run writes nothing");

    // The command line says the same, and fails on a conflict.
    let files = tempfile::tempdir().unwrap();
    let path = files.path().join("cli.jsonl");
    std::fs::write(&path, &file).unwrap();
    let store = s.close();
    let out = run(annals(store.path())
        .args(["--json", "import", "--dry-run"])
        .arg(&path))
    .failed();
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        (&v["mode"], &v["added"], &v["existing"], &v["conflicting"]),
        (&json!("checked"), &json!(1), &json!(1), &json!(1)),
        "{v}"
    );
}

/// Issue 17 item 7 over HTTP: a workbook imported once is, on a second dry run, all
/// already present.
#[tokio::test]
async fn a_dry_run_over_http_finds_a_workbook_already_imported() {
    let app = spawn_open_app().await;
    let workbook = crate::office::class_book(&[("2023-ZT-D1", "40"), ("2023-ZT-D2", "41")]);
    let xlsx = annals::office::XLSX_TYPE;
    let path = "/api/imports?name=d.xlsx&dry_run=true";
    let first = app
        .post_raw(path, Who::Recorder, xlsx, workbook.clone())
        .await;
    assert_eq!(first.status(), StatusCode::OK);
    let first: Value = first.json().await.unwrap();
    assert_eq!(
        (&first["added"], &first["existing"]),
        (&json!(2), &json!(0))
    );
    let real = app
        .post_raw(
            "/api/imports?name=d.xlsx",
            Who::Recorder,
            xlsx,
            workbook.clone(),
        )
        .await;
    assert_eq!(real.status(), StatusCode::CREATED);
    let again: Value = app
        .post_raw(path, Who::Recorder, xlsx, workbook)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (&again["mode"], &again["added"], &again["existing"]),
        (&json!("checked"), &json!(0), &json!(2)),
        "{again}"
    );
}

/// Issue 17 item 3: a file that is not a workbook is refused in the language of whoever
/// sent it, on the command line (`--lang`) and over HTTP (`Accept-Language`), as its
/// fields would be.
#[tokio::test]
async fn a_file_that_is_not_a_workbook_is_refused_in_the_senders_language() {
    let old_xls = {
        let mut bytes = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1".to_vec();
        bytes.resize(4096, 0);
        bytes
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("登记表.xlsx");
    std::fs::write(&file, &old_xls).unwrap();
    let file = file.to_str().unwrap();
    let zh = run(annals(dir.path()).args(["import", file]));
    assert!(!zh.status.success());
    assert!(
        zh.stderr.contains("请另存为 Excel 工作簿（.xlsx）"),
        "{}",
        zh.stderr
    );
    let en = run(annals(dir.path()).args(["--lang", "en", "import", file]));
    assert!(!en.status.success());
    assert!(
        en.stderr.contains("save it as an Excel workbook (.xlsx"),
        "{}",
        en.stderr
    );

    let app = spawn_open_app().await;
    let path = "/api/imports?name=%E7%99%BB%E8%AE%B0%E8%A1%A8.xlsx";
    for (language, needle) in [
        ("zh-CN,zh;q=0.9", "请另存为 Excel 工作簿（.xlsx）"),
        ("en-GB,en;q=0.9", "save it as an Excel workbook (.xlsx"),
    ] {
        let resp = app
            .request(reqwest::Method::POST, path, Who::Recorder)
            .header(header::ACCEPT_LANGUAGE, language)
            .header(header::CONTENT_TYPE, annals::office::XLSX_TYPE)
            .body(old_xls.clone())
            .send()
            .await
            .unwrap();
        let body = problem(resp, StatusCode::UNPROCESSABLE_ENTITY).await;
        let reason = body["errors"][0]["reason"].as_str().unwrap();
        assert!(reason.contains(needle), "{language}: {body}");
    }
}
