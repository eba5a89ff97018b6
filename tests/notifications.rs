//! Mobile notifications end to end: a push reaches offline devices through the real FCM
//! plugin (a WebAssembly component built from plugins/fcm) talking to a fake FCM on
//! 127.0.0.1 that checks the protocol as Google does: an RS256 service-account assertion
//! verified with the public key at the token endpoint, then `messages:send` with the access
//! token; a dead token answers 404 UNREGISTERED and is removed from the directory.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Form, Json, Router};
use common::Server;
use herald::transport::PluginConfig;
use serde_json::{Value, json};

const PRIVATE_KEY: &str = include_str!("fixtures/fcm-test-key.pem");
const PUBLIC_KEY: &str = include_str!("fixtures/fcm-test-key.pub.pem");
const CLIENT_EMAIL: &str = "herald-test@project-x.iam.gserviceaccount.com";
const ACCESS_TOKEN: &str = "ya29.fake-access-token";

#[derive(Clone, Default)]
struct Fake {
    /// Every message the fake accepted or refused, as (token, message JSON).
    sends: Arc<Mutex<Vec<(String, Value)>>>,
    token_grants: Arc<Mutex<u32>>,
    base: Arc<Mutex<String>>,
}

async fn token(
    State(fake): State<Fake>,
    Form(form): Form<BTreeMap<String, String>>,
) -> (StatusCode, Json<Value>) {
    let refuse = |why: &str| {
        (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid_grant", "error_description": why})),
        )
    };
    if form.get("grant_type").map(String::as_str)
        != Some("urn:ietf:params:oauth:grant-type:jwt-bearer")
    {
        return refuse("grant_type");
    }
    let Some(assertion) = form.get("assertion") else {
        return refuse("no assertion");
    };
    let key = jsonwebtoken::DecodingKey::from_rsa_pem(PUBLIC_KEY.as_bytes()).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    let aud = format!("{}/token", fake.base.lock().unwrap());
    validation.set_audience(&[aud]);
    validation.set_issuer(&[CLIENT_EMAIL]);
    let claims = match jsonwebtoken::decode::<Value>(assertion, &key, &validation) {
        Ok(data) => data.claims,
        Err(e) => return refuse(&format!("bad assertion: {e}")),
    };
    if claims["scope"] != "https://www.googleapis.com/auth/firebase.messaging" {
        return refuse("scope");
    }
    *fake.token_grants.lock().unwrap() += 1;
    (
        StatusCode::OK,
        Json(json!({"access_token": ACCESS_TOKEN, "expires_in": 3599, "token_type": "Bearer"})),
    )
}

async fn send(
    State(fake): State<Fake>,
    Path(project): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    if project != "project-x" {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"error": {"code": 404, "status": "NOT_FOUND"}})),
        );
    }
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
    if auth != Some(&format!("Bearer {ACCESS_TOKEN}")) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(
                json!({"error": {"code": 401, "message": "Request had invalid authentication credentials.", "status": "UNAUTHENTICATED"}}),
            ),
        );
    }
    let token = body["message"]["token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    fake.sends
        .lock()
        .unwrap()
        .push((token.clone(), body["message"].clone()));
    if token.starts_with("dead") {
        return (
            StatusCode::NOT_FOUND,
            Json(
                json!({"error": {"code": 404, "message": "Requested entity was not found.", "status": "NOT_FOUND",
                "details": [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": "UNREGISTERED"}]}}),
            ),
        );
    }
    (
        StatusCode::OK,
        Json(json!({"name": format!("projects/project-x/messages/{}", token.len())})),
    )
}

/// Starts the fake on 127.0.0.1; returns it and its base URL.
async fn start_fake() -> (Fake, String) {
    let fake = Fake::default();
    let app = Router::new()
        .route("/token", post(token))
        .route("/v1/projects/{project}/messages:send", post(send))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    *fake.base.lock().unwrap() = base.clone();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (fake, base)
}

#[tokio::test]
async fn offline_devices_are_notified_and_dead_tokens_removed() {
    let wasm = common::build_component("herald-plugin-fcm");
    let (fake, base) = start_fake().await;
    let service_account = json!({
        "type": "service_account",
        "project_id": "project-x",
        "private_key_id": "k1",
        "private_key": PRIVATE_KEY,
        "client_email": CLIENT_EMAIL,
        "token_uri": format!("{base}/token"),
    });
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::config(dir.path());
    config.plugins.insert(
        "fcm".into(),
        PluginConfig {
            file: Some(wasm),
            allow_hosts: vec!["127.0.0.1".into()],
            allow_plain_http: true,
            settings: BTreeMap::from([
                ("service_account".into(), service_account.to_string()),
                ("base_url".into(), base.clone()),
            ]),
            ..PluginConfig::default()
        },
    );
    let s = Server::start_with(config).await;
    s.ok(
        r#"mutation {
          importAccounts(accounts: [{id: "alice"}, {id: "bob"}, {id: "carol"}]) { created }
          a: registerDevice(input: {account: "alice", platform: "android", token: "good-token-1"}) { token }
          b: registerDevice(input: {account: "bob", platform: "android", token: "dead-token-2"}) { token }
        }"#,
        json!({}),
    )
    .await;
    let plugins = s
        .ok("{ plugins { name state platforms } }", json!({}))
        .await;
    assert_eq!(
        plugins["plugins"],
        json!([{"name": "fcm", "state": "READY", "platforms": ["android"]}])
    );

    let push = s
        .ok(
            r#"mutation { push(input: {body: [{text: {text: "hello"}}], lifetimeSeconds: 600,
                 offlinePush: {title: "News", desc: "Something happened", ext: "{\"k\":1}"}}) { id } }"#,
            json!({}),
        )
        .await["push"]["id"]
        .clone();

    // The notification work runs after the push answered: wait for its counters.
    let q = "query($id: String!) { push(id: $id) { report { notificationsSent notificationsFailed invalidTokensRemoved } } }";
    let mut report = Value::Null;
    for _ in 0..400 {
        report = s.ok(q, json!({ "id": push })).await["push"]["report"].clone();
        if report["invalidTokensRemoved"] == 1 && report["notificationsSent"] == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(
        report,
        json!({"notificationsSent": 1, "notificationsFailed": 1, "invalidTokensRemoved": 1})
    );
    let sends = fake.sends.lock().unwrap().clone();
    assert_eq!(sends.len(), 2, "{sends:?}");
    let good = &sends.iter().find(|(t, _)| t == "good-token-1").unwrap().1;
    assert_eq!(good["notification"]["title"], "News");
    assert_eq!(good["notification"]["body"], "Something happened");
    assert_eq!(good["android"]["ttl"], "600s");
    assert_eq!(
        *fake.token_grants.lock().unwrap(),
        1,
        "the access token is reused"
    );

    // The dead token is gone from the directory; alice keeps hers.
    let devices = s
        .ok(r#"{ bob: account(id: "bob") { devices { token } } alice: account(id: "alice") { devices { token } } }"#, json!({}))
        .await;
    assert_eq!(devices["bob"]["devices"], json!([]));
    assert_eq!(
        devices["alice"]["devices"],
        json!([{"token": "good-token-1"}])
    );

    // offlinePush.disabled: no notification at all.
    s.ok(
        r#"mutation { push(input: {body: [{text: {text: "quiet"}}], lifetimeSeconds: 600, offlinePush: {disabled: true}}) { id } }"#,
        json!({}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(fake.sends.lock().unwrap().len(), 2);
    let (_, metrics) = s.get("/metrics").await;
    assert!(
        metrics.contains("fcm"),
        "per-plugin counters in /metrics: {metrics}"
    );
    s.stop().await;
}

#[test]
fn the_built_in_plugins_are_valid_components() {
    let dist = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("plugins/dist");
    for (name, platform) in [("inapp", "inapp"), ("apns", "ios"), ("fcm", "android")] {
        let wasm = std::fs::read(dist.join(format!("{name}.wasm"))).unwrap();
        let info = herald::transport::check(&wasm).unwrap();
        assert_eq!(info.name, name);
        assert_eq!(info.platforms, vec![platform.to_owned()]);
    }
    assert_eq!(herald::transport::builtins(), vec!["inapp", "apns", "fcm"]);
}
