//! `annals show`: one event and every correction of it.
use std::process::ExitCode;

use anyhow::{bail, Context};
use serde_json::json;

use super::Ctx;

impl Ctx<'_> {
    pub(super) fn show(&self, id: &str) -> anyhow::Result<ExitCode> {
        let id: uuid::Uuid = id
            .parse()
            .with_context(|| format!("'{id}' is not an event id (UUID)"))?;
        let store = self.open()?;
        let Some(event) = store.get(id)? else {
            bail!("there is no event {id}");
        };
        let corrections = store.corrections_of(id)?;
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
