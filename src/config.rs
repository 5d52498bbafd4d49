//! Where the catalog comes from: the embedded default, or a deployment's own folder.
use std::path::Path;

use anyhow::Context;
use events::Catalog;

/// Reads every `*.toml` in `dir` (sorted by name) as the catalog, or the embedded one.
pub fn load_catalog(dir: Option<&Path>) -> anyhow::Result<Catalog> {
    let Some(dir) = dir else {
        return Ok(Catalog::embedded());
    };
    let files = read_toml_files(dir).with_context(|| format!("could not read the catalog folder {}", dir.display()))?;
    Catalog::from_files(files.iter().map(|(n, t)| (n.as_str(), t.as_str())))
        .with_context(|| format!("the catalog in {} is not valid", dir.display()))
}

/// `(file name, contents)` of every `*.toml` file in a folder, sorted by name.
pub fn read_toml_files(dir: &Path) -> std::io::Result<Vec<(String, String)>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "toml") {
            let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
            files.push((name, std::fs::read_to_string(&path)?));
        }
    }
    files.sort();
    Ok(files)
}
