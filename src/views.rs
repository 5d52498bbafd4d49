//! Read models for the CLI and the server: the log folded into the facts every figure,
//! progress line, timeline and report is computed from.
use events::Catalog;
use projections::facts::Facts;

use crate::store::{Filter, Store, StoreError};

/// Folds the whole durable log, each event lifted to its kind's current version.
#[tracing::instrument(skip_all)]
pub fn fold(store: &Store) -> Result<Facts, StoreError> {
    let catalog: &Catalog = store.catalog();
    let mut facts = Facts::default();
    for e in store.scan(Filter::default()) {
        facts.apply(&e?.upcast(catalog));
    }
    Ok(facts)
}
