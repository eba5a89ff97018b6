//! Herald's FCM transport: the Firebase Cloud Messaging HTTP v1 API.
//!
//! - `configure` validates the settings and the service-account key file ([`settings`]).
//! - `render` builds the message without its token once ([`payload`]).
//! - `send-batch` makes sure it holds an OAuth2 access token ([`oauth`]: fetched with one
//!   `http-send` when there is none or it is about to expire), then makes one
//!   `POST <base_url>/v1/projects/<project_id>/messages:send` per target, all in ONE
//!   `http-send` call, and maps each answer to an outcome ([`response`]).
//!
//! Only the glue of [`herald_plugin_sdk::export_transport!`] touches the WebAssembly boundary;
//! the rest is plain Rust tested natively against a fake [`Host`].

mod oauth;
mod payload;
mod response;
mod settings;

use herald_plugin_sdk::batch::Batch;
use herald_plugin_sdk::{
    Host, HttpError, Info, Level, Message, Outcome, Request, Setting, Target, Transport,
};

herald_plugin_sdk::export_transport!(Fcm);

/// A configured transport: its settings and the access token it reuses across batches.
pub(crate) struct Fcm {
    settings: settings::Settings,
    access: Option<oauth::AccessToken>,
}

impl Transport for Fcm {
    fn describe() -> Info {
        herald_plugin_sdk::info("fcm", env!("CARGO_PKG_VERSION"), &["android"])
    }

    fn configure(settings: &[Setting]) -> Result<Fcm, String> {
        Ok(Fcm {
            settings: settings::Settings::parse(settings)?,
            access: None,
        })
    }

    fn render(&self, message: &Message) -> Result<Vec<u8>, String> {
        herald_plugin_sdk::payload::encode(&payload::render(message)?)
    }

    /// An empty token is reported invalid without a request.
    fn send(&mut self, host: &impl Host, payload: &[u8], targets: &[Target]) -> Vec<Outcome> {
        let mut rendered = match payload::Rendered::decode(payload) {
            Ok(rendered) => rendered,
            Err(e) => return vec![Outcome::Failed(e); targets.len()],
        };
        let mut batch = Batch::new(targets, |token| !token.is_empty());
        if batch.pending.is_empty() {
            return batch.outcomes;
        }

        let now_ms = host.now_ms();
        let access = match self.access_token(host, now_ms) {
            Ok(token) => token,
            Err(outcome) => {
                batch.fail_pending(&outcome);
                return batch.outcomes;
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
        let requests: Vec<Request> = batch
            .pending
            .iter()
            .map(|&i| Request {
                method: "POST".into(),
                url: url.clone(),
                headers: headers.clone(),
                body: payload::request_body(&targets[i].token, &rest),
            })
            .collect();

        let results = host.http_send(&requests);
        if batch.record(&results, response::classify) {
            host.log(
                Level::Warn,
                "FCM refused the access token: fetching a new one",
            );
            self.access = None;
        }
        batch.outcomes
    }
}

impl Fcm {
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
    use crate::settings::tests::valid;
    use herald_plugin_sdk::Response;
    use herald_plugin_sdk::testing::{
        Service, assert_a_foreign_payload_fails, assert_no_request_without_a_usable_token, header,
        message, response, target,
    };
    use serde_json::Value;
    use std::cell::Cell;

    /// Grants `access-N` tokens for an hour at `/token` (or answers `token_status`); answers
    /// sends by the token's last 3 characters (`200`, `404`...).
    struct Google {
        grants: Cell<u32>,
        token_status: Cell<u16>,
    }

    impl Default for Google {
        fn default() -> Google {
            Google {
                grants: Cell::new(0),
                token_status: Cell::new(200),
            }
        }
    }

    impl Service for Google {
        fn respond(&self, r: &Request) -> Result<Response, HttpError> {
            if r.url.ends_with("/token") {
                return match self.token_status.get() {
                    200 => {
                        self.grants.set(self.grants.get() + 1);
                        let body = format!(
                            r#"{{"access_token":"access-{}","expires_in":3599,"token_type":"Bearer"}}"#,
                            self.grants.get()
                        );
                        response(200, &body, &[])
                    }
                    status => response(status, r#"{"error":"invalid_grant"}"#, &[]),
                };
            }
            let body: Value = serde_json::from_slice(&r.body).unwrap();
            let token = body["message"]["token"].as_str().unwrap();
            match &token[token.len() - 3..] {
                "000" => Err(HttpError::Timeout),
                "200" => response(200, r#"{"name":"projects/herald-test/messages/1"}"#, &[]),
                "404" => response(
                    404,
                    r#"{"error":{"status":"NOT_FOUND","details":[{"errorCode":"UNREGISTERED"}]}}"#,
                    &[],
                ),
                "401" => response(401, r#"{"error":{"status":"UNAUTHENTICATED"}}"#, &[]),
                code => response(code.parse().unwrap(), "", &[]),
            }
        }
    }

    type FakeHost = herald_plugin_sdk::testing::FakeHost<Google>;

    #[test]
    fn describe_names_the_android_platform() {
        let info = Fcm::describe();
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
        assert_eq!(host.service.grants.get(), 1);
        // 3599 s minus the 5-minute margin.
        host.now_ms.set(host.now_ms.get() + 60 * 1000);
        fcm.send(&host, &payload, &[target("a200")]);
        assert_eq!(host.service.grants.get(), 2);
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
        assert_eq!(host.service.grants.get(), 2);
    }

    #[test]
    fn a_refused_exchange_fails_the_batch_without_sending() {
        let mut fcm = Fcm::configure(&valid()).unwrap();
        let host = FakeHost::new();
        host.service.token_status.set(400);
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
        host.service.token_status.set(503);
        assert_eq!(
            fcm.send(&host, &payload, &[target("a200")]),
            [Outcome::RetryAfter(5)]
        );
        host.service.token_status.set(200);
        assert_eq!(
            fcm.send(&host, &payload, &[target("a200")]),
            [Outcome::Delivered]
        );
    }

    #[test]
    fn no_request_when_no_target_has_a_token() {
        let mut fcm = Fcm::configure(&valid()).unwrap();
        assert_no_request_without_a_usable_token(&mut fcm, &FakeHost::new(), "");
    }

    #[test]
    fn a_foreign_payload_fails_every_target() {
        let mut fcm = Fcm::configure(&valid()).unwrap();
        assert_a_foreign_payload_fails(&mut fcm, &FakeHost::new(), &[target("a200")]);
    }
}
