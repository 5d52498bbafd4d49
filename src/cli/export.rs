//! `annals export` as JSONL: the whole log, one envelope per line, to a file or stdout.
use std::{path::PathBuf, process::ExitCode};

use anyhow::Context;

use super::Ctx;
use crate::intake::jsonl;

impl Ctx<'_> {
    pub(super) fn export(&self, out: Option<&PathBuf>) -> anyhow::Result<ExitCode> {
        let store = self.open()?;
        let n = match out {
            Some(path) => {
                let file = std::fs::File::create(path)
                    .with_context(|| format!("could not create {}", path.display()))?;
                let mut w = std::io::BufWriter::new(file);
                let n = jsonl::export(&store, &mut w)?;
                w.into_inner()?.sync_all()?;
                n
            }
            None => jsonl::export(
                &store,
                &mut std::io::BufWriter::new(std::io::stdout().lock()),
            )?,
        };
        if out.is_some() {
            eprintln!("{} {n}", self.t("已导出记录：", "Exported events:"));
        }
        Ok(ExitCode::SUCCESS)
    }
}
