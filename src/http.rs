//! The HTTP server: the JSON API, server-sent events, the progress page and its docs.
//! Handlers are short: extract, call one function of the store or the projections off
//! the async threads, map the result. Every answer carries the security headers
//! (`headers`); every HTML answer is rendered by one escaping template engine (`html`).
use std::{future::Future, ops::Deref, sync::Arc, time::Duration};

use axum::{extract::DefaultBodyLimit, http::Request, Router};
use chrono::FixedOffset;
use projections::{metric::Metrics, report::Templates};
use tokio::{net::TcpListener, sync::watch};
use tower_http::{
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    trace::TraceLayer,
};

use crate::{
    store::{Head, Store, VerifyFailure, VerifyReport},
    views::Cache,
};

mod assets;
mod auth;
mod backup;
mod docs;
pub(crate) mod error;
mod events_api;
mod figures;
mod headers;
mod html;
mod lang;
mod limits;
mod listen;
mod markdown;
mod office;
mod page;
mod same_origin;
mod session;
mod signin;
mod stream;

pub use error::ApiError;
pub use headers::secure as secure_headers;

/// Limits and switches of a deployment.
#[derive(Debug, Clone)]
pub struct Config {
    /// Let anyone read without a token.
    pub open_reads: bool,
    /// The largest request body, in bytes.
    pub body_limit: usize,
    /// The most events one request may append.
    pub batch_limit: usize,
    /// The school's UTC offset.
    pub offset: FixedOffset,
    /// How long a client may take to send a request's headers.
    pub header_timeout: Duration,
    /// How long a client may take to send a request's body.
    pub body_timeout: Duration,
    /// The most connections served at once; the next is answered 503. One in
    /// [`limits::RESERVED_SHARE`] is kept for callers with a token or session.
    pub max_connections: usize,
    /// The most event streams (`/api/stream`) open at once; the next is answered 503.
    pub max_streams: usize,
    /// The server sits behind TLS: the session cookie is marked `Secure` and a signed-in
    /// change must come from an `https` page.
    pub secure_cookies: bool,
    /// How long a browser's sign-in lasts, from the moment it signed in.
    pub session_ttl: Duration,
    /// The most sign-ins held at once (each a few dozen bytes).
    pub max_sessions: usize,
    /// The most imports read at once; the next waits its turn. Each may take as much
    /// memory as its limits allow, so a crowd of them must not add up.
    pub imports_at_once: usize,
    /// The school's name, which signs its reports (落款); the report's default
    /// (县委党校) when not given.
    pub school: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            open_reads: false,
            body_limit: 1024 * 1024,
            batch_limit: 10_000,
            offset: FixedOffset::east_opt(events::occurred::DEFAULT_UTC_OFFSET_SECONDS)
                .expect("valid offset"),
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            max_connections: 512,
            max_streams: 64,
            secure_cookies: false,
            session_ttl: Duration::from_secs(12 * 3600),
            max_sessions: 10_000,
            imports_at_once: 1,
            school: None,
        }
    }
}

/// What every handler shares.
pub struct Inner {
    /// The log.
    pub store: Store,
    /// The metric definitions.
    pub metrics: Metrics,
    /// The report templates.
    pub templates: Templates,
    /// The fold kept in memory.
    pub cache: Cache,
    /// Limits and switches.
    pub config: Config,
    /// The browsers signed in to the page.
    pub sessions: session::Sessions,
    /// Whether the store holds the demo dataset (said on the page).
    pub demo: bool,
    /// The last verification and the head it covered.
    verified: std::sync::Mutex<Option<(Head, Verified)>>,
    /// One permit per open event stream.
    pub streams: Arc<tokio::sync::Semaphore>,
    /// Turns to read an import (see [`Config::imports_at_once`]).
    pub imports: Arc<tokio::sync::Semaphore>,
    /// Becomes true when the server starts shutting down, so that streams that would
    /// otherwise never end (`/api/stream`) end and graceful shutdown can finish.
    pub closing: watch::Sender<bool>,
}

/// The state handed to every handler; cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

impl AppState {
    /// Wraps the parts.
    pub fn new(
        store: Store,
        metrics: Metrics,
        templates: Templates,
        config: Config,
        demo: bool,
    ) -> Self {
        let streams = Arc::new(tokio::sync::Semaphore::new(config.max_streams));
        let imports = Arc::new(tokio::sync::Semaphore::new(config.imports_at_once.max(1)));
        AppState(Arc::new(Inner {
            streams,
            store,
            metrics,
            templates,
            cache: Cache::default(),
            sessions: session::Sessions::new(config.session_ttl, config.max_sessions),
            config,
            demo,
            verified: std::sync::Mutex::new(None),
            imports,
            closing: watch::Sender::new(false),
        }))
    }

    /// Runs blocking work (sled, folds) off the async threads.
    pub async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Inner) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let state = self.0.clone();
        tokio::task::spawn_blocking(move || f(&state))
            .await
            .map_err(|e| ApiError::Internal(anyhow::anyhow!("a blocking task failed: {e}")))?
    }
}

/// What `verify` found: the count and head hash, or the first bad seq.
pub type Verification = Result<VerifyReport, VerifyFailure>;

/// A verification and when its walk ran.
#[derive(Debug, Clone)]
pub struct Verified {
    /// What it found.
    pub result: Verification,
    /// When the log was walked.
    pub at: chrono::DateTime<chrono::Utc>,
}

impl Inner {
    /// Verifies the log (and the fold's snapshot), or answers from the last
    /// verification when the head has not moved since: a walk of the whole log per
    /// request would let any reader keep the disk busy (issue 13). Once the log has
    /// verified, a later call walks only the events appended since (the whole log is
    /// walked once per process). Concurrent callers wait for one walk instead of each
    /// starting their own.
    pub fn verification(&self) -> Result<Verified, ApiError> {
        let mut cached = self.verified.lock().expect("verify cache poisoned");
        let head = self.store.head()?;
        // What an earlier walk proved need not be walked again: only the events since.
        let proved = match cached.as_ref() {
            Some((at, verified)) if *at == head => return Ok(verified.clone()),
            Some((at, Verified { result: Ok(_), .. })) if at.seq < head.seq => *at,
            _ => Head::default(),
        };
        let verified = Verified {
            result: crate::views::verify_after(&self.store, proved)?,
            at: chrono::Utc::now(),
        };
        *cached = Some((head, verified.clone()));
        Ok(verified)
    }
}

impl Deref for AppState {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// Every route, each resource's router merged into one app.
pub fn app(state: AppState) -> Router {
    let body_limit = state.config.body_limit;
    Router::new()
        .merge(events_api::router())
        .merge(backup::router())
        .merge(figures::router())
        .merge(office::router())
        .merge(stream::router())
        .merge(page::router())
        .merge(signin::router())
        .merge(assets::router())
        .merge(docs::router())
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::middleware::from_fn(lang::from_request))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            limits::body_deadline,
        ))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        // Outermost, so that every answer has them, errors and fallbacks included.
        .layer(axum::middleware::map_response(headers::secure))
        .with_state(state)
}

/// The span each request is traced in: its method, matched route and request id. The
/// path, not the URI: query strings may carry what should not be logged.
pub fn request_span<B>(req: &Request<B>) -> tracing::Span {
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    tracing::info_span!("request", method = %req.method(), route, request_id = id)
}

/// Serves until `shutdown` resolves, then stops accepting, lets in-flight requests
/// (appends included) finish, and flushes the store.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let store = state.store.clone();
    let closing = state.closing.clone();
    let shutdown = async move {
        shutdown.await;
        // Open event streams end now; graceful shutdown waits for every response.
        closing.send_replace(true);
    };
    let limits = listen::Limits {
        header_timeout: state.config.header_timeout,
        max_connections: state.config.max_connections,
        reserved: state.config.max_connections / limits::RESERVED_SHARE,
    };
    let signed_in = {
        let state = state.clone();
        std::sync::Arc::new(move |headers: &axum::http::HeaderMap| {
            limits::signed_in(headers, &state)
        })
    };
    listen::run(listener, app(state), limits, signed_in, shutdown).await;
    // Acknowledged appends are on disk already; this stops the writer after its last group.
    tokio::task::spawn_blocking(move || store.close())
        .await
        .map_err(std::io::Error::other)
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: no new connections, finishing in-flight requests");
}
