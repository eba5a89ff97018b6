//! Plugins built into the binary: `plugins/dist/<name>.wasm`, committed copies of what
//! `cargo plugins` builds, embedded with `include_bytes!` so `herald serve` needs no extra
//! file. `build.rs` sets `herald_builtin_<name>` for each file present when Herald is
//! compiled; a missing file makes that name an unknown built-in, not a compile error.

/// The names Herald may have built in.
pub(crate) const NAMES: [&str; 3] = ["inapp", "apns", "fcm"];

/// The embedded component of that name, if this build has it.
pub(crate) fn builtin(name: &str) -> Option<&'static [u8]> {
    match name {
        #[cfg(herald_builtin_inapp)]
        "inapp" => Some(include_bytes!("../../plugins/dist/inapp.wasm")),
        #[cfg(herald_builtin_apns)]
        "apns" => Some(include_bytes!("../../plugins/dist/apns.wasm")),
        #[cfg(herald_builtin_fcm)]
        "fcm" => Some(include_bytes!("../../plugins/dist/fcm.wasm")),
        _ => None,
    }
}

/// The built-ins this build has.
pub(crate) fn available() -> Vec<&'static str> {
    NAMES.into_iter().filter(|n| builtin(n).is_some()).collect()
}
