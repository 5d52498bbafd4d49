//! The school's side of the hub: `annals push` sends what follows the hub's copy of the
//! head, in pieces, each answered with a signed receipt kept beside the store; `annals
//! bundle` writes the same as a file. Only the store's public API is used: its head,
//! `get_seq`, `scan` and `seal`.
//!
//! A push is safe to repeat and resumes after a cut anywhere: each piece is stored by
//! the hub in one transaction, and every push starts by asking the hub for its head.
use std::{io::Write, path::PathBuf, time::Duration};

use ed25519_dalek::VerifyingKey;
use events::{Envelope, Hash, GENESIS};
use serde::de::DeserializeOwned;

use super::{
    protocol::{routes, BundleHeader, HeadAnswer, Piece, PushAnswer, WhoAmI},
    receipt::{public_key, Receipt},
    HubError,
};
use crate::store::{Filter, Seal, Store, StoreError};

/// Where to push and how.
#[derive(Debug, Clone)]
pub struct PushOptions {
    /// The hub's address, such as `http://city-hub:8090`.
    pub to: String,
    /// The school's push token.
    pub token: String,
    /// Events per piece.
    pub piece: usize,
    /// The hub's public key as the school was given it; without it, the key the hub
    /// serves is used (which proves the receipts were not changed on the way, not who
    /// signed them).
    pub hub_key: Option<VerifyingKey>,
    /// The file receipts are appended to, one JSON line each.
    pub receipts: Option<PathBuf>,
    /// How long one request may take.
    pub timeout: Duration,
}

/// What a push did.
#[derive(Debug, Clone)]
pub struct Pushed {
    /// The school's id at the hub.
    pub school: String,
    /// The hub's head before.
    pub from_seq: u64,
    /// Events stored by the hub.
    pub added: u64,
    /// The hub's head now.
    pub head_seq: u64,
    /// Its hash.
    pub head_hash: Hash,
    /// The last receipt.
    pub receipt: Option<Receipt>,
}

/// Why a push stopped.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// The hub could not be reached or answered nonsense: check the address, retry.
    #[error("the hub at {to}: {source}")]
    Http {
        /// The hub's address.
        to: String,
        /// What failed.
        source: reqwest::Error,
    },
    /// The hub refused (bad token, unknown school, an invalid event…): read `detail`.
    #[error("the hub refused ({status}, {error}): {detail}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The hub's short word (`invalid`, `forbidden`, `gap`…).
        error: String,
        /// What it said.
        detail: String,
    },
    /// The school's log and the hub's copy differ: someone must find out why (a
    /// restore from an old backup that then recorded more). Nothing more is sent.
    #[error("FORK at seq {seq}: this log and the hub's copy differ; the hub has kept what was sent in quarantine. {detail}")]
    Forked {
        /// The seq where they differ.
        seq: u64,
        /// What the hub or the check said.
        detail: String,
    },
    /// The hub holds more of this school's log than the log has: restored from an old
    /// backup. Restore the latest backup instead; nothing was sent.
    #[error("the hub holds this school's log up to seq {hub_seq}, but this log ends at seq {own_seq}: it was restored from an older backup")]
    Behind {
        /// The hub's head.
        hub_seq: u64,
        /// This log's head.
        own_seq: u64,
    },
    /// Reading the school's own store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The hub's library refused: a receipt that does not verify, a key that is not
    /// one, or (when a city forwards) its own database.
    #[error(transparent)]
    Hub(#[from] HubError),
    /// The receipts file could not be written.
    #[error("could not keep the receipt: {0}")]
    Receipts(std::io::Error),
}

/// A hub as a client talks to it: the push routes with a token.
pub(crate) struct Hub<'a> {
    http: reqwest::Client,
    opts: &'a PushOptions,
}

impl<'a> Hub<'a> {
    /// A client for the hub `opts` names.
    pub(crate) fn new(opts: &'a PushOptions) -> Result<Self, PushError> {
        let http = reqwest::Client::builder()
            .timeout(opts.timeout)
            .build()
            .map_err(|source| PushError::Http {
                to: opts.to.clone(),
                source,
            })?;
        Ok(Hub { http, opts })
    }

    /// The key receipts must verify with: the one given, or the one the hub serves.
    pub(crate) async fn key(&self) -> Result<VerifyingKey, PushError> {
        match self.opts.hub_key {
            Some(k) => Ok(k),
            None => {
                let served: serde_json::Value = self.get(routes::KEY).await?;
                Ok(public_key(
                    served["public_key"].as_str().unwrap_or_default(),
                )?)
            }
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.opts.to.trim_end_matches('/'))
    }

    fn http_error(&self, source: reqwest::Error) -> PushError {
        PushError::Http {
            to: self.opts.to.clone(),
            source,
        }
    }

    async fn answer<T: DeserializeOwned>(&self, resp: reqwest::Response) -> Result<T, PushError> {
        let status = resp.status();
        if status.is_success() {
            return resp.json().await.map_err(|e| self.http_error(e));
        }
        let body: serde_json::Value = resp.json().await.unwrap_or_default();
        let text = |k: &str| {
            body.get(k)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned()
        };
        if text("error") == "fork" {
            return Err(PushError::Forked {
                seq: body.get("seq").and_then(|v| v.as_u64()).unwrap_or_default(),
                detail: text("detail"),
            });
        }
        Err(PushError::Refused {
            status: status.as_u16(),
            error: text("error"),
            detail: text("detail"),
        })
    }

    pub(crate) async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, PushError> {
        let resp = self
            .http
            .get(self.url(path))
            .bearer_auth(&self.opts.token)
            .send()
            .await
            .map_err(|e| self.http_error(e))?;
        self.answer(resp).await
    }

    pub(crate) async fn send(&self, school: &str, piece: &Piece) -> Result<PushAnswer, PushError> {
        let resp = self
            .http
            .post(self.url(&routes::push(school)))
            .bearer_auth(&self.opts.token)
            .json(piece)
            .send()
            .await
            .map_err(|e| self.http_error(e))?;
        self.answer(resp).await
    }
}

/// Reads `count` events from `from` on, off the async threads.
async fn read(store: &Store, from: u64, count: usize) -> Result<Vec<Envelope>, StoreError> {
    let store = store.clone();
    tokio::task::spawn_blocking(move || {
        store
            .scan(Filter {
                from_seq: Some(from),
                limit: Some(count),
                ..Filter::default()
            })
            .collect()
    })
    .await
    .map_err(|e| StoreError::from(std::io::Error::other(format!("a read task failed: {e}"))))?
}

/// The hash this log holds at `seq` (the genesis hash for 0), if it reaches it.
async fn hash_at(store: &Store, seq: u64) -> Result<Option<Hash>, StoreError> {
    if seq == 0 {
        return Ok(Some(GENESIS));
    }
    let store = store.clone();
    let e = tokio::task::spawn_blocking(move || store.get_seq(seq))
        .await
        .map_err(|e| {
            StoreError::from(std::io::Error::other(format!("a read task failed: {e}")))
        })??;
    Ok(e.map(|e| e.hash))
}

/// Pushes what the hub does not hold yet; `progress(sent, total)` after each piece.
pub async fn push(
    store: &Store,
    opts: &PushOptions,
    progress: &mut (dyn FnMut(u64, u64) + Send),
) -> Result<Pushed, PushError> {
    let hub = Hub::new(opts)?;
    let me: WhoAmI = hub.get(routes::WHOAMI).await?;
    let key = hub.key().await?;
    let head: HeadAnswer = hub.get(&routes::head(&me.school)).await?;
    let own = store.head()?;
    match hash_at(store, head.head_seq).await? {
        Some(h) if h == head.head_hash => {}
        found => return Err(witness(&hub, store, &me.school, &head, found, own.seq).await),
    }
    let mut pushed = Pushed {
        school: me.school.clone(),
        from_seq: head.head_seq,
        added: 0,
        head_seq: head.head_seq,
        head_hash: head.head_hash,
        receipt: None,
    };
    let total = own.seq.saturating_sub(head.head_seq);
    while pushed.head_seq < own.seq {
        let events = read(store, pushed.head_seq + 1, opts.piece.max(1)).await?;
        let Some(last) = events.last().map(|e| e.seq) else {
            break;
        };
        let piece = Piece {
            events,
            seal: Some(store.seal()?),
            receipts: Vec::new(),
        };
        let answer = hub.send(&me.school, &piece).await?;
        if answer.head_seq < last {
            return Err(PushError::Refused {
                status: 200,
                error: "short".into(),
                detail: format!(
                    "the hub answered head {} after a piece to {last}",
                    answer.head_seq
                ),
            });
        }
        if let Some(r) = &answer.receipt {
            r.verify(&key)?;
            keep(opts, r)?;
        }
        pushed.added += answer.added;
        pushed.head_seq = answer.head_seq;
        pushed.head_hash = answer.head_hash;
        pushed.receipt = answer.receipt;
        progress(pushed.head_seq - head.head_seq, total);
    }
    Ok(pushed)
}

/// When this log does not hold the hub's head: sends the hub the event that shows how
/// the two differ (this log's event at the hub's head, or this log's head), so the hub
/// sees the fork and keeps it, then says what was found.
async fn witness(
    hub: &Hub<'_>,
    store: &Store,
    school: &str,
    head: &HeadAnswer,
    found: Option<Hash>,
    own_seq: u64,
) -> PushError {
    let at = if found.is_some() {
        head.head_seq
    } else {
        own_seq
    };
    if at == 0 {
        return PushError::Behind {
            hub_seq: head.head_seq,
            own_seq,
        };
    }
    let events = match read(store, at, 1).await {
        Ok(events) => events,
        Err(e) => return e.into(),
    };
    let seal = store.seal().ok();
    match hub
        .send(
            school,
            &Piece {
                events,
                seal,
                receipts: Vec::new(),
            },
        )
        .await
    {
        // The hub holds this very event: this log is an older copy of the hub's.
        Ok(_) => PushError::Behind {
            hub_seq: head.head_seq,
            own_seq,
        },
        Err(e) => e,
    }
}

/// Appends a receipt to the receipts file, readable by its owner only.
pub(crate) fn keep(opts: &PushOptions, receipt: &Receipt) -> Result<(), PushError> {
    let Some(path) = &opts.receipts else {
        return Ok(());
    };
    let mut line = serde_json::to_vec(receipt).map_err(|e| PushError::Receipts(e.into()))?;
    line.push(b'\n');
    let mut file = crate::private::options()
        .append(true)
        .create(true)
        .open(path)
        .map_err(PushError::Receipts)?;
    file.write_all(&line).map_err(PushError::Receipts)?;
    file.sync_data().map_err(PushError::Receipts)
}

/// The receipts file beside a store's folder: `<store>.receipts.jsonl`.
pub fn receipts_file(store_dir: &std::path::Path) -> PathBuf {
    let mut name = store_dir.as_os_str().to_owned();
    name.push(".receipts.jsonl");
    name.into()
}

/// Writes what follows `since` (a seal the hub acknowledged) as a bundle for `school`;
/// how many events. Refuses when this log does not hold `since`: the logs have forked.
pub fn bundle(
    store: &Store,
    school: &str,
    since: &Seal,
    out: &mut dyn Write,
) -> Result<u64, PushError> {
    super::check_id(school)?;
    let held = if since.seq == 0 {
        Some(GENESIS)
    } else {
        store.get_seq(since.seq)?.map(|e| e.hash)
    };
    if held != Some(since.hash) {
        return Err(PushError::Forked {
            seq: since.seq,
            detail: "this log does not hold the sealed event; nothing was written".into(),
        });
    }
    let header = BundleHeader {
        annals_bundle: 1,
        school: school.to_owned(),
        since_seq: since.seq,
        since_hash: since.hash,
        seal: Some(store.seal()?),
    };
    let events = store.scan(Filter {
        from_seq: Some(since.seq + 1),
        ..Filter::default()
    });
    let mut failed = None;
    let n = super::protocol::write_bundle(
        out,
        &header,
        events.map_while(|e| e.map_err(|err| failed = Some(err)).ok()),
    )
    .map_err(|e| PushError::Receipts(std::io::Error::other(e)))?;
    match failed {
        Some(e) => Err(e.into()),
        None => Ok(n),
    }
}

/// Pushes now and then, for `annals serve --push-to`: after a success it waits
/// `every`; after a failure it retries after 30 s, doubling up to `every`.
pub async fn keep_pushing(store: Store, opts: PushOptions, every: Duration) {
    let first_retry = Duration::from_secs(30).min(every);
    let mut wait = first_retry;
    loop {
        match push(&store, &opts, &mut |_, _| {}).await {
            Ok(p) => {
                tracing::info!(school = %p.school, added = p.added, head = p.head_seq, "pushed to the hub");
                wait = first_retry;
                tokio::time::sleep(every).await;
            }
            Err(e) => {
                tracing::warn!(error = %e, retry_in_s = wait.as_secs(), "could not push to the hub");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(every);
            }
        }
    }
}
