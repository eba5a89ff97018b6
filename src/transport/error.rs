//! Errors of the transport host: loading a plugin (user errors: config, file, contract) apart
//! from the failure of one call into a plugin (which fails only that batch).

use std::path::PathBuf;

/// Why a plugin could not be loaded or checked.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// `file` is unset and Herald has no built-in plugin of that name.
    #[error(
        "no built-in plugin named {0:?}: set `file` in [plugins.{0}] (the built-ins are inapp, \
         apns and fcm)"
    )]
    NoBuiltin(String),
    /// A `[plugins.<name>]` value is out of range or malformed.
    #[error("[plugins.{plugin}] {message}")]
    Config {
        /// The plugin's name in the config file.
        plugin: String,
        /// What is wrong, naming the key.
        message: String,
    },
    /// A file named by the config (the component, a CA file, an `@path` setting) cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The bytes are not WebAssembly at all.
    #[error("not a WebAssembly file (it does not start with the \\0asm header)")]
    NotWasm,
    /// The bytes are a core WebAssembly module, not a component.
    #[error(
        "a core WebAssembly module, not a component: build the plugin for the wasm32-wasip2 \
         target (or wrap it with `wasm-tools component new`)"
    )]
    NotComponent,
    /// The component does not compile (malformed or uses unsupported features).
    #[error("the component does not compile: {0}")]
    Compile(String),
    /// The component does not match the `herald:transport/transport@0.1.0` world: it imports
    /// something Herald does not grant, or lacks an export.
    #[error("not a herald:transport/transport@0.1.0 component: {0}")]
    WrongWorld(String),
    /// The component could not be instantiated, or `describe` failed.
    #[error("cannot start the plugin: {0}")]
    Instantiate(String),
    /// The plugin refused its settings (`configure` returned an error).
    #[error("plugin {plugin:?} refused its settings: {message}")]
    Configure {
        /// The plugin's name.
        plugin: String,
        /// The plugin's reason.
        message: String,
    },
    /// Two enabled plugins serve the same platform.
    #[error(
        "platform {platform:?} is served by both plugins {first:?} and {second:?}: \
         narrow one with `platforms = [...]` or disable it"
    )]
    PlatformConflict {
        /// The platform.
        platform: String,
        /// The plugin that claimed it first (by name order).
        first: String,
        /// The other one.
        second: String,
    },
    /// The WebAssembly engine could not be created.
    #[error("cannot create the WebAssembly engine: {0}")]
    Engine(String),
    /// The compiled-artifact cache folder cannot be created.
    #[error("plugin cache {path}: {source}")]
    Cache {
        /// The folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// Why one call into a plugin failed. The instance that failed is dropped and a new one is
/// instantiated; the batch is retried.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum CallError {
    /// The call ran past `call_timeout_ms` and was interrupted.
    #[error("plugin call exceeded its deadline of {0} ms")]
    Deadline(u64),
    /// The plugin tried to grow its memory past `memory_mib`.
    #[error("plugin exceeded its memory cap of {0} MiB")]
    Memory(usize),
    /// The plugin trapped (a panic, `unreachable`, an out-of-bounds access...).
    #[error("plugin trapped: {0}")]
    Trap(String),
    /// No instance could be created (the plugin failed to instantiate or to configure).
    #[error("plugin could not be restarted: {0}")]
    Restart(String),
}
