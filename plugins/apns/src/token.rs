//! The provider token: an ES256 JWT Apple accepts for up to an hour and asks providers not to
//! renew more often than every 20 minutes. One token is made and reused for every request.
//! Its `iat` is the start of the current [`REFRESH_AFTER_MS`] window, not the moment it was
//! made: the signature is deterministic, so every instance of the plugin (Herald runs
//! several) and every restart within a window send the very same token, and Apple sees one
//! token per 50 minutes, never `TooManyProviderTokenUpdates`. After `ExpiredProviderToken`
//! (the clocks disagree) the next token is issued at the exact time instead.
//!
//! ```text
//! header  {"alg":"ES256","kid":"<key_id>"}
//! claims  {"iss":"<team_id>","iat":<Unix seconds>}
//! ```

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use serde::Serialize;

/// The window of a token: 50 minutes, well inside Apple's 60 and above its 20.
pub(crate) const REFRESH_AFTER_MS: u64 = 50 * 60 * 1000;

#[derive(Serialize)]
struct Header<'a> {
    alg: &'static str,
    kid: &'a str,
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    iat: u64,
}

/// Signs a provider token issued at `iat` (Unix seconds). ECDSA signing here is
/// deterministic (RFC 6979), so it needs no random source.
pub(crate) fn provider_token(key: &SigningKey, key_id: &str, team_id: &str, iat: u64) -> String {
    let header = Header {
        alg: "ES256",
        kid: key_id,
    };
    let claims = Claims { iss: team_id, iat };
    let mut jwt = String::with_capacity(200);
    // Serializing two structs of strings and a number cannot fail.
    URL_SAFE_NO_PAD.encode_string(serde_json::to_vec(&header).unwrap_or_default(), &mut jwt);
    jwt.push('.');
    URL_SAFE_NO_PAD.encode_string(serde_json::to_vec(&claims).unwrap_or_default(), &mut jwt);
    let signature: Signature = key.sign(jwt.as_bytes());
    jwt.push('.');
    // JWS ES256 is the raw r || s (64 bytes), not DER.
    URL_SAFE_NO_PAD.encode_string(signature.to_bytes(), &mut jwt);
    jwt
}

/// The token in use and the window it belongs to.
#[derive(Default)]
pub(crate) struct TokenCache {
    current: Option<(String, u64)>,
    /// Apple called the last token expired: issue the next one at the exact time.
    exact: bool,
}

impl TokenCache {
    /// The token to use at `now_ms`, made anew when there is none or the window changed
    /// (also when the clock went back). The flag tells whether it is new.
    pub(crate) fn get(&mut self, now_ms: u64, make: impl FnOnce(u64) -> String) -> (&str, bool) {
        let window = now_ms - now_ms % REFRESH_AFTER_MS;
        let stale = self.current.as_ref().is_none_or(|(_, w)| *w != window);
        if stale {
            let iat_ms = if std::mem::take(&mut self.exact) {
                now_ms
            } else {
                window
            };
            self.current = Some((make(iat_ms / 1000), window));
        }
        let (token, _) = self.current.as_ref().expect("set above");
        (token.as_str(), stale)
    }

    /// Forgets the token, so the next batch makes a new one issued now (after
    /// `ExpiredProviderToken`).
    pub(crate) fn invalidate(&mut self) {
        self.current = None;
        self.exact = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::tests::TEST_KEY;
    use p256::ecdsa::VerifyingKey;
    use p256::ecdsa::signature::Verifier;
    use p256::pkcs8::DecodePrivateKey;
    use serde_json::{Value, json};

    fn part(jwt: &str, i: usize) -> Vec<u8> {
        URL_SAFE_NO_PAD
            .decode(jwt.split('.').nth(i).unwrap())
            .unwrap()
    }

    #[test]
    fn token_has_apples_header_and_claims_and_verifies_with_the_public_key() {
        let key = SigningKey::from_pkcs8_pem(TEST_KEY).unwrap();
        let jwt = provider_token(&key, "KEY0000001", "ABCDE12345", 1_764_300_000);
        assert_eq!(jwt.split('.').count(), 3);
        let header: Value = serde_json::from_slice(&part(&jwt, 0)).unwrap();
        assert_eq!(header, json!({"alg": "ES256", "kid": "KEY0000001"}));
        let claims: Value = serde_json::from_slice(&part(&jwt, 1)).unwrap();
        assert_eq!(claims, json!({"iss": "ABCDE12345", "iat": 1_764_300_000}));

        let signature = part(&jwt, 2);
        assert_eq!(signature.len(), 64, "raw r||s");
        let signature = Signature::from_slice(&signature).unwrap();
        let signed = jwt.rsplit_once('.').unwrap().0;
        let public = VerifyingKey::from(&key);
        public.verify(signed.as_bytes(), &signature).unwrap();
        assert!(public.verify(b"something else", &signature).is_err());
    }

    #[test]
    fn signing_is_deterministic() {
        let key = SigningKey::from_pkcs8_pem(TEST_KEY).unwrap();
        assert_eq!(
            provider_token(&key, "KEY0000001", "ABCDE12345", 5),
            provider_token(&key, "KEY0000001", "ABCDE12345", 5)
        );
    }

    #[test]
    fn cache_reuses_the_token_for_its_50_minute_window_then_renews() {
        let mut cache = TokenCache::default();
        let make = |iat: u64| format!("token@{iat}");
        // A window start (1_764_300_000 s is a multiple of 3,000 s).
        let t0 = 1_764_300_000_000;
        assert_eq!(cache.get(t0, make), ("token@1764300000", true));
        assert_eq!(cache.get(t0 + 1, make), ("token@1764300000", false));
        assert_eq!(
            cache.get(t0 + REFRESH_AFTER_MS - 1, make),
            ("token@1764300000", false)
        );
        assert_eq!(
            cache.get(t0 + REFRESH_AFTER_MS, make),
            ("token@1764303000", true)
        );
    }

    #[test]
    fn instances_made_at_different_times_in_a_window_send_the_same_token() {
        let key = SigningKey::from_pkcs8_pem(TEST_KEY).unwrap();
        let make = |iat: u64| provider_token(&key, "KEY0000001", "ABCDE12345", iat);
        let (mut first, mut second) = (TokenCache::default(), TokenCache::default());
        let t0 = 1_764_300_000_000;
        let a = first.get(t0 + 7_000, make).0.to_owned();
        let b = second.get(t0 + 29 * 60 * 1000, make).0.to_owned();
        assert_eq!(a, b);
        let claims: Value = serde_json::from_slice(&part(&a, 1)).unwrap();
        assert_eq!(claims["iat"], 1_764_300_000);
    }

    #[test]
    fn cache_renews_after_invalidate_at_the_exact_time_and_when_the_clock_goes_back() {
        let mut cache = TokenCache::default();
        let make = |iat: u64| format!("token@{iat}");
        let t0 = 1_764_300_000_000;
        cache.get(t0 + 10_000, make);
        cache.invalidate();
        assert_eq!(cache.get(t0 + 11_000, make), ("token@1764300011", true));
        assert_eq!(cache.get(t0 + 12_000, make), ("token@1764300011", false));
        // Back into the previous window: a token of that window.
        assert_eq!(cache.get(t0 - 1_000, make), ("token@1764297000", true));
    }
}
