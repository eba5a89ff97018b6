//! The WebAssembly glue: the exports Herald calls, forwarding to the plain-Rust logic with
//! Herald's imports as the [`Host`](crate::Host). Not [`herald_plugin_sdk::export_transport!`]:
//! this transport keeps no state, so it renders and sends without a `configure` first.

use herald_plugin_sdk::bindings::Guest;
use herald_plugin_sdk::bindings::herald::transport::host;
use herald_plugin_sdk::{Herald, Info, Message, Outcome, Setting, Target};

/// The component's exports (exported on wasm32 only; natively the glue is just compiled).
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
struct Component;

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

herald_plugin_sdk::export_guest!(Component);
