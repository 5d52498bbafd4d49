//! Read models for the CLI and the server: the log folded into the facts every figure,
//! progress line, timeline and report is computed from.
use std::sync::{RwLock, RwLockReadGuard};

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

/// The fold kept in memory and brought up to date before each read. It equals a fold
/// from scratch because it applies the same events in the same order: the first time
/// all of them, later only those past the last seq it saw.
#[derive(Debug, Default)]
pub struct Cache {
    facts: RwLock<Facts>,
}

impl Cache {
    /// The facts as of the store's durable head. Blocking: call from `spawn_blocking`.
    pub fn read(&self, store: &Store) -> Result<RwLockReadGuard<'_, Facts>, StoreError> {
        let head = store.head_seq();
        {
            let facts = self.facts.read().expect("facts lock poisoned");
            if facts.head_seq() >= head {
                return Ok(facts);
            }
        }
        {
            let mut facts = self.facts.write().expect("facts lock poisoned");
            let filter = Filter {
                from_seq: Some(facts.head_seq() + 1),
                ..Filter::default()
            };
            for e in store.scan(filter) {
                facts.apply(&e?.upcast(store.catalog()));
            }
        }
        Ok(self.facts.read().expect("facts lock poisoned"))
    }
}
