//! Ids a person may not take first. A register row's id is derived from the row's
//! content (a UUIDv8, `sheet/cells.rs`), so anyone who recorded something else under it
//! first would make that register's import fail for good: the store refuses the row as
//! a conflict, and voiding does not free an id. A person may repeat such an id the log
//! already holds (a re-sent export, an import's retry); only a register's rows bring a
//! new one.
use events::{NewEvent, Reason};

use crate::store::{Store, StoreError};

/// The UUID version of a register row's id (`uuid::Builder::from_custom_bytes`).
const ROW_ID_VERSION: usize = 8;

/// Why a person may not record `event` under its id, if they may not.
pub fn refused(store: &Store, event: &NewEvent) -> Result<Option<Reason>, StoreError> {
    let id = event.id();
    if id.get_version_num() != ROW_ID_VERSION || store.get(id)?.is_some() {
        return Ok(None);
    }
    Ok(Some(Reason::RowIdTaken { id: id.to_string() }))
}
