//! The WebAssembly glue: the exports Herald calls, forwarding to the plain-Rust logic with
//! Herald's imports as the [`Host`](crate::Host).

use crate::bindings::Guest;
use crate::bindings::herald::transport::host;
use crate::bindings::herald::transport::types::{Info, Message, Outcome, Setting, Target};

/// The component's exports (exported on wasm32 only; natively the glue is just compiled).
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
struct Component;

/// Herald's imports.
struct Herald;

impl crate::Host for Herald {
    fn publish(&self, account: &str, payload: &[u8]) -> Result<u32, String> {
        host::publish(account, payload)
    }
}

impl Guest for Component {
    fn describe() -> Info {
        crate::describe()
    }

    fn configure(settings: Vec<Setting>) -> Result<(), String> {
        crate::configure(&settings)
    }

    fn render(message: Message) -> Result<Vec<u8>, String> {
        crate::envelope::render(&message)
    }

    fn send_batch(payload: Vec<u8>, targets: Vec<Target>) -> Vec<Outcome> {
        crate::send(&Herald, &payload, &targets)
    }
}

/// The canonical-ABI entry points wit-bindgen generates (the only unsafe code of the crate).
/// Not compiled natively, where they would be symbols such as `render` in test binaries.
#[cfg(target_arch = "wasm32")]
mod exports {
    #![allow(unsafe_code)]
    use super::Component;
    crate::bindings::export!(Component with_types_in crate::bindings);
}
