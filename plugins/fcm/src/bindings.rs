//! Types and imports generated from the WIT contract `herald:transport@0.1.0`.
//!
//! Compiled on every target, so the plain-Rust modules and their native tests use the
//! contract's own types. Natively the imports are stubs that are never called: only
//! `component` calls them, and it is exported on wasm32 only.

#![allow(dead_code, missing_docs, unreachable_pub, unsafe_code)]

wit_bindgen::generate!({
    path: "../wit/herald-transport-0.1.0",
    world: "transport",
    additional_derives: [PartialEq, Eq],
    pub_export_macro: false,
});
