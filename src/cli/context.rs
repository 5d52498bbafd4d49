//! What every command shares: the parsed command line, the catalog, and opening the
//! store, printing JSON and picking a language the same way.
use std::sync::Arc;

use anyhow::Context;
use chrono::Utc;
use events::Catalog;
use projections::period::Query;

use super::{Cli, When};
use crate::store::{Options, Store};

/// The command line as parsed and the catalog it loaded, handed to every command.
pub(super) struct Ctx<'a> {
    pub(super) cli: &'a Cli,
    pub(super) catalog: Arc<Catalog>,
}

impl Ctx<'_> {
    pub(super) fn t<'s>(&self, zh: &'s str, en: &'s str) -> &'s str {
        self.cli.lang.pick(zh, en)
    }

    pub(super) fn query(&self, when: &When) -> anyhow::Result<Query> {
        Ok(Query::parse(
            when.period.as_deref(),
            when.on.as_deref(),
            when.known_at.as_deref(),
            Utc::now(),
            self.cli.utc_offset.local_minus_utc(),
        )?)
    }

    pub(super) fn open(&self) -> anyhow::Result<Store> {
        let options = Options {
            offset: self.cli.utc_offset,
            ..Options::default()
        };
        Store::open(&self.cli.store, self.catalog.clone(), options)
            .with_context(|| format!("could not open the store at {}", self.cli.store.display()))
    }

    pub(super) fn print_json(&self, v: &impl serde::Serialize) -> anyhow::Result<()> {
        println!("{}", serde_json::to_string_pretty(v)?);
        Ok(())
    }

    pub(super) fn kind_label(&self, kind: &str) -> String {
        match self.catalog.kind(kind) {
            Some(k) => format!("{} ({})", self.t(&k.label_zh, &k.label_en), k.name),
            None => kind.to_owned(),
        }
    }
}
