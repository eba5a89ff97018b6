//! A fake of Apple's HTTP/2 provider API (`POST /3/device/<token>`), token-based
//! authentication included, answering with Apple's status codes and `reason` bodies.
//!
//! What it checks, in Apple's terms: the provider token (ES256, `kid` = key ID, `iss` = team
//! ID, `iat` under an hour old, signature verified with the key's public half; a new token
//! less than 20 minutes after the previous one is `TooManyProviderTokenUpdates`),
//! `apns-topic`, `apns-push-type`, `apns-priority`, `apns-expiration`, `apns-collapse-id`,
//! `apns-id`, the device token's form, and the payload (a JSON object with an `aps`
//! dictionary, at most 4 KiB).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};

use crate::tls::{Http, TestCa, serve};

/// Apple's limit on a notification payload.
pub const MAX_PAYLOAD: usize = 4096;
/// How long a provider token is accepted after its `iat`.
const TOKEN_LIFETIME_SECS: u64 = 3600;
/// A new provider token sooner than this after the previous one is refused.
const MIN_TOKEN_INTERVAL_SECS: u64 = 20 * 60;

/// An APNs auth key as Apple issues it: a P-256 key in a `.p8` file, its ID, and the team.
pub struct ApnsKey {
    /// The 10-character Team ID.
    pub team_id: String,
    /// The 10-character key ID.
    pub key_id: String,
    /// The `.p8` file's text (PKCS#8 PEM).
    pub p8: String,
    /// The public key (SPKI PEM), which Apple keeps to verify provider tokens.
    pub public_pem: String,
}

impl ApnsKey {
    /// A fresh key for team `TEAM123456`, key ID `KEY1234567`.
    pub fn generate() -> ApnsKey {
        let key = rcgen::KeyPair::generate().expect("P-256 key");
        ApnsKey {
            team_id: "TEAM123456".into(),
            key_id: "KEY1234567".into(),
            p8: key.serialize_pem(),
            public_pem: key.public_key_pem(),
        }
    }
}

/// One notification the fake accepted.
#[derive(Clone, Debug)]
pub struct Delivered {
    /// The device token from the path.
    pub token: String,
    /// Request headers, lower-case names.
    pub headers: BTreeMap<String, String>,
    /// The payload.
    pub payload: Value,
}

/// The fake service: clone it freely, every clone sees the same state.
#[derive(Clone)]
pub struct FakeApns {
    inner: Arc<Inner>,
}

struct Inner {
    team_id: String,
    key_id: String,
    topic: String,
    key: DecodingKey,
    /// Provider tokens already verified, with their `iat` (Apple verifies a token once).
    tokens: Mutex<HashMap<String, u64>>,
    /// The `iat` of the newest provider token.
    newest_iat: AtomicU64,
    /// Device tokens Apple reports as no longer active, with when (Unix ms).
    unregistered: Mutex<HashMap<String, u64>>,
    /// Answer this many of the next requests 429 TooManyRequests.
    throttle: AtomicU32,
    /// Keep each accepted notification (benchmarks turn it off).
    keep: bool,
    delivered: Mutex<Vec<Delivered>>,
    accepted: AtomicU64,
    refused: Mutex<BTreeMap<String, u64>>,
}

impl FakeApns {
    /// Starts the fake for `key` and the app `topic` on 127.0.0.1 over TLS (HTTP/2 only);
    /// returns it and its base URL (`https://127.0.0.1:<port>`). With `keep`, accepted
    /// notifications are kept for [`FakeApns::delivered`].
    pub async fn start(key: &ApnsKey, topic: &str, ca: &TestCa, keep: bool) -> (FakeApns, String) {
        let fake = FakeApns {
            inner: Arc::new(Inner {
                team_id: key.team_id.clone(),
                key_id: key.key_id.clone(),
                topic: topic.to_owned(),
                key: DecodingKey::from_ec_pem(key.public_pem.as_bytes()).expect("public key"),
                tokens: Mutex::default(),
                newest_iat: AtomicU64::new(0),
                unregistered: Mutex::default(),
                throttle: AtomicU32::new(0),
                keep,
                delivered: Mutex::default(),
                accepted: AtomicU64::new(0),
                refused: Mutex::default(),
            }),
        };
        let router = Router::new()
            .route(
                "/3/device/{token}",
                post(push).fallback(|| async {
                    apple_error(StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed")
                }),
            )
            .fallback(|| async { apple_error(StatusCode::NOT_FOUND, "BadPath") })
            .with_state(fake.clone());
        let addr: SocketAddr = serve(router, ca, Http::Http2Only).await;
        (fake, format!("https://{addr}"))
    }

    /// From now on, `token` answers 410 Unregistered.
    pub fn unregister(&self, token: &str) {
        self.inner
            .unregistered
            .lock()
            .unwrap()
            .insert(token.to_owned(), now_ms());
    }

    /// The next `n` requests answer 429 TooManyRequests.
    pub fn throttle_next(&self, n: u32) {
        self.inner.throttle.store(n, Ordering::SeqCst);
    }

    /// The notifications accepted so far (kept only when started with `keep`).
    pub fn delivered(&self) -> Vec<Delivered> {
        self.inner.delivered.lock().unwrap().clone()
    }

    /// How many notifications were accepted.
    pub fn accepted(&self) -> u64 {
        self.inner.accepted.load(Ordering::SeqCst)
    }

    /// How many requests were refused, by Apple's `reason`.
    pub fn refused(&self) -> BTreeMap<String, u64> {
        self.inner.refused.lock().unwrap().clone()
    }

    /// How many distinct provider tokens were presented.
    pub fn provider_tokens(&self) -> usize {
        self.inner.tokens.lock().unwrap().len()
    }

    fn refuse(&self, status: StatusCode, reason: &str) -> Response {
        self.refuse_with(status, json!({ "reason": reason }))
    }

    /// Answers an error body of Apple's (`reason`, maybe more) and counts its reason.
    fn refuse_with(&self, status: StatusCode, body: Value) -> Response {
        let reason = body["reason"].as_str().unwrap_or_default().to_owned();
        *self
            .inner
            .refused
            .lock()
            .unwrap()
            .entry(reason)
            .or_default() += 1;
        (status, Json(body)).into_response()
    }
}

fn apple_error(status: StatusCode, reason: &str) -> Response {
    (status, Json(json!({ "reason": reason }))).into_response()
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as u64
}

async fn push(
    State(fake): State<FakeApns>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let inner = &fake.inner;
    let headers: BTreeMap<String, String> = match single_headers(&headers) {
        Ok(h) => h,
        Err(()) => return fake.refuse(StatusCode::BAD_REQUEST, "DuplicateHeaders"),
    };
    if let Err((status, reason)) = fake.check_provider_token(headers.get("authorization")) {
        return fake.refuse(status, reason);
    }
    match headers.get("apns-topic") {
        None => return fake.refuse(StatusCode::BAD_REQUEST, "MissingTopic"),
        Some(topic) if *topic != inner.topic => {
            return fake.refuse(StatusCode::BAD_REQUEST, "DeviceTokenNotForTopic");
        }
        Some(_) => {}
    }
    const PUSH_TYPES: [&str; 10] = [
        "alert",
        "background",
        "location",
        "voip",
        "complication",
        "fileprovider",
        "mdm",
        "liveactivity",
        "pushtotalk",
        "widgets",
    ];
    if let Some(kind) = headers.get("apns-push-type")
        && !PUSH_TYPES.contains(&kind.as_str())
    {
        return fake.refuse(StatusCode::BAD_REQUEST, "InvalidPushType");
    }
    if let Some(p) = headers.get("apns-priority")
        && !["10", "5", "1"].contains(&p.as_str())
    {
        return fake.refuse(StatusCode::BAD_REQUEST, "BadPriority");
    }
    if let Some(e) = headers.get("apns-expiration")
        && e.parse::<u64>().is_err()
    {
        return fake.refuse(StatusCode::BAD_REQUEST, "BadExpirationDate");
    }
    if headers
        .get("apns-collapse-id")
        .is_some_and(|c| c.len() > 64)
    {
        return fake.refuse(StatusCode::BAD_REQUEST, "BadCollapseId");
    }
    if headers.get("apns-id").is_some_and(|id| !is_uuid(id)) {
        return fake.refuse(StatusCode::BAD_REQUEST, "BadMessageId");
    }
    if token.is_empty() {
        return fake.refuse(StatusCode::BAD_REQUEST, "MissingDeviceToken");
    }
    if !is_device_token(&token) {
        return fake.refuse(StatusCode::BAD_REQUEST, "BadDeviceToken");
    }
    if body.is_empty() {
        return fake.refuse(StatusCode::BAD_REQUEST, "PayloadEmpty");
    }
    if body.len() > MAX_PAYLOAD {
        return fake.refuse(StatusCode::PAYLOAD_TOO_LARGE, "PayloadTooLarge");
    }
    // Apple documents no reason for a payload that is not a JSON object with `aps`; the
    // fake says so plainly, so a test that trips it knows why.
    let payload: Value = match serde_json::from_slice(&body) {
        Ok(v @ Value::Object(_)) if v["aps"].is_object() => v,
        _ => return fake.refuse(StatusCode::BAD_REQUEST, "BadPayload"),
    };
    if inner
        .throttle
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
    {
        return fake.refuse(StatusCode::TOO_MANY_REQUESTS, "TooManyRequests");
    }
    let unregistered = inner.unregistered.lock().unwrap().get(&token).copied();
    if let Some(when) = unregistered {
        return fake.refuse_with(
            StatusCode::GONE,
            json!({"reason": "Unregistered", "timestamp": when}),
        );
    }
    inner.accepted.fetch_add(1, Ordering::SeqCst);
    let apns_id = headers.get("apns-id").cloned().unwrap_or_else(|| {
        format!(
            "00000000-0000-4000-8000-{:012x}",
            inner.accepted.load(Ordering::SeqCst)
        )
    });
    if inner.keep {
        inner.delivered.lock().unwrap().push(Delivered {
            token,
            headers,
            payload,
        });
    }
    (StatusCode::OK, [("apns-id", apns_id)]).into_response()
}

impl FakeApns {
    /// Checks `authorization: bearer <provider token>` as Apple does.
    fn check_provider_token(
        &self,
        authorization: Option<&String>,
    ) -> Result<(), (StatusCode, &'static str)> {
        let forbidden = StatusCode::FORBIDDEN;
        let inner = &self.inner;
        let Some(auth) = authorization else {
            return Err((forbidden, "MissingProviderToken"));
        };
        let Some(jwt) = auth.strip_prefix("bearer ") else {
            return Err((forbidden, "InvalidProviderToken"));
        };
        let now = now_ms() / 1000;
        let known = inner.tokens.lock().unwrap().get(jwt).copied();
        let iat = match known {
            Some(iat) => iat,
            None => {
                let header = jsonwebtoken::decode_header(jwt)
                    .map_err(|_| (forbidden, "InvalidProviderToken"))?;
                if header.alg != Algorithm::ES256 {
                    return Err((forbidden, "InvalidProviderToken"));
                }
                if header.kid.as_deref() != Some(inner.key_id.as_str()) {
                    return Err((forbidden, "UnrelatedKeyIdInToken"));
                }
                let mut validation = Validation::new(Algorithm::ES256);
                validation.required_spec_claims = HashSet::from(["iss".to_owned()]);
                validation.validate_exp = false;
                validation.set_issuer(&[&inner.team_id]);
                let claims = jsonwebtoken::decode::<Value>(jwt, &inner.key, &validation)
                    .map_err(|_| (forbidden, "InvalidProviderToken"))?
                    .claims;
                let iat = claims["iat"]
                    .as_u64()
                    .ok_or((forbidden, "InvalidProviderToken"))?;
                if iat > now + 60 {
                    return Err((forbidden, "InvalidProviderToken"));
                }
                let previous = inner.newest_iat.fetch_max(iat, Ordering::SeqCst);
                if previous != 0 && iat < previous + MIN_TOKEN_INTERVAL_SECS {
                    return Err((StatusCode::TOO_MANY_REQUESTS, "TooManyProviderTokenUpdates"));
                }
                inner.tokens.lock().unwrap().insert(jwt.to_owned(), iat);
                iat
            }
        };
        if now >= iat + TOKEN_LIFETIME_SECS {
            return Err((forbidden, "ExpiredProviderToken"));
        }
        Ok(())
    }
}

/// Headers by lower-case name; `Err` when one is repeated.
fn single_headers(headers: &HeaderMap) -> Result<BTreeMap<String, String>, ()> {
    let mut out = BTreeMap::new();
    for (name, value) in headers {
        let value = value.to_str().map_err(|_| ())?.to_owned();
        if out.insert(name.as_str().to_owned(), value).is_some() {
            return Err(());
        }
    }
    Ok(out)
}

/// A device token is hex, 32 bytes or more.
fn is_device_token(token: &str) -> bool {
    token.len() >= 64
        && token.len() <= 200
        && token.len().is_multiple_of(2)
        && token.bytes().all(|b| b.is_ascii_hexdigit())
}

fn is_uuid(id: &str) -> bool {
    let groups: Vec<&str> = id.split('-').collect();
    groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups
            .iter()
            .all(|g| g.bytes().all(|b| b.is_ascii_hexdigit()))
}
