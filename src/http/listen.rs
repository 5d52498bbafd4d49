//! The accept loop: hyper connections with a header-read timeout, a cap on concurrent
//! connections (the one over the cap is told 503 at once, and the last few under it
//! serve signed-in callers only), and graceful shutdown that lets every in-flight
//! request finish. Slow clients time out; they cannot hold the server, and a crowd of
//! anonymous ones cannot keep a school's own staff out.
use std::{convert::Infallible, future::Future, sync::Arc, time::Duration};

use axum::{
    http::{header, HeaderMap, HeaderValue, Request},
    response::{IntoResponse, Response},
};
use tower::ServiceExt;

use hyper_util::{
    rt::{TokioIo, TokioTimer},
    server::graceful::GracefulShutdown,
    service::TowerToHyperService,
};
use tokio::{io::AsyncWriteExt, net::TcpListener, sync::Semaphore};

/// How long a graceful shutdown waits for open connections before it gives up on them.
const DRAIN: Duration = Duration::from_secs(30);

const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/problem+json\r\nconnection: close\r\ncontent-length: 97\r\n\r\n{\"type\":\"about:blank\",\"title\":\"Service Unavailable\",\"status\":503,\"detail\":\"too many connections\"}";

/// How many connections, and how long for their headers.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// How long a client may take to send a request's headers.
    pub header_timeout: Duration,
    /// The most connections served at once.
    pub max_connections: usize,
    /// Of those, how many are kept for signed-in callers.
    pub reserved: usize,
}

/// Whether a request's headers carry a live token or session.
pub type SignedIn = Arc<dyn Fn(&HeaderMap) -> bool + Send + Sync>;

/// Accepts connections until `shutdown` resolves, then drains them.
pub async fn run(
    listener: TcpListener,
    app: axum::Router,
    limits: Limits,
    signed_in: SignedIn,
    shutdown: impl Future<Output = ()>,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let peers: Peers = Arc::default();
    let per_peer = (limits.max_connections - limits.reserved).max(1);
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of file descriptors and the like: back off rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        // One address may hold every place but the reserve: a crowd of sockets from one
        // machine, even ones that never send a byte, cannot take the places kept for
        // signed-in callers (issue 13).
        let Some(peer_place) = Place::take(&peers, peer.ip(), per_peer) else {
            tracing::warn!(%peer, "connection refused: this address holds its share of connections");
            tokio::spawn(refuse(stream));
            continue;
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            tracing::warn!(%peer, "connection refused: at the connection cap");
            tokio::spawn(refuse(stream));
            continue;
        };
        // Past the open share, a connection serves only callers who are signed in, and
        // gives an anonymous one little time to say who it is.
        let reserved = permits.available_permits() < limits.reserved;
        let header_timeout = if reserved {
            limits
                .header_timeout
                .min(super::limits::RESERVE_HEADER_TIMEOUT)
        } else {
            limits.header_timeout
        };
        let (app, signed_in) = (app.clone(), signed_in.clone());
        let service = TowerToHyperService::new(tower::service_fn(move |req: Request<_>| {
            let admitted = !reserved || signed_in(req.headers());
            let app = app.clone();
            async move {
                if !admitted {
                    return Ok::<_, Infallible>(reserved_only());
                }
                app.oneshot(req.map(axum::body::Body::new)).await
            }
        }));
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(header_timeout)
            .serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, %peer, "connection ended with an error");
            }
            drop(permit);
            drop(peer_place);
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("some connections were still open after {DRAIN:?}; closing anyway");
    }
}

/// The answer on a reserved connection to a caller with no live token or session.
fn reserved_only() -> Response {
    let mut resp = super::ApiError::Busy(
        "the server is busy; the connections left are kept for signed-in users".into(),
    )
    .into_response();
    resp.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    resp
}

/// Answers 503 on a connection that gets no place, and closes it.
async fn refuse(mut stream: tokio::net::TcpStream) {
    let _ = stream.write_all(BUSY).await;
    let _ = stream.shutdown().await;
}

/// The connections each address holds.
type Peers = Arc<std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, usize>>>;

/// One connection's count against its address, given back when dropped.
struct Place {
    peers: Peers,
    ip: std::net::IpAddr,
}

impl Place {
    /// A place for `ip`, unless it already holds `limit`.
    fn take(peers: &Peers, ip: std::net::IpAddr, limit: usize) -> Option<Place> {
        let mut held = peers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let count = held.entry(ip).or_default();
        if *count >= limit {
            return None;
        }
        *count += 1;
        Some(Place {
            peers: peers.clone(),
            ip,
        })
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        let mut held = self
            .peers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(count) = held.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                held.remove(&self.ip);
            }
        }
    }
}
