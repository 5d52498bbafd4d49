//! The office-file commands: the import template, the figures as a workbook and the
//! report as a Word document (the import itself is `annals import`, for every format).
use std::{path::Path, process::ExitCode};

use anyhow::{bail, Context};
use chrono::Utc;
use projections::{period::Bucket, report};

use super::{Ctx, ExportFormat, When};
use crate::{config, office, views};

/// Where the template goes when no `--out` is given.
const DEFAULT_TEMPLATE: &str = "annals-template.xlsx";

impl Ctx<'_> {
    /// Writes bytes to a file, saying where, so binary output never lands on a terminal.
    pub(super) fn write_file(&self, path: &Path, bytes: &[u8]) -> anyhow::Result<ExitCode> {
        std::fs::write(path, bytes)
            .with_context(|| format!("could not write {}", path.display()))?;
        eprintln!(
            "{} {} ({} bytes)",
            self.t("已写入", "wrote"),
            path.display(),
            bytes.len()
        );
        Ok(ExitCode::SUCCESS)
    }

    pub(super) fn template(&self, out: Option<&Path>) -> anyhow::Result<ExitCode> {
        let bytes = office::template::write(&self.catalog)?;
        self.write_file(out.unwrap_or(Path::new(DEFAULT_TEMPLATE)), &bytes)
    }

    pub(super) fn export_as(
        &self,
        format: ExportFormat,
        out: Option<&std::path::PathBuf>,
        when: &When,
        by: &str,
    ) -> anyhow::Result<ExitCode> {
        match format {
            ExportFormat::Jsonl => {
                if when.period.is_some() || when.on.is_some() || when.known_at.is_some() {
                    bail!("--period, --on and --known-at choose the figures of --format xlsx; the JSONL export is always the whole log");
                }
                self.export(out)
            }
            ExportFormat::Xlsx => {
                let Some(out) = out else {
                    bail!("--format xlsx writes a workbook: give it a file with --out FILE");
                };
                let by: Bucket = by.parse()?;
                let metrics = config::load_metrics(self.cli.metrics.as_deref(), &self.catalog)?;
                let query = self.query(when)?;
                let store = self.open()?;
                let facts = views::fold(&store)?;
                let head = store.head()?;
                let bytes = office::workbook::write(&office::workbook::Source {
                    facts: &facts,
                    metrics: &metrics,
                    query: &query,
                    by,
                    lang: self.cli.lang,
                    seal: Some(report::Seal {
                        seq: head.seq,
                        hash: head.hash.to_string(),
                    }),
                    now: Utc::now(),
                    offset: self.cli.utc_offset,
                })?;
                self.write_file(out, &bytes)
            }
        }
    }

    /// The report's Markdown laid out as a Word document.
    pub(super) fn report_docx(
        &self,
        markdown: &str,
        closing: &report::Closing,
        out: Option<&Path>,
    ) -> anyhow::Result<ExitCode> {
        let Some(out) = out else {
            bail!("--format docx writes a Word document: give it a file with --out FILE");
        };
        let bytes = office::docx::report(markdown, closing)?;
        self.write_file(out, &bytes)
    }
}
