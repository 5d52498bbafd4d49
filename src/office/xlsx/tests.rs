//! The quick reader against calamine: the same workbook read by both gives the same
//! pieces, whether the quick reader reads it all, stops in a sheet, or cannot start.
use std::io::{Read, Write};

use rust_xlsxwriter::{Format as CellFormat, Formula, Workbook};

use super::*;

/// Every piece a reader hands over.
fn collect(read: impl FnOnce(&mut dyn FnMut(Piece) -> bool)) -> Vec<Piece> {
    let mut pieces = Vec::new();
    read(&mut |p| {
        pieces.push(p);
        true
    });
    pieces
}

/// Pieces as the importer takes them: each sheet's rows in one piece, no empty ones
/// (calamine sends merged regions for every sheet once any sheet has some, and no rows
/// for a sheet without cells).
fn normal(pieces: Vec<Piece>) -> Vec<Piece> {
    let mut out: Vec<Piece> = Vec::new();
    for piece in pieces {
        match (out.last_mut(), piece) {
            (_, Piece::Merged(m)) if m.is_empty() => {}
            (_, Piece::Rows(r)) if r.is_empty() => {}
            (Some(Piece::Rows(rows)), Piece::Rows(more)) => rows.extend(more),
            (_, piece) => out.push(piece),
        }
    }
    out
}

fn by_calamine(bytes: &[u8]) -> Vec<Piece> {
    normal(collect(|send| {
        read_with_calamine(bytes, send, &Sent::default()).expect("calamine reads it")
    }))
}

/// The quick reader alone, which must read the whole workbook.
fn quickly(bytes: &[u8]) -> Vec<Piece> {
    normal(collect(|send| {
        read_quickly(bytes, send).expect("the quick reader reads it all")
    }))
}

fn by_read(bytes: &[u8]) -> Vec<Piece> {
    normal(collect(|send| {
        read(bytes, send).expect("the workbook reads")
    }))
}

fn rows_of(pieces: &[Piece]) -> usize {
    pieces
        .iter()
        .map(|p| match p {
            Piece::Rows(rows) => rows.len(),
            _ => 0,
        })
        .sum()
}

#[test]
fn a_register_reads_the_same_as_calamine_reads_it() {
    let mut book = Workbook::new();
    let date = CellFormat::new().set_num_format("yyyy-mm-dd");
    let chinese_date = CellFormat::new().set_num_format("yyyy\"年\"m\"月\"d\"日\"");
    let builtin_date = CellFormat::new().set_num_format_index(14);
    let duration = CellFormat::new().set_num_format("[h]:mm");
    let money = CellFormat::new().set_num_format("#,##0.00");
    let bold = CellFormat::new().set_bold();
    let ws = book.add_worksheet();
    ws.set_name("举办培训班").unwrap();
    let headers = ["日期", "名称", "人数", "费用", "完成", "备注", "时长"];
    for (c, h) in headers.iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    for r in 1..2_500u32 {
        let n = f64::from(r);
        ws.write_number_with_format(r, 0, 45_000.0 + n, &date)
            .unwrap();
        ws.write_string(r, 1, format!("第{r}期 <培训> & \"班\" '{}'", r % 7))
            .unwrap();
        ws.write_number(r, 2, n * 3.0).unwrap();
        ws.write_number_with_format(r, 3, n / 7.0 - 100.0, &money)
            .unwrap();
        ws.write_boolean(r, 4, r % 2 == 0).unwrap();
        match r % 9 {
            0 => ws.write_string(r, 5, "  空格  ").unwrap(),
            1 => ws.write_blank(r, 5, &bold).unwrap(),
            2 => ws
                .write_formula(r, 5, Formula::new("=C2*2").set_result("42"))
                .unwrap(),
            3 => ws
                .write_rich_string(r, 5, &[(&bold, "富"), (&CellFormat::default(), " 文本")])
                .unwrap(),
            4 => ws
                .write_number_with_format(r, 5, 45_123.5, &chinese_date)
                .unwrap(),
            5 => ws
                .write_number_with_format(r, 5, 45_123.0, &builtin_date)
                .unwrap(),
            6 => ws.write_number(r, 5, 1.5e-12).unwrap(),
            7 => ws.write_string(r, 5, "").unwrap(),
            _ => ws.write_number(r, 5, -0.0).unwrap(),
        };
        ws.write_number_with_format(r, 6, n / 24.0, &duration)
            .unwrap();
    }
    ws.merge_range(2_500, 0, 2_501, 2, "合并", &bold).unwrap();
    book.add_worksheet().set_name("空表").unwrap();
    let other = book.add_worksheet();
    other.set_name("Hidden & <odd>").unwrap();
    other.write_string(3, 30, "far right").unwrap();
    other.set_hidden(true);
    let bytes = book.save_to_buffer().unwrap();

    let calamine = by_calamine(&bytes);
    assert_eq!(quickly(&bytes), calamine);
    assert_eq!(rows_of(&calamine), 2_502);
    assert!(calamine.contains(&Piece::Merged(vec![[2_500, 0, 2_501, 2]])));
    assert!(
        calamine
            .iter()
            .any(|p| matches!(p, Piece::Rows(r) if r.iter().any(|r| r.cells.iter().any(|c| matches!(c, Cell::Date(_)))))),
        "dates are read as dates"
    );
}

/// A workbook package with the given parts, written by hand.
fn package(
    sheets: &[&str],
    strings: Option<&str>,
    styles: Option<&str>,
    workbook_pr: &str,
) -> Vec<u8> {
    let sheets: Vec<&[u8]> = sheets.iter().map(|s| s.as_bytes()).collect();
    package_bytes(&sheets, strings, styles, workbook_pr)
}

/// A workbook package whose sheets' parts are given as bytes.
fn package_bytes(
    sheets: &[&[u8]],
    strings: Option<&str>,
    styles: Option<&str>,
    workbook_pr: &str,
) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let mut part = |name: &str, body: &[u8]| {
        zip.start_file(name, options).unwrap();
        zip.write_all(body).unwrap();
    };
    part(
        "_rels/.rels",
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#.as_bytes(),
    );
    let mut book = format!(
        r#"<?xml version="1.0"?><workbook xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">{workbook_pr}<sheets>"#
    );
    let mut rels = String::from(r#"<?xml version="1.0"?><Relationships>"#);
    for (i, xml) in sheets.iter().enumerate() {
        let n = i + 1;
        book += &format!(r#"<sheet name="表{n}" sheetId="{n}" r:id="rId{n}"/>"#);
        rels += &format!(
            r#"<Relationship Id="rId{n}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet{n}.xml"/>"#
        );
        part(&format!("xl/worksheets/sheet{n}.xml"), xml);
    }
    part(
        "xl/workbook.xml",
        (book + "</sheets></workbook>").as_bytes(),
    );
    part(
        "xl/_rels/workbook.xml.rels",
        (rels + "</Relationships>").as_bytes(),
    );
    if let Some(sst) = strings {
        part("xl/sharedStrings.xml", sst.as_bytes());
    }
    if let Some(styles) = styles {
        part("xl/styles.xml", styles.as_bytes());
    }
    zip.finish().unwrap().into_inner()
}

const STRINGS: &str = r#"<?xml version="1.0"?><sst count="4" uniqueCount="4">
<si><t>培训班</t></si>
<si><r><rPr><b/><sz val="11"/></rPr><t xml:space="preserve">富 </t></r><r><t> 文本 </t></r><rPh sb="0" eb="1"><t>ふり</t></rPh><phoneticPr fontId="1"/></si>
<si><t/></si>
<si><t>a&amp;b &lt;c&gt; &#20013;</t></si>
</sst>"#;

const STYLES: &str = r#"<?xml version="1.0"?><styleSheet>
<numFmts count="2"><numFmt numFmtId="176" formatCode="yyyy&quot;年&quot;m&quot;月&quot;d&quot;日&quot;"/><numFmt numFmtId="177" formatCode="0.00_ "/></numFmts>
<cellStyleXfs count="1"><xf numFmtId="14"/></cellStyleXfs>
<cellXfs count="5"><xf numFmtId="0"/><xf numFmtId="14" applyNumberFormat="1"/><xf numFmtId="176"/><xf numFmtId="177"/><xf numFmtId="46"><alignment horizontal="center"/></xf></cellXfs>
<dxfs count="1"><dxf><numFmt numFmtId="177" formatCode="yyyy"/></dxf></dxfs>
</styleSheet>"#;

#[test]
fn hand_written_xml_reads_the_same_as_calamine_reads_it() {
    let plain = r#"<?xml version="1.0" encoding="UTF-8"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" mc:Ignorable="x14ac xr xr2 xr3" xmlns:x14ac="http://schemas.microsoft.com/office/spreadsheetml/2009/9/ac" xr:uid="{00000000-0001-0000-0000-000000000000}"><!-- a comment -->
<sheetPr codeName="Sheet1"><tabColor rgb="FFFF0000"/></sheetPr><dimension ref="A1:F6"/><sheetViews><sheetView tabSelected="1" workbookViewId="0"><selection activeCell="B2" sqref="B2"/></sheetView></sheetViews><sheetFormatPr defaultRowHeight="14.25" x14ac:dyDescent="0.2"/><cols><col min="1" max="1" width="12.5" customWidth="1"/></cols>
<sheetData>
<row r="1" spans="1:6" ht="20" customHeight="1" x14ac:dyDescent="0.2"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c><c r="D1" t="s"><v>3</v></c></row>
<row r="2"><c r="A2" s="1"><v>45105</v></c><c r="B2" s="2"><v>45105.75</v></c><c r="C2" s="3"><v>12.5</v></c><c r="D2" s="4"><v>1.25</v></c><c r="E2" s="9"><v>7</v></c><c r="F2" s="99"><v>8</v></c></row>
<row r="3"><c t="inlineStr"><is><t>行内</t></is></c><c t="inlineStr"><v>ignored</v><is><r><t>富</t></r><r><t xml:space="preserve"> 文本</t></r></is></c><c/><c t="str"><f>A1&amp;"x"</f><v>a &amp; b</v></c><c t="e"><f>1/0</f><v>#DIV/0!</v></c><c t="b"><v>true</v></c></row>
<row><c><v>1E-3</v></c><c t="n"><v></v></c><c t="d"><v>2023-06-28T00:00:00</v></c><c><f>SUM(A1:A3)</f><v>-4.5</v></c><c t="b"><v>0</v></c></row>
<row r="9"/>
<row r="12" spans="1:3"><c r="C12" s="0"/><c r="D12" t="s"><v></v></c><c r="E12"><v>3</v></c></row>
</sheetData><mergeCells count="2"><mergeCell ref="A1:B1"/><mergeCell ref="C3"/></mergeCells>
<phoneticPr fontId="1" type="noConversion"/><pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/><pageSetup paperSize="9" orientation="portrait" r:id="rId1"/><extLst><ext uri="{x}" xmlns:x14="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main"><x14:dataValidations count="0"/></ext></extLst></worksheet>"#;
    let prefixed = r#"<?xml version="1.0"?><x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><x:sheetData><x:row r="1"><x:c r="A1" t="s"><x:v>0</x:v></x:c><x:c r="B1"><x:v>2</x:v></x:c></x:row></x:sheetData></x:worksheet>"#;
    let empty = r#"<worksheet><dimension ref="A1"/><sheetData/></worksheet>"#;
    let no_data = r#"<worksheet><sheetPr/></worksheet>"#;
    for date1904 in ["", r#"<workbookPr date1904="1"/>"#] {
        let bytes = package(
            &[plain, prefixed, empty, no_data],
            Some(STRINGS),
            Some(STYLES),
            date1904,
        );
        let calamine = by_calamine(&bytes);
        assert_eq!(quickly(&bytes), calamine, "{date1904}");
        assert_eq!(rows_of(&calamine), 6);
        assert!(calamine.contains(&Piece::Merged(vec![[0, 0, 0, 1], [2, 2, 2, 2]])));
    }
    // Without shared strings or styles.
    let bare = package(
        &[
            empty,
            r#"<worksheet><sheetData><row><c><v>5</v></c></row></sheetData></worksheet>"#,
        ],
        None,
        None,
        "",
    );
    assert_eq!(quickly(&bare), by_calamine(&bare));
}

/// Rows of plain numbers, with `odd` as the cell of one row far down.
fn long_sheet(odd_row: u32, odd: &str) -> String {
    let mut xml = String::from(r#"<worksheet><dimension ref="A1:B3000"/><sheetData>"#);
    for r in 1..=3_000 {
        if r == odd_row {
            xml += &format!(r#"<row r="{r}"><c r="A{r}"><v>{r}</v></c>{odd}</row>"#);
        } else {
            xml += &format!(
                r#"<row r="{r}"><c r="A{r}"><v>{r}</v></c><c r="B{r}" t="s"><v>0</v></c></row>"#
            );
        }
    }
    xml + "</sheetData></worksheet>"
}

#[test]
fn calamine_goes_on_where_the_quick_reader_stops() {
    // Excel's own escape in an inline string is calamine's to read: the quick reader
    // has sent two thousand rows of the second sheet by then.
    let odd = r#"<c r="B2500" t="inlineStr"><is><t>a_x000D_b</t></is></c>"#;
    let first = long_sheet(0, "");
    let second = long_sheet(2_500, odd);
    let bytes = package(&[&first, &second, &first], Some(STRINGS), None, "");
    let sent = collect(|send| {
        assert!(matches!(read_quickly(&bytes, send), Err(Stop::Unsupported)));
    });
    assert!(
        rows_of(&sent) >= 3_000 + 2_048,
        "the quick reader had sent rows"
    );
    let calamine = by_calamine(&bytes);
    assert_eq!(rows_of(&calamine), 9_000);
    assert_eq!(by_read(&bytes), calamine);

    // Merged regions it cannot read: the rows are all sent, calamine sends the regions.
    let odd_merges = r#"<worksheet><sheetData><row r="1"><c r="A1"><v>1</v></c></row></sheetData><mergeCells><mergeCell ref="A1:B"/></mergeCells></worksheet>"#;
    let bytes = package(&[&first, odd_merges], Some(STRINGS), None, "");
    let read_all = normal(collect(|send| {
        let _ = read(&bytes, send);
    }));
    let calamine = normal(collect(|send| {
        let _ = read_with_calamine(&bytes, send, &Sent::default());
    }));
    assert_eq!(read_all, calamine);
}

#[test]
fn calamine_reads_what_the_quick_reader_cannot_start_on() {
    let sst = r#"<sst><si><t>line_x000D_break</t></si></sst>"#;
    let bytes = package(&[&long_sheet(0, "")], Some(sst), None, "");
    let sent = collect(|send| {
        assert!(matches!(read_quickly(&bytes, send), Err(Stop::Unsupported)));
    });
    assert!(
        sent.is_empty(),
        "nothing was sent before the quick reader gave up"
    );
    assert_eq!(by_read(&bytes), by_calamine(&bytes));
}

#[test]
fn a_damaged_sheet_never_panics_the_quick_reader() {
    let strings = [Cell::text("培训班")];
    let formats = [Format::Other, Format::DateTime, Format::TimeDelta];
    let context = scan::Context {
        strings: &strings,
        formats: &formats,
        is_1904: false,
    };
    let scan = |xml: &[u8]| {
        let _ = scan::declared_rows(&mut &xml[..]);
        let mut rows = Rows::new("表1", (0, None));
        let _ = scan::read(&mut &xml[..], &context, &mut rows, &mut |_| true);
    };
    let sheet = long_sheet(
        7,
        r#"<c r="B7" t="inlineStr"><is><r><t>富</t></r></is></c><c s="1"><f>A1</f><v>4</v></c><c t="e"><v>#N/A</v></c>"#,
    );
    let sheet = &sheet.as_bytes()[..1_500];
    for cut in 0..sheet.len() {
        scan(&sheet[..cut]);
    }
    for (at, &byte) in sheet.iter().enumerate() {
        for swap in [b'<', b'>', b'"', b'/', b'&', b'9', b'x', 0xe5] {
            if swap != byte {
                let mut damaged = sheet.to_vec();
                damaged[at] = swap;
                scan(&damaged);
            }
        }
    }
    // Damaged shared strings and styles, read when the workbook opens.
    for cut in (0..STRINGS.len()).step_by(7) {
        let bytes = package(
            &[],
            Some(&STRINGS[..STRINGS.floor_char_boundary(cut)]),
            Some(STYLES),
            "",
        );
        let _ = package::Book::open(&bytes);
    }
    for cut in (0..STYLES.len()).step_by(7) {
        let bytes = package(&[], Some(STRINGS), Some(&STYLES[..cut]), "");
        let _ = package::Book::open(&bytes);
    }
}

/// Reads a workbook as the importer does and as calamine alone does, and holds the two
/// to the same pieces and the same outcome; returns whether the quick reader read it all.
fn same_as_calamine(bytes: &[u8]) -> bool {
    let mut ours = Ok(());
    let read_all = normal(collect(|send| ours = read(bytes, send)));
    let mut theirs = Ok(());
    let calamine = normal(collect(|send| {
        theirs = read_with_calamine(bytes, send, &Sent::default())
    }));
    assert_eq!(ours.is_ok(), theirs.is_ok(), "{ours:?} / {theirs:?}");
    // A refused workbook is refused whole, whatever pieces came before.
    if theirs.is_ok() {
        assert_eq!(read_all, calamine);
    }
    read_quickly(bytes, &mut |_| true).is_ok()
}

fn sheet_with(cells: &str) -> String {
    format!(
        r#"<worksheet><sheetData><row r="1"><c r="A1"><v>1</v></c>{cells}</row><row r="2"><c r="A2"><v>2</v></c></row></sheetData></worksheet>"#
    )
}

#[test]
fn what_calamine_reads_otherwise_is_left_to_it() {
    for cells in [
        r#"<c r="B1" t="s"><v>&#49;</v></c>"#,
        r#"<c r="B1" t="s"><v>+1</v></c>"#,
        r#"<c r="B1" s="+1"><v>45000</v></c>"#,
        r#"<c r="B1" r="B1" t="s"><v>0</v></c>"#,
        r#"<c r="B1" t="str"><v><!---->x</v></c>"#,
        r#"<c r="B1" t="inlineStr"><is><t>a<!---->b</t></is></c>"#,
        r#"<c r="B1" t="x"><v/></c>"#,
        r#"<c r=B1><v>1</v></c>"#,
        r#"<c r="B1"><v> 12 </v></c>"#,
    ] {
        let bytes = package(&[&sheet_with(cells)], Some(STRINGS), Some(STYLES), "");
        assert!(!same_as_calamine(&bytes), "{cells} is left to calamine");
    }
    let twice = r#"<worksheet><sheetData/><mergeCells><mergeCell ref="A1:B1"/></mergeCells><mergeCells><mergeCell ref="A2:B2"/></mergeCells></worksheet>"#;
    assert!(!same_as_calamine(&package(&[twice], None, None, "")));
    // Over what the quick reader holds at once without a row's end.
    let mut long = String::from("<worksheet><sheetData>");
    for r in 1..=80_000 {
        long += &format!(r#"<row r="{r}"/>"#);
    }
    long += r#"<row r="80001"><c r="A80001"><v>1</v></c></row></sheetData></worksheet>"#;
    assert!(long.len() > scan::HELD_AT_MOST);
    assert!(!same_as_calamine(&package(&[&long], None, None, "")));
    // A cell named with two prefixes, an end tag of another prefix, a reference without
    // its end, bytes that are not UTF-8 in a comment, a part of end tags only.
    for cells in [
        r#"<a:b:c r="B1"><v>5</v></a:b:c>"#,
        r#"<c r="B1"><x:v>1</v></c>"#,
        r#"<c r="B1"><f>A1 & 1</f><v>1</v></c>"#,
    ] {
        let bytes = package(&[&sheet_with(cells)], Some(STRINGS), None, "");
        assert!(!same_as_calamine(&bytes), "{cells} is left to calamine");
    }
    let not_utf8 = package_bytes(
        &[b"<worksheet><!-- \xff --><sheetData/></worksheet>"],
        None,
        None,
        "",
    );
    assert!(!same_as_calamine(&not_utf8));
    assert!(!same_as_calamine(&package(
        &["</worksheet>"],
        None,
        None,
        ""
    )));
    // Parts in another encoding than UTF-8.
    let declared = format!(
        r#"<?xml version="1.0" encoding="GB2312"?>{}"#,
        sheet_with(r#"<c r="B1"><v>3</v></c>"#)
    );
    assert!(!same_as_calamine(&package(&[&declared], None, None, "")));
    let utf16: Vec<u8> = "\u{feff}<worksheet><sheetData><row r=\"1\"><c r=\"A1\"><v>7</v></c></row></sheetData></worksheet>"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let bytes = package_bytes(&[&utf16], None, None, "");
    assert!(!same_as_calamine(&bytes));
    // A style numbered `014` is no built-in date to calamine.
    let styles = STYLES.replace(
        r#"<xf numFmtId="14" applyNumberFormat="1"/>"#,
        r#"<xf numFmtId="014"/>"#,
    );
    let bytes = package(
        &[&sheet_with(r#"<c r="B1" s="1"><v>45000</v></c>"#)],
        None,
        Some(&styles),
        "",
    );
    assert!(same_as_calamine(&bytes));
}

#[test]
fn packages_calamine_reads_otherwise_are_left_to_it() {
    let sheet = sheet_with("");
    let book = package(&[&sheet, &sheet], None, None, "");
    assert!(same_as_calamine(&book));
    // Two sheets of one name.
    let same_names = replace_part(&book, "xl/workbook.xml", |xml| xml.replace("表2", "表1"));
    assert!(!same_as_calamine(&same_names));
    // No relation to the workbook part.
    let unrelated = replace_part(&book, "_rels/.rels", |xml| {
        xml.replace("officeDocument\"", "other\"")
    });
    assert!(!same_as_calamine(&unrelated));
    // Shared strings before the table's own element; one whose end tag has another
    // prefix than its start (which runs on to the next end of the same name).
    let cell = sheet_with(r#"<c r="B1" t="s"><v>0</v></c>"#);
    let before = package(
        &[&cell],
        Some(r#"<si><t>z</t></si><sst><si><t>a</t></si></sst>"#),
        None,
        "",
    );
    assert!(!same_as_calamine(&before));
    let prefixed = r#"<sst><x:si><t>a</t></si><x:si><t>b</t></x:si></sst>"#;
    same_as_calamine(&package(&[&cell], Some(prefixed), None, ""));
    // The 1904 flag inside a defined name, which calamine reads as its text.
    let bytes = package(
        &[&sheet_with(r#"<c r="B1" s="1"><v>45000</v></c>"#)],
        None,
        Some(STYLES),
        r#"<definedNames><definedName name="n"><workbookPr date1904="1"/></definedName></definedNames>"#,
    );
    assert!(!same_as_calamine(&bytes));
    // A style inside a style, and a format given its number twice.
    for styles in [
        r#"<styleSheet><cellXfs><xf numFmtId="14"><xf numFmtId="0"/></xf><xf numFmtId="14"/></cellXfs></styleSheet>"#,
        r#"<styleSheet><numFmts><numFmt numFmtId="164" numFmtId="164" formatCode="yyyy-mm-dd"/></numFmts><cellXfs><xf/><xf numFmtId="164"/></cellXfs></styleSheet>"#,
    ] {
        let bytes = package(
            &[&sheet_with(r#"<c r="B1" s="1"><v>45000</v></c>"#)],
            None,
            Some(styles),
            "",
        );
        assert!(!same_as_calamine(&bytes), "{styles}");
    }
    // "sheetData" written before the sheet's data (only the rows it says it holds,
    // for progress, could differ).
    let named = r#"<worksheet><sheetPr codeName="sheetData"/><dimension ref="A1:A500"/><sheetData><row r="1"><c r="A1"><v>1</v></c></row></sheetData></worksheet>"#;
    assert!(same_as_calamine(&package(&[named], None, None, "")));
    // Parts cut short.
    for part in ["xl/workbook.xml", "xl/_rels/workbook.xml.rels"] {
        let cut = replace_part(&book, part, |xml| xml[..xml.len() - 5].to_owned());
        assert!(!same_as_calamine(&cut), "{part} cut short");
    }
}

/// The package with one part's text changed.
fn replace_part(bytes: &[u8], name: &str, change: impl Fn(&str) -> String) -> Vec<u8> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for i in 0..zip.len() {
        let mut part = zip.by_index(i).unwrap();
        let part_name = part.name().unwrap().to_string();
        let mut text = String::new();
        part.read_to_string(&mut text).unwrap();
        if part_name == name {
            text = change(&text);
        }
        out.start_file(part_name, zip::write::SimpleFileOptions::default())
            .unwrap();
        out.write_all(text.as_bytes()).unwrap();
    }
    out.finish().unwrap().into_inner()
}

#[test]
fn rows_far_to_the_right_go_fewer_at_a_time() {
    let mut rows = Rows::new("表1", (0, None));
    let mut pieces = 0;
    let mut send = |_| {
        pieces += 1;
        true
    };
    for r in 0..100 {
        rows.push(r, LAST_COLUMN, Cell::Number(1.0), &mut send)
            .unwrap();
    }
    assert!(pieces >= 100 / (CELLS_AT_A_TIME / (LAST_COLUMN as usize + 1)) - 1);
}

#[test]
fn one_far_cell_does_not_make_every_row_wide() {
    let mut rows = Rows::new("表1", (0, None));
    let mut send = |_| true;
    rows.push(0, LAST_COLUMN, Cell::Number(1.0), &mut send)
        .unwrap();
    rows.push(1, 0, Cell::Number(2.0), &mut send).unwrap();
    assert!(rows.rows[1].cells.capacity() <= MAX_WIDTH);
}

#[test]
fn formats_that_show_dates() {
    for (code, format) in [
        ("yyyy-mm-dd", Format::DateTime),
        ("yyyy\"年\"m\"月\"d\"日\"", Format::DateTime),
        ("[h]:mm:ss", Format::TimeDelta),
        ("#,##0.00", Format::Other),
        ("0\"天\"", Format::Other),
        ("#,##0*y", Format::Other),
        ("General", Format::Other),
    ] {
        assert_eq!(Format::of_code(code), format, "{code}");
    }
    assert_eq!(Format::of_builtin(b"14"), Format::DateTime);
    assert_eq!(Format::of_builtin(b"46"), Format::TimeDelta);
    assert_eq!(Format::of_builtin(b"3"), Format::Other);
}
