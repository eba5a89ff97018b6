//! Builds the built-in transports (`plugins/inapp`, `plugins/apns`, `plugins/fcm`) from source
//! as WebAssembly components, so the binary always embeds the plugins of its own commit:
//! `cargo build --target wasm32-wasip2 --profile plugin` in its own target folder
//! (`target/plugins`, shared by debug and release builds), then the three `.wasm` files are
//! copied to `OUT_DIR` for `src/transport/builtin.rs` to embed.
//!
//! The nested cargo shares the outer build's jobserver, so the machine is not oversubscribed.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The built-in plugin crates, by the name Herald knows them under.
const PLUGINS: [(&str, &str); 3] = [
    ("inapp", "herald-plugin-inapp"),
    ("apns", "herald-plugin-apns"),
    ("fcm", "herald-plugin-fcm"),
];

fn main() {
    let root = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("set by cargo"));
    for watched in [
        "build.rs",
        "Cargo.lock",
        "plugins/wit",
        "plugins/sdk",
        "plugins/inapp",
        "plugins/apns",
        "plugins/fcm",
    ] {
        println!("cargo::rerun-if-changed={watched}");
    }
    println!("cargo::rerun-if-env-changed=CARGO_TARGET_DIR");

    let target_dir = env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|dir| {
            if dir.is_absolute() {
                dir
            } else {
                root.join(dir)
            }
        })
        .unwrap_or_else(|| root.join("target"))
        .join("plugins");
    let mut cargo = Command::new(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cargo
        .current_dir(&root)
        .args([
            "build",
            "--locked",
            "--target",
            "wasm32-wasip2",
            "--profile",
            "plugin",
        ])
        .arg("--target-dir")
        .arg(&target_dir);
    for (_, package) in PLUGINS {
        cargo.args(["-p", package]);
    }
    // What cargo set for this build script is not for the nested build (flags, target,
    // profile); keep only how to reach cargo's home, the jobserver and the network settings.
    for (key, _) in env::vars_os() {
        let Some(key) = key.to_str() else { continue };
        let keep = matches!(key, "CARGO_HOME" | "CARGO_MAKEFLAGS")
            || key.starts_with("CARGO_NET_")
            || key.starts_with("CARGO_HTTP_")
            || key.starts_with("CARGO_REGISTRIES_");
        if (key.starts_with("CARGO_") && !keep)
            || matches!(
                key,
                "RUSTFLAGS" | "RUSTC_WORKSPACE_WRAPPER" | "TARGET" | "HOST"
            )
        {
            cargo.env_remove(key);
        }
    }
    let status = cargo.status().expect("run cargo for the built-in plugins");
    if !status.success() {
        panic!(
            "building the built-in plugins for wasm32-wasip2 failed ({status}); the target comes \
             with the toolchain in rust-toolchain.toml (`rustup target add wasm32-wasip2` if \
             your rustup did not install it)"
        );
    }
    for (name, package) in PLUGINS {
        let built = target_dir
            .join("wasm32-wasip2/plugin")
            .join(format!("{}.wasm", package.replace('-', "_")));
        copy(&built, &out.join(format!("{name}.wasm")));
    }
}

fn copy(from: &Path, to: &Path) {
    if let Err(e) = std::fs::copy(from, to) {
        panic!("copy {} to {}: {e}", from.display(), to.display());
    }
}
