//! `/api/stream`: server-sent events: each newly appended event, then the refreshed
//! progress, so a page or another system can follow the log live.
use std::{convert::Infallible, time::Duration};

use axum::{
    extract::State,
    response::sse::{Event, KeepAlive, Sse},
    routing::get,
    Router,
};
use futures_util::stream::{self, Stream};
use tokio::sync::broadcast::error::RecvError;

use super::{auth::CanRead, figures, ApiError, AppState};

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new().route("/api/stream", get(subscribe))
}

async fn subscribe(
    State(state): State<AppState>,
    _: CanRead,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    // Streams never end by themselves: their number is capped apart from other requests,
    // so open streams cannot take every connection (issue 13).
    let permit = state.streams.clone().try_acquire_owned().map_err(|_| {
        ApiError::Busy(format!(
            "{} event streams are open, the most this server keeps; try again later",
            state.config.max_streams
        ))
    })?;
    let rx = state.appended.subscribe();
    let mut closing = state.closing.subscribe();
    let events = stream::unfold((state, rx), |(state, mut rx)| async move {
        match rx.recv().await {
            Ok(batch) => {
                let mut out: Vec<Result<Event, Infallible>> = batch
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
                let progress = state
                    .blocking(|s| figures::progress_json(s, &figures::When::default()))
                    .await;
                if let Ok(p) = progress {
                    if let Ok(ev) = Event::default().event("progress").json_data(p) {
                        out.push(Ok(ev));
                    }
                }
                Some((stream::iter(out), (state, rx)))
            }
            // A slow reader missed some; it can re-read them from /api/events.
            Err(RecvError::Lagged(n)) => {
                let ev = Event::default().event("lagged").data(n.to_string());
                Some((stream::iter(vec![Ok(ev)]), (state, rx)))
            }
            Err(RecvError::Closed) => None,
        }
    });
    // The stream ends when the server shuts down, or graceful shutdown would wait forever.
    let until_closing = async move {
        let _ = closing.wait_for(|c| *c).await;
    };
    let events = futures_util::StreamExt::take_until(
        futures_util::StreamExt::flatten(events),
        until_closing,
    );
    // The permit goes back when the stream is dropped (the client left, or shutdown).
    let events = futures_util::StreamExt::map(events, move |e| {
        let _held = &permit;
        e
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
