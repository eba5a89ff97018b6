//! The provider token: an ES256 JWT Apple accepts for up to an hour and asks providers not to
//! renew more often than every 20 minutes. One token is made and reused for every request;
//! it is renewed after [`REFRESH_AFTER_MS`], or at once when Apple answers
//! `ExpiredProviderToken`.
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

/// A token older than this is replaced: 50 minutes, well inside Apple's 60.
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

/// The token in use and when it was made.
#[derive(Default)]
pub(crate) struct TokenCache {
    current: Option<(String, u64)>,
}

impl TokenCache {
    /// The token to use at `now_ms`, made anew when there is none, it is
    /// [`REFRESH_AFTER_MS`] old, or the clock went back past its issue time. The flag tells
    /// whether it is new.
    pub(crate) fn get(&mut self, now_ms: u64, make: impl FnOnce(u64) -> String) -> (&str, bool) {
        let stale = match &self.current {
            None => true,
            Some((_, issued)) => now_ms < *issued || now_ms - issued >= REFRESH_AFTER_MS,
        };
        if stale {
            self.current = None;
        }
        let (token, _) = self
            .current
            .get_or_insert_with(|| (make(now_ms / 1000), now_ms));
        (token.as_str(), stale)
    }

    /// Forgets the token, so the next batch makes a new one (after `ExpiredProviderToken`).
    pub(crate) fn invalidate(&mut self) {
        self.current = None;
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
    fn cache_reuses_the_token_for_50_minutes_then_renews() {
        let mut cache = TokenCache::default();
        let make = |iat: u64| format!("token@{iat}");
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
    fn cache_renews_after_invalidate_and_when_the_clock_goes_back() {
        let mut cache = TokenCache::default();
        let make = |iat: u64| format!("token@{iat}");
        cache.get(10_000, make);
        cache.invalidate();
        assert_eq!(cache.get(11_000, make), ("token@11", true));
        assert_eq!(cache.get(9_000, make), ("token@9", true));
    }
}
