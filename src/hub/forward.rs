//! A city's hub forwards its schools' logs to the province's hub with the same push
//! protocol: for each school, it asks the province for the head it holds, checks the
//! city holds that hash at that seq, and sends the original envelopes that follow (as
//! the city holds them, re-verified on reading) with the school's last seal and the
//! receipts the city signed for the school that the province does not hold yet. The
//! province verifies every chain again, and each receipt against it; it never has to
//! trust the city.
use events::{Hash, GENESIS};
use serde::Serialize;

use super::{
    forwarded,
    ingest::events_after,
    key_file,
    protocol::{routes, HeadAnswer, Piece},
    push::{keep, Hub, PushError, PushOptions},
    schools::{self, parse_hash},
    HubError,
};

/// What forwarding did for one school.
#[derive(Debug, Clone, Serialize)]
pub struct Forwarded {
    /// The school.
    pub school: String,
    /// Events the province stored.
    pub added: u64,
    /// The city's receipts for the school the province checked and kept.
    pub receipts: u64,
    /// The province's head for it now.
    pub head_seq: u64,
    /// Why it was not forwarded (whole), if it was not.
    pub stopped: Option<String>,
}

/// Forwards every school this hub holds to the hub `opts` names (with the city's own
/// token there); one school's refusal does not stop the others.
pub async fn forward(
    pool: &deadpool_postgres::Pool,
    opts: &PushOptions,
) -> Result<Vec<Forwarded>, PushError> {
    let remote = Hub::new(opts)?;
    let key = remote.key().await?;
    let client = pool.get().await.map_err(HubError::from)?;
    let own_key = key_file::public(&client).await?;
    let mut out = Vec::new();
    for school in schools::list(&client).await? {
        let mut done = Forwarded {
            school: school.id.clone(),
            added: 0,
            receipts: 0,
            head_seq: 0,
            stopped: None,
        };
        match one(&remote, &client, &key, &own_key, opts, &school).await {
            Ok((added, receipts, head)) => {
                (done.added, done.receipts, done.head_seq) = (added, receipts, head)
            }
            Err(e) => done.stopped = Some(e.to_string()),
        }
        out.push(done);
    }
    Ok(out)
}

async fn one(
    remote: &Hub<'_>,
    client: &deadpool_postgres::Client,
    key: &ed25519_dalek::VerifyingKey,
    own_key: &str,
    opts: &PushOptions,
    school: &schools::School,
) -> Result<(u64, u64, u64), PushError> {
    let head: HeadAnswer = remote.get(&routes::head(&school.id)).await?;
    if head.head_seq > school.head_seq {
        return Err(PushError::Behind {
            hub_seq: head.head_seq,
            own_seq: school.head_seq,
        });
    }
    if held_hash(client, &school.id, head.head_seq).await? != head.head_hash {
        return Err(PushError::Forked {
            seq: head.head_seq,
            detail: "the province holds another event there than this hub".into(),
        });
    }
    let seal = school.seal.as_deref().and_then(|s| s.parse().ok());
    let mut receipts =
        forwarded::signed_after(client, &school.id, head.forwarded_seq, own_key).await?;
    receipts.reverse();
    let (mut at, mut added, mut kept) = (head.head_seq, 0, 0);
    // Each piece carries the receipts for seqs the province holds once it is stored;
    // what is left for seqs it held already goes in pieces of receipts alone.
    loop {
        let events = if at < school.head_seq {
            events_after(client, &school.id, at, opts.piece.max(1) as u64).await?
        } else {
            Vec::new()
        };
        let upto = events.last().map_or(at, |e| e.seq);
        let mut these = Vec::new();
        while these.len() < opts.piece.max(1) && receipts.last().is_some_and(|r| r.seq <= upto) {
            these.extend(receipts.pop());
        }
        if events.is_empty() && these.is_empty() {
            break;
        }
        let sent = these.len() as u64;
        let answer = remote
            .send(
                &school.id,
                &Piece {
                    events,
                    seal: seal.clone(),
                    receipts: these,
                },
            )
            .await?;
        if answer.head_seq < upto {
            return Err(PushError::Refused {
                status: 200,
                error: "short".into(),
                detail: format!(
                    "the province answered head {} after a piece to {upto}",
                    answer.head_seq
                ),
            });
        }
        if let Some(r) = &answer.receipt {
            r.verify(key)?;
            keep(opts, r)?;
        }
        added += answer.added;
        kept += sent;
        at = answer.head_seq;
    }
    Ok((added, kept, at))
}

async fn held_hash(
    client: &deadpool_postgres::Client,
    school: &str,
    seq: u64,
) -> Result<Hash, HubError> {
    if seq == 0 {
        return Ok(GENESIS);
    }
    let row = client
        .query_opt(
            "SELECT hash FROM events WHERE school = $1 AND seq = $2",
            &[&school, &(seq as i64)],
        )
        .await?;
    match row {
        Some(r) => parse_hash(r.get(0)),
        None => Ok(GENESIS),
    }
}
