//! `GET /api/export`: the whole log as JSONL, chain included, streamed without holding
//! it in memory: the backup a running server gives without stopping. It covers exactly
//! the events durable when the request began, so it is a consistent snapshot.
use std::io::Write;

use axum::{
    body::{Body, Bytes},
    extract::State,
    http::header,
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use tokio::sync::mpsc;

use super::{auth::CanRead, ApiError, AppState};
use crate::store::Filter;

/// Chunks of about this size go to the client.
const CHUNK: usize = 64 * 1024;

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new().route("/api/export", get(export))
}

/// How many exports run at once: each holds a thread while it reads the log.
const AT_ONCE: usize = 4;

/// How long an export waits for its client to take the next chunk before it gives up:
/// a client that stops reading must not hold a thread for good (issue 13).
const STALL: std::time::Duration = std::time::Duration::from_secs(30);

async fn export(State(state): State<AppState>, _: CanRead) -> Result<Response, ApiError> {
    static RUNNING: std::sync::LazyLock<std::sync::Arc<tokio::sync::Semaphore>> =
        std::sync::LazyLock::new(|| std::sync::Arc::new(tokio::sync::Semaphore::new(AT_ONCE)));
    let permit = RUNNING.clone().try_acquire_owned().map_err(|_| {
        ApiError::Busy(format!(
            "{AT_ONCE} exports are running; try again in a moment"
        ))
    })?;
    let head = state.store.head()?;
    let (tx, mut rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(8);
    let store = state.store.clone();
    let runtime = tokio::runtime::Handle::current();
    // Hands a chunk over, waiting at most `STALL` for room; false once the client went
    // away or stopped reading.
    let send = move |chunk| {
        runtime
            .block_on(tokio::time::timeout(STALL, tx.send(chunk)))
            .is_ok_and(|sent| sent.is_ok())
    };
    tokio::task::spawn_blocking(move || {
        let _running = permit;
        let filter = Filter {
            to_seq: Some(head.seq),
            ..Filter::default()
        };
        let mut buf = Vec::with_capacity(CHUNK + 1024);
        for e in store.scan(filter) {
            let line = e.map_err(std::io::Error::other).and_then(|e| {
                serde_json::to_writer(&mut buf, &e)?;
                buf.write_all(b"\n")
            });
            if let Err(err) = line {
                send(Err(err));
                return;
            }
            if buf.len() >= CHUNK && !send(Ok(Bytes::from(std::mem::take(&mut buf)))) {
                return; // the client went away, or stopped reading
            }
        }
        send(Ok(Bytes::from(buf)));
    });
    let body = Body::from_stream(futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx)));
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/jsonl; charset=utf-8".to_owned(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"annals-{}.jsonl\"", head.seq),
            ),
            (
                header::HeaderName::from_static("x-annals-head"),
                format!("{} {}", head.seq, head.hash),
            ),
        ],
        body,
    )
        .into_response())
}
