//! `annals kinds`: the catalog's kinds and their fields.
use std::process::ExitCode;

use super::Ctx;

impl Ctx<'_> {
    pub(super) fn kinds(&self) -> anyhow::Result<ExitCode> {
        if self.cli.json {
            return self
                .print_json(&self.catalog.kinds().collect::<Vec<_>>())
                .map(|_| ExitCode::SUCCESS);
        }
        for k in self.catalog.kinds() {
            println!("{}  {}", k.name, self.t(&k.label_zh, &k.label_en));
            for f in &k.fields {
                let req = if f.required {
                    self.t("（必填）", " (required)")
                } else {
                    ""
                };
                println!(
                    "    {:<18} {}{req}  [{:?}]",
                    f.name,
                    self.t(&f.label_zh, &f.label_en),
                    f.ty
                );
            }
        }
        Ok(ExitCode::SUCCESS)
    }
}
