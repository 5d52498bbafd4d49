//! `annals seal`: the log's head as a seal to paste into a report or send on.
use std::process::ExitCode;

use super::Ctx;

impl Ctx<'_> {
    pub(super) fn seal(&self) -> anyhow::Result<ExitCode> {
        let seal = self.open()?.seal()?;
        if self.cli.json {
            self.print_json(&seal)?;
        } else {
            println!("{seal}");
        }
        Ok(ExitCode::SUCCESS)
    }
}
