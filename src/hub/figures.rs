//! Each school's figures, computed by the `projections` fold over that school's events
//! as read back from PostgreSQL: the same fold the school runs over its own log, so the
//! same numbers at the same head. Folds are kept in memory per school and extended with
//! what arrived since; a fold "as received by" a moment (the hub's own time axis: what
//! the city knew on 5 July) is made on demand from the events received by then.
use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex, RwLock},
};

use chrono::{DateTime, NaiveDate, Utc};
use deadpool_postgres::GenericClient;
use events::Catalog;
use projections::{
    facts::Facts,
    metric::Metrics,
    progress::{self, Pace, Progress},
};
use serde::Serialize;

use super::{ingest::events_after, schools::School, HubError};

/// Events read from the database at a time.
const CHUNK: u64 = 5_000;

/// The folds of every school, kept warm.
pub struct Folds {
    catalog: Arc<Catalog>,
    by_school: Mutex<HashMap<String, Arc<RwLock<Facts>>>>,
}

impl Folds {
    /// No folds yet; each is made on first use.
    pub fn new(catalog: Arc<Catalog>) -> Self {
        Folds {
            catalog,
            by_school: Mutex::default(),
        }
    }

    /// The school's fold, brought up to `head_seq` first.
    pub async fn facts(
        &self,
        client: &impl GenericClient,
        school: &str,
        head_seq: u64,
    ) -> Result<Arc<RwLock<Facts>>, HubError> {
        let fold = self
            .by_school
            .lock()
            .expect("folds lock poisoned")
            .entry(school.to_owned())
            .or_default()
            .clone();
        loop {
            let at = fold.read().expect("fold lock poisoned").head_seq();
            if at >= head_seq {
                return Ok(fold);
            }
            let chunk = self
                .read(client, school, at, CHUNK.min(head_seq - at))
                .await?;
            if chunk.is_empty() {
                return Ok(fold);
            }
            let mut facts = fold.write().expect("fold lock poisoned");
            // Another request may have applied some meanwhile: apply only what follows.
            for e in chunk {
                if e.seq == facts.head_seq() + 1 {
                    facts.apply_owned(e);
                }
            }
        }
    }

    /// A fold of the school's events the hub had received by `moment`, not kept.
    pub async fn facts_received_by(
        &self,
        client: &impl GenericClient,
        school: &str,
        moment: DateTime<Utc>,
    ) -> Result<Facts, HubError> {
        let row = client
            .query_one(
                "SELECT MAX(seq) FROM events WHERE school = $1 AND received_at <= $2",
                &[&school, &moment],
            )
            .await?;
        let upto = row.get::<_, Option<i64>>(0).unwrap_or(0) as u64;
        let mut facts = Facts::default();
        while facts.head_seq() < upto {
            let at = facts.head_seq();
            let chunk = self.read(client, school, at, CHUNK.min(upto - at)).await?;
            if chunk.is_empty() {
                break;
            }
            for e in chunk {
                facts.apply_owned(e);
            }
        }
        Ok(facts)
    }

    async fn read(
        &self,
        client: &impl GenericClient,
        school: &str,
        after: u64,
        limit: u64,
    ) -> Result<Vec<events::Envelope>, HubError> {
        Ok(events_after(client, school, after, limit)
            .await?
            .into_iter()
            .map(|e| e.upcast(&self.catalog))
            .collect())
    }
}

/// One school's line: what the hub holds and its progress against its targets.
#[derive(Debug, Clone, Serialize)]
pub struct SchoolLine {
    /// The school as the hub lists it.
    #[serde(flatten)]
    pub school: School,
    /// No push for longer than the hub's limit (or never).
    pub stale: bool,
    /// Each metric with a target: plan against done.
    pub progress: Vec<Progress>,
}

/// A metric summed over schools.
#[derive(Debug, Clone, Serialize)]
pub struct Total {
    /// The metric's name.
    pub metric: String,
    /// Chinese label.
    pub label_zh: String,
    /// English label.
    pub label_en: String,
    /// Chinese unit.
    pub unit_zh: String,
    /// Done, summed.
    pub actual: u64,
    /// Targets, summed.
    pub target: u64,
    /// actual / target.
    pub share_done: f64,
    /// How many schools have a target for it.
    pub schools: usize,
    /// Whether the sum keeps pace with the year.
    pub on_track: bool,
}

/// The schools of one region (those reporting through one school) and their totals.
#[derive(Debug, Clone, Serialize)]
pub struct Region {
    /// The region's school id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// How many schools it counts.
    pub schools: usize,
    /// The sums.
    pub totals: Vec<Total>,
}

/// Every school's progress side by side, with totals by region and overall.
#[derive(Debug, Clone, Serialize)]
pub struct Overview {
    /// The year.
    pub year: i32,
    /// Counted by this day.
    pub on: NaiveDate,
    /// As recorded by this moment.
    pub known_at: DateTime<Utc>,
    /// As received by the hub by this moment, when asked.
    pub received_by: Option<DateTime<Utc>>,
    /// Days of the year elapsed by `on`.
    pub elapsed_days: u32,
    /// Days in the year.
    pub days_in_year: u32,
    /// elapsed_days / days_in_year.
    pub share_elapsed: f64,
    /// One line per school.
    pub schools: Vec<SchoolLine>,
    /// Sums per region: the schools under a school (a top-level school is its own region).
    pub regions: Vec<Region>,
    /// Sums over every school shown.
    pub totals: Vec<Total>,
}

/// What an overview is asked for.
#[derive(Debug, Clone, Copy)]
pub struct Ask {
    /// The year.
    pub year: i32,
    /// Counted by this day.
    pub on: NaiveDate,
    /// As recorded by this moment.
    pub known_at: DateTime<Utc>,
    /// As received by the hub by this moment.
    pub received_by: Option<DateTime<Utc>>,
}

/// Each school's progress from its fold.
pub fn progress_of(facts: &Facts, metrics: &Metrics, ask: &Ask) -> Vec<Progress> {
    progress::progress(facts, metrics, ask.year, ask.on, ask.known_at)
}

/// Puts the lines side by side and sums them by region and overall.
pub fn overview(ask: &Ask, schools: Vec<SchoolLine>, all: &[School]) -> Overview {
    let (elapsed_days, days_in_year) = progress::elapsed(ask.year, ask.on);
    let share_elapsed = f64::from(elapsed_days) / f64::from(days_in_year);
    let mut regions: BTreeMap<String, Vec<&SchoolLine>> = BTreeMap::new();
    for line in &schools {
        let region = line.school.parent.clone().unwrap_or(line.school.id.clone());
        regions.entry(region).or_default().push(line);
    }
    let regions = regions
        .into_iter()
        .map(|(id, lines)| Region {
            name: all
                .iter()
                .find(|s| s.id == id)
                .map_or_else(|| id.clone(), |s| s.name.clone()),
            schools: lines.len(),
            totals: totals(&lines, share_elapsed),
            id,
        })
        .collect();
    let totals = totals(&schools.iter().collect::<Vec<_>>(), share_elapsed);
    Overview {
        year: ask.year,
        on: ask.on,
        known_at: ask.known_at,
        received_by: ask.received_by,
        elapsed_days,
        days_in_year,
        share_elapsed,
        schools,
        regions,
        totals,
    }
}

fn totals(lines: &[&SchoolLine], share_elapsed: f64) -> Vec<Total> {
    let mut sums: BTreeMap<&str, Total> = BTreeMap::new();
    for p in lines.iter().flat_map(|l| &l.progress) {
        let t = sums.entry(&p.metric).or_insert_with(|| Total {
            metric: p.metric.clone(),
            label_zh: p.label_zh.clone(),
            label_en: p.label_en.clone(),
            unit_zh: p.unit_zh.clone(),
            actual: 0,
            target: 0,
            share_done: 0.0,
            schools: 0,
            on_track: true,
        });
        t.actual += p.actual;
        t.target += p.target;
        t.schools += 1;
    }
    sums.into_values()
        .map(|mut t| {
            t.share_done = if t.target == 0 {
                1.0
            } else {
                t.actual as f64 / t.target as f64
            };
            t.on_track = t.actual >= t.target || t.share_done + 1e-12 >= share_elapsed;
            t
        })
        .collect()
}

/// Whether a line is behind the year.
pub fn behind(p: &Progress) -> bool {
    p.pace == Pace::Behind
}
