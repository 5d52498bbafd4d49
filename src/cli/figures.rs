//! The read-model commands: metrics, progress, timeline, person and report.
use std::process::ExitCode;

use anyhow::Context;
use chrono::Datelike;
use projections::{
    facts::Facts,
    metric::Metrics,
    people,
    period::{Bucket, Lang, Query},
    progress::{self, Pace},
    timeline,
};
use serde_json::json;

use super::{
    table::{pad, widest},
    Ctx, ReportFormat, When,
};
use crate::{config, store::Store, views};

impl Ctx<'_> {
    fn load(&self, when: &When) -> anyhow::Result<(Store, Metrics, Facts, Query)> {
        let metrics = config::load_metrics(self.cli.metrics.as_deref(), &self.catalog)?;
        let query = self.query(when)?;
        let store = self.open()?;
        let facts = views::fold(&store)?;
        Ok((store, metrics, facts, query))
    }

    /// A unit as it follows a number: `8次`, but `8 times`.
    fn unit(&self, unit: &str) -> String {
        match self.cli.lang {
            Lang::Zh => unit.to_owned(),
            Lang::En => format!(" {unit}"),
        }
    }

    pub(super) fn metrics(&self, when: &When) -> anyhow::Result<ExitCode> {
        let (_, metrics, facts, q) = self.load(when)?;
        let last = q.year_before();
        let rows: Vec<_> = metrics
            .iter()
            .map(|m| (m, m.value(&facts, &q), m.value(&facts, &last)))
            .collect();
        if self.cli.json {
            let out: Vec<_> = rows
                .iter()
                .map(|(m, v, l)| json!({"name": m.name, "figure": m.figure, "group": m.group, "label": m.label(self.cli.lang), "unit": m.unit(self.cli.lang), "value": v, "last_year": l}))
                .collect();
            self.print_json(&json!({"query": q, "metrics": out}))?;
            return Ok(ExitCode::SUCCESS);
        }
        match self.cli.lang {
            Lang::Zh => println!("{}（截至 {}）", q.period.label(Lang::Zh), q.on),
            Lang::En => println!("{} (as of {})", q.period.label(Lang::En), q.on),
        }
        let labels = widest(rows.iter().map(|(m, _, _)| m.label(self.cli.lang)));
        for g in metrics.groups() {
            println!("\n{}", self.t(&g.label_zh, &g.label_en));
            for (m, v, l) in rows.iter().filter(|(m, _, _)| m.group == g.name) {
                let (figure, label) = (
                    m.figure.as_deref().unwrap_or(""),
                    pad(m.label(self.cli.lang), labels),
                );
                let unit = m.unit(self.cli.lang);
                match self.cli.lang {
                    Lang::Zh => println!("  {figure:<4} {label} {v:>6}{unit}   上年同期 {l}{unit}"),
                    // The unit as a column of its own: "1 meetings" would not agree.
                    Lang::En => {
                        println!("  {figure:<4} {label} {v:>6}   last year {l:>6}   {unit}")
                    }
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    }

    pub(super) fn progress(&self, year: Option<i32>, when: &When) -> anyhow::Result<ExitCode> {
        let (_, metrics, facts, q) = self.load(when)?;
        let year = year.unwrap_or(q.on.year());
        let lines = progress::progress(&facts, &metrics, year, q.on, q.known_at);
        if self.cli.json {
            self.print_json(
                &json!({"year": year, "on": q.on, "known_at": q.known_at, "progress": lines}),
            )?;
            return Ok(ExitCode::SUCCESS);
        }
        let (elapsed, days) = progress::elapsed(year, q.on);
        let share = f64::from(elapsed) * 100.0 / f64::from(days);
        match self.cli.lang {
            Lang::Zh => println!(
                "{year} 年度计划完成情况（截至 {}，全年时间已过 {elapsed}/{days} = {share:.1}%）",
                q.on
            ),
            Lang::En => println!(
                "{year} plan against done (on {}, year elapsed {elapsed}/{days} = {share:.1}%)",
                q.on
            ),
        }
        let labels = widest(
            lines
                .iter()
                .map(|p| self.cli.lang.pick(&p.label_zh, &p.label_en)),
        );
        let counts: Vec<String> = lines
            .iter()
            .map(|p| {
                let unit = self.cli.lang.pick(&p.unit_zh, &p.unit_en);
                format!("{}/{}{}", p.actual, p.target, self.unit(unit))
            })
            .collect();
        let count_width = widest(counts.iter().map(String::as_str));
        if lines.is_empty() {
            println!(
                "  {}",
                self.t(
                    "本年度尚未设定目标（target_set）。",
                    "No targets (target_set) for this year."
                )
            );
        }
        for (p, count) in lines.iter().zip(&counts) {
            let bar_len = 20usize;
            let filled = ((p.share_done.min(1.0)) * bar_len as f64).round() as usize;
            let status = match p.pace {
                Pace::Done => self.t("已完成", "done").to_owned(),
                Pace::OnTrack => self.t("正常", "on track").to_owned(),
                Pace::Behind => format!(
                    "{} {} / {} {}",
                    self.t("落后", "behind by"),
                    p.behind_by,
                    p.behind_by_days,
                    self.t("天", "days")
                ),
            };
            println!(
                "  {} {} {}{} {:>6.1}%  {status}  {} {}",
                pad(self.cli.lang.pick(&p.label_zh, &p.label_en), labels),
                pad(count, count_width),
                "█".repeat(filled),
                "░".repeat(bar_len - filled),
                p.share_done * 100.0,
                self.t("上年同期", "last year"),
                p.last_year_actual
            );
            if p.target_history.len() > 1 {
                let history: Vec<String> = p
                    .target_history
                    .iter()
                    .map(|r| format!("{} ({})", r.value, r.set_on))
                    .collect();
                println!(
                    "      {}: {}",
                    self.t("目标调整", "target revisions"),
                    history.join(" → ")
                );
            }
        }
        Ok(ExitCode::SUCCESS)
    }

    pub(super) fn timeline(
        &self,
        metric: Option<&str>,
        by: &str,
        when: &When,
    ) -> anyhow::Result<ExitCode> {
        let (_, metrics, facts, q) = self.load(when)?;
        if let Some(name) = metric {
            let m = metrics.require(name)?;
            let by: Bucket = by.parse()?;
            let points = timeline::series(m, &facts, &q, by, self.cli.lang);
            if self.cli.json {
                self.print_json(
                    &json!({"metric": m.name, "query": q, "by": by, "points": points}),
                )?;
                return Ok(ExitCode::SUCCESS);
            }
            println!(
                "{} · {}",
                m.label(self.cli.lang),
                q.period.label(self.cli.lang)
            );
            let labels = widest(points.iter().map(|p| p.label.as_str()));
            for p in &points {
                println!(
                    "  {} {:>6} {}",
                    pad(&p.label, labels),
                    p.value,
                    "▇".repeat(p.value.min(60) as usize)
                );
            }
            return Ok(ExitCode::SUCCESS);
        }
        let entries = timeline::events(&facts, &q.period, q.known_at);
        if self.cli.json {
            self.print_json(&json!({"query": q, "events": entries}))?;
            return Ok(ExitCode::SUCCESS);
        }
        for e in &entries {
            let mark = match e.status {
                projections::facts::Status::Voided => self.t(" [已作废]", " [voided]"),
                projections::facts::Status::Amended => self.t(" [已更正]", " [amended]"),
                _ => "",
            };
            let label = self
                .catalog
                .kind(e.kind)
                .map_or(e.kind, |k| self.cli.lang.pick(&k.label_zh, &k.label_en));
            println!(
                "{:<22} {label}{mark}  {}",
                e.occurred.to_string(),
                e.current.as_ref().unwrap_or(&e.original)
            );
            for c in &e.corrections {
                let what = if c.data.is_some() {
                    self.t("更正", "amended")
                } else {
                    self.t("作废", "voided")
                };
                println!(
                    "    ↳ {what} {} {}: {}",
                    c.at.with_timezone(&self.cli.utc_offset)
                        .format("%Y-%m-%d %H:%M"),
                    self.cli.lang.author(c.by),
                    c.reason.unwrap_or("")
                );
            }
        }
        Ok(ExitCode::SUCCESS)
    }

    pub(super) fn person(
        &self,
        name: Option<&str>,
        year: Option<i32>,
        when: &When,
    ) -> anyhow::Result<ExitCode> {
        let (_, _, facts, q) = self.load(when)?;
        let year = year.unwrap_or(q.on.year());
        let names = match name {
            Some(n) => vec![n.to_owned()],
            None => people::everyone(&facts, q.known_at),
        };
        let records: Vec<_> = names
            .iter()
            .map(|n| people::person(&facts, n, year, q.on, q.known_at))
            .collect();
        if self.cli.json {
            self.print_json(&json!({"year": year, "on": q.on, "people": records}))?;
            return Ok(ExitCode::SUCCESS);
        }
        let yes = |b: bool| if b { "✓" } else { "✗" };
        println!(
            "{year} · {}",
            self.t(
                "授课/讲座/主持课题/参加课题/成果/课程/蹲点 · 三个一",
                "classes/lectures/led/joined/results/courses/placements · three-ones"
            )
        );
        let names = widest(records.iter().map(|r| r.person.as_str()));
        for r in &records {
            println!(
                "  {} {:>3} {:>3} {:>3} {:>3} {:>3} {:>3} {:>3}   {}{}{} {}",
                pad(&r.person, names),
                r.classes_taught,
                r.lectures_given,
                r.projects_led.len(),
                r.projects_joined.len(),
                r.results,
                r.courses,
                r.placements.len(),
                yes(r.three_ones.leads),
                yes(r.three_ones.joins),
                yes(r.three_ones.produces),
                if r.three_ones.met {
                    self.t("达标", "met")
                } else {
                    self.t("未达标", "not met")
                }
            );
        }
        Ok(ExitCode::SUCCESS)
    }

    pub(super) fn report(
        &self,
        format: ReportFormat,
        out: Option<&std::path::Path>,
        when: &When,
    ) -> anyhow::Result<ExitCode> {
        let templates = config::load_templates(self.cli.templates.as_deref())?;
        let (store, metrics, facts, q) = self.load(when)?;
        let r = views::report(
            &store,
            &facts,
            &metrics,
            &q,
            self.cli.lang,
            self.cli.utc_offset,
        )?
        .signed_by(self.cli.school.as_deref());
        let text = match format {
            ReportFormat::Json => serde_json::to_string_pretty(&r)? + "\n",
            ReportFormat::Md | ReportFormat::Docx => templates
                .markdown(&r)
                .context("could not write the report")?,
        };
        match (format, out) {
            (ReportFormat::Docx, out) => self.report_docx(&text, &r.closing, out),
            (_, Some(path)) => self.write_file(path, text.as_bytes()),
            (_, None) => {
                print!("{text}");
                Ok(ExitCode::SUCCESS)
            }
        }
    }
}
