//! Embeds every `catalog/*.toml` file, so adding a kind is adding a file.
use std::{env, fs, path::Path};

fn main() {
    let dir = Path::new("catalog");
    println!("cargo:rerun-if-changed=catalog");
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("events/catalog exists")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    names.sort();
    let mut out = String::from("/// The catalog files embedded at build time: (file name, contents).\npub const EMBEDDED: &[(&str, &str)] = &[\n");
    for n in &names {
        out.push_str(&format!(
            "    ({n:?}, include_str!(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/catalog/{n}\"))),\n"
        ));
    }
    out.push_str("];\n");
    let dest = Path::new(&env::var("OUT_DIR").unwrap()).join("embedded_catalog.rs");
    fs::write(dest, out).expect("write embedded catalog list");
}
