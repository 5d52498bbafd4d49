//! The schools a hub supervises and the readers who may see them, each with a token
//! shown once and stored only as its SHA-256. A school's token pushes for that school
//! and nothing else; a reader's token reads the schools of its region (all without one).
use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use events::{Hash, GENESIS};
use serde::Serialize;
use uuid::Uuid;

use super::{check_id, HubError};

/// A school as the hub lists it.
#[derive(Debug, Clone, Serialize)]
pub struct School {
    /// Its id at the hub.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The school it reports through (a city, for a province's hub).
    pub parent: Option<String>,
    /// The last seq the hub holds.
    pub head_seq: u64,
    /// Its hash.
    pub head_hash: Hash,
    /// When it last pushed something new.
    pub last_push: Option<DateTime<Utc>>,
    /// How many of its seqs have a forked event in quarantine.
    pub forks: u64,
    /// The first seq where a fork was seen, if any.
    pub fork_seq: Option<u64>,
    /// Its last seal the hub holds (`ANNALS-SEAL …`).
    pub seal: Option<String>,
}

/// Who presented a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// A school's push token.
    School(String),
    /// A reader, limited to a region (a school and those under it) when it has one.
    Reader {
        /// The reader's name.
        name: String,
        /// The school whose subtree it sees; all when none.
        region: Option<String>,
    },
}

/// A new token: a prefix saying what it is, and 244 random bits from the operating
/// system (two v4 UUIDs), as the school's own tokens are made.
fn new_token(prefix: &str) -> String {
    format!(
        "{prefix}_{}{}",
        Uuid::new_v4().simple(),
        Uuid::new_v4().simple()
    )
}

/// What is stored of a token.
pub fn token_hash(token: &str) -> String {
    Hash::of(token.trim().as_bytes()).to_string()
}

/// Adds a school; its push token, to be shown once.
pub async fn add(
    client: &impl GenericClient,
    id: &str,
    name: &str,
    parent: Option<&str>,
) -> Result<String, HubError> {
    check_id(id)?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(HubError::Argument {
            field: "name",
            reason: "a school's name is 1–200 characters".into(),
        });
    }
    if client
        .query_opt("SELECT 1 FROM schools WHERE id = $1", &[&id])
        .await?
        .is_some()
    {
        return Err(HubError::Exists(id.to_owned()));
    }
    if let Some(parent) = parent {
        if client
            .query_opt("SELECT 1 FROM schools WHERE id = $1", &[&parent])
            .await?
            .is_none()
        {
            return Err(HubError::UnknownSchool(parent.to_owned()));
        }
    }
    let token = new_token("hub");
    client
        .execute(
            "INSERT INTO schools (id, name, parent, token_hash, head_seq, head_hash, created_at)
             VALUES ($1, $2, $3, $4, 0, $5, $6)",
            &[
                &id,
                &name,
                &parent,
                &token_hash(&token),
                &GENESIS.to_string(),
                &Utc::now(),
            ],
        )
        .await?;
    Ok(token)
}

/// Adds a reader, seeing `region` and the schools under it (every school when none);
/// its token, to be shown once.
pub async fn add_reader(
    client: &impl GenericClient,
    name: &str,
    region: Option<&str>,
) -> Result<String, HubError> {
    if let Some(region) = region {
        if client
            .query_opt("SELECT 1 FROM schools WHERE id = $1", &[&region])
            .await?
            .is_none()
        {
            return Err(HubError::UnknownSchool(region.to_owned()));
        }
    }
    if client
        .query_opt("SELECT 1 FROM readers WHERE name = $1", &[&name])
        .await?
        .is_some()
    {
        return Err(HubError::Exists(name.to_owned()));
    }
    let token = new_token("hubr");
    client
        .execute(
            "INSERT INTO readers (token_hash, name, region, created_at) VALUES ($1, $2, $3, $4)",
            &[&token_hash(&token), &name, &region, &Utc::now()],
        )
        .await?;
    Ok(token)
}

/// Who holds `token`, if anyone.
pub async fn caller(client: &impl GenericClient, token: &str) -> Result<Option<Caller>, HubError> {
    let hash = token_hash(token);
    if let Some(row) = client
        .query_opt("SELECT id FROM schools WHERE token_hash = $1", &[&hash])
        .await?
    {
        return Ok(Some(Caller::School(row.get(0))));
    }
    Ok(client
        .query_opt(
            "SELECT name, region FROM readers WHERE token_hash = $1",
            &[&hash],
        )
        .await?
        .map(|row| Caller::Reader {
            name: row.get(0),
            region: row.get(1),
        }))
}

/// Every school, by id, with its head, last push, forks and last seal: one query, each
/// subquery led by the school's key.
pub async fn list(client: &impl GenericClient) -> Result<Vec<School>, HubError> {
    let rows = client
        .query(
            "SELECT s.id, s.name, s.parent, s.head_seq, s.head_hash, s.last_push,
                    (SELECT COUNT(DISTINCT q.seq) FROM quarantine q WHERE q.school = s.id),
                    (SELECT MIN(q.seq) FROM quarantine q WHERE q.school = s.id),
                    l.seq, l.hash, l.sealed_at
             FROM schools s
             LEFT JOIN seals l ON l.school = s.id
                AND l.seq = (SELECT MAX(m.seq) FROM seals m WHERE m.school = s.id)
             ORDER BY s.id",
            &[],
        )
        .await?;
    rows.iter()
        .map(|row| {
            let seal_seq: Option<i64> = row.get(8);
            let seal = match seal_seq {
                Some(seq) => {
                    let at: DateTime<Utc> = row.get(10);
                    Some(format!(
                        "ANNALS-SEAL {seq} {} {}",
                        row.get::<_, String>(9).trim(),
                        at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                    ))
                }
                None => None,
            };
            Ok(School {
                id: row.get(0),
                name: row.get(1),
                parent: row.get(2),
                head_seq: row.get::<_, i64>(3) as u64,
                head_hash: parse_hash(row.get(4))?,
                last_push: row.get(5),
                forks: row.get::<_, i64>(6) as u64,
                fork_seq: row.get::<_, Option<i64>>(7).map(|s| s as u64),
                seal,
            })
        })
        .collect()
}

/// Whether a school lies in `region`: it is the region's school or under it.
pub fn in_region(schools: &[School], school: &str, region: &str) -> bool {
    let mut at = Some(school.to_owned());
    // A parent chain is at most as long as the list; a cycle cannot loop forever.
    for _ in 0..=schools.len() {
        match at {
            Some(ref id) if id == region => return true,
            Some(ref id) => {
                at = schools
                    .iter()
                    .find(|s| &s.id == id)
                    .and_then(|s| s.parent.clone());
            }
            None => return false,
        }
    }
    false
}

/// A stored hash back as a hash.
pub fn parse_hash(text: &str) -> Result<Hash, HubError> {
    text.trim()
        .parse()
        .map_err(|e: events::envelope::NotAHash| {
            HubError::Schema(format!("a stored hash is damaged: {e}"))
        })
}

/// One school's name and head, read by its key alone.
pub async fn head(client: &impl GenericClient, id: &str) -> Result<(String, u64, Hash), HubError> {
    let row = client
        .query_opt(
            "SELECT name, head_seq, head_hash FROM schools WHERE id = $1",
            &[&id],
        )
        .await?
        .ok_or_else(|| HubError::UnknownSchool(id.to_owned()))?;
    Ok((
        row.get(0),
        row.get::<_, i64>(1) as u64,
        parse_hash(row.get(2))?,
    ))
}

/// An event kept in quarantine, as the page lists it.
#[derive(Debug, Clone, Serialize)]
pub struct Quarantined {
    /// Its seq in the school's (forked) log.
    pub seq: u64,
    /// Its hash.
    pub hash: String,
    /// What the hub holds at that seq, for the first forked one.
    pub held: Option<String>,
    /// When it was sent.
    pub received_at: DateTime<Utc>,
}

/// The school's quarantined events, by seq.
pub async fn quarantined(
    client: &impl GenericClient,
    id: &str,
) -> Result<Vec<Quarantined>, HubError> {
    let rows = client
        .query(
            "SELECT seq, hash, held_hash, received_at FROM quarantine WHERE school = $1 ORDER BY seq, received_at",
            &[&id],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| Quarantined {
            seq: r.get::<_, i64>(0) as u64,
            hash: r.get(1),
            held: r.get(2),
            received_at: r.get(3),
        })
        .collect())
}
