//! Where the catalog, metrics and report templates come from: the embedded defaults,
//! or a deployment's own folders.
use std::path::Path;

use anyhow::Context;
use events::{
    catalog::{EnumValue, TARGET_SET},
    Catalog,
};

/// The field of `target_set` that names a metric.
const TARGET_METRIC: &str = "metric";

/// Reads every `*.toml` in `dir` (sorted by name) as the catalog, or the embedded one,
/// with `target_set`'s metric made a choice of the metrics defined in `metrics` (or the
/// embedded ones), by name or Chinese label: a year's target for a metric that does not
/// exist is refused on every way in, as any other value outside an enum is.
pub fn load_catalog(dir: Option<&Path>, metrics: Option<&Path>) -> anyhow::Result<Catalog> {
    let mut catalog = match dir {
        None => Catalog::embedded(),
        Some(dir) => {
            let files = read_files(dir, "toml")
                .with_context(|| format!("could not read the catalog folder {}", dir.display()))?;
            Catalog::from_files(files.iter().map(|(n, t)| (n.as_str(), t.as_str())))
                .with_context(|| format!("the catalog in {} is not valid", dir.display()))?
        }
    };
    let defined = load_metrics(metrics, &catalog)?;
    let choices = defined
        .iter()
        .map(|m| EnumValue {
            value: m.name.clone(),
            label_zh: m.label_zh.clone(),
            label_en: m.label_en.clone(),
        })
        .collect();
    catalog.set_choices(TARGET_SET, TARGET_METRIC, choices)?;
    Ok(catalog)
}

/// `(file name, contents)` of every `*.{ext}` file in a folder, sorted by name.
pub fn read_files(dir: &Path, ext: &str) -> std::io::Result<Vec<(String, String)>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == ext) {
            let name = path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            files.push((name, std::fs::read_to_string(&path)?));
        }
    }
    files.sort();
    Ok(files)
}

/// Reads every `*.toml` in `dir` as the metric definitions, or the embedded ones, and
/// checks them against the catalog.
pub fn load_metrics(
    dir: Option<&Path>,
    catalog: &Catalog,
) -> anyhow::Result<projections::metric::Metrics> {
    use projections::metric::Metrics;
    let Some(dir) = dir else {
        return Metrics::embedded(catalog)
            .context("the embedded metric definitions do not match the catalog");
    };
    let files = read_files(dir, "toml")
        .with_context(|| format!("could not read the metrics folder {}", dir.display()))?;
    Metrics::from_files(files.iter().map(|(n, t)| (n.as_str(), t.as_str())), catalog)
        .with_context(|| format!("the metrics in {} are not valid", dir.display()))
}

/// Reads every `*.j2` in `dir` as the report templates, or the embedded ones.
pub fn load_templates(dir: Option<&Path>) -> anyhow::Result<projections::report::Templates> {
    use projections::report::Templates;
    let Some(dir) = dir else {
        return Templates::embedded().context("the embedded report templates do not parse");
    };
    let files = read_files(dir, "j2")
        .with_context(|| format!("could not read the templates folder {}", dir.display()))?;
    Templates::from_files(files)
        .with_context(|| format!("the templates in {} are not valid", dir.display()))
}
