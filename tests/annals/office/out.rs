//! Word and Excel out, and the office files through the `annals` command line: the
//! report as a Word document that LibreOffice converts to a PDF holding every figure,
//! the figures as a workbook of numbers, the template and imports of every format.
use std::{
    path::{Path, PathBuf},
    process::Command,
};

use calamine::Data;

use super::{class_book, part, read_book};
use crate::{
    helpers::{annals, run, TestStore},
    projections::figures::{REPORT_SENTENCES, SEED},
};

fn tool(var: &str, default: &str) -> PathBuf {
    let path = std::env::var_os(var).map_or_else(|| PathBuf::from(default), PathBuf::from);
    assert!(
        path.exists(),
        "the Word report test needs {} ({var}); install it with `apt-get install -y \
         libreoffice-writer-nogui poppler-utils` (CI's .ci/run does), or set {var}",
        path.display()
    );
    path
}

/// The text of a PDF with all white space and the page footers ("— 3 —") taken out, so
/// a sentence broken across lines or pages reads whole.
fn pdf_text(pdf: &Path) -> String {
    let out = Command::new(tool("PDFTOTEXT", "/usr/bin/pdftotext"))
        .arg(pdf)
        .arg("-")
        .output()
        .expect("pdftotext runs");
    assert!(out.status.success(), "pdftotext: {out:?}");
    let text: String = String::from_utf8_lossy(&out.stdout)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let mut flat = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(i) = rest.find('—') {
        flat.push_str(&rest[..i]);
        let after = &rest[i + '—'.len_utf8()..];
        let digits = after.chars().take_while(char::is_ascii_digit).count();
        match after[digits..].strip_prefix('—') {
            Some(tail) if digits > 0 => rest = tail,
            _ => {
                flat.push('—');
                rest = after;
            }
        }
    }
    flat.push_str(rest);
    flat
}

#[test]
fn the_docx_report_opens_in_libreoffice_and_its_pdf_holds_every_figure() {
    let dir = TestStore::with_example().close();
    let out = tempfile::tempdir().unwrap();
    let docx = out.path().join("report.docx");
    run(annals(dir.path())
        .args([
            "report",
            "--period",
            "2023H1",
            "--on",
            "2023-06-30",
            "--format",
            "docx",
        ])
        .arg("--out")
        .arg(&docx))
    .ok();
    let bytes = std::fs::read(&docx).unwrap();

    // The official layout: A4, the title, the numbered headings, the body, two tables.
    let xml = part(&bytes, "word/document.xml");
    assert!(xml.contains(r#"w:w="11906" w:h="16838""#), "A4");
    for font in ["方正小标宋简体", "黑体", "楷体_GB2312", "仿宋_GB2312"] {
        assert!(xml.contains(font), "uses {font}");
    }
    for heading in [
        "县委党校2023年上半年工作情况",
        "一、2023年上半年工作开展情况",
        "（一）党建工作",
        "（四）师资队伍建设",
        "二、年度计划完成情况",
        "三、主要数据同比",
    ] {
        assert!(xml.contains(heading), "«{heading}»");
    }
    assert_eq!(
        xml.matches("<w:tbl>").count(),
        2,
        "plan against done, and year on year"
    );
    assert!(
        xml.contains(r#"w:firstLine="640""#),
        "body paragraphs indent two characters"
    );
    assert!(
        !xml.contains("###") && !xml.contains("| ---"),
        "no Markdown left over"
    );

    let profile = out.path().join("libreoffice-profile");
    let converted = Command::new(tool("SOFFICE", "/usr/bin/soffice"))
        .arg(format!(
            "-env:UserInstallation=file://{}",
            profile.display()
        ))
        .args([
            "--headless",
            "--norestore",
            "--convert-to",
            "pdf",
            "--outdir",
        ])
        .arg(out.path())
        .arg(&docx)
        .output()
        .expect("LibreOffice runs");
    let stderr = String::from_utf8_lossy(&converted.stderr);
    assert!(
        converted.status.success(),
        "LibreOffice failed: {converted:?}"
    );
    assert!(
        !stderr.contains("Error"),
        "LibreOffice complained: {stderr}"
    );
    let pdf = out.path().join("report.pdf");
    assert!(pdf.exists(), "LibreOffice wrote the PDF: {converted:?}");

    let text = pdf_text(&pdf);
    for sentence in REPORT_SENTENCES.iter().chain(&[
        "县委党校2023年上半年工作情况",
        "全年目标",
        "完成进度",
        "时间进度",
    ]) {
        let sentence: String = sentence.chars().filter(|c| !c.is_whitespace()).collect();
        assert!(
            text.contains(&sentence),
            "the PDF lacks «{sentence}»:\n{text}"
        );
    }
}

#[test]
fn the_figures_workbook_holds_every_seed_figure_as_a_number() {
    let dir = TestStore::with_example().close();
    let out = tempfile::tempdir().unwrap();
    let xlsx = out.path().join("figures.xlsx");
    run(annals(dir.path())
        .args([
            "export",
            "--format",
            "xlsx",
            "--period",
            "2023H1",
            "--on",
            "2023-06-30",
        ])
        .arg("--out")
        .arg(&xlsx))
    .ok();
    let sheets = read_book(&std::fs::read(&xlsx).unwrap());
    let names: Vec<&str> = sheets.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["指标", "计划完成", "趋势", "说明"]);
    let by_name = |sheet: usize, col: usize, name: &str| -> Vec<Data> {
        sheets[sheet]
            .1
            .iter()
            .find(|r| r.get(col).is_some_and(|c| *c == name))
            .unwrap_or_else(|| panic!("{} has a row for {name}", names[sheet]))
            .clone()
    };
    for (figure, name, value) in SEED {
        let row = by_name(0, 3, name);
        assert_eq!(row[0].to_string(), *figure, "{name}");
        assert_eq!(
            row[4],
            Data::Float(*value as f64),
            "{name} is the number {value}"
        );
    }
    let classes = by_name(1, 1, "main_classes");
    assert_eq!(
        (&classes[2], &classes[3]),
        (&Data::Float(17.0), &Data::Float(9.0))
    );
    match classes[4] {
        Data::Float(share) => assert!((share - 9.0 / 17.0).abs() < 1e-9, "{share}"),
        ref other => panic!("the share done is a number: {other:?}"),
    }
    // The series: one column per month of the half; meetings are one day, so they add up.
    let timelines = &sheets[2].1;
    assert_eq!(timelines[0].len(), 3 + 6, "{:?}", timelines[0]);
    let meetings = by_name(2, 2, "school_committee_meetings");
    let sum: f64 = meetings[3..]
        .iter()
        .map(|d| match d {
            Data::Float(v) => *v,
            other => panic!("a number: {other:?}"),
        })
        .sum();
    assert_eq!(sum, 8.0);
    let about: Vec<String> = sheets[3].1.iter().map(|r| r[1].to_string()).collect();
    assert!(about.contains(&"2023年上半年".to_owned()), "{about:?}");
}

#[test]
fn the_office_commands_write_files_import_every_format_and_refuse_binary_to_stdout() {
    let dir = TestStore::with_example().close();
    let store = dir.path();
    let work = tempfile::tempdir().unwrap();
    let at = |name: &str| work.path().join(name);

    run(annals(store).arg("template").current_dir(work.path())).ok();
    let template = std::fs::read(at("annals-template.xlsx")).expect("the default file name");
    assert_eq!(read_book(&template)[0].0, "填写说明");
    run(annals(store)
        .args(["template", "--format", "xlsx", "--out"])
        .arg(at("t.xlsx")))
    .ok();
    assert_eq!(
        read_book(&std::fs::read(at("t.xlsx")).unwrap()),
        read_book(&template),
        "--out writes the same template"
    );

    for (args, needle) in [
        (vec!["report", "--format", "docx"], "--out FILE"),
        (vec!["export", "--format", "xlsx"], "--out FILE"),
        (
            vec!["export", "--period", "2023H1"],
            "the JSONL export is always the whole log",
        ),
        (
            vec![
                "export", "--format", "xlsx", "--by", "week", "--out", "x.xlsx",
            ],
            "'week' is not a bucket",
        ),
    ] {
        let out = run(annals(store).args(&args).current_dir(work.path())).failed();
        assert!(out.stderr.contains(needle), "{args:?}: {}", out.stderr);
    }

    std::fs::write(
        at("登记表.xlsx"),
        class_book(&[("2023-ZT-C1", "45"), ("2023-ZT-C2", "50")]),
    )
    .unwrap();
    let checked = run(annals(store)
        .arg("import")
        .arg(at("登记表.xlsx"))
        .arg("--dry-run"))
    .ok();
    assert!(
        checked.stdout.contains("校验通过（未写入）"),
        "{}",
        checked.stdout
    );
    let done = run(annals(store)
        .args(["--json", "import"])
        .arg(at("登记表.xlsx")))
    .ok();
    let outcome: serde_json::Value = serde_json::from_str(&done.stdout).unwrap();
    assert_eq!(
        (outcome["mode"].as_str(), outcome["added"].as_u64()),
        (Some("appended"), Some(2))
    );

    std::fs::write(
        at("召开会议／组织活动.csv"),
        "日期,会议类型\n2023-06-20,校委会\n",
    )
    .unwrap();
    let csv = run(annals(store)
        .arg("import")
        .arg(at("召开会议／组织活动.csv")))
    .ok();
    assert!(csv.stdout.contains("作为新记录导入"), "{}", csv.stdout);

    std::fs::write(at("bad.xlsx"), class_book(&[("2023-ZT-C3", "-3")])).unwrap();
    let bad = run(annals(store).arg("import").arg(at("bad.xlsx"))).failed();
    assert!(
        bad.stderr
            .contains("1 处问题，未写入任何内容：\n举办培训班!G2: 培训人数: 必须是不小于 0 的整数"),
        "{}",
        bad.stderr
    );
    let locked = run(annals(store)
        .arg("import")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/password-protected.xlsx")))
    .failed();
    assert!(locked.stderr.contains("设有密码"), "{}", locked.stderr);
    // JSONL still goes through the same command.
    std::fs::write(
        at("one.jsonl"),
        crate::helpers::jsonl(&[crate::helpers::meeting("2023-06-21")]),
    )
    .unwrap();
    run(annals(store).arg("import").arg(at("one.jsonl"))).ok();
}
