//! The hub's server: the routes schools push to (`push`), the read API (`api`) and the
//! Chinese page (`page`), one router each, merged in [`app`]. Every answer carries the
//! school server's security headers; handlers extract, call one function, answer.
use std::{future::Future, ops::Deref, sync::Arc};

use axum::{extract::DefaultBodyLimit, Router};
use chrono::FixedOffset;
use deadpool_postgres::Pool;
use projections::{metric::Metrics, report::Templates};
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

use super::{figures::Folds, receipt::HubKey};

mod api;
mod auth;
mod error;
mod page;
mod push;

pub use error::HubApiError;

/// A hub deployment's switches.
#[derive(Debug, Clone)]
pub struct Config {
    /// Anyone may read the figures and the page without a token.
    pub open_reads: bool,
    /// The largest request body (a piece), in bytes.
    pub body_limit: usize,
    /// A school that has not pushed for this long is flagged 未报送.
    pub stale_after: chrono::Duration,
    /// The region's UTC offset, for "today" and days given as times.
    pub offset: FixedOffset,
}

/// What every handler shares.
pub struct Inner {
    /// The database.
    pub pool: Pool,
    /// The key receipts are signed with.
    pub key: HubKey,
    /// Each school's fold, kept warm.
    pub folds: Folds,
    /// The metric definitions.
    pub metrics: Metrics,
    /// The report templates.
    pub templates: Templates,
    /// Switches.
    pub config: Config,
}

/// The state handed to every handler; cheap to clone.
#[derive(Clone)]
pub struct HubState(Arc<Inner>);

impl HubState {
    /// Wraps the parts.
    pub fn new(inner: Inner) -> Self {
        HubState(Arc::new(inner))
    }
}

impl Deref for HubState {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// Every route of the hub.
pub fn app(state: HubState) -> Router {
    let body_limit = state.config.body_limit;
    Router::new()
        .merge(push::router())
        .merge(api::router())
        .merge(page::router())
        .fallback(error::not_found)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(TraceLayer::new_for_http().make_span_with(crate::http::request_span))
        .layer(axum::middleware::map_response(crate::http::secure_headers))
        .with_state(state)
}

/// Serves until `shutdown` resolves; requests in flight (a piece being stored) finish.
pub async fn serve(
    listener: TcpListener,
    state: HubState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown)
        .await
}
