//! Herald's FCM transport: the Firebase Cloud Messaging HTTP v1 API.
//!
//! - `configure` validates the settings and the service-account key file ([`settings`]).
//! - `render` builds the message without its token once ([`payload`]).
//! - `send-batch` makes sure it holds an OAuth2 access token ([`oauth`]: fetched with one
//!   `http-send` when there is none or it is about to expire), then makes one
//!   `POST <base_url>/v1/projects/<project_id>/messages:send` per target, all in ONE
//!   `http-send` call, and maps each answer to an outcome ([`response`]).
//!
//! Only `component` touches the WebAssembly boundary; the rest is plain Rust tested natively
//! against a fake [`Host`].

mod bindings;
mod component;
mod oauth;
mod payload;
mod response;
mod settings;

use bindings::herald::transport::host::{HttpError, Level, Request, Response};
use bindings::herald::transport::types::{Info, Message, Outcome, Setting, Target};

/// What the plugin uses of Herald's capabilities, so sending runs against a fake in tests.
pub(crate) trait Host {
    /// Executes requests concurrently; one result per request, in order.
    fn http_send(&self, requests: &[Request]) -> Vec<Result<Response, HttpError>>;
    /// Unix time in milliseconds.
    fn now_ms(&self) -> u64;
    /// Writes to Herald's log.
    fn log(&self, level: Level, message: &str);
}

/// What this transport is.
pub(crate) fn describe() -> Info {
    Info {
        name: "fcm".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        platforms: vec!["android".into()],
    }
}

/// A configured transport: its settings and the access token it reuses across batches.
pub(crate) struct Fcm {
    settings: settings::Settings,
    access: Option<oauth::AccessToken>,
}

impl Fcm {
    /// Validates the settings.
    pub(crate) fn configure(settings: &[Setting]) -> Result<Fcm, String> {
        Ok(Fcm {
            settings: settings::Settings::parse(settings)?,
            access: None,
        })
    }

    /// Renders a push into the payload `send` uses for every device.
    pub(crate) fn render(&self, message: &Message) -> Result<Vec<u8>, String> {
        let rendered = payload::render(message)?;
        serde_json::to_vec(&rendered).map_err(|e| format!("cannot serialize the payload: {e}"))
    }

    /// Sends the payload to each target; one outcome per target, in order. An empty token is
    /// reported invalid without a request.
    pub(crate) fn send(
        &mut self,
        host: &impl Host,
        payload: &[u8],
        targets: &[Target],
    ) -> Vec<Outcome> {
        let mut rendered = match payload::Rendered::decode(payload) {
            Ok(rendered) => rendered,
            Err(e) => return vec![Outcome::Failed(e); targets.len()],
        };
        let mut outcomes = Vec::with_capacity(targets.len());
        let mut pending = Vec::with_capacity(targets.len());
        for (i, target) in targets.iter().enumerate() {
            if target.token.is_empty() {
                outcomes.push(Outcome::InvalidToken);
            } else {
                pending.push(i);
                // Replaced by the answer below.
                outcomes.push(Outcome::Delivered);
            }
        }
        if pending.is_empty() {
            return outcomes;
        }

        let now_ms = host.now_ms();
        let access = match self.access_token(host, now_ms) {
            Ok(token) => token,
            Err(outcome) => {
                for &i in &pending {
                    outcomes[i] = outcome.clone();
                }
                return outcomes;
            }
        };
        let rest = match rendered.batch_json(now_ms / 1000) {
            Ok(rest) => rest,
            Err(e) => return vec![Outcome::Failed(e); targets.len()],
        };
        let s = &self.settings;
        let url = format!("{}/v1/projects/{}/messages:send", s.base_url, s.project_id);
        let headers = vec![
            ("authorization".to_owned(), format!("Bearer {access}")),
            ("content-type".to_owned(), "application/json".to_owned()),
        ];
        let requests: Vec<Request> = pending
            .iter()
            .map(|&i| Request {
                method: "POST".into(),
                url: url.clone(),
                headers: headers.clone(),
                body: payload::request_body(&targets[i].token, &rest),
            })
            .collect();

        let results = host.http_send(&requests);
        let mut token_refused = false;
        for (k, &i) in pending.iter().enumerate() {
            outcomes[i] = match results.get(k) {
                Some(result) => {
                    let answer = response::classify(result);
                    token_refused |= answer.token_refused;
                    answer.outcome
                }
                None => Outcome::Failed(format!(
                    "Herald answered {} results for {} requests",
                    results.len(),
                    requests.len()
                )),
            };
        }
        if token_refused {
            host.log(
                Level::Warn,
                "FCM refused the access token: fetching a new one",
            );
            self.access = None;
        }
        outcomes
    }

    /// The access token to use at `now_ms`, fetched (one `http-send`) when there is none or
    /// it is due for renewal. The error is the outcome for every target of the batch.
    fn access_token(&mut self, host: &impl Host, now_ms: u64) -> Result<String, Outcome> {
        if let Some(access) = self.access.as_ref().filter(|a| a.fresh(now_ms)) {
            return Ok(access.token.clone());
        }
        self.access = None;
        let s = &self.settings;
        let request = oauth::exchange_request(s, now_ms);
        let results = host.http_send(std::slice::from_ref(&request));
        let result = results
            .into_iter()
            .next()
            .unwrap_or(Err(HttpError::Connection(
                "Herald answered no result for the token request".into(),
            )));
        match oauth::token_from(&result, &s.token_uri, now_ms) {
            Ok(access) => {
                host.log(
                    Level::Info,
                    &format!(
                        "new FCM access token for {}, renewed in {} s",
                        s.client_email,
                        access.renew_at_ms.saturating_sub(now_ms) / 1000
                    ),
                );
                let token = access.token.clone();
                self.access = Some(access);
                Ok(token)
            }
            Err(outcome) => {
                let level = match outcome {
                    Outcome::RetryAfter(_) => Level::Warn,
                    _ => Level::Error,
                };
                host.log(
                    level,
                    &format!("no FCM access token from {}: {outcome:?}", s.token_uri),
                );
                Err(outcome)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::tests::message;
    use crate::settings::tests::valid;
    use serde_json::Value;
    use std::cell::{Cell, RefCell};

    /// Grants `access-N` tokens for an hour at `/token`; answers sends by the token's last 3
    /// characters (`200`, `404`...). Records every batch.
    struct FakeHost {
        now_ms: Cell<u64>,
        batches: RefCell<Vec<Vec<Request>>>,
        grants: Cell<u32>,
        token_status: Cell<u16>,
    }

    impl FakeHost {
        fn new() -> FakeHost {
            FakeHost {
                now_ms: Cell::new(1_764_300_000_000),
                batches: RefCell::default(),
                grants: Cell::new(0),
                token_status: Cell::new(200),
            }
        }

        fn respond(&self, r: &Request) -> Result<Response, HttpError> {
            let ok = |status: u16, body: String| {
                Ok(Response {
                    status,
                    headers: vec![],
                    body: body.into_bytes(),
                })
            };
            if r.url.ends_with("/token") {
                return match self.token_status.get() {
                    200 => {
                        self.grants.set(self.grants.get() + 1);
                        ok(
                            200,
                            format!(
                                r#"{{"access_token":"access-{}","expires_in":3599,"token_type":"Bearer"}}"#,
                                self.grants.get()
                            ),
                        )
                    }
                    status => ok(status, r#"{"error":"invalid_grant"}"#.into()),
                };
            }
            let body: Value = serde_json::from_slice(&r.body).unwrap();
            let token = body["message"]["token"].as_str().unwrap();
            match &token[token.len() - 3..] {
                "000" => Err(HttpError::Timeout),
                "200" => ok(200, r#"{"name":"projects/herald-test/messages/1"}"#.into()),
                "404" => ok(
                    404,
                    r#"{"error":{"status":"NOT_FOUND","details":[{"errorCode":"UNREGISTERED"}]}}"#
                        .into(),
                ),
                "401" => ok(401, r#"{"error":{"status":"UNAUTHENTICATED"}}"#.into()),
                code => ok(code.parse().unwrap(), String::new()),
            }
        }
    }

    impl Host for FakeHost {
        fn http_send(&self, requests: &[Request]) -> Vec<Result<Response, HttpError>> {
            self.batches.borrow_mut().push(requests.to_vec());
            requests.iter().map(|r| self.respond(r)).collect()
        }

        fn now_ms(&self) -> u64 {
            self.now_ms.get()
        }

        fn log(&self, _level: Level, _message: &str) {}
    }

    fn target(token: &str) -> Target {
        Target {
            account: "alice".into(),
            token: token.into(),
        }
    }

    fn header<'a>(r: &'a Request, name: &str) -> Option<&'a str> {
        r.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn describe_names_the_android_platform() {
        let info = describe();
        assert_eq!(info.name, "fcm");
        assert_eq!(info.platforms, ["android"]);
        assert_eq!(info.version, env!("CARGO_PKG_VERSION"));
    }

    #[test]
    fn first_batch_fetches_a_token_then_sends_all_in_one_http_send() {
        let mut fcm = Fcm::configure(&valid()).unwrap();
        let host = FakeHost::new();
        let payload = fcm.render(&message()).unwrap();
        let outcomes = fcm.send(
            &host,
            &payload,
            &[
                target("a200"),
                target("b404"),
                target(""),
                target("c503"),
                target("d000"),
            ],
        );
        assert_eq!(
            outcomes,
            [
                Outcome::Delivered,
                Outcome::InvalidToken,
                Outcome::InvalidToken,
                Outcome::RetryAfter(5),
                Outcome::RetryAfter(5),
            ]
        );
        let batches = host.batches.borrow();
        assert_eq!(batches.len(), 2, "the token exchange, then the batch");
        assert_eq!(batches[0].len(), 1);
        assert_eq!(batches[0][0].url, "http://127.0.0.1:9/token");
        assert_eq!(batches[1].len(), 4);
        for r in &batches[1] {
            assert_eq!(r.method, "POST");
            assert_eq!(
                r.url,
                "http://127.0.0.1:9/v1/projects/herald-test/messages:send"
            );
            assert_eq!(header(r, "authorization"), Some("Bearer access-1"));
            assert_eq!(header(r, "content-type"), Some("application/json"));
        }
        let body: Value = serde_json::from_slice(&batches[1][0].body).unwrap();
        assert_eq!(body["message"]["token"], "a200");
        assert_eq!(body["message"]["notification"]["body"], "50% off");
        assert_eq!(body["message"]["android"]["ttl"], "86400s");
        assert_eq!(body["message"]["data"]["pushId"], "1400000000_7_1764300000");
    }

    #[test]
    fn the_access_token_is_reused_until_shortly_before_it_expires() {
        let mut fcm = Fcm::configure(&valid()).unwrap();
        let host = FakeHost::new();
        let payload = fcm.render(&message()).unwrap();
        fcm.send(&host, &payload, &[target("a200")]);
        host.now_ms.set(host.now_ms.get() + 54 * 60 * 1000);
        fcm.send(&host, &payload, &[target("a200")]);
        assert_eq!(host.grants.get(), 1);
        // 3599 s minus the 5-minute margin.
        host.now_ms.set(host.now_ms.get() + 60 * 1000);
        fcm.send(&host, &payload, &[target("a200")]);
        assert_eq!(host.grants.get(), 2);
        let batches = host.batches.borrow();
        let last = batches.last().unwrap();
        assert_eq!(header(&last[0], "authorization"), Some("Bearer access-2"));
        assert_eq!(batches.len(), 5, "exchange, send, send, exchange, send");
    }

    #[test]
    fn a_401_retries_at_once_with_a_new_token() {
        let mut fcm = Fcm::configure(&valid()).unwrap();
        let host = FakeHost::new();
        let payload = fcm.render(&message()).unwrap();
        assert_eq!(
            fcm.send(&host, &payload, &[target("a401"), target("b200")]),
            [Outcome::RetryAfter(0), Outcome::Delivered]
        );
        fcm.send(&host, &payload, &[target("b200")]);
        assert_eq!(host.grants.get(), 2);
    }

    #[test]
    fn a_refused_exchange_fails_the_batch_without_sending() {
        let mut fcm = Fcm::configure(&valid()).unwrap();
        let host = FakeHost::new();
        host.token_status.set(400);
        let payload = fcm.render(&message()).unwrap();
        let outcomes = fcm.send(&host, &payload, &[target("a200"), target("")]);
        assert_eq!(
            outcomes,
            [
                Outcome::Failed(
                    "the token endpoint http://127.0.0.1:9/token answered 400 invalid_grant".into()
                ),
                Outcome::InvalidToken,
            ]
        );
        assert_eq!(host.batches.borrow().len(), 1);
        host.token_status.set(503);
        assert_eq!(
            fcm.send(&host, &payload, &[target("a200")]),
            [Outcome::RetryAfter(5)]
        );
        host.token_status.set(200);
        assert_eq!(
            fcm.send(&host, &payload, &[target("a200")]),
            [Outcome::Delivered]
        );
    }

    #[test]
    fn no_request_when_no_target_has_a_token() {
        let mut fcm = Fcm::configure(&valid()).unwrap();
        let host = FakeHost::new();
        let payload = fcm.render(&message()).unwrap();
        assert_eq!(
            fcm.send(&host, &payload, &[target("")]),
            [Outcome::InvalidToken]
        );
        assert!(fcm.send(&host, &payload, &[]).is_empty());
        assert!(host.batches.borrow().is_empty());
    }

    #[test]
    fn a_foreign_payload_fails_every_target() {
        let mut fcm = Fcm::configure(&valid()).unwrap();
        let host = FakeHost::new();
        let outcomes = fcm.send(&host, b"{}", &[target("a200")]);
        assert!(
            matches!(&outcomes[0], Outcome::Failed(e) if e.contains("not rendered by the fcm"))
        );
        assert!(host.batches.borrow().is_empty());
    }
}
