//! `annals record`: one event from `--set FIELD=VALUE` pairs or `--data` JSON.
use std::process::ExitCode;

use anyhow::{bail, Context};
use events::{Draft, NewEvent};
use serde_json::{Map, Value};

use super::Ctx;
use crate::store::Batch;

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
        let def = self
            .catalog
            .require_kind(kind)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let data = match data {
            Some(text) => serde_json::from_str(text).context("--data is not valid JSON")?,
            None => {
                let mut map = Map::new();
                let mut errors = Vec::new();
                for pair in set {
                    let Some((field, value)) = pair.split_once('=') else {
                        bail!("--set {pair}: expected FIELD=VALUE");
                    };
                    match def.field(field.trim()) {
                        Some(f) => match f.coerce(value) {
                            Ok(v) => {
                                map.insert(f.name.clone(), v);
                            }
                            Err(reason) => errors.push(format!("data.{field}: {reason}")),
                        },
                        None => errors.push(format!(
                            "data.{field}: is not a field of {kind}; its fields are: {}",
                            def.fields
                                .iter()
                                .map(|f| f.name.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )),
                    }
                }
                if !errors.is_empty() {
                    bail!("{}", errors.join("\n"));
                }
                Value::Object(map)
            }
        };
        let draft = Draft {
            id,
            kind: kind.to_owned(),
            occurred,
            data,
            ..Draft::default()
        };
        let event = NewEvent::parse(&self.catalog, draft)?;
        let store = self.open()?;
        let receipts = store.append(Batch {
            events: vec![event],
            expected_seq,
            author: self.cli.by.clone(),
            import: None,
        })?;
        let r = &receipts[0];
        if self.cli.json {
            self.print_json(r)?;
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
