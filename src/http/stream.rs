//! `/api/stream`: server-sent events: every event after the one the client names
//! (`Last-Event-ID` or `?after=`), read from the log, then each new one as the store
//! commits it, with the refreshed progress once the client has caught up. A client that
//! reconnects with the last id it saw gets the rest with no gap and no duplicate,
//! however far it fell behind.
use std::{convert::Infallible, time::Duration};

use axum::{
    extract::{Query, State},
    http::HeaderMap,
    response::sse::{Event, KeepAlive, Sse},
    routing::get,
    Router,
};
use futures_util::stream::{self, Stream};
use serde::Deserialize;
use tokio::sync::{watch, OwnedSemaphorePermit};

use super::{
    auth::{CanRead, Visitor},
    figures, ApiError, AppState,
};
use crate::store::Filter;

/// Events read from the log at a time for one client.
const PAGE: u64 = 256;

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new().route("/api/stream", get(subscribe))
}

/// Where a client starts: after this seq.
#[derive(Debug, Deserialize)]
struct StreamQuery {
    after: Option<u64>,
}

/// One client's place in the log.
struct Follow {
    state: AppState,
    heads: watch::Receiver<u64>,
    /// The last seq sent.
    sent: u64,
    /// Held for as long as the stream is open.
    _permit: OwnedSemaphorePermit,
}

async fn subscribe(
    State(state): State<AppState>,
    _: CanRead,
    Visitor(who): Visitor,
    headers: HeaderMap,
    query: Result<Query<StreamQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let Query(query) = query?;
    // Streams never end by themselves: their number is capped apart from other requests,
    // so open streams cannot take every connection (issue 13).
    // An eighth of them are kept for signed-in callers, so anonymous readers of an open
    // server cannot take them all.
    let kept = if who.is_some() {
        0
    } else {
        state.config.max_streams / 8
    };
    let busy = || {
        ApiError::Busy(format!(
            "{} event streams are open, the most this server keeps; try again later",
            state.config.max_streams
        ))
    };
    if state.streams.available_permits() <= kept {
        return Err(busy());
    }
    let permit = state
        .streams
        .clone()
        .try_acquire_owned()
        .map_err(|_| busy())?;
    let last_id = match headers.get("last-event-id") {
        None => None,
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .ok_or_else(|| ApiError::BadRequest {
                    field: "Last-Event-ID".into(),
                    reason: "must be the seq of the last event received".into(),
                })?,
        ),
    };
    let heads = state.store.subscribe();
    let sent = last_id.or(query.after).unwrap_or_else(|| *heads.borrow());
    let mut closing = state.closing.subscribe();
    let follow = Follow {
        state,
        heads,
        sent,
        _permit: permit,
    };
    let events = stream::unfold(follow, |mut f| async move {
        let out = f.next_page().await?;
        Some((stream::iter(out), f))
    });
    // The stream ends when the server shuts down, or graceful shutdown would wait forever.
    let until_closing = async move {
        let _ = closing.wait_for(|c| *c).await;
    };
    let events = futures_util::StreamExt::take_until(
        futures_util::StreamExt::flatten(events),
        until_closing,
    );
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

impl Follow {
    /// The next events after the last one sent, waiting for the store to commit some
    /// when there are none; then the progress, once caught up. `None` ends the stream
    /// (the store closed, or could not be read: the client reconnects from its last id).
    async fn next_page(&mut self) -> Option<Vec<Result<Event, Infallible>>> {
        let head = loop {
            let head = *self.heads.borrow_and_update();
            if head > self.sent {
                break head;
            }
            self.heads.changed().await.ok()?;
        };
        let (from, to) = (self.sent + 1, head.min(self.sent.saturating_add(PAGE)));
        let page = self
            .state
            .blocking(move |s| {
                let filter = Filter {
                    from_seq: Some(from),
                    to_seq: Some(to),
                    ..Filter::default()
                };
                Ok(s.store.scan(filter).collect::<Result<Vec<_>, _>>()?)
            })
            .await;
        let page = match page {
            Ok(page) => page,
            Err(e) => {
                tracing::warn!(error = %e, "the event stream could not read the log; it ends");
                return None;
            }
        };
        let mut out: Vec<Result<Event, Infallible>> = page
            .iter()
            .filter_map(|e| {
                Event::default()
                    .event("event")
                    .id(e.seq.to_string())
                    .json_data(e)
                    .ok()
            })
            .map(Ok)
            .collect();
        self.sent = to;
        if to == head {
            let progress = self
                .state
                .blocking(|s| figures::progress_json(s, &figures::When::default()))
                .await;
            if let Ok(ev) = progress.and_then(|p| {
                Event::default()
                    .event("progress")
                    .json_data(p)
                    .map_err(|e| ApiError::Internal(e.into()))
            }) {
                out.push(Ok(ev));
            }
        }
        Some(out)
    }
}
