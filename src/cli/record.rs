//! `annals record`: one event from `--set FIELD=VALUE` pairs or `--data` JSON.
use std::process::ExitCode;

use anyhow::Context;

use super::Ctx;
use crate::intake;

impl Ctx<'_> {
    pub(super) fn record(
        &self,
        kind: &str,
        occurred: Option<String>,
        set: &[String],
        data: Option<&str>,
        id: Option<String>,
        expected_seq: Option<u64>,
    ) -> anyhow::Result<ExitCode> {
        let fields = match data {
            Some(text) => intake::Fields::Json(
                serde_json::from_str(text).context("--data is not valid JSON")?,
            ),
            None => intake::Fields::Typed(
                set.iter()
                    .map(|pair| match pair.split_once('=') {
                        Some((field, value)) => Ok((field.to_owned(), value.to_owned())),
                        None => Err(anyhow::anyhow!("--set {pair}: expected FIELD=VALUE")),
                    })
                    .collect::<anyhow::Result<_>>()?,
            ),
        };
        let submission = intake::Submission {
            kind: kind.to_owned(),
            occurred,
            fields,
            id,
        };
        let by = intake::Recorder {
            author: self.cli.by.clone(),
            expected_seq,
        };
        let store = self.open()?;
        let r = match intake::record(&store, submission, by) {
            Ok(r) => r,
            Err(e) => return self.refused(e),
        };
        if self.cli.json {
            self.print_json(&r)?;
        } else if r.existing {
            println!(
                "{} seq {} ({})",
                self.t("已存在，未重复记录：", "Already recorded, nothing written:"),
                r.seq,
                r.id
            );
        } else {
            println!(
                "{} seq {}  id {}  hash {}",
                self.t("已记录：", "Recorded:"),
                r.seq,
                r.id,
                r.hash
            );
        }
        Ok(ExitCode::SUCCESS)
    }
}
