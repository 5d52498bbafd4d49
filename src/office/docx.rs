//! The report as a Word document laid out as Chinese official reports are (after
//! GB/T 9704): A4 with the standard margins, the title centred in 小标宋 二号, headings
//! 一、 in 黑体 and （一） in 楷体, body text in 仿宋 三号 with a two-character first-line
//! indent on a fixed 28-point line, tables for the plan against done and the year on
//! year (numbers centred in their cells), the page number on the outer edge of the foot
//! as "— 1 —" (odd pages right, even pages left), and the report closing as a 公文 does:
//! the issuer's name (落款) and the day written (成文日期) on the right, then the 附注.
//!
//! The wording is the report template's (the same Markdown `annals report` prints), so
//! a deployment that rewords its templates gets the same words in Word without a
//! compiler; this module only lays the Markdown out.
use std::io::Cursor;

use docx_rs::{
    AlignmentType, Docx, Footer, LineSpacing, LineSpacingType, PageMargin, PageNum, Paragraph, Run,
    RunFonts, SpecialIndentType, Table, TableAlignmentType, TableCell, TableRow, VAlignType,
    WidthType,
};
use projections::report::Closing;

use super::OfficeError;

/// A4 in twentieths of a point.
const PAGE: (u32, u32) = (11_906, 16_838);
/// Top 37 mm, bottom 35 mm, left 28 mm, right 26 mm, as GB/T 9704 sets them.
const MARGIN: PageMargin = PageMargin {
    top: 2098,
    left: 1588,
    bottom: 1984,
    right: 1474,
    header: 851,
    footer: 992,
    gutter: 0,
};
/// The width of the text, for tables.
const TEXT_WIDTH: usize = (PAGE.0 as i32 - MARGIN.left - MARGIN.right) as usize;

const TITLE_FONT: &str = "方正小标宋简体";
const HEADING_FONT: &str = "黑体";
const SUBHEADING_FONT: &str = "楷体_GB2312";
const BODY_FONT: &str = "仿宋_GB2312";
const LATIN_FONT: &str = "Times New Roman";

/// 三号 (16 pt) and the other sizes, in half-points.
const BODY_SIZE: usize = 32;
const TITLE_SIZE: usize = 44;
const NOTE_SIZE: usize = 28;
const TABLE_SIZE: usize = 24;
/// One character of body text (三号, 16 pt), in twentieths of a point.
const CHAR: i32 = 320;
/// One character of the page number (四号, 14 pt).
const FOOT_CHAR: i32 = 280;

/// The report's Markdown (as the templates word it) as a .docx file; the lines that are
/// `closing`'s signer and date are laid out as its 落款 and 成文日期.
pub fn report(markdown: &str, closing: &Closing) -> Result<Vec<u8>, OfficeError> {
    let mut doc = Docx::new()
        .page_size(PAGE.0, PAGE.1)
        .page_margin(MARGIN)
        .default_fonts(fonts(BODY_FONT))
        .default_size(BODY_SIZE)
        // GB/T 9704: the number one character in from the outer edge, so odd pages
        // (the default footer) right and even pages left.
        .footer(Footer::new().add_paragraph(page_number(AlignmentType::Right)))
        .even_footer(Footer::new().add_paragraph(page_number(AlignmentType::Left)));
    let (signer_indent, date_indent) = closing_indents(closing);
    let lines: Vec<&str> = markdown.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim();
        i += 1;
        if line.is_empty() {
            continue;
        }
        if line.starts_with('|') {
            let mut rows = vec![line];
            while i < lines.len() && lines[i].trim().starts_with('|') {
                rows.push(lines[i].trim());
                i += 1;
            }
            doc = doc.add_table(table(&rows));
            continue;
        }
        if line == closing.signer.trim() {
            // One empty line between the text and the issuer's name.
            doc = doc
                .add_paragraph(Paragraph::new().line_spacing(body_spacing()))
                .add_paragraph(signed(line, signer_indent));
            continue;
        }
        if line == closing.date.trim() {
            doc = doc.add_paragraph(signed(line, date_indent));
            continue;
        }
        doc = doc.add_paragraph(block(line));
    }
    let mut out = Cursor::new(Vec::new());
    doc.build().pack(&mut out).map_err(|e| OfficeError::Write {
        what: "Word document",
        reason: e.to_string(),
    })?;
    Ok(out.into_inner())
}

/// "— 7 —" at the foot, on the side given, one character in from the edge.
fn page_number(side: AlignmentType) -> Paragraph {
    let indent = Some(FOOT_CHAR);
    let p = Paragraph::new()
        .align(side)
        .add_run(Run::new().add_text("— ").size(NOTE_SIZE))
        .add_page_num(PageNum::new())
        .add_run(Run::new().add_text(" —").size(NOTE_SIZE));
    match side {
        AlignmentType::Left => p.indent(indent, None, None, None),
        _ => p.indent(None, None, indent, None),
    }
}

/// How far from the right margin the 落款 and the 成文日期 end, in twips: the date two
/// characters in, and the name placed so the date starts two characters right of where
/// the name starts (GB/T 9704, 7.3.5.2); a name longer than that pushes the date in.
fn closing_indents(closing: &Closing) -> (i32, i32) {
    let half = CHAR / 2;
    let width = |t: &str| display_width(t.trim()) as i32 * half;
    let (name, date) = (width(&closing.signer), width(&closing.date));
    let signer = 2 * CHAR + date + 2 * CHAR - name;
    if signer >= 2 * CHAR {
        (signer, 2 * CHAR)
    } else {
        (2 * CHAR, name - date)
    }
}

/// A line of the closing, right-aligned `right` twips in from the margin.
fn signed(text: &str, right: i32) -> Paragraph {
    Paragraph::new()
        .align(AlignmentType::Right)
        .indent(None, None, Some(right), None)
        .line_spacing(body_spacing())
        .add_run(run(text, BODY_FONT, BODY_SIZE))
}

fn fonts(east_asia: &str) -> RunFonts {
    RunFonts::new()
        .east_asia(east_asia)
        .ascii(LATIN_FONT)
        .hi_ansi(LATIN_FONT)
}

/// Markdown's inline marks, which Word shows as they are, taken out.
fn plain(text: &str) -> String {
    text.replace("**", "").replace('`', "")
}

fn run(text: &str, font: &str, size: usize) -> Run {
    Run::new()
        .add_text(plain(text))
        .fonts(fonts(font))
        .size(size)
}

/// The fixed line of official documents: 28 points.
fn body_spacing() -> LineSpacing {
    LineSpacing::new()
        .line_rule(LineSpacingType::Exact)
        .line(560)
}

fn indented(p: Paragraph) -> Paragraph {
    p.indent(None, Some(SpecialIndentType::FirstLine(640)), None, None)
}

/// One Markdown line (not a table) as a paragraph.
fn block(line: &str) -> Paragraph {
    if let Some(title) = line.strip_prefix("# ") {
        return Paragraph::new()
            .align(AlignmentType::Center)
            .line_spacing(LineSpacing::new().before(240).after(480))
            .add_run(run(title, TITLE_FONT, TITLE_SIZE));
    }
    if let Some(h) = line.strip_prefix("## ") {
        return indented(Paragraph::new())
            .keep_next(true)
            .line_spacing(body_spacing())
            .add_run(run(h, HEADING_FONT, BODY_SIZE));
    }
    if let Some(h) = line.strip_prefix("### ") {
        return indented(Paragraph::new())
            .keep_next(true)
            .line_spacing(body_spacing())
            .add_run(run(h, SUBHEADING_FONT, BODY_SIZE));
    }
    if let Some(note) = line.strip_prefix('>') {
        // Left-aligned: a note may hold a hash, which justified text would space out.
        return indented(Paragraph::new())
            .align(AlignmentType::Left)
            .line_spacing(body_spacing())
            .add_run(run(note.trim(), SUBHEADING_FONT, NOTE_SIZE));
    }
    indented(Paragraph::new())
        .align(AlignmentType::Both)
        .line_spacing(body_spacing())
        .add_run(run(line, BODY_FONT, BODY_SIZE))
}

fn cells(row: &str) -> Vec<&str> {
    row.trim()
        .trim_start_matches('|')
        .trim_end_matches('|')
        .split('|')
        .map(str::trim)
        .collect()
}

fn is_rule(cells: &[&str]) -> bool {
    cells.iter().all(|c| {
        let c = c.trim_matches(':');
        !c.is_empty() && c.chars().all(|ch| ch == '-')
    })
}

/// How wide a text shows: CJK characters take two columns.
fn display_width(text: &str) -> usize {
    text.chars().map(|c| if c.is_ascii() { 1 } else { 2 }).sum()
}

/// A Markdown table: the first row is the header, the rule row gives each column's
/// alignment, and columns get widths in proportion to what they hold.
fn table(rows: &[&str]) -> Table {
    let parsed: Vec<Vec<&str>> = rows.iter().map(|r| cells(r)).collect();
    let columns = parsed.iter().map(Vec::len).max().unwrap_or(1);
    let rule = parsed.iter().position(|r| is_rule(r));
    let align: Vec<AlignmentType> = (0..columns)
        .map(|c| match rule.and_then(|r| parsed[r].get(c)) {
            Some(spec) if spec.ends_with(':') => AlignmentType::Right,
            _ => AlignmentType::Left,
        })
        .collect();
    let body: Vec<&Vec<&str>> = parsed
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != rule)
        .map(|(_, r)| r)
        .collect();
    let widest: Vec<usize> = (0..columns)
        .map(|c| {
            body.iter()
                .filter_map(|r| r.get(c))
                .map(|t| display_width(&plain(t)))
                .max()
                .map_or(6, |w| (w + 2).clamp(6, 36))
        })
        .collect();
    let total: usize = widest.iter().sum();
    let grid: Vec<usize> = widest.iter().map(|w| TEXT_WIDTH * w / total).collect();
    let table_rows = body
        .iter()
        .enumerate()
        .map(|(n, r)| {
            let header = n == 0;
            TableRow::new(
                (0..columns)
                    .map(|c| {
                        let text = r.get(c).copied().unwrap_or("");
                        let mut run = run(
                            text,
                            if header { HEADING_FONT } else { BODY_FONT },
                            TABLE_SIZE,
                        );
                        if header {
                            run = run.bold();
                        }
                        TableCell::new()
                            .width(grid[c], WidthType::Dxa)
                            .vertical_align(VAlignType::Center)
                            .add_paragraph(
                                Paragraph::new()
                                    .align(if header {
                                        AlignmentType::Center
                                    } else {
                                        align[c]
                                    })
                                    .add_run(run),
                            )
                    })
                    .collect(),
            )
            .cant_split()
        })
        .collect();
    Table::new(table_rows)
        .set_grid(grid)
        .width(TEXT_WIDTH, WidthType::Dxa)
        .align(TableAlignmentType::Center)
}
