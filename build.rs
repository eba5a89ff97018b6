//! Tells the crate which built-in plugins exist: `plugins/dist/<name>.wasm` present at
//! compile time sets `cfg(herald_builtin_<name>)` (see `src/transport/builtin.rs`). Reads
//! file names only; it never runs cargo or generates code.

use std::path::Path;

fn main() {
    println!(
        "cargo::rustc-check-cfg=cfg(herald_builtin_inapp, herald_builtin_apns, herald_builtin_fcm)"
    );
    let dist = Path::new("plugins/dist");
    // Watch the folder, or its parent while it does not exist (a missing path would make
    // cargo rerun this script, and rebuild the crate, on every build).
    if dist.is_dir() {
        println!("cargo::rerun-if-changed=plugins/dist");
    } else if Path::new("plugins").is_dir() {
        println!("cargo::rerun-if-changed=plugins");
    }
    println!("cargo::rerun-if-changed=build.rs");
    for name in ["inapp", "apns", "fcm"] {
        if dist.join(format!("{name}.wasm")).is_file() {
            println!("cargo::rustc-cfg=herald_builtin_{name}");
        }
    }
}
