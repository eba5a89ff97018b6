//! Herald's APNs transport: Apple's HTTP/2 provider API with token-based authentication.
//!
//! - `configure` validates the settings ([`settings`]) and keeps the signing key.
//! - `render` builds the notification JSON and the per-push headers once ([`payload`]).
//! - `send-batch` makes one `POST <base_url>/3/device/<token>` per target, all in ONE
//!   `http-send` call (Herald runs them concurrently over its HTTP/2 pool), with the cached
//!   ES256 provider token ([`token`]), and maps each answer to an outcome ([`response`]).
//!
//! Only the glue of [`herald_plugin_sdk::export_transport!`] touches the WebAssembly boundary;
//! the rest is plain Rust tested natively against a fake [`Host`].

mod payload;
mod response;
mod settings;
mod token;

use herald_plugin_sdk::batch::Batch;
use herald_plugin_sdk::{Host, Info, Level, Message, Outcome, Request, Setting, Target, Transport};

herald_plugin_sdk::export_transport!(Apns);

/// A configured transport: its settings and the provider token it reuses across batches.
pub(crate) struct Apns {
    settings: settings::Settings,
    token: token::TokenCache,
}

impl Transport for Apns {
    fn describe() -> Info {
        herald_plugin_sdk::info("apns", env!("CARGO_PKG_VERSION"), &["ios"])
    }

    fn configure(settings: &[Setting]) -> Result<Apns, String> {
        Ok(Apns {
            settings: settings::Settings::parse(settings)?,
            token: token::TokenCache::default(),
        })
    }

    fn render(&self, message: &Message) -> Result<Vec<u8>, String> {
        herald_plugin_sdk::payload::encode(&payload::render(&self.settings, message)?)
    }

    /// A token that is not hex cannot be an APNs device token and is reported invalid
    /// without a request.
    fn send(&mut self, host: &impl Host, payload: &[u8], targets: &[Target]) -> Vec<Outcome> {
        let rendered = match payload::Rendered::decode(payload) {
            Ok(rendered) => rendered,
            Err(e) => return vec![Outcome::Failed(e); targets.len()],
        };
        let mut batch = Batch::new(targets, is_device_token);
        if batch.pending.is_empty() {
            return batch.outcomes;
        }

        let s = &self.settings;
        let (jwt, new) = self.token.get(host.now_ms(), |iat| {
            token::provider_token(&s.key, &s.key_id, &s.team_id, iat)
        });
        if new {
            host.log(
                Level::Info,
                &format!(
                    "new APNs provider token (team {}, key {})",
                    s.team_id, s.key_id
                ),
            );
        }
        let mut headers = Vec::with_capacity(rendered.headers.len() + 1);
        headers.push(("authorization".to_owned(), format!("bearer {jwt}")));
        headers.extend(rendered.headers);
        let body = rendered.body.into_bytes();
        let requests: Vec<Request> = batch
            .pending
            .iter()
            .map(|&i| Request {
                method: "POST".into(),
                url: format!("{}/3/device/{}", s.base_url, targets[i].token),
                headers: headers.clone(),
                body: body.clone(),
            })
            .collect();

        let results = host.http_send(&requests);
        if batch.record(&results, response::classify) {
            host.log(
                Level::Warn,
                "APNs says the provider token expired: renewing it (is the clock right?)",
            );
            self.token.invalidate();
        }
        batch.outcomes
    }
}

/// An APNs device token: hex digits, as apps receive it (64 today; Apple may lengthen it).
fn is_device_token(token: &str) -> bool {
    !token.is_empty() && token.len() <= 200 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::tests::{TEST_KEY, valid};
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use herald_plugin_sdk::testing::{
        Service, assert_a_foreign_payload_fails, assert_no_request_without_a_usable_token, header,
        message, response, setting, target,
    };
    use herald_plugin_sdk::{HttpError, Response};
    use p256::ecdsa::signature::Verifier;
    use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
    use p256::pkcs8::DecodePrivateKey;
    use serde_json::Value;
    use std::cell::Cell;

    /// Answers each request by the last 3 characters of its token path (`200`, `410`...), or
    /// `ExpiredProviderToken` to all while `expired`.
    #[derive(Default)]
    struct Apple {
        expired: Cell<bool>,
    }

    impl Service for Apple {
        fn respond(&self, r: &Request) -> Result<Response, HttpError> {
            if self.expired.get() {
                return response(403, r#"{"reason":"ExpiredProviderToken"}"#, &[]);
            }
            match &r.url[r.url.len() - 3..] {
                "000" => Err(HttpError::Timeout),
                "200" => response(200, "", &[("apns-id", "x")]),
                code => response(
                    code.parse().unwrap(),
                    r#"{"reason":"Unregistered"}"#,
                    &[("apns-id", "x")],
                ),
            }
        }
    }

    type FakeHost = herald_plugin_sdk::testing::FakeHost<Apple>;

    fn configured() -> Apns {
        let mut settings = valid();
        settings.push(setting("base_url", "http://127.0.0.1:9/"));
        Apns::configure(&settings).unwrap()
    }

    #[test]
    fn describe_names_the_ios_platform() {
        let info = Apns::describe();
        assert_eq!(
            (info.name.as_str(), info.platforms.as_slice()),
            ("apns", &["ios".to_owned()][..])
        );
        assert_eq!(info.version, env!("CARGO_PKG_VERSION"));
    }

    #[test]
    fn one_http_send_per_batch_with_one_request_per_device() {
        let mut apns = configured();
        let host = FakeHost::new();
        let payload = apns.render(&message()).unwrap();
        let targets = [
            target("aaaa200"),
            target("bbbb410"),
            target("not-hex"),
            target("cccc503"),
            target("dddd000"),
            target(""),
        ];
        let outcomes = apns.send(&host, &payload, &targets);
        assert_eq!(
            outcomes,
            [
                Outcome::Delivered,
                Outcome::InvalidToken,
                Outcome::InvalidToken,
                Outcome::RetryAfter(5),
                Outcome::RetryAfter(5),
                Outcome::InvalidToken,
            ]
        );
        let batches = host.batches.borrow();
        assert_eq!(batches.len(), 1, "one http-send for the batch");
        let urls: Vec<&str> = batches[0].iter().map(|r| r.url.as_str()).collect();
        assert_eq!(
            urls,
            [
                "http://127.0.0.1:9/3/device/aaaa200",
                "http://127.0.0.1:9/3/device/bbbb410",
                "http://127.0.0.1:9/3/device/cccc503",
                "http://127.0.0.1:9/3/device/dddd000",
            ]
        );
        let r = &batches[0][0];
        assert_eq!(r.method, "POST");
        assert_eq!(header(r, "apns-topic"), Some("com.example.app"));
        assert_eq!(header(r, "apns-push-type"), Some("alert"));
        assert_eq!(header(r, "apns-priority"), Some("10"));
        assert_eq!(header(r, "apns-expiration"), Some("1764386400"));
        assert_eq!(
            header(r, "apns-collapse-id"),
            Some("1400000000_7_1764300000")
        );
        let body: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(body["aps"]["alert"]["body"], "50% off");
        assert!(batches[0].iter().all(|other| other.body == r.body));
    }

    #[test]
    fn authorization_is_a_verifiable_es256_provider_token() {
        let mut apns = configured();
        let host = FakeHost::new();
        let payload = apns.render(&message()).unwrap();
        apns.send(&host, &payload, &[target("aaaa200")]);
        let batches = host.batches.borrow();
        let auth = header(&batches[0][0], "authorization").unwrap();
        let jwt = auth.strip_prefix("bearer ").unwrap();
        let (signed, signature) = jwt.rsplit_once('.').unwrap();
        let signature = Signature::from_slice(&URL_SAFE_NO_PAD.decode(signature).unwrap()).unwrap();
        let public = VerifyingKey::from(&SigningKey::from_pkcs8_pem(TEST_KEY).unwrap());
        public.verify(signed.as_bytes(), &signature).unwrap();
        let claims: Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(signed.split('.').nth(1).unwrap())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(claims["iss"], "ABCDE12345");
        assert_eq!(claims["iat"], 1_764_300_000);
    }

    fn auth_of_last_batch(host: &FakeHost) -> String {
        let batches = host.batches.borrow();
        header(&batches[batches.len() - 1][0], "authorization")
            .unwrap()
            .to_owned()
    }

    #[test]
    fn the_provider_token_is_reused_then_renewed_after_50_minutes() {
        let mut apns = configured();
        let host = FakeHost::new();
        let payload = apns.render(&message()).unwrap();
        apns.send(&host, &payload, &[target("aaaa200")]);
        let first = auth_of_last_batch(&host);
        host.now_ms.set(host.now_ms.get() + 49 * 60 * 1000);
        apns.send(&host, &payload, &[target("aaaa200")]);
        assert_eq!(auth_of_last_batch(&host), first);
        host.now_ms.set(host.now_ms.get() + 60 * 1000);
        apns.send(&host, &payload, &[target("aaaa200")]);
        assert_ne!(auth_of_last_batch(&host), first);
        assert_eq!(host.logs.borrow().len(), 2, "{:?}", host.logs.borrow());
    }

    #[test]
    fn an_expired_provider_token_is_renewed_for_the_next_batch() {
        let mut apns = configured();
        let host = FakeHost::new();
        let payload = apns.render(&message()).unwrap();
        apns.send(&host, &payload, &[target("aaaa200")]);
        let first = auth_of_last_batch(&host);
        host.service.expired.set(true);
        host.now_ms.set(host.now_ms.get() + 1000);
        let outcomes = apns.send(&host, &payload, &[target("aaaa200"), target("bbbb200")]);
        assert_eq!(outcomes, [Outcome::RetryAfter(0), Outcome::RetryAfter(0)]);
        host.service.expired.set(false);
        host.now_ms.set(host.now_ms.get() + 1000);
        assert_eq!(
            apns.send(&host, &payload, &[target("aaaa200")]),
            [Outcome::Delivered]
        );
        assert_ne!(auth_of_last_batch(&host), first);
    }

    #[test]
    fn no_request_when_no_target_has_a_device_token() {
        assert_no_request_without_a_usable_token(&mut configured(), &FakeHost::new(), "");
    }

    #[test]
    fn a_foreign_payload_fails_every_target() {
        let targets = [target("aaaa200"), target("bbbb200")];
        assert_a_foreign_payload_fails(&mut configured(), &FakeHost::new(), &targets);
    }
}
