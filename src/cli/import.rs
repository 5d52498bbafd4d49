//! `annals import`: a JSONL file, a workbook or a CSV sheet, all or nothing.
use std::{io::IsTerminal, path::PathBuf, process::ExitCode};

use anyhow::Context;

use super::Ctx;
use crate::intake::{self, Mode};

/// Imports of more lines than this show a progress bar on a terminal.
const PROGRESS_FROM_LINES: usize = 5_000;

impl Ctx<'_> {
    pub(super) fn import(&self, file: &PathBuf, dry_run: bool) -> anyhow::Result<ExitCode> {
        let bytes =
            std::fs::read(file).with_context(|| format!("could not read {}", file.display()))?;
        let store = self.open()?;
        // A bar only where someone watches, and only for files that take a moment.
        let show_progress = std::io::stderr().is_terminal();
        let mut progress = |done: usize, total: usize| {
            if show_progress && total > PROGRESS_FROM_LINES {
                eprint!("\r{} {done}/{total}", self.t("校验中", "checking"));
                if done == total {
                    eprintln!();
                }
            }
        };
        let options = intake::ImportOptions {
            name: &file.to_string_lossy(),
            author: &self.cli.by,
            trust: intake::Trust::Operator,
            dry_run,
            max_events: None,
        };
        let outcome = match intake::import_file(&store, &bytes, options, &mut progress) {
            Ok(outcome) => outcome,
            Err(e) => return self.refused(e),
        };
        if self.cli.json {
            self.print_json(&outcome)?;
        } else {
            let what = match outcome.mode {
                Mode::Restored => self.t(
                    "按原样恢复（保留序号、时间与哈希）",
                    "restored verbatim (seq, times and hashes kept)",
                ),
                Mode::Appended => self.t("作为新记录导入", "imported as new events"),
                Mode::Unchanged => self.t(
                    "全部已存在，未写入任何内容",
                    "everything was already there; nothing written",
                ),
                Mode::Checked => self.t("校验通过（未写入）", "checked; nothing written"),
            };
            println!(
                "{what}: {} {}, {} {}, {} {}, {} {}",
                self.t("行数", "lines"),
                outcome.lines,
                self.t("新增", "new"),
                outcome.added,
                self.t("已存在", "existing"),
                outcome.existing,
                self.t("冲突", "conflicting"),
                outcome.conflicting
            );
        }
        Ok(if outcome.conflicting > 0 {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        })
    }
}
