//! A Herald transport that POSTs each push as JSON to a URL.
//!
//! This is the example the tutorial (`README.md` beside this crate) walks through. Herald
//! calls four exports, defined by the WIT contract `herald:transport@0.1.0`:
//!
//! 1. `describe`: who we are (`webhook`, serving the `webhook` platform);
//! 2. `configure`: the `[plugins.webhook.settings]` table: here only `url`;
//! 3. `render`: once per push, the JSON every target will get: `{"push": {...}}`;
//! 4. `send-batch`: once per batch of targets: one POST per target with
//!    `{"account", "token", "push"}`, all handed to Herald in ONE `http-send` call.
//!
//! Everything except the [`Guest`] impl is plain Rust, unit-tested natively with
//! `cargo test -p herald-webhook-plugin`.

use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use bindings::Guest;
use bindings::herald::transport::host::{self, HttpError, Request, Response};
use bindings::herald::transport::types::{Info, Message, Outcome, Setting, Target};

/// The Rust side of the WIT contract, generated at compile time from the `.wit` file: a
/// type per WIT type, a function per import, and the `Guest` trait for the exports.
mod bindings {
    // Generated code: undocumented, with unsafe glue, and unused in a native build.
    #![allow(dead_code, missing_docs, unsafe_code)]
    wit_bindgen::generate!({
        path: "../../plugins/wit/herald-transport-0.1.0",
        world: "transport",
        // So tests can compare outcomes with `assert_eq!`.
        additional_derives: [PartialEq, Eq],
    });
}

/// The URL from `configure`. A component instance runs one call at a time, so a `Mutex`
/// never waits; it only makes the static safe to share.
static URL: Mutex<Option<String>> = Mutex::new(None);

/// How long to wait before retrying when the receiver does not say.
const DEFAULT_RETRY_SECS: u32 = 5;

/// The component: Herald calls these four functions.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))] // no export in a native build
struct Webhook;

impl Guest for Webhook {
    fn describe() -> Info {
        Info {
            name: "webhook".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            platforms: vec!["webhook".into()],
        }
    }

    fn configure(settings: Vec<Setting>) -> Result<(), String> {
        let url = parse_settings(&settings)?;
        *URL.lock().unwrap_or_else(|e| e.into_inner()) = Some(url);
        Ok(())
    }

    fn render(message: Message) -> Result<Vec<u8>, String> {
        render_push(&message)
    }

    fn send_batch(payload: Vec<u8>, targets: Vec<Target>) -> Vec<Outcome> {
        let url = URL.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let Some(url) = url else {
            return vec![Outcome::Failed("not configured".into()); targets.len()];
        };
        let requests = match build_requests(&url, &payload, &targets) {
            Ok(requests) => requests,
            Err(e) => return vec![Outcome::Failed(e); targets.len()],
        };
        // One call for the whole batch: Herald sends the requests concurrently and answers
        // in the same order.
        let results = host::http_send(&requests);
        let mut outcomes: Vec<Outcome> = results.iter().map(outcome).collect();
        outcomes.resize(
            targets.len(),
            Outcome::Failed("no answer from Herald".into()),
        );
        outcomes
    }
}

/// Reads the settings: `url` is required, an `http://` or `https://` URL. An unknown key is
/// refused, so a typo does not go unnoticed.
fn parse_settings(settings: &[Setting]) -> Result<String, String> {
    let mut url = None;
    for setting in settings {
        match setting.key.as_str() {
            "url" => url = Some(setting.value.trim()),
            other => return Err(format!("unknown setting `{other}` (known: url)")),
        }
    }
    let url = url.ok_or("setting `url` is required")?;
    if url.starts_with("https://") || url.starts_with("http://") {
        Ok(url.to_owned())
    } else {
        Err(format!("setting `url`: {url:?} is not an http(s) URL"))
    }
}

/// What the receiver gets about the push (`body` is the push's MsgBody JSON as is).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Push<'a> {
    id: &'a str,
    seq: u64,
    sender: &'a str,
    body: &'a RawValue,
    /// Unix seconds.
    sent_at: u64,
    /// Unix seconds.
    expires_at: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    notification: Option<Notification<'a>>,
}

/// The push's notification fields, when it has them.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Notification<'a> {
    title: Option<&'a str>,
    body: &'a str,
    ext: Option<&'a str>,
}

/// The payload `render` makes.
#[derive(Serialize)]
struct Envelope<'a> {
    push: Push<'a>,
}

/// `render`: `{"push": {...}}`, built once per push.
fn render_push(message: &Message) -> Result<Vec<u8>, String> {
    let body: &RawValue = serde_json::from_str(&message.body_json)
        .map_err(|e| format!("body-json is not JSON: {e}"))?;
    let push = Push {
        id: &message.push_id,
        seq: message.seq,
        sender: &message.sender,
        body,
        sent_at: message.sent_at,
        expires_at: message.expires_at,
        notification: message.notification.as_ref().map(|n| Notification {
            title: n.title.as_deref(),
            body: &n.body,
            ext: n.ext.as_deref(),
        }),
    };
    serde_json::to_vec(&Envelope { push }).map_err(|e| e.to_string())
}

/// The rendered payload, read back in `send-batch` without re-parsing the push.
#[derive(Deserialize)]
struct Rendered<'a> {
    #[serde(borrow)]
    push: &'a RawValue,
}

/// One request body per target.
#[derive(Serialize)]
struct Delivery<'a> {
    account: &'a str,
    token: &'a str,
    push: &'a RawValue,
}

/// `send-batch`, part 1: one POST per target, each with `{"account", "token", "push"}`.
fn build_requests(url: &str, payload: &[u8], targets: &[Target]) -> Result<Vec<Request>, String> {
    let rendered: Rendered<'_> = serde_json::from_slice(payload)
        .map_err(|e| format!("the payload was not rendered by this plugin: {e}"))?;
    targets
        .iter()
        .map(|target| {
            let body = serde_json::to_vec(&Delivery {
                account: &target.account,
                token: &target.token,
                push: rendered.push,
            })
            .map_err(|e| e.to_string())?;
            Ok(Request {
                method: "POST".into(),
                url: url.to_owned(),
                headers: vec![("content-type".into(), "application/json".into())],
                body,
            })
        })
        .collect()
}

/// `send-batch`, part 2: the answer for one target. 2xx is delivered; 429 and 5xx are
/// retried (after the receiver's `retry-after` seconds, else 5); no answer in time or a
/// failed connection are retried too; anything else failed.
fn outcome(result: &Result<Response, HttpError>) -> Outcome {
    match result {
        Ok(r) if (200..300).contains(&r.status) => Outcome::Delivered,
        Ok(r) if r.status == 429 || r.status >= 500 => {
            let retry_after = r
                .headers
                .iter()
                .find(|(name, _)| name == "retry-after")
                .and_then(|(_, value)| value.trim().parse().ok());
            Outcome::RetryAfter(retry_after.unwrap_or(DEFAULT_RETRY_SECS))
        }
        Ok(r) => Outcome::Failed(format!("the webhook answered {}", r.status)),
        Err(HttpError::Timeout | HttpError::Connection(_)) => {
            Outcome::RetryAfter(DEFAULT_RETRY_SECS)
        }
        Err(HttpError::Denied(why)) => Outcome::Failed(format!("Herald denied the request: {why}")),
    }
}

// Export `Webhook` as the component's implementation of the world. Only on wasm32: a native
// build (for `cargo test`) has no component to export.
#[cfg(target_arch = "wasm32")]
mod exports {
    #![allow(unsafe_code)]
    use super::Webhook;
    crate::bindings::export!(Webhook with_types_in crate::bindings);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn message() -> Message {
        Message {
            push_id: "1400000000_7_1764300000".into(),
            seq: 7,
            sender: "administrator".into(),
            body_json: r#"[{"MsgType":"TIMTextElem","MsgContent":{"Text":"hi"}}]"#.into(),
            sent_at: 1_764_300_000,
            expires_at: 1_764_386_400,
            notification: None,
        }
    }

    fn answer(status: u16, headers: &[(&str, &str)]) -> Result<Response, HttpError> {
        Ok(Response {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect(),
            body: vec![],
        })
    }

    #[test]
    fn settings_need_an_http_url() {
        let url = |v: &str| Setting {
            key: "url".into(),
            value: v.into(),
        };
        assert_eq!(
            parse_settings(&[url("https://example.com/hook")]),
            Ok("https://example.com/hook".into())
        );
        assert_eq!(parse_settings(&[]), Err("setting `url` is required".into()));
        assert!(parse_settings(&[url("example.com")]).is_err());
        let typo = Setting {
            key: "uri".into(),
            value: "x".into(),
        };
        assert_eq!(
            parse_settings(&[typo]),
            Err("unknown setting `uri` (known: url)".into())
        );
    }

    #[test]
    fn each_target_gets_the_push_with_its_account_and_token() {
        let payload = render_push(&message()).unwrap();
        let targets = [
            Target {
                account: "alice".into(),
                token: "t1".into(),
            },
            Target {
                account: "bob".into(),
                token: String::new(),
            },
        ];
        let requests = build_requests("http://127.0.0.1:9/hook", &payload, &targets).unwrap();
        assert_eq!(requests.len(), 2);
        assert_eq!(requests[0].method, "POST");
        assert_eq!(requests[0].url, "http://127.0.0.1:9/hook");
        let body: Value = serde_json::from_slice(&requests[0].body).unwrap();
        assert_eq!(
            body,
            json!({
                "account": "alice",
                "token": "t1",
                "push": {
                    "id": "1400000000_7_1764300000",
                    "seq": 7,
                    "sender": "administrator",
                    "body": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "hi"}}],
                    "sentAt": 1_764_300_000,
                    "expiresAt": 1_764_386_400,
                },
            })
        );
        let body: Value = serde_json::from_slice(&requests[1].body).unwrap();
        assert_eq!(body["account"], "bob");
    }

    #[test]
    fn answers_map_to_outcomes() {
        assert_eq!(outcome(&answer(204, &[])), Outcome::Delivered);
        assert_eq!(
            outcome(&answer(429, &[("retry-after", "30")])),
            Outcome::RetryAfter(30)
        );
        assert_eq!(outcome(&answer(503, &[])), Outcome::RetryAfter(5));
        assert_eq!(
            outcome(&answer(404, &[])),
            Outcome::Failed("the webhook answered 404".into())
        );
        assert_eq!(outcome(&Err(HttpError::Timeout)), Outcome::RetryAfter(5));
        assert_eq!(
            outcome(&Err(HttpError::Denied("example.com is not allowed".into()))),
            Outcome::Failed("Herald denied the request: example.com is not allowed".into())
        );
    }
}
