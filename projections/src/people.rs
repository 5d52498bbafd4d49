//! Each teacher's record for a year, and the school's "三个一" rule: every teacher
//! leads at least one project, joins one project group and produces one result.
use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::{
    facts::{Data, Fact, Facts},
    period::Period,
};

/// The "三个一" rule for one teacher and year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ThreeOnes {
    /// Leads at least one project.
    pub leads: bool,
    /// Is a member of at least one project group.
    pub joins: bool,
    /// Produced at least one result.
    pub produces: bool,
    /// All three.
    pub met: bool,
}

/// One person's record over a year.
#[derive(Debug, Clone, Serialize)]
pub struct PersonYear {
    /// The person (their name or staff id, as recorded).
    pub person: String,
    /// The year.
    pub year: i32,
    /// Class sessions they taught in.
    pub classes_taught: u64,
    /// Lectures they gave.
    pub lectures_given: u64,
    /// Ids of projects they lead (applied or approved).
    pub projects_led: Vec<String>,
    /// Ids of projects whose group they joined.
    pub projects_joined: Vec<String>,
    /// Results (papers, cases, reports, articles) they authored.
    pub results: u64,
    /// Courses they developed.
    pub courses: u64,
    /// Departments they were placed in.
    pub placements: Vec<String>,
    /// The rule.
    pub three_ones: ThreeOnes,
}

/// The people a field names: one text, or a list of them.
fn names(v: Option<Data<'_>>) -> Vec<&str> {
    match v {
        Some(v) => match v.as_str() {
            Some(one) => vec![one],
            None => v.items().filter_map(|i| i.as_str()).collect(),
        },
        None => Vec::new(),
    }
}

/// Where people are named: (kind, field).
const PERSON_FIELDS: &[(&str, &str)] = &[
    ("class_held", "teachers"),
    ("lecture_given", "speaker"),
    ("project_applied", "lead"),
    ("project_applied", "members"),
    ("project_approved", "lead"),
    ("project_approved", "members"),
    ("result_submitted", "authors"),
    ("course_developed", "authors"),
    ("placement_started", "teacher"),
    ("group_formed", "members"),
];

/// The facts of the year that count on `on` as known at `known_at`, with their data.
fn in_year<'a>(
    facts: &'a Facts,
    kind: &'a str,
    year: i32,
    on: NaiveDate,
    known_at: DateTime<Utc>,
) -> impl Iterator<Item = (Fact<'a>, Data<'a>)> + 'a {
    let period = Period::year(year);
    facts.of_kind(kind).filter_map(move |f| {
        let day = f.occurred().end();
        if !period.contains(day) || day > on {
            return None;
        }
        Some((f, f.data_at(known_at)?))
    })
}

/// Everyone named anywhere in the log as known at `known_at`, sorted.
pub fn everyone(facts: &Facts, known_at: DateTime<Utc>) -> Vec<String> {
    let mut out = BTreeSet::new();
    for (kind, field) in PERSON_FIELDS {
        for f in facts.of_kind(kind) {
            if let Some(data) = f.data_at(known_at) {
                out.extend(names(data.get(field)).into_iter().map(str::to_owned));
            }
        }
    }
    out.into_iter().collect()
}

/// One person's record for `year`, counting what occurred by `on` as known at `known_at`.
pub fn person(
    facts: &Facts,
    who: &str,
    year: i32,
    on: NaiveDate,
    known_at: DateTime<Utc>,
) -> PersonYear {
    let named = |data: Data<'_>, field: &str| names(data.get(field)).contains(&who);
    let count = |kind: &str, field: &str| {
        in_year(facts, kind, year, on, known_at)
            .filter(|(_, d)| named(*d, field))
            .count() as u64
    };
    let mut led = BTreeSet::new();
    let mut joined = BTreeSet::new();
    for kind in ["project_applied", "project_approved"] {
        for (_, d) in in_year(facts, kind, year, on, known_at) {
            let id = d
                .get("project_id")
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned();
            if named(d, "lead") {
                led.insert(id.clone());
            }
            if named(d, "members") {
                joined.insert(id);
            }
        }
    }
    let placements = in_year(facts, "placement_started", year, on, known_at)
        .filter(|(_, d)| named(*d, "teacher"))
        .filter_map(|(_, d)| d.get("department")?.as_str().map(str::to_owned))
        .collect();
    let results = count("result_submitted", "authors");
    let three_ones = ThreeOnes {
        leads: !led.is_empty(),
        joins: !joined.is_empty(),
        produces: results > 0,
        met: !led.is_empty() && !joined.is_empty() && results > 0,
    };
    PersonYear {
        person: who.to_owned(),
        year,
        classes_taught: count("class_held", "teachers"),
        lectures_given: count("lecture_given", "speaker"),
        projects_led: led.into_iter().collect(),
        projects_joined: joined.into_iter().collect(),
        results,
        courses: count("course_developed", "authors"),
        placements,
        three_ones,
    }
}
