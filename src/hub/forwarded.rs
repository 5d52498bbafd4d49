//! The receipts a city's hub signed for its schools, as the province's hub receives
//! them with the forwarded events: each is checked against the key it names and
//! against the chain the province itself holds (its seq is held there with the very
//! hash signed), then kept in `forwarded_receipts`. So the province can show, without
//! trusting the city, what the city acknowledged to each school and when.
use chrono::Utc;
use deadpool_postgres::GenericClient;

use super::{
    receipt::{public_key, Receipt},
    schools::parse_hash,
    HubError,
};

/// Checks and keeps `receipts` for `school`, whose head here is `head_seq` (with the
/// piece they came with stored); one already kept writes nothing. How many were new.
pub async fn keep(
    tx: &impl GenericClient,
    school: &str,
    receipts: &[Receipt],
    head_seq: u64,
) -> Result<u64, HubError> {
    let mut added = 0;
    for r in receipts {
        let invalid = |reason: String| HubError::Invalid {
            school: school.to_owned(),
            seq: r.seq,
            reason: format!("the forwarded receipt: {reason}"),
        };
        if r.school != school {
            return Err(invalid(format!("it is for school '{}'", r.school)));
        }
        if r.seq == 0 || r.seq > head_seq {
            return Err(invalid(format!(
                "this hub holds the school's log only up to seq {head_seq}"
            )));
        }
        let key = public_key(&r.hub_key).map_err(|e| invalid(e.to_string()))?;
        r.verify(&key).map_err(|_| {
            invalid(format!(
                "its signature does not verify with the key it names ({})",
                r.hub_key
            ))
        })?;
        let seq = r.seq as i64;
        let held = tx
            .query_one(
                "SELECT hash FROM events WHERE school = $1 AND seq = $2",
                &[&school, &seq],
            )
            .await?;
        let held = parse_hash(held.get(0))?;
        if held != r.hash {
            return Err(invalid(format!(
                "it signs {} but the chain here holds {held} at that seq",
                r.hash
            )));
        }
        let kept = tx
            .query_opt(
                "SELECT signature FROM forwarded_receipts WHERE school = $1 AND seq = $2 AND hub_key = $3",
                &[&school, &seq, &r.hub_key],
            )
            .await?;
        match kept {
            Some(row) if row.get::<_, String>(0).trim() == r.signature => continue,
            Some(_) => {
                return Err(invalid(
                    "this hub keeps another receipt from that key for that seq".into(),
                ))
            }
            None => {}
        }
        tx.execute(
            "INSERT INTO forwarded_receipts (school, seq, hub_key, hash, received_at, signature, forwarded_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &school,
                &seq,
                &r.hub_key,
                &r.hash.to_string(),
                &r.received_at,
                &r.signature,
                &Utc::now(),
            ],
        )
        .await?;
        added += 1;
    }
    Ok(added)
}

/// The last seq of the receipts kept for `school` (0 for none).
pub async fn last_seq(client: &impl GenericClient, school: &str) -> Result<u64, HubError> {
    let row = client
        .query_one(
            "SELECT MAX(seq) FROM forwarded_receipts WHERE school = $1",
            &[&school],
        )
        .await?;
    Ok(row.get::<_, Option<i64>>(0).unwrap_or(0) as u64)
}

/// The receipts kept for `school`, in seq order.
pub async fn list(client: &impl GenericClient, school: &str) -> Result<Vec<Receipt>, HubError> {
    let rows = client
        .query(
            "SELECT seq, hash, received_at, signature, hub_key FROM forwarded_receipts
             WHERE school = $1 ORDER BY seq, hub_key",
            &[&school],
        )
        .await?;
    rows.iter()
        .map(|r| Receipt::from_row(school, r, r.get::<_, String>(4).trim()))
        .collect()
}

/// The receipts this hub signed for `school` after `after`, in seq order: what a city
/// forwards. `hub_key` is this hub's public key, hex.
pub async fn signed_after(
    client: &impl GenericClient,
    school: &str,
    after: u64,
    hub_key: &str,
) -> Result<Vec<Receipt>, HubError> {
    let rows = client
        .query(
            "SELECT seq, hash, received_at, signature FROM receipts
             WHERE school = $1 AND seq > $2 ORDER BY seq",
            &[&school, &(after as i64)],
        )
        .await?;
    rows.iter()
        .map(|r| Receipt::from_row(school, r, hub_key))
        .collect()
}
