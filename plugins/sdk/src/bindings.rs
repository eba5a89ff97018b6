//! Types and imports generated from the WIT contract `herald:transport@0.1.0`, once for
//! every plugin.
//!
//! Compiled on every target, so the plugins' plain-Rust modules and their native tests use
//! the contract's own types. Natively the imports are stubs that are never called: only the
//! glue of [`export_transport!`](crate::export_transport) calls them, and it is exported on
//! wasm32 only. `export!` (public, for the plugin crates) makes a type the component's
//! exports.

#![allow(dead_code, missing_docs, unreachable_pub, unsafe_code)]

wit_bindgen::generate!({
    path: "../wit/herald-transport-0.1.0",
    world: "transport",
    additional_derives: [PartialEq, Eq],
    pub_export_macro: true,
    default_bindings_module: "herald_plugin_sdk::bindings",
});
