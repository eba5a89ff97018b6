//! A fake of Google's FCM HTTP v1 API with its OAuth2 token endpoint.
//!
//! `POST /token` takes a service-account assertion (RS256, `iss` = the client email, `aud` =
//! this token URI, the FCM scope), verified with the account's public key, and grants an
//! access token. `POST /v1/projects/<id>/messages:send` takes `Bearer <access token>` and a
//! message, checked as FCM does (exactly one of `token`/`topic`/`condition`, string-valued
//! `data`, `android.ttl` as seconds with an `s`), and answers with FCM's error bodies: 404
//! `UNREGISTERED` for a token the fake was told is gone, 429 `QUOTA_EXCEEDED` with
//! `Retry-After` when throttled.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};

use crate::tls::{Http, TestCa, serve};

/// The OAuth2 scope FCM needs.
pub const SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";
/// The access token the fake grants.
const ACCESS_TOKEN: &str = "ya29.fake-access-token";

/// The fake service: clone it freely, every clone sees the same state.
#[derive(Clone)]
pub struct FakeFcm {
    inner: Arc<Inner>,
}

struct Inner {
    project: String,
    client_email: String,
    key: DecodingKey,
    /// Set once the port is known: the assertion's audience is `<base>/token`.
    base: OnceLock<String>,
    grants: AtomicU32,
    unregistered: Mutex<HashSet<String>>,
    throttle: AtomicU32,
    sends: Mutex<Vec<(String, Value)>>,
}

impl FakeFcm {
    /// Starts the fake for the service account `client_email` (its RSA public key, PEM) of
    /// `project` on 127.0.0.1 over TLS; returns it and its base URL (the account's
    /// `token_uri` is `<base>/token`).
    pub async fn start(
        public_pem: &str,
        client_email: &str,
        project: &str,
        ca: &TestCa,
    ) -> (FakeFcm, String) {
        let fake = FakeFcm {
            inner: Arc::new(Inner {
                project: project.to_owned(),
                client_email: client_email.to_owned(),
                key: DecodingKey::from_rsa_pem(public_pem.as_bytes()).expect("public key"),
                base: OnceLock::new(),
                grants: AtomicU32::new(0),
                unregistered: Mutex::default(),
                throttle: AtomicU32::new(0),
                sends: Mutex::default(),
            }),
        };
        let router = Router::new()
            .route("/token", post(token))
            .route("/v1/projects/{project}/messages:send", post(send))
            .with_state(fake.clone());
        let addr = serve(router, ca, Http::Both).await;
        let base = format!("https://{addr}");
        fake.inner.base.set(base.clone()).expect("set once");
        (fake, base)
    }

    /// From now on, `token` answers 404 UNREGISTERED.
    pub fn unregister(&self, token: &str) {
        self.inner
            .unregistered
            .lock()
            .unwrap()
            .insert(token.to_owned());
    }

    /// The next `n` sends answer 429 QUOTA_EXCEEDED with `Retry-After: 1`.
    pub fn throttle_next(&self, n: u32) {
        self.inner.throttle.store(n, Ordering::SeqCst);
    }

    /// Every message that reached the send endpoint with valid credentials, as (token,
    /// message), whatever the answer.
    pub fn sends(&self) -> Vec<(String, Value)> {
        self.inner.sends.lock().unwrap().clone()
    }

    /// How many access tokens were granted.
    pub fn grants(&self) -> u32 {
        self.inner.grants.load(Ordering::SeqCst)
    }
}

/// Google's error body; `details` as FCM gives them.
fn google_error(
    status: StatusCode,
    google_status: &str,
    message: &str,
    details: Value,
) -> Response {
    let error = json!({"code": status.as_u16(), "message": message, "status": google_status, "details": details});
    (status, Json(json!({ "error": error }))).into_response()
}

/// The details of an FCM-specific error code.
fn fcm_code(code: &str) -> Value {
    json!([{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": code}])
}

async fn token(
    State(fake): State<FakeFcm>,
    Form(form): Form<BTreeMap<String, String>>,
) -> Response {
    let inner = &fake.inner;
    let refuse = |why: &str| {
        (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid_grant", "error_description": why})),
        )
            .into_response()
    };
    if form.get("grant_type").map(String::as_str)
        != Some("urn:ietf:params:oauth:grant-type:jwt-bearer")
    {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "unsupported_grant_type", "error_description": "Invalid grant_type"})),
        )
            .into_response();
    }
    let Some(assertion) = form.get("assertion") else {
        return refuse("Missing required parameter: assertion");
    };
    let mut validation = Validation::new(Algorithm::RS256);
    validation.required_spec_claims = HashSet::from(["exp".into(), "iss".into(), "aud".into()]);
    validation.set_audience(&[format!("{}/token", inner.base.get().expect("started"))]);
    validation.set_issuer(&[&inner.client_email]);
    let claims = match jsonwebtoken::decode::<Value>(assertion, &inner.key, &validation) {
        Ok(data) => data.claims,
        Err(e) => return refuse(&format!("Invalid JWT Signature or claims: {e}")),
    };
    if claims["scope"] != SCOPE {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid_scope", "error_description": "Invalid OAuth scope or ID token audience provided."})),
        )
            .into_response();
    }
    inner.grants.fetch_add(1, Ordering::SeqCst);
    Json(json!({"access_token": ACCESS_TOKEN, "expires_in": 3599, "token_type": "Bearer"}))
        .into_response()
}

async fn send(
    State(fake): State<FakeFcm>,
    Path(project): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let inner = &fake.inner;
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
    if auth != Some(&format!("Bearer {ACCESS_TOKEN}")) {
        return google_error(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            "Request had invalid authentication credentials. Expected OAuth 2 access token.",
            json!([]),
        );
    }
    if project != inner.project {
        return google_error(
            StatusCode::FORBIDDEN,
            "PERMISSION_DENIED",
            "Permission 'cloudmessaging.messages.create' denied on resource.",
            fcm_code("SENDER_ID_MISMATCH"),
        );
    }
    let message = &body["message"];
    if let Err(invalid) = check_message(message) {
        // A bad token is FCM's own INVALID_ARGUMENT; any other field is a field violation.
        let details = match invalid.field {
            "message.token" => fcm_code("INVALID_ARGUMENT"),
            field => json!([{
                "@type": "type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations": [{"field": field, "description": invalid.why}],
            }]),
        };
        return google_error(
            StatusCode::BAD_REQUEST,
            "INVALID_ARGUMENT",
            &invalid.why,
            details,
        );
    }
    let token = message["token"].as_str().unwrap_or_default().to_owned();
    inner
        .sends
        .lock()
        .unwrap()
        .push((token.clone(), message.clone()));
    if inner
        .throttle
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
    {
        let mut response = google_error(
            StatusCode::TOO_MANY_REQUESTS,
            "RESOURCE_EXHAUSTED",
            "Quota exceeded for quota metric 'Send requests'.",
            fcm_code("QUOTA_EXCEEDED"),
        );
        response
            .headers_mut()
            .insert("retry-after", "1".parse().expect("header value"));
        return response;
    }
    if inner.unregistered.lock().unwrap().contains(&token) {
        return google_error(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "Requested entity was not found.",
            fcm_code("UNREGISTERED"),
        );
    }
    Json(json!({"name": format!("projects/{project}/messages/0:{}", inner.sends.lock().unwrap().len())}))
        .into_response()
}

/// Why FCM refuses a message: the field and a message in Google's words.
struct Invalid {
    field: &'static str,
    why: String,
}

fn invalid(field: &'static str, why: impl Into<String>) -> Result<(), Invalid> {
    Err(Invalid {
        field,
        why: why.into(),
    })
}

/// FCM's own validation of a message, the parts Herald's plugin produces.
fn check_message(message: &Value) -> Result<(), Invalid> {
    let Some(fields) = message.as_object() else {
        return invalid(
            "message",
            "Invalid JSON payload received. Unknown name \"message\"",
        );
    };
    let targets = ["token", "topic", "condition"]
        .iter()
        .filter(|k| fields.contains_key(**k))
        .count();
    if targets != 1 {
        return invalid(
            "message",
            "Exactly one of token, topic or condition must be specified.",
        );
    }
    if let Some(token) = fields.get("token")
        && token.as_str().is_none_or(str::is_empty)
    {
        return invalid(
            "message.token",
            "The registration token is not a valid FCM registration token",
        );
    }
    if let Some(data) = fields.get("data") {
        let all_strings = data
            .as_object()
            .is_some_and(|d| d.values().all(Value::is_string));
        if !all_strings {
            return invalid(
                "message.data",
                "Invalid value at 'message.data': values must be strings",
            );
        }
    }
    if let Some(ttl) = message["android"].get("ttl") {
        let valid = ttl
            .as_str()
            .and_then(|t| t.strip_suffix('s'))
            .is_some_and(|secs| secs.parse::<f64>().is_ok_and(|s| s >= 0.0));
        if !valid {
            return invalid(
                "message.android.ttl",
                format!("Invalid value at 'message.android.ttl' ({ttl}), Illegal duration format"),
            );
        }
    }
    for (key, field) in [
        ("title", "message.notification.title"),
        ("body", "message.notification.body"),
        ("image", "message.notification.image"),
    ] {
        if message["notification"]
            .get(key)
            .is_some_and(|v| !v.is_string())
        {
            return invalid(field, format!("Invalid value at '{field}'"));
        }
    }
    Ok(())
}
