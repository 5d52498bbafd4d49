//! The peer: the same events in SQLite (the bundled library, WAL, `synchronous=FULL`),
//! one table with an index on the occurred date, and the same figures as SQL: each
//! metric a `GROUP BY` with `json_extract`, as known at a moment through
//! `WHERE occurred <= ? AND recorded_at <= ?` and the latest correction of each event.
use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
};

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use projections::{
    metric::{Aggregate, Anchor, Metric, Metrics, Scope},
    period::{Period, Query},
};
use rusqlite::{params, types::Value as Sql, Connection};
use serde_json::Value;

/// One line of progress as both systems must agree on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgressLine {
    /// The metric.
    pub metric: String,
    /// The target in force.
    pub target: u64,
    /// Done by `on`.
    pub actual: u64,
    /// Done by the same day last year.
    pub last_year_actual: u64,
    /// Whether last year had any of the metric's events at all.
    pub last_year_recorded: bool,
    /// Last year's target.
    pub last_year_target: Option<u64>,
}

/// One event as a row.
#[derive(Debug, Clone)]
pub struct Row {
    id: String,
    kind: String,
    start: String,
    end: String,
    recorded_at: i64,
    recorded_by: String,
    data: String,
    target: Option<String>,
}

impl Row {
    /// The row for a draft (as an import line holds it); `now` stands in for a missing
    /// recording time, the school's day of it for a missing date (as the store does).
    pub fn of(draft: &Value, now: DateTime<Utc>) -> Row {
        let at = draft["recorded_at"]
            .as_str()
            .map_or(now, super::synth::moment);
        let (start, end) = match draft["occurred"].as_str() {
            Some(o) => match o.split_once("..") {
                Some((a, b)) => (a.to_owned(), b.to_owned()),
                None => (o.to_owned(), o.to_owned()),
            },
            None => {
                let zone = FixedOffset::east_opt(8 * 3600).expect("+08:00");
                let d = at.with_timezone(&zone).date_naive().to_string();
                (d.clone(), d)
            }
        };
        let kind = draft["kind"].as_str().expect("a kind").to_owned();
        let target = match kind.as_str() {
            "event_voided" | "event_amended" => draft["data"]["target"].as_str().map(str::to_owned),
            _ => None,
        };
        Row {
            id: draft["id"].as_str().expect("an id").to_owned(),
            kind,
            start,
            end,
            recorded_at: at.timestamp_micros(),
            recorded_by: draft["recorded_by"].as_str().unwrap_or("bench").to_owned(),
            data: draft["data"].to_string(),
            target,
        }
    }
}

/// The SQLite database.
pub struct Sqlite {
    /// The connection.
    pub conn: Connection,
    path: PathBuf,
}

const INSERT: &str = "INSERT INTO events (id, kind, occurred_start, occurred, recorded_at, recorded_by, data, target) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";

impl Sqlite {
    /// Opens (creating if needed) the database file, in WAL mode with full syncs.
    pub fn open(path: &Path) -> rusqlite::Result<Self> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        // As much memory for its pages as Annals may use for its fold.
        conn.pragma_update(None, "cache_size", -262_144)?;
        conn.busy_timeout(std::time::Duration::from_secs(30))?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS events (
                seq INTEGER PRIMARY KEY,
                id TEXT NOT NULL UNIQUE,
                kind TEXT NOT NULL,
                occurred_start TEXT NOT NULL,
                occurred TEXT NOT NULL,
                recorded_at INTEGER NOT NULL,
                recorded_by TEXT NOT NULL,
                data TEXT NOT NULL,
                target TEXT
            );
            CREATE INDEX IF NOT EXISTS events_occurred ON events (occurred);
            CREATE INDEX IF NOT EXISTS events_target ON events (target) WHERE target IS NOT NULL;",
        )?;
        Ok(Sqlite {
            conn,
            path: path.to_owned(),
        })
    }

    /// Imports a JSONL file of drafts, `batch` rows per transaction.
    pub fn import(&mut self, jsonl: &[u8], batch: usize) -> rusqlite::Result<usize> {
        let now = Utc::now();
        let mut n = 0;
        let mut lines = jsonl
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .peekable();
        while lines.peek().is_some() {
            let tx = self.conn.transaction()?;
            {
                let mut insert = tx.prepare_cached(INSERT)?;
                for line in lines.by_ref().take(batch) {
                    let draft: Value = serde_json::from_slice(line).expect("a JSON line");
                    insert_row(&mut insert, &Row::of(&draft, now))?;
                    n += 1;
                }
            }
            tx.commit()?;
        }
        Ok(n)
    }

    /// Appends one row in its own transaction (durable when it returns).
    pub fn append(&self, row: &Row) -> rusqlite::Result<()> {
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        let done = self
            .conn
            .prepare_cached(INSERT)
            .and_then(|mut insert| insert_row(&mut insert, row));
        match done {
            Ok(()) => self.conn.execute_batch("COMMIT"),
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    }

    /// Checkpoints the WAL and returns the bytes the files take on disk.
    pub fn bytes_on_disk(&self) -> rusqlite::Result<u64> {
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        let mut total = 0;
        for suffix in ["", "-wal", "-shm"] {
            let mut p = self.path.clone().into_os_string();
            p.push(suffix);
            total += super::agree::disk_usage(Path::new(&p));
        }
        Ok(total)
    }

    /// The value of each metric for a query, metrics that read the same events the same
    /// way sharing one `GROUP BY`.
    pub fn values(
        &self,
        metrics: &[&Metric],
        q: &Query,
    ) -> rusqlite::Result<BTreeMap<String, u64>> {
        let mut groups: BTreeMap<GroupKey, Vec<&Metric>> = BTreeMap::new();
        for m in metrics {
            let (from, to) = window(m, q);
            let mut kinds = m.kinds.clone();
            kinds.sort();
            let keys: Vec<String> = m.filter.keys().cloned().collect();
            let col = column(m.anchor);
            groups
                .entry((kinds, format!("{col}|{from}|{to}"), keys))
                .or_default()
                .push(m);
        }
        let mut out = BTreeMap::new();
        for ((kinds, win, keys), members) in groups {
            let mut parts = win.split('|');
            let (col, from, to) = (
                parts.next().expect("a column"),
                parts.next().expect("a start"),
                parts.next().expect("an end"),
            );
            let distinct: BTreeSet<&str> = members
                .iter()
                .filter(|m| m.aggregate == Aggregate::Distinct)
                .filter_map(|m| m.field.as_deref())
                .collect();
            let sums: BTreeSet<&str> = members
                .iter()
                .filter(|m| m.aggregate == Aggregate::Sum)
                .filter_map(|m| m.field.as_deref())
                .collect();
            let grouped: Vec<String> = keys
                .iter()
                .map(String::as_str)
                .chain(distinct.iter().copied())
                .map(|f| format!("json_extract(d, '$.{f}')"))
                .collect();
            let mut select = grouped.clone();
            select.push("count(*)".into());
            select.extend(
                sums.iter()
                    .map(|f| format!("coalesce(sum(json_extract(d, '$.{f}')), 0)")),
            );
            let sql = format!(
                "SELECT {} FROM ({}) WHERE d IS NOT NULL{}",
                select.join(", "),
                current(&kinds, Some(col)),
                if grouped.is_empty() {
                    String::new()
                } else {
                    format!(" GROUP BY {}", grouped.join(", "))
                }
            );
            let mut stmt = self.conn.prepare_cached(&sql)?;
            let rows: Vec<Vec<Sql>> = stmt
                .query_map(params![q.known_at.timestamp_micros(), from, to], |r| {
                    (0..select.len()).map(|i| r.get::<_, Sql>(i)).collect()
                })?
                .collect::<rusqlite::Result<_>>()?;
            for m in members {
                let matching = rows.iter().filter(|row| {
                    keys.iter()
                        .zip(row.iter())
                        .all(|(k, have)| sql_matches(&m.filter[k], have))
                });
                let value = match (m.aggregate, m.field.as_deref()) {
                    (Aggregate::Distinct, Some(f)) => {
                        let at =
                            keys.len() + distinct.iter().position(|d| *d == f).expect("grouped");
                        matching
                            .filter(|row| row[at] != Sql::Null)
                            .map(|row| format!("{:?}", row[at]))
                            .collect::<BTreeSet<_>>()
                            .len() as u64
                    }
                    (Aggregate::Sum, Some(f)) => {
                        let at =
                            grouped.len() + 1 + sums.iter().position(|s| *s == f).expect("summed");
                        matching.map(|row| integer(&row[at])).sum()
                    }
                    _ => matching.map(|row| integer(&row[grouped.len()])).sum(),
                };
                out.insert(m.name.clone(), value);
            }
        }
        Ok(out)
    }

    /// Whether any event of the metric's kinds falls in the query's window, as known then.
    pub fn recorded(&self, m: &Metric, q: &Query) -> rusqlite::Result<bool> {
        let (from, to) = window(m, q);
        let sql = format!(
            "SELECT EXISTS (SELECT 1 FROM events WHERE kind IN ({}) AND recorded_at <= ?1 AND {} BETWEEN ?2 AND ?3)",
            list(&m.kinds),
            column(m.anchor)
        );
        self.conn
            .prepare_cached(&sql)?
            .query_row(params![q.known_at.timestamp_micros(), from, to], |r| {
                r.get(0)
            })
    }

    /// The target in force for each metric of two years, as known at a moment.
    pub fn targets(
        &self,
        years: [i32; 2],
        known_at: DateTime<Utc>,
    ) -> rusqlite::Result<[BTreeMap<String, u64>; 2]> {
        let sql = format!(
            "SELECT json_extract(d, '$.year'), json_extract(d, '$.metric'), json_extract(d, '$.value')
             FROM ({}) WHERE d IS NOT NULL AND json_extract(d, '$.year') IN (?2, ?3) ORDER BY seq",
            current(&["target_set".to_owned()], None)
        );
        let mut out = [BTreeMap::new(), BTreeMap::new()];
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let mut rows = stmt.query(params![known_at.timestamp_micros(), years[0], years[1]])?;
        while let Some(r) = rows.next()? {
            let (year, metric, value): (i32, String, i64) = (r.get(0)?, r.get(1)?, r.get(2)?);
            let i = usize::from(year != years[0]);
            out[i].insert(metric, value as u64);
        }
        Ok(out)
    }

    /// Progress of every metric with a target for `year`, as [`projections::progress`] computes it.
    pub fn progress(
        &self,
        metrics: &Metrics,
        year: i32,
        on: NaiveDate,
        known_at: DateTime<Utc>,
    ) -> rusqlite::Result<Vec<ProgressLine>> {
        let [this, last] = self.targets([year, year - 1], known_at)?;
        let targeted: Vec<&Metric> = metrics
            .iter()
            .filter(|m| this.contains_key(&m.name))
            .collect();
        let q = Query {
            period: Period::year(year),
            on,
            known_at,
        };
        let before = q.year_before();
        let now = self.values(&targeted, &q)?;
        let then = self.values(&targeted, &before)?;
        targeted
            .iter()
            .map(|m| {
                Ok(ProgressLine {
                    metric: m.name.clone(),
                    target: this[&m.name],
                    actual: now[&m.name],
                    last_year_actual: then[&m.name],
                    last_year_recorded: self.recorded(m, &before)?,
                    last_year_target: last.get(&m.name).copied(),
                })
            })
            .collect()
    }
}

fn insert_row(insert: &mut rusqlite::CachedStatement<'_>, r: &Row) -> rusqlite::Result<()> {
    insert.execute(params![
        r.id,
        r.kind,
        r.start,
        r.end,
        r.recorded_at,
        r.recorded_by,
        r.data,
        r.target
    ])?;
    Ok(())
}

/// The events of some kinds with their data as known at `?1` (the latest correction
/// recorded by then: an amendment's data, or NULL once voided), optionally only those
/// whose `column` day is in `?2..=?3`.
fn current(kinds: &[String], column: Option<&str>) -> String {
    let window = column.map_or(String::new(), |c| format!(" AND e.{c} BETWEEN ?2 AND ?3"));
    format!(
        "SELECT e.seq AS seq, CASE WHEN c.seq IS NULL THEN e.data WHEN c.kind = 'event_amended' THEN json_extract(c.data, '$.data') END AS d
         FROM events e LEFT JOIN events c ON c.seq = (SELECT max(x.seq) FROM events x WHERE x.target = e.id AND x.recorded_at <= ?1)
         WHERE e.kind IN ({}) AND e.recorded_at <= ?1{window}",
        list(kinds)
    )
}

fn list(kinds: &[String]) -> String {
    // Kind names are lower_snake_case (the catalog refuses anything else).
    kinds
        .iter()
        .map(|k| format!("'{k}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn column(anchor: Anchor) -> &'static str {
    match anchor {
        Anchor::End => "occurred",
        Anchor::Start => "occurred_start",
    }
}

/// The days a metric counts for a query, as [`Metric::value`] reads them.
fn window(m: &Metric, q: &Query) -> (String, String) {
    let from = match m.scope {
        Scope::Period => q.period.from().to_string(),
        Scope::Cumulative => "0000-01-01".to_owned(),
    };
    (from, q.period.to().min(q.on).to_string())
}

fn integer(v: &Sql) -> u64 {
    match v {
        Sql::Integer(i) => *i as u64,
        _ => 0,
    }
}

/// Whether a grouped value satisfies a metric's filter value, as [`Metric`] reads it.
fn sql_matches(wanted: &Value, have: &Sql) -> bool {
    match (wanted, have) {
        (Value::Array(options), _) => options.iter().any(|o| sql_matches(o, have)),
        // An absent boolean reads as false.
        (Value::Bool(false), Sql::Integer(0) | Sql::Null) => true,
        (Value::Bool(true), Sql::Integer(1)) => true,
        (Value::String(s), Sql::Text(t)) => s == t,
        (Value::Number(n), Sql::Integer(i)) => n.as_i64() == Some(*i),
        (Value::Null, Sql::Null) => true,
        _ => false,
    }
}

/// Metrics that one SQL query can answer together: (kinds, window, filter fields).
type GroupKey = (Vec<String>, String, Vec<String>);
