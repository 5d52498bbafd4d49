//! Connecting to the hub's PostgreSQL: a libpq connection string
//! (`host=… dbname=…`) or a `postgres://` URL, without TLS (the hub and its database
//! sit on one machine or one closed network), through a small pool.
use std::str::FromStr;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::NoTls;

use super::HubError;

/// A pool of connections to the database `conn` names.
pub fn pool(conn: &str, size: usize) -> Result<Pool, HubError> {
    let config = tokio_postgres::Config::from_str(conn).map_err(|e| HubError::Argument {
        field: "database",
        reason: format!("not a libpq connection string or postgres:// URL: {e}"),
    })?;
    let manager = Manager::from_config(
        config,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(size.max(1))
        .build()
        .map_err(|e| HubError::Argument {
            field: "database",
            reason: e.to_string(),
        })
}
