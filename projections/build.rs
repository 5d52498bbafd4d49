//! Embeds every metric definition (`metrics/*.toml`) and report template
//! (`templates/*.j2`), so adding a metric is adding a file.
use std::{env, fs, path::Path};

fn embed(dir: &str, ext: &str, name: &str, doc: &str, out: &mut String) {
    println!("cargo:rerun-if-changed={dir}");
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap_or_else(|_| panic!("projections/{dir} exists"))
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(ext))
        .collect();
    names.sort();
    out.push_str(&format!(
        "/// {doc}\npub const {name}: &[(&str, &str)] = &[\n"
    ));
    for n in &names {
        out.push_str(&format!(
            "    ({n:?}, include_str!(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/{dir}/{n}\"))),\n"
        ));
    }
    out.push_str("];\n");
}

fn main() {
    let mut out = String::new();
    embed(
        "metrics",
        ".toml",
        "EMBEDDED_METRICS",
        "The metric files embedded at build time.",
        &mut out,
    );
    embed(
        "templates",
        ".j2",
        "EMBEDDED_TEMPLATES",
        "The report templates embedded at build time.",
        &mut out,
    );
    let dest = Path::new(&env::var("OUT_DIR").unwrap()).join("embedded.rs");
    fs::write(dest, out).expect("write embedded list");
}
