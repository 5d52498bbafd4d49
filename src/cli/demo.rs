//! `annals demo`: the example dataset loaded into an empty store, summarised and verified.
use std::process::ExitCode;

use serde_json::json;

use super::Ctx;
use crate::{
    intake::{self, jsonl},
    store::{Filter, Store},
};

impl Ctx<'_> {
    /// Loads the example dataset into an empty store, saying so; true if it did.
    pub(super) fn load_demo_if_empty(&self, store: &Store) -> anyhow::Result<bool> {
        // A store with tokens has been in use: with no events it lost them, and demo
        // data would hide that.
        if store.head()?.seq != 0 || store.has_tokens()? {
            return Ok(false);
        }
        let outcome = jsonl::import(
            store,
            crate::EXAMPLE_DATASET.as_bytes(),
            crate::EXAMPLE_NAME,
            &self.cli.by,
            intake::Trust::Operator,
            false,
            &mut |_, _| {},
        )?;
        println!(
            "{} {} {}",
            self.t(
                "存储为空，已载入演示数据（示例：2023年上半年），共",
                "The store was empty; loaded the demo dataset (2023 H1):"
            ),
            outcome.added,
            self.t(
                "条。这是演示数据，不是真实记录。",
                "events. This is demo data, not a real record."
            )
        );
        Ok(true)
    }

    pub(super) fn demo(&self) -> anyhow::Result<ExitCode> {
        let store = self.open()?;
        self.load_demo_if_empty(&store)?;
        self.summary(&store)?;
        self.report_verify(&store)
    }

    pub(super) fn summary(&self, store: &Store) -> anyhow::Result<()> {
        let mut counts: std::collections::BTreeMap<String, u64> = Default::default();
        for e in store.scan(Filter::default()) {
            *counts.entry(e?.kind).or_default() += 1;
        }
        if self.cli.json {
            return self.print_json(
                &json!({"store": store.path(), "head": store.head()?, "kinds": counts}),
            );
        }
        println!(
            "{} {}",
            self.t("存储位置：", "Store:"),
            store.path().display()
        );
        for (kind, n) in &counts {
            println!(
                "  {} {:>6}",
                super::table::pad(&self.kind_label(kind), 28),
                n
            );
        }
        let head = store.head()?;
        println!(
            "{} {}  {} {}",
            self.t("记录总数：", "Events:"),
            head.seq,
            self.t("链头哈希：", "Head hash:"),
            head.hash
        );
        Ok(())
    }
}
