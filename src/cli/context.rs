//! What every command shares: the parsed command line, the catalog, and opening the
//! store, printing JSON, picking a language and reporting intake's refusals the same way.
use std::{process::ExitCode, sync::Arc};

use anyhow::Context;
use chrono::Utc;
use events::Catalog;
use projections::period::{Lang, Query};
use serde_json::json;

use super::{Cli, When};
use crate::{
    intake,
    store::{Options, Store},
};

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

    /// Every problem intake found, in the chosen language (or as JSON); other errors
    /// go on as errors: `record` and `import` report their refusals alike.
    pub(super) fn refused(&self, e: intake::IntakeError) -> anyhow::Result<ExitCode> {
        let en = self.cli.lang == Lang::En;
        let problems = match e {
            intake::IntakeError::Refused(problems) => problems,
            // What is wrong with the file as a whole, in the chosen language.
            intake::IntakeError::File(file) => {
                let said = file.text(en);
                if self.cli.json {
                    self.print_json(&json!({ "error": said }))?;
                } else {
                    eprintln!("{said}");
                }
                return Ok(ExitCode::FAILURE);
            }
            other => return Err(other.into()),
        };
        if self.cli.json {
            let errors: Vec<_> = problems.iter().map(|p| p.json(en)).collect();
            let error = self.t("校验未通过，未写入任何内容", "refused; nothing was written");
            self.print_json(&json!({"error": error, "total": problems.total(), "errors": errors}))?;
        } else {
            let said = self.t(
                "处问题，未写入任何内容：",
                "problem(s) found; nothing was written:",
            );
            eprintln!("{} {said}", problems.total());
            eprintln!("{}", problems.text(en));
        }
        Ok(ExitCode::FAILURE)
    }
}
