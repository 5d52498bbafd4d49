//! `annals verify`: the store's chain and snapshot, an exported file, or the log against
//! a seal; a failure names the first bad seq and exits non-zero.
use std::{path::PathBuf, process::ExitCode};

use anyhow::Context;
use serde_json::json;

use super::Ctx;
use crate::{intake::jsonl, store::Store};

impl Ctx<'_> {
    pub(super) fn verify(
        &self,
        file: Option<&PathBuf>,
        against: Option<&crate::store::Seal>,
    ) -> anyhow::Result<ExitCode> {
        if let Some(path) = file {
            let bytes = std::fs::read(path)
                .with_context(|| format!("could not read {}", path.display()))?;
            return match jsonl::verify_file(&self.catalog, &bytes) {
                Ok((count, hash)) => {
                    self.print_verified(count, &hash.to_string())?;
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("{}: {e}", self.t("校验失败", "verification failed"));
                    Ok(ExitCode::FAILURE)
                }
            };
        }
        let store = self.open()?;
        match against {
            Some(seal) => self.print_verification(store.verify_against(seal)?),
            None => self.report_verify(&store),
        }
    }

    pub(super) fn report_verify(&self, store: &Store) -> anyhow::Result<ExitCode> {
        self.print_verification(crate::views::verify(store)?)
    }

    pub(super) fn print_verification(
        &self,
        result: Result<crate::store::VerifyReport, crate::store::VerifyFailure>,
    ) -> anyhow::Result<ExitCode> {
        match result {
            Ok(report) => {
                self.print_verified(report.count, &report.head_hash.to_string())?;
                Ok(ExitCode::SUCCESS)
            }
            Err(failure) => {
                if self.cli.json {
                    self.print_json(
                        &json!({"ok": false, "seq": failure.seq, "reason": failure.reason}),
                    )?;
                }
                eprintln!("{}: {failure}", self.t("校验失败", "verification failed"));
                Ok(ExitCode::FAILURE)
            }
        }
    }

    pub(super) fn print_verified(&self, count: u64, hash: &str) -> anyhow::Result<()> {
        if self.cli.json {
            return self.print_json(&json!({"ok": true, "count": count, "head_hash": hash}));
        }
        println!(
            "{} {count}  {} {hash}",
            self.t("校验通过，记录数：", "verified; events:"),
            self.t("链头哈希：", "head hash:")
        );
        Ok(())
    }
}
