//! The server, started for real on port 0 over a temporary store (`app::spawn_app`):
//! every route, each error status, who may do what, the stream, the page and shutdown.
pub(crate) mod app;
pub(crate) mod binary;
mod browser;
pub(crate) mod clerk;
mod events;
mod logs;
mod page;
mod reads;
mod roles;
mod schema;
mod shutdown;
mod stream;
