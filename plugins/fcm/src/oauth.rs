//! The OAuth2 access token FCM requires, obtained with the service account's key (Google's
//! "JWT bearer" flow) and reused until shortly before it expires.
//!
//! ```text
//! POST <token_uri>
//! content-type: application/x-www-form-urlencoded
//!
//! grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=<JWT>
//!
//! JWT header  {"alg":"RS256","typ":"JWT","kid":"<private_key_id>"}
//! JWT claims  {"iss":"<client_email>","scope":"https://www.googleapis.com/auth/firebase.messaging",
//!              "aud":"<token_uri>","iat":<now>,"exp":<now + 3600>}
//!
//! answer      {"access_token":"ya29...","expires_in":3599,"token_type":"Bearer"}
//! ```

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use herald_plugin_sdk::response::{DEFAULT_RETRY_SECS, retry_after};
use herald_plugin_sdk::{HttpError, Outcome, Request, Response};
use rsa::signature::{SignatureEncoding, Signer};
use serde::{Deserialize, Serialize};

use crate::settings::Settings;

/// The scope that allows sending messages.
pub(crate) const SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";

/// The assertion's lifetime, the most Google accepts.
const ASSERTION_SECS: u64 = 3600;

/// A token is renewed this long before it expires (or at half its life, if shorter).
const MARGIN_MS: u64 = 5 * 60 * 1000;

#[derive(Serialize)]
struct Header<'a> {
    alg: &'static str,
    typ: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    kid: Option<&'a str>,
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    scope: &'static str,
    aud: &'a str,
    iat: u64,
    exp: u64,
}

/// The signed assertion, issued at `iat` (Unix seconds). PKCS#1 v1.5 signing is
/// deterministic, so it needs no random source.
pub(crate) fn assertion(settings: &Settings, iat: u64) -> String {
    let header = Header {
        alg: "RS256",
        typ: "JWT",
        kid: settings.private_key_id.as_deref(),
    };
    let claims = Claims {
        iss: &settings.client_email,
        scope: SCOPE,
        aud: &settings.token_uri,
        iat,
        exp: iat + ASSERTION_SECS,
    };
    let mut jwt = String::with_capacity(700);
    // Serializing two structs of strings and numbers cannot fail.
    URL_SAFE_NO_PAD.encode_string(serde_json::to_vec(&header).unwrap_or_default(), &mut jwt);
    jwt.push('.');
    URL_SAFE_NO_PAD.encode_string(serde_json::to_vec(&claims).unwrap_or_default(), &mut jwt);
    let signature = settings.key.sign(jwt.as_bytes());
    jwt.push('.');
    URL_SAFE_NO_PAD.encode_string(signature.to_bytes(), &mut jwt);
    jwt
}

/// The token request for an assertion issued at `now_ms`.
pub(crate) fn exchange_request(settings: &Settings, now_ms: u64) -> Request {
    // The JWT is base64url and dots: nothing in it needs percent-encoding.
    let body = format!(
        "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={}",
        assertion(settings, now_ms / 1000)
    );
    Request {
        method: "POST".into(),
        url: settings.token_uri.clone(),
        headers: vec![(
            "content-type".into(),
            "application/x-www-form-urlencoded".into(),
        )],
        body: body.into_bytes(),
    }
}

/// An access token and when to stop using it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct AccessToken {
    /// The bearer token.
    pub(crate) token: String,
    /// Unix milliseconds after which a new one is fetched.
    pub(crate) renew_at_ms: u64,
}

impl AccessToken {
    /// Whether it may still be used at `now_ms`.
    pub(crate) fn fresh(&self, now_ms: u64) -> bool {
        now_ms < self.renew_at_ms
    }
}

#[derive(Deserialize)]
struct Granted {
    access_token: String,
    expires_in: u64,
}

#[derive(Deserialize)]
struct Refused {
    error: String,
    #[serde(default)]
    error_description: String,
}

/// Reads the token endpoint's answer to a request sent at `sent_ms`. When there is no token,
/// the error is the outcome for every target of the batch.
pub(crate) fn token_from(
    result: &Result<Response, HttpError>,
    token_uri: &str,
    sent_ms: u64,
) -> Result<AccessToken, Outcome> {
    let response = match result {
        Ok(response) => response,
        Err(HttpError::Timeout | HttpError::Connection(_)) => {
            return Err(Outcome::RetryAfter(DEFAULT_RETRY_SECS));
        }
        Err(HttpError::Denied(why)) => {
            return Err(Outcome::Failed(format!(
                "Herald denied the token request to {token_uri}: {why}"
            )));
        }
    };
    match response.status {
        200 => {
            let granted: Granted = serde_json::from_slice(&response.body).map_err(|e| {
                Outcome::Failed(format!(
                    "the token endpoint {token_uri} gave no access token: {e}"
                ))
            })?;
            let life_ms = granted.expires_in.saturating_mul(1000);
            Ok(AccessToken {
                token: granted.access_token,
                renew_at_ms: sent_ms.saturating_add(life_ms - MARGIN_MS.min(life_ms / 2)),
            })
        }
        429 | 500..=599 => Err(Outcome::RetryAfter(retry_after(&response.headers))),
        status => {
            let why = serde_json::from_slice::<Refused>(&response.body)
                .map(|r| match r.error_description.as_str() {
                    "" => r.error,
                    d => format!("{}: {d}", r.error),
                })
                .unwrap_or_default();
            Err(Outcome::Failed(
                format!("the token endpoint {token_uri} answered {status} {why}")
                    .trim_end()
                    .to_owned(),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::tests::{TEST_KEY, valid};
    use rsa::pkcs1v15::{Signature, VerifyingKey};
    use rsa::pkcs8::DecodePrivateKey;
    use rsa::signature::Verifier;
    use rsa::{RsaPrivateKey, RsaPublicKey};
    use serde_json::{Value, json};
    use sha2::Sha256;

    fn settings() -> Settings {
        Settings::parse(&valid()).unwrap()
    }

    fn part(jwt: &str, i: usize) -> Vec<u8> {
        URL_SAFE_NO_PAD
            .decode(jwt.split('.').nth(i).unwrap())
            .unwrap()
    }

    fn answer(status: u16, body: &str) -> Result<Response, HttpError> {
        herald_plugin_sdk::testing::response(status, body, &[])
    }

    #[test]
    fn assertion_has_googles_claims_and_verifies_with_the_public_key() {
        let jwt = assertion(&settings(), 1_764_300_000);
        let header: Value = serde_json::from_slice(&part(&jwt, 0)).unwrap();
        assert_eq!(
            header,
            json!({"alg": "RS256", "typ": "JWT", "kid": "0123abcd"})
        );
        let claims: Value = serde_json::from_slice(&part(&jwt, 1)).unwrap();
        assert_eq!(
            claims,
            json!({
                "iss": "herald@herald-test.iam.gserviceaccount.com",
                "scope": "https://www.googleapis.com/auth/firebase.messaging",
                "aud": "http://127.0.0.1:9/token",
                "iat": 1_764_300_000,
                "exp": 1_764_303_600,
            })
        );
        let public = RsaPublicKey::from(RsaPrivateKey::from_pkcs8_pem(TEST_KEY).unwrap());
        let verifier = VerifyingKey::<Sha256>::new(public);
        let signature = Signature::try_from(part(&jwt, 2).as_slice()).unwrap();
        let signed = jwt.rsplit_once('.').unwrap().0;
        verifier.verify(signed.as_bytes(), &signature).unwrap();
        assert!(verifier.verify(b"other", &signature).is_err());
    }

    #[test]
    fn exchange_request_posts_the_form() {
        let r = exchange_request(&settings(), 1_764_300_000_123);
        assert_eq!(r.method, "POST");
        assert_eq!(r.url, "http://127.0.0.1:9/token");
        assert_eq!(
            r.headers,
            [(
                "content-type".to_owned(),
                "application/x-www-form-urlencoded".to_owned()
            )]
        );
        let body = String::from_utf8(r.body).unwrap();
        let assertion = body
            .strip_prefix(
                "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=",
            )
            .unwrap();
        let claims: Value = serde_json::from_slice(&part(assertion, 1)).unwrap();
        assert_eq!(claims["iat"], 1_764_300_000);
    }

    #[test]
    fn a_granted_token_is_renewed_five_minutes_before_it_expires() {
        let t = token_from(
            &answer(
                200,
                r#"{"access_token":"ya29.x","expires_in":3599,"token_type":"Bearer"}"#,
            ),
            "u",
            1_000_000,
        )
        .unwrap();
        assert_eq!(t.token, "ya29.x");
        assert_eq!(t.renew_at_ms, 1_000_000 + 3_599_000 - 300_000);
        assert!(t.fresh(t.renew_at_ms - 1));
        assert!(!t.fresh(t.renew_at_ms));
        // A short-lived token is renewed at half its life.
        let t = token_from(
            &answer(200, r#"{"access_token":"a","expires_in":60}"#),
            "u",
            0,
        )
        .unwrap();
        assert_eq!(t.renew_at_ms, 30_000);
    }

    #[test]
    fn a_refused_exchange_fails_or_retries() {
        assert_eq!(
            token_from(
                &answer(
                    400,
                    r#"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#
                ),
                "http://t",
                0
            ),
            Err(Outcome::Failed(
                "the token endpoint http://t answered 400 invalid_grant: Invalid JWT Signature."
                    .into()
            ))
        );
        assert_eq!(
            token_from(&answer(403, "nope"), "http://t", 0),
            Err(Outcome::Failed(
                "the token endpoint http://t answered 403".into()
            ))
        );
        assert!(matches!(
            token_from(&answer(200, "{}"), "http://t", 0),
            Err(Outcome::Failed(e)) if e.starts_with("the token endpoint http://t gave no access token")
        ));
        assert_eq!(
            token_from(&answer(503, ""), "http://t", 0),
            Err(Outcome::RetryAfter(5))
        );
        assert_eq!(
            token_from(&Err(HttpError::Timeout), "http://t", 0),
            Err(Outcome::RetryAfter(5))
        );
        assert_eq!(
            token_from(&Err(HttpError::Denied("not allowed".into())), "http://t", 0),
            Err(Outcome::Failed(
                "Herald denied the token request to http://t: not allowed".into()
            ))
        );
    }
}
