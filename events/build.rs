//! The catalog is embedded by `include_dir!` (see `catalog.rs`); this only tells cargo
//! to build again when a file in `catalog/` changes, which the macro cannot.
fn main() {
    println!("cargo:rerun-if-changed=catalog");
}
