//! The hub's tables, in portable SQL (core types only, no extensions), so that
//! PostgreSQL-compatible databases (KingbaseES, openGauss) run them too. Every table a
//! school's rows live in leads its key with the school, so one school's reads use the
//! key and never scan another's. `init` applies what is missing, in order, each step
//! in its own transaction, and notes the version reached in `hub_meta`.
use std::path::Path;

use deadpool_postgres::Client;

use super::{key_file, receipt::HubKey, HubError};

/// The schema version this build writes and reads.
pub const VERSION: u32 = 2;

/// Step 1: every table.
const V1: &[&str] = &[
    "CREATE TABLE schools (
        id VARCHAR(64) NOT NULL PRIMARY KEY,
        name VARCHAR(200) NOT NULL,
        parent VARCHAR(64) REFERENCES schools (id),
        token_hash CHAR(64) NOT NULL UNIQUE,
        head_seq BIGINT NOT NULL,
        head_hash CHAR(64) NOT NULL,
        last_push TIMESTAMP WITH TIME ZONE,
        created_at TIMESTAMP WITH TIME ZONE NOT NULL
    )",
    // `canonical` is the envelope's bytes exactly as hashed (every field but the hash,
    // keys sorted, compact): SHA-256 of it is `hash`, checkable with any tool.
    "CREATE TABLE events (
        school VARCHAR(64) NOT NULL REFERENCES schools (id),
        seq BIGINT NOT NULL,
        id CHAR(36) NOT NULL,
        kind VARCHAR(100) NOT NULL,
        occurred_from DATE NOT NULL,
        occurred_to DATE NOT NULL,
        recorded_at TIMESTAMP WITH TIME ZONE NOT NULL,
        received_at TIMESTAMP WITH TIME ZONE NOT NULL,
        hash CHAR(64) NOT NULL,
        canonical TEXT NOT NULL,
        PRIMARY KEY (school, seq)
    )",
    "CREATE INDEX events_school_received ON events (school, received_at)",
    "CREATE TABLE seals (
        school VARCHAR(64) NOT NULL REFERENCES schools (id),
        seq BIGINT NOT NULL,
        hash CHAR(64) NOT NULL,
        sealed_at TIMESTAMP WITH TIME ZONE NOT NULL,
        received_at TIMESTAMP WITH TIME ZONE NOT NULL,
        PRIMARY KEY (school, seq)
    )",
    "CREATE TABLE receipts (
        school VARCHAR(64) NOT NULL REFERENCES schools (id),
        seq BIGINT NOT NULL,
        hash CHAR(64) NOT NULL,
        received_at TIMESTAMP WITH TIME ZONE NOT NULL,
        signature CHAR(128) NOT NULL,
        PRIMARY KEY (school, seq)
    )",
    // What a school sent that contradicts what the hub holds, kept whole (its
    // canonical bytes and hash), never folded into any figure.
    "CREATE TABLE quarantine (
        school VARCHAR(64) NOT NULL REFERENCES schools (id),
        seq BIGINT NOT NULL,
        hash CHAR(64) NOT NULL,
        held_hash CHAR(64),
        received_at TIMESTAMP WITH TIME ZONE NOT NULL,
        reason TEXT NOT NULL,
        canonical TEXT NOT NULL,
        PRIMARY KEY (school, seq, hash)
    )",
    "CREATE TABLE readers (
        token_hash CHAR(64) NOT NULL PRIMARY KEY,
        name VARCHAR(200) NOT NULL UNIQUE,
        region VARCHAR(64) REFERENCES schools (id),
        created_at TIMESTAMP WITH TIME ZONE NOT NULL
    )",
];

/// Step 2: the receipts the hub below (a city) signed for its schools, forwarded with
/// their events; each verified against the key it names and the chain held here.
const V2: &[&str] = &["CREATE TABLE forwarded_receipts (
        school VARCHAR(64) NOT NULL REFERENCES schools (id),
        seq BIGINT NOT NULL,
        hub_key CHAR(64) NOT NULL,
        hash CHAR(64) NOT NULL,
        received_at TIMESTAMP WITH TIME ZONE NOT NULL,
        signature CHAR(128) NOT NULL,
        forwarded_at TIMESTAMP WITH TIME ZONE NOT NULL,
        PRIMARY KEY (school, seq, hub_key)
    )"];

/// The version the database is at (0 for none).
pub async fn version(client: &Client) -> Result<u32, HubError> {
    let exists = client
        .query_opt(
            "SELECT 1 FROM information_schema.tables WHERE table_name = 'hub_meta'",
            &[],
        )
        .await?
        .is_some();
    if !exists {
        return Ok(0);
    }
    let row = client
        .query_opt(
            "SELECT value FROM hub_meta WHERE name = 'schema_version'",
            &[],
        )
        .await?;
    Ok(row
        .and_then(|r| r.get::<_, String>(0).parse().ok())
        .unwrap_or(0))
}

/// Creates or migrates the schema, and makes the hub's key in `key_file` on first use
/// (or moves an older database's key there); the version reached and whether a key
/// was made.
pub async fn init(client: &mut Client, key_file: &Path) -> Result<(u32, bool), HubError> {
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS hub_meta (
                name VARCHAR(64) NOT NULL PRIMARY KEY,
                value TEXT NOT NULL
            )",
        )
        .await?;
    let at = version(client).await?;
    if at > VERSION {
        return Err(HubError::Schema(format!(
            "the database is at schema version {at}, newer than this build's {VERSION}: use a newer annals"
        )));
    }
    let steps: &[&[&str]] = &[V1, V2];
    for (i, step) in steps.iter().enumerate().skip(at as usize) {
        let tx = client.transaction().await?;
        for statement in *step {
            tx.batch_execute(statement).await?;
        }
        set_meta(&tx, "schema_version", &(i + 1).to_string()).await?;
        tx.commit().await?;
    }
    let tx = client.transaction().await?;
    let (_, made) = key_file::open(&tx, key_file, true).await?;
    tx.commit().await?;
    Ok((VERSION, made))
}

/// Refuses a database whose schema is not this build's.
pub async fn check(client: &Client) -> Result<(), HubError> {
    match version(client).await? {
        VERSION => Ok(()),
        0 => Err(HubError::Schema(
            "the database has no hub schema: run `annals hub init` first".into(),
        )),
        v => Err(HubError::Schema(format!(
            "the database is at schema version {v}, this build reads {VERSION}: run `annals hub init` with the newer build"
        ))),
    }
}

/// The hub's signing key, from `key_file` (moved there first from an older database).
pub async fn key(client: &mut Client, key_file: &Path) -> Result<HubKey, HubError> {
    let tx = client.transaction().await?;
    let (key, _) = key_file::open(&tx, key_file, false).await?;
    tx.commit().await?;
    Ok(key)
}

pub(super) async fn delete_meta(
    client: &impl deadpool_postgres::GenericClient,
    name: &str,
) -> Result<(), HubError> {
    client
        .execute("DELETE FROM hub_meta WHERE name = $1", &[&name])
        .await?;
    Ok(())
}

pub(super) async fn get_meta(
    client: &impl deadpool_postgres::GenericClient,
    name: &str,
) -> Result<Option<String>, HubError> {
    Ok(client
        .query_opt("SELECT value FROM hub_meta WHERE name = $1", &[&name])
        .await?
        .map(|r| r.get(0)))
}

pub(super) async fn set_meta(
    client: &impl deadpool_postgres::GenericClient,
    name: &str,
    value: &str,
) -> Result<(), HubError> {
    let updated = client
        .execute(
            "UPDATE hub_meta SET value = $2 WHERE name = $1",
            &[&name, &value],
        )
        .await?;
    if updated == 0 {
        client
            .execute(
                "INSERT INTO hub_meta (name, value) VALUES ($1, $2)",
                &[&name, &value],
            )
            .await?;
    }
    Ok(())
}
