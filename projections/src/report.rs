//! The half-year (or any period's) report: every figure, the plan against what is done
//! and the year-on-year change, gathered into one context and worded by a template.
use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Utc};
use events::Occurred;
use serde::Serialize;

use crate::{
    facts::Facts,
    metric::Metrics,
    pacing::{self, Pacing},
    period::{Lang, Query},
    progress::{self, Pace},
    Error, EMBEDDED_TEMPLATES,
};

/// The log head a report was computed from, so a reader can cite it exactly.
#[derive(Debug, Clone, Serialize)]
pub struct Seal {
    /// The head's seq.
    pub seq: u64,
    /// The head's hash.
    pub hash: String,
}

/// One figure with last year's value for the same period and day.
#[derive(Debug, Clone, Serialize)]
pub struct Figure {
    /// The metric's name.
    pub name: String,
    /// Its figure number.
    pub figure: Option<String>,
    /// Its label in the report's language.
    pub label: String,
    /// Its unit.
    pub unit: String,
    /// The value.
    pub value: u64,
    /// Last year's value.
    pub last_year: u64,
    /// Whether the log holds any of the metric's events for last year's period.
    pub last_year_recorded: bool,
    /// value − last_year.
    pub change: i64,
    /// Whether either year has a value, so the year-on-year table lists it.
    pub has_value: bool,
}

/// A group of figures, as the seed report groups them.
#[derive(Debug, Clone, Serialize)]
pub struct Section {
    /// The group's name.
    pub name: String,
    /// Its label.
    pub label: String,
    /// Its figures.
    pub figures: Vec<Figure>,
}

/// One line of the plan-against-done table.
#[derive(Debug, Clone, Serialize)]
pub struct PlanLine {
    /// The progress itself.
    #[serde(flatten)]
    pub progress: progress::Progress,
    /// The label in the report's language.
    pub label: String,
    /// The unit in the report's language.
    pub unit: String,
    /// Share done, as `52.9%`.
    pub done_pct: String,
    /// Share of the year elapsed, as `49.6%`.
    pub elapsed_pct: String,
    /// Whether it keeps pace (or is done).
    pub on_track: bool,
    /// The target minus last year's target, when both exist.
    pub target_change: Option<i64>,
}

/// An intention with a due date, such as the next half's plans.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// What is planned.
    pub title: String,
    /// By when, as `YYYY-MM-DD`.
    pub due: String,
    /// By when, as the report's language writes a day (`2023年12月31日`).
    pub due_label: String,
    /// The area of work.
    pub area: String,
    /// When it was decided.
    pub occurred: Occurred,
}

/// What closes the report, as an official document closes (落款 and 成文日期).
#[derive(Debug, Clone, Serialize)]
pub struct Closing {
    /// Who issues it: the school's name.
    pub signer: String,
    /// The day it was written (成文日期), in the report's language.
    pub date: String,
}

/// The school's name when none is configured.
pub fn default_school(lang: Lang) -> &'static str {
    lang.pick("县委党校", "County Party School")
}

/// A day as the report's language writes it: `2023年12月31日`, or `2023-12-31`.
pub fn day_label(day: NaiveDate, lang: Lang) -> String {
    match lang {
        Lang::Zh => day.format("%Y年%-m月%-d日").to_string(),
        Lang::En => day.to_string(),
    }
}

/// Everything a report says, before wording. The JSON format is this, as is.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The period as written in queries (`2023H1`).
    pub period: String,
    /// The period as people name it (`2023年上半年`).
    pub period_label: String,
    /// The language.
    pub lang: Lang,
    /// The year the period starts in.
    pub year: i32,
    /// Figures count what occurred by this day.
    pub on: String,
    /// …as known at this moment.
    pub known_at: DateTime<Utc>,
    /// `known_at` in the school's time zone, for people.
    pub known_at_local: String,
    /// When the report was produced.
    pub generated_at: DateTime<Utc>,
    /// The log head it was computed from.
    pub seal: Option<Seal>,
    /// Every figure by metric name, for sentences (`f.main_classes`).
    pub f: BTreeMap<String, u64>,
    /// The figures by group, with last year's values.
    pub sections: Vec<Section>,
    /// Plan against done, by metric name, for sentences (`p.main_classes`).
    pub p: BTreeMap<String, PlanLine>,
    /// Plan against done, as a table.
    pub plan: Vec<PlanLine>,
    /// Whether `on` is near the middle of the year (for "时间过半、任务过半").
    pub mid_year: bool,
    /// Every target judged together against the calendar, when the year has targets.
    pub pacing: Option<Pacing>,
    /// The labels of figures with no value this period or last year's, which the
    /// year-on-year table leaves out and names in one line.
    pub without_values: Vec<String>,
    /// The school that issues it and the day it was written.
    pub closing: Closing,

    /// Intentions recorded for after the period.
    pub plans: Vec<Plan>,
}

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

/// Builds the report's content for a query.
pub fn build(
    facts: &Facts,
    metrics: &Metrics,
    q: &Query,
    lang: Lang,
    seal: Option<Seal>,
    generated_at: DateTime<Utc>,
    offset: FixedOffset,
) -> Report {
    let on = q.on.min(q.period.to());
    let q = Query { on, ..*q };
    let last = q.year_before();
    let mut f = BTreeMap::new();
    let sections = metrics
        .groups()
        .iter()
        .map(|g| Section {
            name: g.name.clone(),
            label: lang.pick(&g.label_zh, &g.label_en).to_owned(),
            figures: metrics
                .iter()
                .filter(|m| m.group == g.name)
                .map(|m| {
                    let value = m.value(facts, &q);
                    let last_year = m.value(facts, &last);
                    let last_year_recorded = m.recorded(facts, &last);
                    f.insert(m.name.clone(), value);
                    Figure {
                        name: m.name.clone(),
                        figure: m.figure.clone(),
                        label: m.label(lang).to_owned(),
                        unit: m.unit(lang).to_owned(),
                        value,
                        last_year,
                        last_year_recorded,
                        change: value as i64 - last_year as i64,
                        has_value: value > 0 || (last_year_recorded && last_year > 0),
                    }
                })
                .collect(),
        })
        .collect::<Vec<Section>>();
    let without_values = sections
        .iter()
        .flat_map(|s| &s.figures)
        .filter(|x| !x.has_value)
        .map(|x| x.label.clone())
        .collect();
    let year = q.period.from().year();
    let lines = progress::progress(facts, metrics, year, on, q.known_at);
    let pacing = pacing::judge(&lines, lang);
    let plan: Vec<PlanLine> = lines
        .into_iter()
        .map(|p| PlanLine {
            label: lang.pick(&p.label_zh, &p.label_en).to_owned(),
            unit: lang.pick(&p.unit_zh, &p.unit_en).to_owned(),
            done_pct: pct(p.share_done),
            elapsed_pct: pct(p.share_elapsed),
            on_track: p.pace != Pace::Behind,
            target_change: p.last_year_target.map(|t| p.target as i64 - t as i64),
            progress: p,
        })
        .collect();
    let (elapsed, days) = progress::elapsed(year, on);
    let share = f64::from(elapsed) / f64::from(days);
    let plans = facts
        .of_kind("plan_made")
        .filter(|fact| fact.recorded_at() <= q.known_at)
        .filter_map(|fact| {
            let d = fact.data_at(q.known_at)?;
            let due = d.get("due")?.as_str()?;
            let due_day = NaiveDate::parse_from_str(due, "%Y-%m-%d").ok()?;
            (due_day > q.period.to()).then(|| Plan {
                title: d
                    .get("title")
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_owned(),
                due: due.to_owned(),
                due_label: day_label(due_day, lang),
                area: d
                    .get("area")
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_owned(),
                occurred: fact.occurred(),
            })
        })
        .collect();
    Report {
        period: q.period.to_string(),
        period_label: q.period.label(lang),
        lang,
        year,
        on: day_label(on, lang),
        known_at: q.known_at,
        known_at_local: {
            let local = q.known_at.with_timezone(&offset);
            format!(
                "{} {}",
                day_label(local.date_naive(), lang),
                local.format("%H:%M")
            )
        },
        generated_at,
        seal,
        f,
        sections,
        p: plan
            .iter()
            .map(|l| (l.progress.metric.clone(), l.clone()))
            .collect(),
        pacing,
        plan,
        mid_year: (0.45..=0.55).contains(&share),
        plans,
        without_values,
        closing: Closing {
            signer: default_school(lang).to_owned(),
            date: match lang {
                Lang::Zh => day_label(generated_at.with_timezone(&offset).date_naive(), lang),
                Lang::En => generated_at
                    .with_timezone(&offset)
                    .format("%-d %B %Y")
                    .to_string(),
            },
        },
    }
}

impl Report {
    /// The report signed by the school of that name (its 落款) instead of the default.
    pub fn signed_by(mut self, school: Option<&str>) -> Self {
        if let Some(name) = school.map(str::trim).filter(|n| !n.is_empty()) {
            self.closing.signer = name.to_owned();
        }
        self
    }
}

/// The report templates: embedded, or a deployment's own files.
pub struct Templates {
    env: minijinja::Environment<'static>,
}

impl Templates {
    /// The templates embedded in the binary.
    pub fn embedded() -> Result<Self, Error> {
        Self::from_files(
            events::catalog::embedded_files(&EMBEDDED_TEMPLATES, ".j2")
                .into_iter()
                .map(|(n, t)| (n.to_owned(), t.to_owned())),
        )
    }

    /// Templates from `(file name, text)` pairs; `report.zh.md.j2` and `report.en.md.j2`
    /// are the ones reports use.
    pub fn from_files(files: impl IntoIterator<Item = (String, String)>) -> Result<Self, Error> {
        let mut env = minijinja::Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        for (name, text) in files {
            env.add_template_owned(name.clone(), text)
                .map_err(|e| Error::Template {
                    name,
                    reason: e.to_string(),
                })?;
        }
        Ok(Templates { env })
    }

    /// Words the report in Markdown, in its language.
    pub fn markdown(&self, report: &Report) -> Result<String, Error> {
        let name = format!(
            "report.{}.md.j2",
            match report.lang {
                Lang::Zh => "zh",
                Lang::En => "en",
            }
        );
        let fail = |e: minijinja::Error| Error::Template {
            name: name.clone(),
            reason: format!("{e:#}"),
        };
        self.env
            .get_template(&name)
            .map_err(fail)?
            .render(report)
            .map_err(fail)
    }
}
