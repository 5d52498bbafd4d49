//! The metrics and templates are embedded by `include_dir!` (see `lib.rs`); this only
//! tells cargo to build again when one of their files changes, which the macro cannot.
fn main() {
    println!("cargo:rerun-if-changed=metrics");
    println!("cargo:rerun-if-changed=templates");
}
