//! The workbook offices fill in: a sheet of instructions, then one sheet per kind of
//! event named after it, Chinese column headers from the catalog, a note on each header
//! saying what goes there, and drop-down lists for fields with fixed values.
use events::{
    catalog::{FieldDef, FieldType, KindDef, Occurs, DEFAULT_MAX_INT, DEFAULT_MAX_LEN},
    Catalog,
};
use rust_xlsxwriter::{
    Color, DataValidation, DataValidationRule, Format, FormatBorder, Note, Workbook, Worksheet,
    XlsxError,
};

use super::{
    sheet::{sheet_title, DAY_HEADERS, END_HEADERS, INSTRUCTIONS, START_HEADERS},
    OfficeError,
};

/// The last row drop-down lists and formats reach (Excel's last row, 0-based).
const LAST_ROW: u32 = 1_048_575;

/// The kinds the template has a sheet for: what offices record (not corrections, which
/// name an event by id, nor what Annals writes itself).
pub fn kinds(catalog: &Catalog) -> impl Iterator<Item = &KindDef> {
    catalog
        .kinds()
        .filter(|k| !k.system && k.correction.is_none())
}

/// The template as xlsx bytes.
pub fn write(catalog: &Catalog) -> Result<Vec<u8>, OfficeError> {
    build(catalog)
        .and_then(|mut book| book.save_to_buffer())
        .map_err(|e| write_error("template", e))
}

pub(super) fn write_error(what: &'static str, e: XlsxError) -> OfficeError {
    OfficeError::Write {
        what,
        reason: e.to_string(),
    }
}

fn build(catalog: &Catalog) -> Result<Workbook, XlsxError> {
    let mut book = Workbook::new();
    instructions(book.add_worksheet(), catalog)?;
    for kind in kinds(catalog) {
        kind_sheet(book.add_worksheet(), kind)?;
    }
    Ok(book)
}

fn instructions(ws: &mut Worksheet, catalog: &Catalog) -> Result<(), XlsxError> {
    ws.set_name(INSTRUCTIONS)?;
    let title = Format::new().set_bold().set_font_size(16);
    let bold = Format::new().set_bold();
    let wrap = Format::new().set_text_wrap();
    ws.set_column_width(0, 28)?;
    ws.set_column_width(1, 90)?;
    ws.write_with_format(0, 0, "工作纪实导入模板 · Annals import template", &title)?;
    let lines = [
        "每个工作表对应一类事项，表名即类别；每行填写一件事，第一行是表头，请勿改动表头。",
        "日期可以是 Excel 日期，也可以是 2023-06-28 这样的文字；跨多日的事项填写开始日期和结束日期，一天内完成的结束日期可留空。",
        "红色表头为必填项；把鼠标停在表头上可以看到填写说明。带下拉箭头的列请从列表中选择。",
        "多名人员或多个项目用顿号（、）或逗号分隔。",
        "不需要的工作表留空即可；请勿合并单元格；公式会按其计算结果导入。",
        "导入：annals import 文件.xlsx（可先加 --dry-run 只检查不写入），或在系统中上传。整个文件全部通过校验才会导入；问题按“工作表!单元格: 列: 原因”逐条列出。",
        "同一文件再次导入时，已导入的行不会重复记录；在表格末尾新增的行会作为新记录导入。已导入的记录如需更正，请使用“更正记录”或“作废记录”，不要修改后重新导入。",
        "One sheet per kind of event; one row per event under the header. Dates as Excel dates or 2023-06-28 text. Red headers are required; hover a header for help.",
    ];
    for (i, line) in lines.iter().enumerate() {
        ws.write_with_format(i as u32 + 2, 0, format!("{}.", i + 1), &bold)?;
        ws.write_with_format(i as u32 + 2, 1, *line, &wrap)?;
    }
    let mut row = lines.len() as u32 + 3;
    ws.write_with_format(row, 0, "工作表 Sheet", &bold)?;
    ws.write_with_format(row, 1, "类别 Kind", &bold)?;
    for kind in kinds(catalog) {
        row += 1;
        ws.write(row, 0, sheet_title(kind))?;
        ws.write(
            row,
            1,
            format!("{} · {} ({})", kind.label_zh, kind.label_en, kind.name),
        )?;
    }
    ws.set_active(true);
    Ok(())
}

fn kind_sheet(ws: &mut Worksheet, kind: &KindDef) -> Result<(), XlsxError> {
    ws.set_name(sheet_title(kind))?;
    let header = Format::new()
        .set_bold()
        .set_background_color(Color::RGB(0x00DD_EBF7))
        .set_border(FormatBorder::Thin);
    let required = header.clone().set_font_color(Color::RGB(0x00C0_0000));
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let mut col: u16 = 0;
    let mut date_column = |ws: &mut Worksheet, title: &str, required_col: bool, help: String| {
        let fmt = if required_col { &required } else { &header };
        ws.write_with_format(0, col, title, fmt)?;
        ws.insert_note(0, col, &note(&help))?;
        ws.set_column_width(col, 14)?;
        ws.set_column_format(col, &date)?;
        col += 1;
        Ok::<_, XlsxError>(())
    };
    let correction = kind.correction.is_some();
    match kind.occurs {
        Occurs::Date => date_column(
            ws,
            DAY_HEADERS[0],
            !correction,
            "发生日期（必填）：Excel 日期或 2023-06-28。\nThe day it happened.".into(),
        )?,
        Occurs::Range => {
            date_column(
                ws,
                START_HEADERS[0],
                !correction,
                "开始日期（必填）：Excel 日期或 2023-06-26。\nThe first day.".into(),
            )?;
            date_column(
                ws,
                END_HEADERS[0],
                false,
                "结束日期：一天内完成的可留空。\nThe last day; empty for one day.".into(),
            )?;
        }
    }
    for field in &kind.fields {
        let fmt = if field.required { &required } else { &header };
        ws.write_with_format(0, col, &field.label_zh, fmt)?;
        ws.insert_note(0, col, &note(&help(field)))?;
        let width = field.label_zh.chars().count() as f64 * 2.2 + 4.0;
        ws.set_column_width(col, width.max(12.0))?;
        if let Some(list) = drop_down(field) {
            ws.add_data_validation(1, col, LAST_ROW, col, &list)?;
        }
        if field.ty == FieldType::Date {
            ws.set_column_format(col, &date)?;
        }
        col += 1;
    }
    ws.set_freeze_panes(1, 0)?;
    Ok(())
}

fn note(text: &str) -> Note {
    Note::new(text)
        .add_author_prefix(false)
        .set_width(260)
        .set_height(120)
}

/// What a header's note says: the field's hint, what to type, whether it is required.
fn help(f: &FieldDef) -> String {
    let what = match f.ty {
        FieldType::Text => format!("文字，不超过{}字", f.max_len.unwrap_or(DEFAULT_MAX_LEN)),
        FieldType::Integer => format!(
            "整数，{}–{}",
            f.min.unwrap_or(0),
            f.max.unwrap_or(DEFAULT_MAX_INT)
        ),
        FieldType::Boolean => "是 或 否".into(),
        FieldType::Date => "日期：Excel 日期或 2023-06-28".into(),
        FieldType::Enum => format!(
            "{}：{}",
            // Past Excel's 255 characters there is no drop-down (a target's metric).
            if drop_down(f).is_some() {
                "从下拉列表选择"
            } else {
                "填写以下之一"
            },
            f.values
                .iter()
                .map(|v| v.label_zh.as_str())
                .collect::<Vec<_>>()
                .join("、")
        ),
        FieldType::List => "多项用顿号（、）或逗号分隔".into(),
        FieldType::Person => "人员姓名或工号".into(),
        FieldType::People => "多人用顿号（、）或逗号分隔".into(),
        FieldType::Uuid => "记录编号（UUID）".into(),
        FieldType::Object => "JSON 对象".into(),
    };
    let mut text = format!(
        "{}{}：{what}",
        f.label_zh,
        if f.required { "（必填）" } else { "" }
    );
    if let Some(h) = &f.help_zh {
        text.push_str(&format!("。{h}"));
    }
    text.push_str(&format!("\n{} ({})", f.label_en, f.name));
    text
}

/// A drop-down of the allowed values, where a field has fixed ones that fit Excel's
/// 255-character list; longer lists are described in the note instead.
fn drop_down(f: &FieldDef) -> Option<DataValidation> {
    let list = match f.ty {
        FieldType::Enum => f.values.iter().map(|v| v.label_zh.clone()).collect(),
        FieldType::Boolean => vec!["是".to_owned(), "否".to_owned()],
        FieldType::Integer => {
            let clamp = |n: u64| i32::try_from(n).unwrap_or(i32::MAX);
            return DataValidation::new()
                .allow_whole_number(DataValidationRule::Between(
                    clamp(f.min.unwrap_or(0)),
                    clamp(f.max.unwrap_or(DEFAULT_MAX_INT)),
                ))
                .set_error_title(f.label_zh.clone())
                .ok()?
                .set_error_message("请填写表头说明中范围内的整数。")
                .ok();
        }
        _ => return None,
    };
    if list.iter().any(|v: &String| v.contains(',')) {
        return None;
    }
    DataValidation::new()
        .allow_list_strings(&list)
        .ok()?
        .set_error_title(f.label_zh.clone())
        .ok()?
        .set_error_message("请从下拉列表中选择。")
        .ok()
}
