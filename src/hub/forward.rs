//! A city's hub forwards its schools' logs to the province's hub with the same push
//! protocol: for each school, it asks the province for the head it holds, checks the
//! city holds that hash at that seq, and sends the original envelopes that follow (as
//! the city holds them, re-verified on reading) with the school's last seal. The
//! province verifies every chain again; it never has to trust the city.
use events::{Hash, GENESIS};
use serde::Serialize;

use super::{
    ingest::events_after,
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
    let mut out = Vec::new();
    for school in schools::list(&client).await? {
        let mut done = Forwarded {
            school: school.id.clone(),
            added: 0,
            head_seq: 0,
            stopped: None,
        };
        match one(&remote, &client, &key, opts, &school).await {
            Ok((added, head)) => (done.added, done.head_seq) = (added, head),
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
    opts: &PushOptions,
    school: &schools::School,
) -> Result<(u64, u64), PushError> {
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
    let (mut at, mut added) = (head.head_seq, 0);
    while at < school.head_seq {
        let events = events_after(client, &school.id, at, opts.piece.max(1) as u64).await?;
        if events.is_empty() {
            break;
        }
        let answer = remote
            .send(
                &school.id,
                &Piece {
                    events,
                    seal: seal.clone(),
                },
            )
            .await?;
        if let Some(r) = &answer.receipt {
            r.verify(key)?;
            keep(opts, r)?;
        }
        added += answer.added;
        at = answer.head_seq;
    }
    Ok((added, at))
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
