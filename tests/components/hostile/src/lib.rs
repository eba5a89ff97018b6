//! A misbehaving transport for Herald's host tests (`tests/transport.rs`).
//!
//! It exports the `herald:transport/transport@0.1.0` world and behaves on demand:
//! - `render` loops forever when the message's push id is `loop`, allocates without bound
//!   when it is `oom`, traps (a panic, which aborts into `unreachable`) when it is `trap`,
//!   and otherwise renders the push id as the payload;
//! - `send-batch` answers per target token: `ok` or empty -> delivered, `dead` -> invalid token,
//!   `busy` -> retry after 0 s, `busy-once` -> retry once then delivered, `trap` -> a trap,
//!   `loop` -> loops forever, `publish` -> the host's `publish` to the target's account, a URL
//!   (`scheme://...`) -> a GET through the host's `http-send` (2xx delivered,
//!   410 invalid token, 429 and 5xx retry, a denied or failed request failed);
//! - `configure` refuses a `fail` setting and logs what it got.

use std::sync::atomic::{AtomicBool, Ordering};

use bindings::Guest;
use bindings::herald::transport::host;
use bindings::herald::transport::types::{Info, Message, Outcome, Setting, Target};

#[allow(unsafe_code, missing_docs, unreachable_pub)]
mod bindings {
    wit_bindgen::generate!({
        world: "transport",
        path: "../../../plugins/wit/herald-transport-0.1.0",
    });
}

struct Hostile;

/// Set after the first `busy-once` target answered "retry".
static BUSY_ONCE: AtomicBool = AtomicBool::new(false);

impl Guest for Hostile {
    fn describe() -> Info {
        Info {
            name: "hostile".to_owned(),
            version: "0.1.0".to_owned(),
            platforms: vec!["hostile".to_owned(), "calm".to_owned()],
        }
    }

    fn configure(settings: Vec<Setting>) -> Result<(), String> {
        if let Some(s) = settings.iter().find(|s| s.key == "fail") {
            return Err(format!("refusing setting fail={}", s.value));
        }
        host::log(
            host::Level::Info,
            &format!(
                "configured with {} settings at {} ms",
                settings.len(),
                host::now_ms()
            ),
        );
        Ok(())
    }

    fn render(message: Message) -> Result<Vec<u8>, String> {
        match message.push_id.as_str() {
            "loop" => spin(),
            "oom" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1u8; 1 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            "trap" => panic!("trap requested by the test"),
            "refuse" => Err("this push cannot be rendered".to_owned()),
            id => Ok(id.as_bytes().to_vec()),
        }
    }

    fn send_batch(payload: Vec<u8>, targets: Vec<Target>) -> Vec<Outcome> {
        let mut outcomes: Vec<Option<Outcome>> = Vec::with_capacity(targets.len());
        let mut requests = Vec::new();
        for (i, target) in targets.iter().enumerate() {
            let outcome = match target.token.as_str() {
                "" | "ok" => Some(Outcome::Delivered),
                "dead" => Some(Outcome::InvalidToken),
                "busy" => Some(Outcome::RetryAfter(0)),
                "busy-once" if !BUSY_ONCE.swap(true, Ordering::Relaxed) => {
                    Some(Outcome::RetryAfter(0))
                }
                "busy-once" => Some(Outcome::Delivered),
                "trap" => panic!("trap requested by the test in send-batch"),
                "loop" => spin(),
                "publish" => Some(match host::publish(&target.account, &payload) {
                    Ok(0) => Outcome::Failed("no live session".to_owned()),
                    Ok(_) => Outcome::Delivered,
                    Err(e) => Outcome::Failed(e),
                }),
                url if url.contains("://") => {
                    requests.push((
                        i,
                        host::Request {
                            method: "GET".to_owned(),
                            url: url.to_owned(),
                            headers: vec![("x-herald-test".to_owned(), "1".to_owned())],
                            body: Vec::new(),
                        },
                    ));
                    None
                }
                other => Some(Outcome::Failed(format!("unknown test token {other:?}"))),
            };
            outcomes.push(outcome);
        }
        if !requests.is_empty() {
            let (slots, requests): (Vec<usize>, Vec<host::Request>) = requests.into_iter().unzip();
            for (slot, answer) in slots.into_iter().zip(host::http_send(&requests)) {
                outcomes[slot] = Some(match answer {
                    Ok(r) if (200..300).contains(&r.status) => Outcome::Delivered,
                    Ok(r) if r.status == 410 => Outcome::InvalidToken,
                    Ok(r) if r.status == 429 || r.status >= 500 => Outcome::RetryAfter(0),
                    Ok(r) => Outcome::Failed(format!("status {}", r.status)),
                    Err(host::HttpError::Denied(why)) => Outcome::Failed(format!("denied: {why}")),
                    Err(host::HttpError::Timeout) => Outcome::RetryAfter(0),
                    Err(host::HttpError::Connection(why)) => {
                        Outcome::Failed(format!("connection: {why}"))
                    }
                });
            }
        }
        outcomes
            .into_iter()
            .map(|o| o.unwrap_or_else(|| Outcome::Failed("no answer".to_owned())))
            .collect()
    }
}

/// Burns CPU forever; only the host's deadline ends it.
fn spin() -> ! {
    let mut n: u64 = 0;
    loop {
        n = std::hint::black_box(n.wrapping_add(1));
    }
}

/// The component's exports: wit-bindgen's glue around [`Hostile`].
#[allow(unsafe_code)]
mod exports {
    use super::{Hostile, bindings::export};

    export!(Hostile with_types_in crate::bindings);
}
