//! Picks the linker script for the bare-metal target being built.
use std::env;

fn main() {
    println!("cargo:rerun-if-changed=link");
    if env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("none") {
        return; // hosted build (unit tests): the platform linker knows best
    }
    let script = match env::var("CARGO_CFG_TARGET_ARCH").as_deref() {
        Ok("arm") => "cortex-m.x",
        Ok("riscv32") => "riscv32.x",
        other => panic!("beacon-fw has no linker script for architecture {other:?}"),
    };
    // A search path plus a bare name keeps absolute paths out of rustc's
    // arguments, so the build does not depend on where the tree is.
    let dir = env::var("CARGO_MANIFEST_DIR").unwrap();
    println!("cargo:rustc-link-search={dir}/link");
    println!("cargo:rustc-link-arg=-T{script}");
}
