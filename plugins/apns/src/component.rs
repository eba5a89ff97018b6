//! The WebAssembly glue: the exports Herald calls, forwarding to [`Apns`] with Herald's
//! imports as the [`Host`]. The configured transport lives in a static: a component instance
//! is single-threaded, and Herald calls `configure` before anything else.

use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::bindings::Guest;
use crate::bindings::herald::transport::host::{self, HttpError, Level, Request, Response};
use crate::bindings::herald::transport::types::{Info, Message, Outcome, Setting, Target};
use crate::{Apns, Host};

/// The transport `configure` made (and its cached provider token).
static STATE: Mutex<Option<Apns>> = Mutex::new(None);

fn state() -> MutexGuard<'static, Option<Apns>> {
    STATE.lock().unwrap_or_else(PoisonError::into_inner)
}

const NOT_CONFIGURED: &str = "the apns transport is not configured";

/// The component's exports (exported on wasm32 only; natively the glue is just compiled).
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
struct Component;

/// Herald's imports.
struct Herald;

impl Host for Herald {
    fn http_send(&self, requests: &[Request]) -> Vec<Result<Response, HttpError>> {
        host::http_send(requests)
    }

    fn now_ms(&self) -> u64 {
        host::now_ms()
    }

    fn log(&self, level: Level, message: &str) {
        host::log(level, message);
    }
}

impl Guest for Component {
    fn describe() -> Info {
        crate::describe()
    }

    fn configure(settings: Vec<Setting>) -> Result<(), String> {
        *state() = Some(Apns::configure(&settings)?);
        Ok(())
    }

    fn render(message: Message) -> Result<Vec<u8>, String> {
        match &*state() {
            Some(apns) => apns.render(&message),
            None => Err(NOT_CONFIGURED.into()),
        }
    }

    fn send_batch(payload: Vec<u8>, targets: Vec<Target>) -> Vec<Outcome> {
        match &mut *state() {
            Some(apns) => apns.send(&Herald, &payload, &targets),
            None => vec![Outcome::Failed(NOT_CONFIGURED.into()); targets.len()],
        }
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
