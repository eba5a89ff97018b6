//! Mobile notifications end to end, through the built-in plugins (WebAssembly components built
//! from plugins/ by build.rs) and fakes of Apple's and Google's services on 127.0.0.1
//! (`tests/fakes`) that check the protocol as the real ones do: TLS with a test CA that
//! Herald trusts through `tls_ca_file`, HTTP/2 for APNs, JWTs verified with the public key,
//! paths, headers and JSON. Offline devices are notified, online ones are not, dead tokens
//! are removed from the directory, throttling is retried.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use herald::transport::PluginConfig;
use herald_fakes::apns::{ApnsKey, FakeApns};
use herald_fakes::fcm::FakeFcm;
use herald_fakes::tls::TestCa;
use serde_json::{Value, json};

use crate::common::ws::Inbox;
use crate::common::{self, Server};

const FCM_PRIVATE_KEY: &str = include_str!("../fixtures/fcm-test-key.pem");
const FCM_PUBLIC_KEY: &str = include_str!("../fixtures/fcm-test-key.pub.pem");
const CLIENT_EMAIL: &str = "herald-test@project-x.iam.gserviceaccount.com";
const TOPIC: &str = "com.example.herald";

/// APNs device tokens are 32 bytes of hex.
fn ios_token(n: u8) -> String {
    format!("{n:02x}").repeat(32)
}

/// A built-in plugin's table: HTTPS to 127.0.0.1 only, trusting the test CA.
fn plugin(ca_file: &Path, settings: &[(&str, String)]) -> PluginConfig {
    PluginConfig {
        allow_hosts: vec!["127.0.0.1".into()],
        tls_ca_file: Some(ca_file.to_path_buf()),
        settings: settings
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect::<BTreeMap<_, _>>(),
        ..PluginConfig::default()
    }
}

/// Polls the push's report until `done` holds (the notification work runs after the push
/// answered); returns the last report.
async fn report_when(s: &Server, push: &Value, done: impl Fn(&Value) -> bool) -> Value {
    let q = "query($id: String!) { push(id: $id) { report { notificationsSent notificationsFailed invalidTokensRemoved } } }";
    let mut report = Value::Null;
    for _ in 0..400 {
        report = s.ok(q, json!({ "id": push })).await["push"]["report"].clone();
        if done(&report) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    report
}

async fn push(s: &Server, input: &str) -> Value {
    s.ok(
        &format!("mutation {{ push(input: {input}) {{ id }} }}"),
        json!({}),
    )
    .await["push"]["id"]
        .clone()
}

#[tokio::test]
async fn apns_notifies_offline_devices_over_http2_and_removes_dead_tokens() {
    let ca = TestCa::new();
    let key = ApnsKey::generate();
    let (apple, base) = FakeApns::start(&key, TOPIC, &ca, true).await;
    let dir = tempfile::tempdir().unwrap();
    let ca_file = ca.write_ca(dir.path());
    let p8 = dir.path().join("AuthKey.p8");
    std::fs::write(&p8, &key.p8).unwrap();

    let mut config = common::config(&dir.path().join("data"));
    config.plugins.insert(
        "apns".into(),
        plugin(
            &ca_file,
            &[
                ("team_id", key.team_id.clone()),
                ("key_id", key.key_id.clone()),
                ("private_key", format!("@{}", p8.display())),
                ("topic", TOPIC.to_owned()),
                ("base_url", base),
            ],
        ),
    );
    let s = Server::start_with(config).await;
    let (alice, bob, carol) = (ios_token(0xa1), ios_token(0xb0), ios_token(0xc4));
    apple.unregister(&bob);
    s.ok(
        r#"mutation($a: String!, $b: String!, $c: String!) {
          importAccounts(accounts: [{id: "alice"}, {id: "bob"}, {id: "carol"}]) { created }
          a: registerDevice(input: {account: "alice", platform: "ios", token: $a}) { token }
          b: registerDevice(input: {account: "bob", platform: "ios", token: $b}) { token }
          c: registerDevice(input: {account: "carol", platform: "ios", token: $c}) { token }
        }"#,
        json!({"a": alice, "b": bob, "c": carol}),
    )
    .await;
    // carol is online: she gets the push in-app, not as a notification.
    let mut online = Inbox::open(&s.url, Some(&s.client_token("carol")), None).await;
    // The subscription is registered once the server has read it.
    s.wait_sessions(1).await;

    let id = push(
        &s,
        r#"{body: [{text: {text: "hello"}}], lifetimeSeconds: 600,
            offlinePush: {title: "News", desc: "Something happened", ext: "{\"k\":1}"}}"#,
    )
    .await;
    assert_eq!(online.message().await["id"], id);
    let report = report_when(&s, &id, |r| r["invalidTokensRemoved"] == 1).await;
    assert_eq!(
        report,
        json!({"notificationsSent": 1, "notificationsFailed": 1, "invalidTokensRemoved": 1})
    );

    let delivered = apple.delivered();
    assert_eq!(
        delivered.len(),
        1,
        "only alice: bob's token is dead, carol is online"
    );
    let n = &delivered[0];
    assert_eq!(n.token, alice);
    assert_eq!(n.headers["apns-topic"], TOPIC);
    assert_eq!(n.headers["apns-push-type"], "alert");
    assert_eq!(n.headers["apns-priority"], "10");
    assert_eq!(n.headers["apns-collapse-id"], id.as_str().unwrap());
    let expiration: u64 = n.headers["apns-expiration"].parse().unwrap();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(
        (now + 590..=now + 600).contains(&expiration),
        "apns-expiration {expiration} is the push's lifetime from now ({now})"
    );
    assert_eq!(n.payload["aps"]["alert"]["title"], "News");
    assert_eq!(n.payload["aps"]["alert"]["body"], "Something happened");
    assert_eq!(n.payload["ext"], "{\"k\":1}");
    assert_eq!(
        apple.refused(),
        BTreeMap::from([("Unregistered".to_owned(), 1)]),
        "Apple refused nothing else: the provider token, headers and JSON passed its checks"
    );

    let devices = s
        .ok(r#"{ bob: account(id: "bob") { devices { token } } alice: account(id: "alice") { devices { token } } }"#, json!({}))
        .await;
    assert_eq!(devices["bob"]["devices"], json!([]));
    assert_eq!(devices["alice"]["devices"], json!([{ "token": alice }]));

    // A second push reuses the provider token (Apple refuses a new one within 20 minutes).
    let id = push(
        &s,
        r#"{body: [{text: {text: "again"}}], lifetimeSeconds: 60}"#,
    )
    .await;
    report_when(&s, &id, |r| r["notificationsSent"] == 1).await;
    assert_eq!(apple.accepted(), 2);
    assert_eq!(apple.provider_tokens(), 1);
    let (_, metrics) = s.get("/metrics").await;
    assert!(metrics.contains("apns"), "per-plugin counters: {metrics}");
    s.stop().await;
}

#[tokio::test]
async fn fcm_notifies_offline_devices_retries_throttling_and_removes_dead_tokens() {
    let ca = TestCa::new();
    let (google, base) = FakeFcm::start(FCM_PUBLIC_KEY, CLIENT_EMAIL, "project-x", &ca).await;
    google.unregister("dead-token-2");
    let service_account = json!({
        "type": "service_account",
        "project_id": "project-x",
        "private_key_id": "k1",
        "private_key": FCM_PRIVATE_KEY,
        "client_email": CLIENT_EMAIL,
        "token_uri": format!("{base}/token"),
    });
    let dir = tempfile::tempdir().unwrap();
    let ca_file = ca.write_ca(dir.path());
    let mut config = common::config(&dir.path().join("data"));
    config.plugins.insert(
        "fcm".into(),
        plugin(
            &ca_file,
            &[
                ("service_account", service_account.to_string()),
                ("base_url", base),
            ],
        ),
    );
    let s = Server::start_with(config).await;
    s.ok(
        r#"mutation {
          importAccounts(accounts: [{id: "alice"}, {id: "bob"}]) { created }
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

    let id = push(
        &s,
        r#"{body: [{text: {text: "hello"}}], lifetimeSeconds: 600,
            offlinePush: {title: "News", desc: "Something happened", ext: "{\"k\":1}"}}"#,
    )
    .await;
    let report = report_when(&s, &id, |r| {
        r["invalidTokensRemoved"] == 1 && r["notificationsSent"] == 1
    })
    .await;
    assert_eq!(
        report,
        json!({"notificationsSent": 1, "notificationsFailed": 1, "invalidTokensRemoved": 1})
    );
    let sends = google.sends();
    assert_eq!(sends.len(), 2, "{sends:?}");
    let good = &sends.iter().find(|(t, _)| t == "good-token-1").unwrap().1;
    assert_eq!(good["notification"]["title"], "News");
    assert_eq!(good["notification"]["body"], "Something happened");
    assert_eq!(good["data"]["ext"], "{\"k\":1}");
    let ttl: u64 = good["android"]["ttl"]
        .as_str()
        .unwrap()
        .trim_end_matches('s')
        .parse()
        .unwrap();
    assert!((590..=600).contains(&ttl), "android.ttl {ttl}s");
    let devices = s
        .ok(
            r#"{ bob: account(id: "bob") { devices { token } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(devices["bob"]["devices"], json!([]));

    // FCM throttles the next send (429, Retry-After: 1): Herald retries, then it is delivered.
    google.throttle_next(1);
    let id = push(
        &s,
        r#"{body: [{text: {text: "again"}}], lifetimeSeconds: 600}"#,
    )
    .await;
    let report = report_when(&s, &id, |r| r["notificationsSent"] == 1).await;
    assert_eq!(report["notificationsSent"], 1);
    assert_eq!(google.sends().len(), 4, "the throttled send and its retry");
    assert_eq!(google.grants(), 1, "the access token is reused");

    // offlinePush.disabled: no notification at all.
    push(
        &s,
        r#"{body: [{text: {text: "quiet"}}], lifetimeSeconds: 600, offlinePush: {disabled: true}}"#,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(google.sends().len(), 4);
    s.stop().await;
}

#[test]
fn the_built_in_plugins_are_valid_components() {
    assert_eq!(herald::transport::builtins(), vec!["inapp", "apns", "fcm"]);
    for (name, platform) in [("inapp", "inapp"), ("apns", "ios"), ("fcm", "android")] {
        let wasm = herald::transport::builtin_component(name).unwrap();
        let info = herald::transport::check(wasm).unwrap();
        assert_eq!(info.name, name);
        assert_eq!(info.platforms, vec![platform.to_owned()]);
    }
    assert!(herald::transport::builtin_component("webhook").is_none());
}
