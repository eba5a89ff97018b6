//! The generated bindings of the contract, `plugins/wit/herald-transport-0.1.0`
//! (`herald:transport/transport@0.1.0`), async on both sides.

#![allow(missing_docs, unreachable_pub, clippy::all)]

wasmtime::component::bindgen!({
    world: "transport",
    path: "plugins/wit/herald-transport-0.1.0",
    imports: { default: async },
    exports: { default: async },
});
