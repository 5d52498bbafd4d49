//! Metric definitions (data files) and their evaluation over the facts. A metric is a
//! count, a sum of an integer field, or a count of distinct values of a field, over
//! the events of some kinds whose fields match a filter.
use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};
use events::{catalog::FieldType, Catalog};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{
    facts::{Data, Day, Fact, Facts, Window},
    period::Query,
    Error, EMBEDDED_METRICS,
};

/// What a metric computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Aggregate {
    /// How many events.
    #[default]
    Count,
    /// The sum of an integer field.
    Sum,
    /// How many distinct values a field takes.
    Distinct,
}

/// Which day of an event's range places it in a period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Anchor {
    /// Its last day: a class is "held" once its last day has passed.
    #[default]
    End,
    /// Its first day: a placement "started".
    Start,
}

/// Which events before the period count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Only events inside the period.
    #[default]
    Period,
    /// Everything up to the period's end (things built up over years, such as sites).
    Cumulative,
}

/// A group of metrics, as the report groups them.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    /// Its name.
    pub name: String,
    /// Chinese label.
    pub label_zh: String,
    /// English label.
    pub label_en: String,
}

/// One metric.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metric {
    /// Its name, used in targets, URLs and templates.
    pub name: String,
    /// The figure of the half-year report it produces (F01…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub figure: Option<String>,
    /// The group it belongs to.
    pub group: String,
    /// Chinese label.
    pub label_zh: String,
    /// English label.
    pub label_en: String,
    /// Chinese unit (次, 个, 人…).
    pub unit_zh: String,
    /// English unit.
    pub unit_en: String,
    /// The kinds it reads.
    pub kinds: Vec<String>,
    /// What it computes.
    #[serde(default)]
    pub aggregate: Aggregate,
    /// The field summed or counted distinct.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Field values an event must have: a value, or a list meaning "one of".
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub filter: BTreeMap<String, Value>,
    /// Which day of a range counts.
    #[serde(default)]
    pub anchor: Anchor,
    /// Whether earlier events count too.
    #[serde(default)]
    pub scope: Scope,
    /// Shown as a chart on the progress page.
    #[serde(default)]
    pub main: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    group: Vec<Group>,
    #[serde(default)]
    metric: Vec<Metric>,
}

impl Metric {
    /// The value for a query: events in the period, occurred by `on`, as known at `known_at`.
    pub fn value(&self, facts: &Facts, q: &Query) -> u64 {
        let from = match self.scope {
            Scope::Period => q.period.from(),
            Scope::Cumulative => NaiveDate::MIN,
        };
        let to = q.period.to().min(q.on);
        // Knowing everything the log holds (the usual question: as known now), the
        // value by any day of the period comes from running totals built once per
        // fold; they give what the scan below gives.
        if facts
            .head_recorded_at()
            .is_none_or(|last| q.known_at >= last)
        {
            let key = format!(
                "{}|{from}|{}",
                serde_json::to_string(self).expect("a metric serialises"),
                q.period.to()
            );
            return facts
                .window(&key, || self.window(facts, from, q.period.to()))
                .value_to(to);
        }
        self.value_between(facts, from, to, q.known_at)
    }

    /// Running totals over `from..=to` with every revision known: what
    /// [`Metric::value_between`] gives for each day, as one sorted list.
    pub fn window(&self, facts: &Facts, from: NaiveDate, to: NaiveDate) -> Window {
        let mut counted: Vec<(NaiveDate, u64)> = Vec::new();
        // For a distinct count, the first day each value appears.
        let mut first_text: BTreeMap<&str, NaiveDate> = BTreeMap::new();
        let mut first_other: BTreeMap<String, NaiveDate> = BTreeMap::new();
        for kind in &self.kinds {
            for run in facts.of_kind_in(kind, self.day(), from, to) {
                for fact in run {
                    let day = self.anchor_day(fact);
                    if day < from || day > to {
                        continue;
                    }
                    let Some(data) = fact.latest() else {
                        continue;
                    };
                    if !self.matches(data) {
                        continue;
                    }
                    match (self.aggregate, self.field.as_deref()) {
                        (Aggregate::Sum, Some(f)) => {
                            counted.push((day, data.get(f).and_then(|v| v.as_u64()).unwrap_or(0)))
                        }
                        (Aggregate::Distinct, Some(f)) => {
                            if let Some(v) = data.get(f) {
                                match v.as_str() {
                                    Some(text) => {
                                        first_text
                                            .entry(text)
                                            .and_modify(|d| *d = (*d).min(day))
                                            .or_insert(day);
                                    }
                                    None => {
                                        first_other
                                            .entry(v.to_string())
                                            .and_modify(|d| *d = (*d).min(day))
                                            .or_insert(day);
                                    }
                                }
                            }
                        }
                        _ => counted.push((day, 1)),
                    }
                }
            }
        }
        if self.aggregate == Aggregate::Distinct {
            counted = first_text
                .into_values()
                .chain(first_other.into_values())
                .map(|d| (d, 1))
                .collect();
        }
        counted.sort_unstable_by_key(|(d, _)| *d);
        let mut total = 0;
        let (days, totals) = counted
            .into_iter()
            .map(|(d, v)| {
                total += v;
                (d, total)
            })
            .unzip();
        Window { days, totals }
    }

    /// Whether the log holds any event of this metric's kinds that the query's window
    /// covers, matching or not: without one, a zero means "not recorded", not "none".
    pub fn recorded(&self, facts: &Facts, q: &Query) -> bool {
        let from = match self.scope {
            Scope::Period => q.period.from(),
            Scope::Cumulative => NaiveDate::MIN,
        };
        let to = q.period.to().min(q.on);
        self.kinds.iter().any(|k| {
            facts.of_kind_in(k, self.day(), from, to).any(|mut run| {
                run.any(|f| {
                    let day = self.anchor_day(f);
                    f.recorded_at() <= q.known_at && from <= day && day <= to
                })
            })
        })
    }

    fn day(&self) -> Day {
        match self.anchor {
            Anchor::End => Day::End,
            Anchor::Start => Day::Start,
        }
    }

    fn anchor_day(&self, fact: Fact<'_>) -> NaiveDate {
        match self.anchor {
            Anchor::End => fact.occurred().end(),
            Anchor::Start => fact.occurred().start(),
        }
    }

    /// The value over events whose anchor day is in `from..=to`, as known at `known_at`.
    pub fn value_between(
        &self,
        facts: &Facts,
        from: NaiveDate,
        to: NaiveDate,
        known_at: DateTime<Utc>,
    ) -> u64 {
        let mut count = 0u64;
        // Distinct values counted by their JSON text: text values borrowed as they are
        // (a string's JSON text is its content, quoted, so no string can collide with
        // another value), any other value written out.
        let mut distinct_text: BTreeSet<&str> = BTreeSet::new();
        let mut distinct_other: BTreeSet<String> = BTreeSet::new();
        for kind in &self.kinds {
            // Only the years the window covers; each year's run in seq order.
            for run in facts.of_kind_in(kind, self.day(), from, to) {
                for fact in run {
                    if fact.recorded_at() > known_at {
                        // A run is in seq order and recorded_at never decreases along
                        // seq: nothing later in this run was known either.
                        break;
                    }
                    let day = self.anchor_day(fact);
                    if day < from || day > to {
                        continue;
                    }
                    let Some(data) = fact.data_at(known_at) else {
                        continue;
                    };
                    if !self.matches(data) {
                        continue;
                    }
                    match (self.aggregate, self.field.as_deref()) {
                        (Aggregate::Sum, Some(f)) => {
                            count += data.get(f).and_then(|v| v.as_u64()).unwrap_or(0)
                        }
                        (Aggregate::Distinct, Some(f)) => {
                            if let Some(v) = data.get(f) {
                                match v.as_str() {
                                    Some(text) => {
                                        distinct_text.insert(text);
                                    }
                                    None => {
                                        distinct_other.insert(v.to_string());
                                    }
                                }
                            }
                        }
                        _ => count += 1,
                    }
                }
            }
        }
        match self.aggregate {
            Aggregate::Distinct => (distinct_text.len() + distinct_other.len()) as u64,
            _ => count,
        }
    }

    fn matches(&self, data: Data<'_>) -> bool {
        self.filter.iter().all(|(field, wanted)| {
            // An absent field reads as null.
            let have = |want: &Value| match data.get(field) {
                Some(v) => v == *want,
                None => want.is_null(),
            };
            match wanted {
                Value::Array(options) => options.iter().any(have),
                // An absent boolean reads as false, so `key = false` matches ordinary projects.
                Value::Bool(false) => have(&Value::Bool(false)) || have(&Value::Null),
                one => have(one),
            }
        })
    }

    /// The label in a language.
    pub fn label(&self, lang: crate::period::Lang) -> &str {
        lang.pick(&self.label_zh, &self.label_en)
    }

    /// The unit in a language.
    pub fn unit(&self, lang: crate::period::Lang) -> &str {
        lang.pick(&self.unit_zh, &self.unit_en)
    }

    /// Checks the definition against the catalog: kinds, fields, types and enum values.
    fn check(&self, catalog: &Catalog) -> Result<(), Problem> {
        if self.kinds.is_empty() {
            return Err(Problem::NoKinds);
        }
        match (self.aggregate, &self.field) {
            (Aggregate::Count, Some(_)) => return Err(Problem::CountWithField),
            (Aggregate::Sum | Aggregate::Distinct, None) => {
                return Err(Problem::NeedsField(
                    format!("{:?}", self.aggregate).to_lowercase(),
                ))
            }
            _ => {}
        }
        for kind in &self.kinds {
            let def = catalog
                .kind(kind)
                .ok_or_else(|| Problem::UnknownKind(kind.clone()))?;
            let field = |name: &str| {
                def.field(name).ok_or_else(|| Problem::NoField {
                    kind: kind.clone(),
                    field: name.to_owned(),
                })
            };
            if let Some(name) = &self.field {
                let f = field(name)?;
                match (self.aggregate, f.ty) {
                    (Aggregate::Sum, FieldType::Integer) => {}
                    (Aggregate::Sum, _) => {
                        return Err(Problem::NotSummable {
                            kind: kind.clone(),
                            field: name.clone(),
                        })
                    }
                    (
                        Aggregate::Distinct,
                        FieldType::List | FieldType::People | FieldType::Object,
                    ) => {
                        return Err(Problem::NotOneValue {
                            kind: kind.clone(),
                            field: name.clone(),
                        })
                    }
                    _ => {}
                }
            }
            for (name, wanted) in &self.filter {
                let f = field(name)?;
                let values: Vec<&Value> = match wanted {
                    Value::Array(v) => v.iter().collect(),
                    one => vec![one],
                };
                for v in values {
                    f.check(v).map_err(|reason| Problem::Filter {
                        field: name.clone(),
                        value: v.to_string(),
                        reason: reason.to_string(),
                    })?;
                }
            }
        }
        Ok(())
    }
}

/// What is wrong with one metric definition: the reason [`Error::Definition`] gives.
#[derive(Debug, thiserror::Error)]
enum Problem {
    #[error("names no kinds")]
    NoKinds,
    #[error("a count takes no field")]
    CountWithField,
    #[error("aggregate '{0}' needs a field")]
    NeedsField(String),
    #[error("unknown kind '{0}'")]
    UnknownKind(String),
    #[error("kind '{kind}' has no field '{field}'")]
    NoField { kind: String, field: String },
    #[error("field '{field}' of '{kind}' is not an integer, so it cannot be summed")]
    NotSummable { kind: String, field: String },
    #[error("field '{field}' of '{kind}' is a list or object; distinct needs one value")]
    NotOneValue { kind: String, field: String },
    #[error("filter {field} = {value}: {reason}")]
    Filter {
        field: String,
        value: String,
        reason: String,
    },
}

/// Every metric, in the order of their files, and their groups.
#[derive(Debug, Clone, Serialize)]
pub struct Metrics {
    groups: Vec<Group>,
    metrics: Vec<Metric>,
}

impl Metrics {
    /// The metrics embedded in the binary, checked against the catalog.
    pub fn embedded(catalog: &Catalog) -> Result<Self, Error> {
        Self::from_files(
            events::catalog::embedded_files(&EMBEDDED_METRICS, ".toml"),
            catalog,
        )
    }

    /// Loads `(file name, TOML)` pairs, refusing any definition that names an unknown
    /// kind or field, with the file, the metric and the reason.
    pub fn from_files<'a>(
        files: impl IntoIterator<Item = (&'a str, &'a str)>,
        catalog: &Catalog,
    ) -> Result<Self, Error> {
        let mut out = Metrics {
            groups: Vec::new(),
            metrics: Vec::new(),
        };
        for (file, text) in files {
            let bad = |metric: &str, reason: String| Error::Definition {
                file: file.to_owned(),
                metric: metric.to_owned(),
                reason,
            };
            let parsed: File = toml::from_str(text).map_err(|e| bad("-", e.to_string()))?;
            out.groups.extend(parsed.group);
            for m in parsed.metric {
                m.check(catalog).map_err(|r| bad(&m.name, r.to_string()))?;
                if out.get(&m.name).is_some() {
                    return Err(bad(&m.name, "is defined twice".into()));
                }
                out.metrics.push(m);
            }
        }
        for m in &out.metrics {
            if !out.groups.iter().any(|g| g.name == m.group) {
                return Err(Error::Definition {
                    file: "-".into(),
                    metric: m.name.clone(),
                    reason: format!("group '{}' is not defined in any metric file", m.group),
                });
            }
        }
        Ok(out)
    }

    /// The metric of that name.
    pub fn get(&self, name: &str) -> Option<&Metric> {
        self.metrics.iter().find(|m| m.name == name)
    }

    /// The metric of that name, or an error listing the names that exist.
    pub fn require(&self, name: &str) -> Result<&Metric, Error> {
        self.get(name).ok_or_else(|| Error::UnknownMetric {
            name: name.to_owned(),
            known: self
                .metrics
                .iter()
                .map(|m| m.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        })
    }

    /// Every metric, in file order.
    pub fn iter(&self) -> impl Iterator<Item = &Metric> {
        self.metrics.iter()
    }

    /// The groups, in file order.
    pub fn groups(&self) -> &[Group] {
        &self.groups
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_metrics_check_against_the_catalog() {
        let m = Metrics::embedded(&Catalog::embedded()).unwrap();
        assert!(m.get("school_committee_meetings").is_some());
        assert_eq!(m.groups().len(), 4);
    }

    #[test]
    fn a_metric_naming_an_unknown_field_is_refused_with_file_and_name() {
        let text = r#"
            [[group]]
            name = "g"
            label_zh = "组"
            label_en = "G"
            [[metric]]
            name = "bad_sum"
            group = "g"
            label_zh = "坏"
            label_en = "Bad"
            unit_zh = "个"
            unit_en = "x"
            kinds = ["class_held"]
            aggregate = "sum"
            field = "attendance"
        "#;
        let err = Metrics::from_files([("mine.toml", text)], &Catalog::embedded())
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "metric file mine.toml, metric 'bad_sum': kind 'class_held' has no field 'attendance'"
        );
        let unknown_kind = text.replace("class_held", "party_thrown");
        let err = Metrics::from_files([("mine.toml", unknown_kind.as_str())], &Catalog::embedded())
            .unwrap_err()
            .to_string();
        assert!(err.ends_with("unknown kind 'party_thrown'"), "{err}");
        let bad_enum = text.replace(
            "aggregate = \"sum\"\n            field = \"attendance\"",
            "filter = { category = \"huge\" }",
        );
        let err = Metrics::from_files([("mine.toml", bad_enum.as_str())], &Catalog::embedded())
            .unwrap_err()
            .to_string();
        assert!(err.contains("filter category = \"huge\""), "{err}");
    }
}
