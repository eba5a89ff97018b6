//! Credentials: JWT HS256 bearer tokens signed with the app secret (API.md, Credentials).
//!
//! `sub` is the admin identity for an admin token, else the account id; `exp` is required.
//! An app backend mints client tokens itself with any JWT library.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::error::{Classified, Classify, Code};

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// The app's operator: may call everything.
    Admin,
    /// An end user's app, for this account id.
    Client(String),
}

/// Why a call was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization: Bearer` credential was sent.
    #[error("a bearer token is required (Authorization: Bearer <token>)")]
    Missing,
    /// The token is expired.
    #[error("the token has expired")]
    Expired,
    /// The token is malformed or its signature does not verify.
    #[error("the token is invalid: {0}")]
    Invalid(String),
    /// The token is valid but lacks the right for this operation.
    #[error("{0}")]
    Forbidden(String),
}

impl Classify for AuthError {
    fn classify(&self) -> Classified {
        match self {
            AuthError::Forbidden(_) => Classified::new(Code::Forbidden),
            _ => Classified::new(Code::Unauthenticated),
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    exp: u64,
    /// Optional: API.md requires only `sub` and `exp`, so backends may omit it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    iat: Option<u64>,
}

/// Signs and checks tokens for one app.
#[derive(Clone)]
pub struct Keys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    admin: String,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("admin", &self.admin)
            .finish_non_exhaustive()
    }
}

use crate::time::now_secs as unix_now;

impl Keys {
    /// Keys from the app secret (its UTF-8 bytes are the HMAC key) and the admin identity.
    pub fn new(secret: &str, admin: &str) -> Keys {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Keys {
            encoding: EncodingKey::from_secret(secret.as_bytes()),
            decoding: DecodingKey::from_secret(secret.as_bytes()),
            validation,
            admin: admin.to_owned(),
        }
    }

    /// Mints a token for `principal` valid for `ttl_seconds` from now.
    pub fn mint(&self, principal: &Principal, ttl_seconds: u64) -> String {
        let now = unix_now();
        let sub = match principal {
            Principal::Admin => self.admin.clone(),
            Principal::Client(id) => id.clone(),
        };
        let claims = Claims {
            sub,
            exp: now.saturating_add(ttl_seconds),
            iat: Some(now),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 signing of a small claim set cannot fail")
    }

    /// Checks a token and says who it is for.
    pub fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => AuthError::Expired,
                _ => AuthError::Invalid(e.to_string()),
            })?;
        let sub = data.claims.sub;
        if sub == self.admin {
            Ok(Principal::Admin)
        } else if sub.is_empty() {
            Err(AuthError::Invalid("empty subject".into()))
        } else {
            Ok(Principal::Client(sub))
        }
    }

    /// Checks an `Authorization` header value (`Bearer <token>`); `None` when absent.
    pub fn verify_header(&self, header: Option<&str>) -> Result<Principal, AuthError> {
        let header = header.ok_or(AuthError::Missing)?;
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .ok_or_else(|| AuthError::Invalid("expected `Bearer <token>`".into()))?;
        self.verify(token.trim())
    }
}

/// The outcome of checking a request's credential, carried in the GraphQL context.
pub type Auth = Result<Principal, AuthError>;

/// Requires an admin caller.
pub fn require_admin(auth: &Auth) -> Result<(), AuthError> {
    match auth {
        Ok(Principal::Admin) => Ok(()),
        Ok(Principal::Client(_)) => Err(AuthError::Forbidden(
            "this operation needs an admin token".into(),
        )),
        Err(e) => Err(e.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_and_client_round_trip() {
        let keys = Keys::new("secret", "administrator");
        assert_eq!(
            keys.verify(&keys.mint(&Principal::Admin, 60)),
            Ok(Principal::Admin)
        );
        let alice = Principal::Client("alice".into());
        assert_eq!(keys.verify(&keys.mint(&alice, 60)), Ok(alice));
    }

    #[test]
    fn expired_forged_and_missing_are_unauthenticated() {
        let keys = Keys::new("secret", "administrator");
        let expired = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &Claims {
                sub: "alice".into(),
                exp: unix_now() - 10,
                iat: Some(unix_now() - 20),
            },
            &EncodingKey::from_secret(b"secret"),
        )
        .unwrap();
        assert_eq!(keys.verify(&expired), Err(AuthError::Expired));
        let forged = Keys::new("other", "administrator").mint(&Principal::Admin, 60);
        assert!(matches!(keys.verify(&forged), Err(AuthError::Invalid(_))));
        assert_eq!(keys.verify_header(None), Err(AuthError::Missing));
        for e in [AuthError::Missing, AuthError::Expired] {
            assert_eq!(e.classify().code, Code::Unauthenticated);
        }
    }

    #[test]
    fn a_token_with_only_sub_and_exp_is_accepted() {
        let keys = Keys::new("secret", "administrator");
        let minimal = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &serde_json::json!({"sub": "alice", "exp": unix_now() + 60}),
            &EncodingKey::from_secret(b"secret"),
        )
        .unwrap();
        assert_eq!(keys.verify(&minimal), Ok(Principal::Client("alice".into())));
    }

    #[test]
    fn a_client_is_forbidden_admin_work() {
        let auth: Auth = Ok(Principal::Client("alice".into()));
        let err = require_admin(&auth).unwrap_err();
        assert_eq!(err.classify().code, Code::Forbidden);
        assert!(require_admin(&Ok(Principal::Admin)).is_ok());
    }
}
