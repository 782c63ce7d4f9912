// Links the Go c-archive built by `go build -buildmode=c-archive` in gosum/
// and generates the Rust declarations of its exports from the header cgo
// wrote beside it.

use std::env;
use std::path::PathBuf;

fn main() {
    println!("cargo:rustc-link-search=native=./gosum");
    println!("cargo:rustc-link-lib=static=gosum");

    println!("cargo:rerun-if-changed=wrapper.h");
    println!("cargo:rerun-if-changed=gosum/libgosum.h");
    println!("cargo:rerun-if-changed=gosum/libgosum.a");

    let bindings = bindgen::Builder::default()
        .header("wrapper.h")
        .allowlist_function("Go.*")
        .allowlist_type("GoString")
        // No rustfmt: the bindings are the same whatever is installed.
        .formatter(bindgen::Formatter::None)
        .generate()
        .expect("bindgen could not read wrapper.h");

    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    bindings
        .write_to_file(out.join("bindings.rs"))
        .expect("could not write bindings.rs");
}
