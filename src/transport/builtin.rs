//! Plugins built into the binary: `build.rs` builds `plugins/{inapp,apns,fcm}` from source as
//! WebAssembly components on every build of Herald that changes them, and they are embedded
//! here, so `herald serve` needs no extra file and always runs its own commit's plugins.

/// The names of the built-in plugins.
pub(crate) const NAMES: [&str; 3] = ["inapp", "apns", "fcm"];

/// The embedded component of that name.
pub(crate) fn builtin(name: &str) -> Option<&'static [u8]> {
    match name {
        "inapp" => Some(include_bytes!(concat!(env!("OUT_DIR"), "/inapp.wasm"))),
        "apns" => Some(include_bytes!(concat!(env!("OUT_DIR"), "/apns.wasm"))),
        "fcm" => Some(include_bytes!(concat!(env!("OUT_DIR"), "/fcm.wasm"))),
        _ => None,
    }
}
