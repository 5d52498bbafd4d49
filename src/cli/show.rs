//! `annals show`: one event and every correction of it.
use std::process::ExitCode;

use anyhow::bail;
use serde_json::json;

use super::Ctx;

impl Ctx<'_> {
    pub(super) fn show(&self, seq_or_id: &str) -> anyhow::Result<ExitCode> {
        let store = self.open()?;
        let Some(event) = store.lookup(seq_or_id)? else {
            bail!("there is no event '{seq_or_id}' (give its seq or its id)");
        };
        let corrections = store.corrections_of(event.id)?;
        if self.cli.json {
            return self
                .print_json(&json!({"event": event, "corrections": corrections}))
                .map(|_| ExitCode::SUCCESS);
        }
        println!("{}", self.line(&event));
        println!("  id {}  hash {}", event.id, event.hash);
        for c in &corrections {
            println!("  ↳ {}", self.line(c));
        }
        Ok(ExitCode::SUCCESS)
    }
}
