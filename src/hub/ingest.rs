//! One piece of a school's log, checked and stored in one transaction.
//!
//! The piece is first checked alone with the `events` crate's own [`ChainCheck`]:
//! seqs follow each other, each `prev_hash` is the hash before, and each hash is
//! recomputed from the content. Then, with the school's row locked, against what the
//! hub holds: events at seqs it holds must be the very same (a repeat writes nothing);
//! the first new one must follow its head. A different event at a held seq is a fork:
//! nothing is stored but the sent events, in quarantine. What is stored is answered
//! with a receipt signed by the hub's key. Receipts a city forwards with the piece are
//! checked against the chain as stored, in the same transaction ([`forwarded::keep`]).
use chrono::{DateTime, Utc};
use deadpool_postgres::{GenericClient, Transaction};
use events::{envelope::ChainCheck, Envelope, Hash};

use super::{
    forwarded,
    protocol::{Piece, PushAnswer},
    receipt::{HubKey, Receipt},
    schools::parse_hash,
    HubError,
};
use crate::store::Seal;

/// Rows per INSERT: 10 parameters each, well under PostgreSQL's 65 535.
const ROWS_PER_INSERT: usize = 500;

/// An event ready to store: its envelope, and the canonical bytes its hash covers.
struct Checked {
    envelope: Envelope,
    canonical: String,
}

/// Checks `piece` and stores what is new for `school`; a repeat of what the hub holds
/// is acknowledged and writes nothing. Errors say which seq and why; a fork has been
/// put in quarantine before it is returned.
#[tracing::instrument(skip_all, fields(school = %school, events = piece.events.len()))]
pub async fn ingest(
    client: &mut deadpool_postgres::Client,
    key: &HubKey,
    school: &str,
    piece: Piece,
) -> Result<PushAnswer, HubError> {
    let checked = check_piece(school, piece.events)?;
    let tx = client.transaction().await?;
    let (head_seq, head_hash) = lock_head(&tx, school).await?;
    let Some(first) = checked.first().map(|c| c.envelope.seq) else {
        forwarded::keep(&tx, school, &piece.receipts, head_seq).await?;
        let receipt = latest_receipt(&tx, key, school).await?;
        tx.commit().await?;
        return Ok(answer(school, 0, head_seq, head_hash, receipt));
    };
    if first > head_seq + 1 {
        return Err(HubError::Gap {
            school: school.to_owned(),
            head_seq,
            first,
        });
    }
    if let Some((seq, held, sent)) =
        first_difference(&tx, school, &checked, head_seq, head_hash).await?
    {
        drop(tx);
        quarantine(client, school, &checked, seq, held).await?;
        return Err(HubError::Fork {
            school: school.to_owned(),
            seq,
            held,
            sent,
        });
    }
    let new: Vec<&Checked> = checked
        .iter()
        .filter(|c| c.envelope.seq > head_seq)
        .collect();
    let Some(last) = new.last().map(|c| &c.envelope) else {
        forwarded::keep(&tx, school, &piece.receipts, head_seq).await?;
        let receipt = latest_receipt(&tx, key, school).await?;
        tx.commit().await?;
        return Ok(answer(school, 0, head_seq, head_hash, receipt));
    };
    let (new_seq, new_hash) = (last.seq, last.hash);
    let received_at = events::envelope::truncate(Utc::now());
    insert_events(&tx, school, &new, received_at).await?;
    tx.execute(
        "UPDATE schools SET head_seq = $2, head_hash = $3, last_push = $4 WHERE id = $1",
        &[
            &school,
            &(new_seq as i64),
            &new_hash.to_string(),
            &received_at,
        ],
    )
    .await?;
    if let Some(seal) = piece.seal {
        keep_seal(&tx, school, &seal, &checked, new_seq, received_at).await?;
    }
    forwarded::keep(&tx, school, &piece.receipts, new_seq).await?;
    let receipt = key.sign(school, new_seq, new_hash, received_at);
    tx.execute(
        "INSERT INTO receipts (school, seq, hash, received_at, signature) VALUES ($1, $2, $3, $4, $5)",
        &[&school, &(new_seq as i64), &new_hash.to_string(), &received_at, &receipt.signature],
    )
    .await?;
    tx.commit().await?;
    tracing::info!(school, added = new.len(), head = new_seq, "stored a piece");
    Ok(answer(
        school,
        new.len() as u64,
        new_seq,
        new_hash,
        Some(receipt),
    ))
}

fn answer(
    school: &str,
    added: u64,
    head_seq: u64,
    head_hash: Hash,
    receipt: Option<Receipt>,
) -> PushAnswer {
    PushAnswer {
        school: school.to_owned(),
        added,
        head_seq,
        head_hash,
        receipt,
    }
}

/// The piece alone: in seq order, linked, every hash recomputed from its content.
fn check_piece(school: &str, events: Vec<Envelope>) -> Result<Vec<Checked>, HubError> {
    let Some(first) = events.first() else {
        return Ok(Vec::new());
    };
    let invalid = |seq: u64, reason: String| HubError::Invalid {
        school: school.to_owned(),
        seq,
        reason,
    };
    if first.seq == 0 {
        return Err(invalid(0, "seqs start at 1".into()));
    }
    let mut chain = ChainCheck::after(first.seq - 1, first.prev_hash);
    let mut out = Vec::with_capacity(events.len());
    for envelope in events {
        chain.check(&envelope).map_err(|e| match e {
            events::Error::Chain { seq, reason } => invalid(seq, reason),
            other => invalid(envelope.seq, other.to_string()),
        })?;
        let canonical = String::from_utf8(envelope.canonical_bytes())
            .map_err(|_| invalid(envelope.seq, "its canonical bytes are not UTF-8".into()))?;
        out.push(Checked {
            envelope,
            canonical,
        });
    }
    Ok(out)
}

/// The school's head, its row locked until the transaction ends, so pieces of one
/// school are stored one at a time while other schools go on.
async fn lock_head(tx: &Transaction<'_>, school: &str) -> Result<(u64, Hash), HubError> {
    let row = tx
        .query_opt(
            "SELECT head_seq, head_hash FROM schools WHERE id = $1 FOR UPDATE",
            &[&school],
        )
        .await?
        .ok_or_else(|| HubError::UnknownSchool(school.to_owned()))?;
    Ok((row.get::<_, i64>(0) as u64, parse_hash(row.get(1))?))
}

/// The first seq where the piece contradicts the hub: a held seq with another hash,
/// or a first new event that does not link to the head (the school's event at the
/// head differs). `(seq, held, sent)`.
async fn first_difference(
    tx: &Transaction<'_>,
    school: &str,
    checked: &[Checked],
    head_seq: u64,
    head_hash: Hash,
) -> Result<Option<(u64, Hash, Hash)>, HubError> {
    let first = checked[0].envelope.seq;
    if first <= head_seq {
        let last_held = checked
            .last()
            .map_or(first, |c| c.envelope.seq)
            .min(head_seq);
        let rows = tx
            .query(
                "SELECT seq, hash FROM events WHERE school = $1 AND seq >= $2 AND seq <= $3 ORDER BY seq",
                &[&school, &(first as i64), &(last_held as i64)],
            )
            .await?;
        for (row, c) in rows.iter().zip(checked) {
            let held = parse_hash(row.get(1))?;
            if row.get::<_, i64>(0) as u64 != c.envelope.seq {
                return Err(HubError::Schema(format!(
                    "school {school}: the hub's events have a gap before seq {}",
                    c.envelope.seq
                )));
            }
            if held != c.envelope.hash {
                return Ok(Some((c.envelope.seq, held, c.envelope.hash)));
            }
        }
        return Ok(None);
    }
    // first == head_seq + 1: it must link to the head.
    let e = &checked[0].envelope;
    if e.prev_hash != head_hash {
        return Ok(Some((head_seq, head_hash, e.prev_hash)));
    }
    Ok(None)
}

/// Keeps the sent events from the forked seq on in quarantine (each once), in a
/// transaction of its own: the piece itself was refused.
async fn quarantine(
    client: &mut deadpool_postgres::Client,
    school: &str,
    checked: &[Checked],
    seq: u64,
    held: Hash,
) -> Result<(), HubError> {
    let tx = client.transaction().await?;
    let now = Utc::now();
    for c in checked.iter().filter(|c| c.envelope.seq >= seq) {
        let held_here = (c.envelope.seq == seq).then(|| held.to_string());
        let reason = format!("the hub holds another event at or before seq {seq} for this school");
        let (seq_here, hash_here) = (c.envelope.seq as i64, c.envelope.hash.to_string());
        if tx
            .query_opt(
                "SELECT 1 FROM quarantine WHERE school = $1 AND seq = $2 AND hash = $3",
                &[&school, &seq_here, &hash_here],
            )
            .await?
            .is_some()
        {
            continue;
        }
        tx.execute(
            "INSERT INTO quarantine (school, seq, hash, held_hash, received_at, reason, canonical)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &school,
                &seq_here,
                &hash_here,
                &held_here,
                &now,
                &reason,
                &c.canonical,
            ],
        )
        .await?;
    }
    tx.commit().await?;
    tracing::warn!(school, seq, "a fork: the sent events are in quarantine");
    Ok(())
}

/// Inserts the new events, many rows per statement.
async fn insert_events(
    tx: &Transaction<'_>,
    school: &str,
    new: &[&Checked],
    received_at: DateTime<Utc>,
) -> Result<(), HubError> {
    for chunk in new.chunks(ROWS_PER_INSERT) {
        let rows: Vec<Row> = chunk.iter().map(|c| Row::of(c)).collect();
        let mut sql = String::from(
            "INSERT INTO events (school, seq, id, kind, occurred_from, occurred_to, recorded_at, received_at, hash, canonical) VALUES ",
        );
        let mut params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> =
            Vec::with_capacity(rows.len() * 10);
        for (i, row) in rows.iter().enumerate() {
            let n = i * 10;
            if i > 0 {
                sql.push(',');
            }
            sql.push_str(&format!(
                "(${},${},${},${},${},${},${},${},${},${})",
                n + 1,
                n + 2,
                n + 3,
                n + 4,
                n + 5,
                n + 6,
                n + 7,
                n + 8,
                n + 9,
                n + 10
            ));
            params.extend_from_slice(&[
                &school as &(dyn tokio_postgres::types::ToSql + Sync),
                &row.seq,
                &row.id,
                &row.kind,
                &row.from,
                &row.to,
                &row.recorded_at,
                &received_at,
                &row.hash,
                &row.canonical,
            ]);
        }
        tx.execute(sql.as_str(), &params).await?;
    }
    Ok(())
}

/// One `events` row's values, owned so parameters can borrow them.
struct Row<'a> {
    seq: i64,
    id: String,
    kind: &'a str,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
    recorded_at: DateTime<Utc>,
    hash: String,
    canonical: &'a str,
}

impl<'a> Row<'a> {
    fn of(c: &'a Checked) -> Self {
        let e = &c.envelope;
        Row {
            seq: e.seq as i64,
            id: e.id.to_string(),
            kind: &e.kind,
            from: e.occurred.start(),
            to: e.occurred.end(),
            recorded_at: e.recorded_at,
            hash: e.hash.to_string(),
            canonical: &c.canonical,
        }
    }
}

/// Keeps the school's seal when the hub now holds its seq, after checking that the
/// hub's event there has the sealed hash; a seal past the piece is kept by a later one.
async fn keep_seal(
    tx: &Transaction<'_>,
    school: &str,
    seal: &Seal,
    checked: &[Checked],
    head_seq: u64,
    received_at: DateTime<Utc>,
) -> Result<(), HubError> {
    if seal.seq == 0 || seal.seq > head_seq {
        return Ok(());
    }
    let held = match checked.iter().find(|c| c.envelope.seq == seal.seq) {
        Some(c) => c.envelope.hash,
        None => {
            let row = tx
                .query_one(
                    "SELECT hash FROM events WHERE school = $1 AND seq = $2",
                    &[&school, &(seal.seq as i64)],
                )
                .await?;
            parse_hash(row.get(0))?
        }
    };
    if held != seal.hash {
        return Err(HubError::Invalid {
            school: school.to_owned(),
            seq: seal.seq,
            reason: format!("the seal says {} but the event there is {held}", seal.hash),
        });
    }
    // Under the school's lock: nobody else adds its seal meanwhile.
    let seq = seal.seq as i64;
    if tx
        .query_opt(
            "SELECT 1 FROM seals WHERE school = $1 AND seq = $2",
            &[&school, &seq],
        )
        .await?
        .is_none()
    {
        tx.execute(
            "INSERT INTO seals (school, seq, hash, sealed_at, received_at) VALUES ($1, $2, $3, $4, $5)",
            &[&school, &seq, &seal.hash.to_string(), &seal.at, &received_at],
        )
        .await?;
    }
    Ok(())
}

/// The receipt for the school's head as last stored, if any: what a repeat is answered with.
async fn latest_receipt(
    tx: &Transaction<'_>,
    key: &HubKey,
    school: &str,
) -> Result<Option<Receipt>, HubError> {
    let row = tx
        .query_opt(
            "SELECT seq, hash, received_at, signature FROM receipts
             WHERE school = $1 AND seq = (SELECT MAX(seq) FROM receipts WHERE school = $1)",
            &[&school],
        )
        .await?;
    row.map(|r| Receipt::from_row(school, &r, &key.public_hex()))
        .transpose()
}

/// Why a row the hub stored does not read back as the envelope it was.
#[derive(Debug, thiserror::Error)]
pub enum RowDamage {
    /// The canonical bytes are not JSON.
    #[error("not JSON: {0}")]
    NotJson(serde_json::Error),
    /// They are JSON, but not an object.
    #[error("not a JSON object")]
    NotAnObject,
    /// They are an object, but not an envelope.
    #[error("{0}")]
    NotAnEnvelope(serde_json::Error),
    /// The envelope does not hash to the hash stored beside it.
    #[error("seq {0}: the stored row does not match its hash")]
    Hash(u64),
}

/// Reads the stored envelopes back: canonical bytes plus hash make the envelope again,
/// and its hash is recomputed, so a row changed in the database is noticed.
pub fn envelope_of(canonical: &str, hash: &str) -> Result<Envelope, RowDamage> {
    let mut value: serde_json::Value =
        serde_json::from_str(canonical).map_err(RowDamage::NotJson)?;
    value
        .as_object_mut()
        .ok_or(RowDamage::NotAnObject)?
        .insert("hash".into(), hash.trim().into());
    let e: Envelope = serde_json::from_value(value).map_err(RowDamage::NotAnEnvelope)?;
    if e.compute_hash() != e.hash {
        return Err(RowDamage::Hash(e.seq));
    }
    Ok(e)
}

/// Whether `client` is a transaction or a client does not matter to readers.
pub async fn events_after(
    client: &impl GenericClient,
    school: &str,
    after: u64,
    limit: u64,
) -> Result<Vec<Envelope>, HubError> {
    let rows = client
        .query(
            "SELECT hash, canonical FROM events WHERE school = $1 AND seq > $2 AND seq <= $3 ORDER BY seq",
            &[&school, &(after as i64), &((after + limit) as i64)],
        )
        .await?;
    rows.iter()
        .map(|r| {
            envelope_of(r.get(1), r.get(0)).map_err(|reason| HubError::Invalid {
                school: school.to_owned(),
                seq: after,
                reason: format!("the hub's own copy is damaged: {reason}"),
            })
        })
        .collect()
}

/// Ingests a bundle file's events exactly as pushes of `piece` events each would be;
/// the answer to the last piece.
pub async fn ingest_bundle(
    client: &mut deadpool_postgres::Client,
    key: &HubKey,
    header: super::protocol::BundleHeader,
    events: Vec<Envelope>,
    piece: usize,
    progress: &mut (dyn FnMut(u64, u64) + Send),
) -> Result<PushAnswer, HubError> {
    super::check_id(&header.school)?;
    let total = events.len() as u64;
    let mut done = 0;
    let mut last = None;
    let mut events = events.into_iter().peekable();
    while events.peek().is_some() {
        let chunk: Vec<Envelope> = events.by_ref().take(piece.max(1)).collect();
        done += chunk.len() as u64;
        let piece = Piece {
            events: chunk,
            seal: header.seal.clone(),
            receipts: Vec::new(),
        };
        last = Some(ingest(client, key, &header.school, piece).await?);
        progress(done, total);
    }
    match last {
        Some(answer) => Ok(answer),
        None => {
            ingest(
                client,
                key,
                &header.school,
                Piece {
                    events: Vec::new(),
                    seal: None,
                    receipts: Vec::new(),
                },
            )
            .await
        }
    }
}
