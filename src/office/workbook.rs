//! The figures as a workbook for people who work in Excel: every metric with last
//! year's, the plan against done, and each metric as a series, one sheet each, with
//! numbers written as numbers (and shares as percentages) so they can be summed and
//! charted; a last sheet says what the figures count and which log head they rest on.
use chrono::{DateTime, FixedOffset, Utc};
use projections::{
    facts::Facts,
    metric::Metrics,
    period::{Bucket, Lang, Query},
    report::{self, Report, Seal},
    timeline,
};
use rust_xlsxwriter::{Color, Format, FormatBorder, Workbook, Worksheet, XlsxError};

use super::{template::write_error, OfficeError};

/// What the workbook is computed from, as the report is.
pub struct Source<'a> {
    /// The fold of the log.
    pub facts: &'a Facts,
    /// The metric definitions.
    pub metrics: &'a Metrics,
    /// The period, the day and the knowledge.
    pub query: &'a Query,
    /// How the series are split.
    pub by: Bucket,
    /// The language of labels and sheet names.
    pub lang: Lang,
    /// The log head it rests on.
    pub seal: Option<Seal>,
    /// Now, for the "generated at" line.
    pub now: DateTime<Utc>,
    /// The school's UTC offset.
    pub offset: FixedOffset,
}

/// The workbook as xlsx bytes.
pub fn write(src: &Source) -> Result<Vec<u8>, OfficeError> {
    let r = report::build(
        src.facts,
        src.metrics,
        src.query,
        src.lang,
        src.seal.clone(),
        src.now,
        src.offset,
    );
    build(src, &r)
        .and_then(|mut book| book.save_to_buffer())
        .map_err(|e| write_error("workbook", e))
}

struct Styles {
    header: Format,
    pct: Format,
}

fn build(src: &Source, r: &Report) -> Result<Workbook, XlsxError> {
    let t = |zh: &'static str, en: &'static str| src.lang.pick(zh, en);
    let styles = Styles {
        header: Format::new()
            .set_bold()
            .set_background_color(Color::RGB(0x00DD_EBF7))
            .set_border(FormatBorder::Thin),
        pct: Format::new().set_num_format("0.0%"),
    };
    let mut book = Workbook::new();

    let ws = book.add_worksheet().set_name(t("指标", "Metrics"))?;
    headers(
        ws,
        &styles,
        &[
            (t("编号", "Figure"), 8.0),
            (t("类别", "Group"), 14.0),
            (t("指标", "Metric"), 34.0),
            (t("名称", "Name"), 30.0),
            (t("本期", "Value"), 10.0),
            (t("上年同期", "Last year"), 12.0),
            (t("增减", "Change"), 10.0),
            (t("单位", "Unit"), 8.0),
        ],
    )?;
    let mut row = 1;
    for s in &r.sections {
        for f in &s.figures {
            ws.write(row, 0, f.figure.as_deref().unwrap_or(""))?;
            ws.write(row, 1, &s.label)?;
            ws.write(row, 2, &f.label)?;
            ws.write(row, 3, &f.name)?;
            ws.write(row, 4, f.value as f64)?;
            // No record of last year is not a zero: the cell stays empty.
            if f.last_year_recorded {
                ws.write(row, 5, f.last_year as f64)?;
                ws.write(row, 6, f.change as f64)?;
            }
            ws.write(row, 7, &f.unit)?;
            row += 1;
        }
    }
    ws.autofilter(0, 0, row.saturating_sub(1).max(1), 7)?;

    let ws = book.add_worksheet().set_name(t("计划完成", "Progress"))?;
    headers(
        ws,
        &styles,
        &[
            (t("指标", "Metric"), 24.0),
            (t("名称", "Name"), 22.0),
            (t("全年目标", "Target"), 10.0),
            (t("已完成", "Done"), 10.0),
            (t("完成进度", "Share done"), 11.0),
            (t("时间进度", "Year elapsed"), 11.0),
            (t("状态", "Pace"), 10.0),
            (t("尚差", "Behind by"), 8.0),
            (t("上年同期", "Last year"), 10.0),
            (t("上年目标", "Last year's target"), 12.0),
            (t("单位", "Unit"), 8.0),
        ],
    )?;
    for (i, l) in r.plan.iter().enumerate() {
        let row = i as u32 + 1;
        let p = &l.progress;
        ws.write(row, 0, &l.label)?;
        ws.write(row, 1, &p.metric)?;
        ws.write(row, 2, p.target as f64)?;
        ws.write(row, 3, p.actual as f64)?;
        ws.write_with_format(row, 4, p.share_done, &styles.pct)?;
        ws.write_with_format(row, 5, p.share_elapsed, &styles.pct)?;
        let pace = match p.pace {
            projections::progress::Pace::Done => t("已完成", "done"),
            projections::progress::Pace::OnTrack => t("正常", "on track"),
            projections::progress::Pace::Behind => t("落后", "behind"),
        };
        ws.write(row, 6, pace)?;
        ws.write(row, 7, p.behind_by as f64)?;
        if p.last_year_recorded {
            ws.write(row, 8, p.last_year_actual as f64)?;
        }
        if let Some(target) = p.last_year_target {
            ws.write(row, 9, target as f64)?;
        }
        ws.write(row, 10, &l.unit)?;
    }

    let ws = book.add_worksheet().set_name(t("趋势", "Timelines"))?;
    let buckets = src.query.period.buckets(src.by);
    let mut cols: Vec<(String, f64)> = vec![
        (t("编号", "Figure").into(), 8.0),
        (t("指标", "Metric").into(), 34.0),
        (t("名称", "Name").into(), 30.0),
    ];
    cols.extend(buckets.iter().map(|b| (b.label(src.lang), 11.0)));
    let cols: Vec<(&str, f64)> = cols.iter().map(|(h, w)| (h.as_str(), *w)).collect();
    headers(ws, &styles, &cols)?;
    for (i, m) in src.metrics.iter().enumerate() {
        let row = i as u32 + 1;
        ws.write(row, 0, m.figure.as_deref().unwrap_or(""))?;
        ws.write(row, 1, m.label(src.lang))?;
        ws.write(row, 2, &m.name)?;
        let points = timeline::series(m, src.facts, src.query, src.by, src.lang);
        for (j, p) in points.iter().enumerate() {
            ws.write(row, 3 + j as u16, p.value as f64)?;
        }
    }

    let ws = book.add_worksheet().set_name(t("说明", "About"))?;
    ws.set_column_width(0, 16)?;
    ws.set_column_width(1, 70)?;
    let lines = [
        (t("期间", "Period"), r.period_label.clone()),
        (t("统计截至", "Occurred by"), r.on.clone()),
        (t("已记录截至", "As known at"), r.known_at_local.clone()),
        (
            t("日志序号", "Log seq"),
            r.seal.as_ref().map(|s| s.seq.to_string()).unwrap_or_default(),
        ),
        (
            t("链头哈希", "Head hash"),
            r.seal.as_ref().map(|s| s.hash.clone()).unwrap_or_default(),
        ),
        (
            t("生成时间", "Generated at"),
            src.now
                .with_timezone(&src.offset)
                .format("%Y-%m-%d %H:%M")
                .to_string(),
        ),
        (
            t("说明", "Note"),
            t(
                "全部数字由工作纪实日志计算，已计入全部更正；“上年同期”为空表示日志中没有上年的记录。",
                "Every figure is computed from the Annals log, corrections included; an empty \"last year\" means the log holds no record of last year.",
            )
            .to_owned(),
        ),
    ];
    for (i, (k, v)) in lines.iter().enumerate() {
        ws.write_with_format(i as u32, 0, *k, &styles.header)?;
        ws.write(i as u32, 1, v)?;
    }
    Ok(book)
}

fn headers(ws: &mut Worksheet, styles: &Styles, cols: &[(&str, f64)]) -> Result<(), XlsxError> {
    for (i, (h, width)) in cols.iter().enumerate() {
        ws.write_with_format(0, i as u16, *h, &styles.header)?;
        ws.set_column_width(i as u16, *width)?;
    }
    ws.set_freeze_panes(1, 0)?;
    Ok(())
}
