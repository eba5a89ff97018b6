//! Delivery over WebSocket: online users at once, offline users on reconnect within the
//! push's lifetime and never after, cursors, several sessions, slow consumers.

use crate::common;
use std::sync::Arc;

use crate::common::ws::Inbox;
use crate::common::{Server, code};
use herald::time::ManualClock;
use serde_json::{Value, json};

const PUSH: &str = r#"mutation($i: PushInput!) { push(input: $i) { id seq status } }"#;
const REPORT: &str = r#"query($id: String!) { push(id: $id) { status report { deliveredOnline deliveredOnReconnect pending expiredUndelivered } } }"#;

async fn seed(s: &Server) {
    s.ok(
        r#"mutation {
          importAccounts(accounts: [{id: "alice"}, {id: "bob"}, {id: "carol"}]) { created }
          addUserTags(input: [{account: "alice", tags: ["vip"]}, {account: "carol", tags: ["vip"]}]) { changed }
        }"#,
        json!({}),
    )
    .await;
}

async fn push(s: &Server, text: &str, lifetime: i64, target: Value) -> Value {
    let input =
        json!({"body": [{"text": {"text": text}}], "lifetimeSeconds": lifetime, "target": target});
    s.ok(PUSH, json!({ "i": input })).await["push"].clone()
}

async fn report(s: &Server, id: &Value) -> Value {
    s.ok(REPORT, json!({ "id": id })).await["push"].clone()
}

async fn ack(s: &Server, account: &str, through: &Value) -> Value {
    let token = s.client_token(account);
    s.gql_as(
        Some(&token),
        "mutation($t: String!) { ackInbox(through: $t) { through } }",
        json!({ "t": through }),
    )
    .await
}

#[tokio::test]
async fn online_users_receive_at_once_and_only_their_audience() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path()).await;
    seed(&s).await;
    let mut alice = Inbox::open(&s.url, Some(&s.client_token("alice")), None).await;
    let mut alice2 = Inbox::open(&s.url, Some(&s.client_token("alice")), None).await;
    let mut bob = Inbox::open(&s.url, Some(&s.client_token("bob")), None).await;
    // Sessions are registered once the server has answered another request after them.
    wait_sessions(&s, 3).await;

    let vip = push(&s, "for vips", 600, json!({"tagsAnd": ["vip"]})).await;
    let all = push(&s, "for all", 600, json!(null)).await;
    assert_eq!(alice.text().await, "for vips");
    assert_eq!(
        alice2.text().await,
        "for vips",
        "every session of an account receives"
    );
    let m = bob.message().await;
    assert_eq!(
        m["body"][0]["text"], "for all",
        "bob is not a vip: his first message is the second push"
    );
    assert_eq!(m["id"], all["id"]);
    assert_eq!(m["sender"], "administrator");
    assert_eq!(alice.text().await, "for all");

    // Counters are per recipient: alice's two sessions count once; carol is offline.
    let r = report(&s, &vip["id"]).await;
    assert_eq!(r["report"]["deliveredOnline"], 1, "{r}");
    assert_eq!(r["report"]["pending"], 1, "{r}");
    let (_, metrics) = s.get("/metrics").await;
    assert!(metrics.contains("\nherald_sessions 3\n"), "{metrics}");
    assert!(
        metrics.contains("\nherald_inbox_sent_online_total 5\n"),
        "{metrics}"
    );
    s.stop().await;
}

#[tokio::test]
async fn offline_users_receive_on_reconnect_within_the_lifetime() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(1_800_000_000));
    let s = Server::start_with_clock(dir.path(), clock.clone()).await;
    seed(&s).await;
    let first = push(&s, "one", 600, json!(null)).await;
    let _online_only = push(&s, "online only", 0, json!(null)).await;
    let cancelled = push(&s, "cancelled", 600, json!(null)).await;
    s.ok(
        "mutation($id: String!) { cancelPush(id: $id) { status } }",
        json!({"id": cancelled["id"]}),
    )
    .await;
    let short = push(&s, "short", 30, json!(null)).await;
    let second = push(&s, "two", 600, json!({"tagsOr": ["vip"]})).await;
    clock.advance(31);

    // carol comes back: the live pushes for her, oldest first; not the online-only one,
    // not the cancelled one, not the expired one.
    let mut carol = Inbox::open(&s.url, Some(&s.client_token("carol")), None).await;
    assert_eq!(carol.text().await, "one");
    assert_eq!(carol.text().await, "two");
    // Then new pushes, with no gap and no duplicate.
    wait_sessions(&s, 1).await;
    push(&s, "three", 600, json!(null)).await;
    assert_eq!(carol.text().await, "three");
    let r = report(&s, &first["id"]).await;
    assert_eq!(r["report"]["deliveredOnReconnect"], 1, "{r}");
    assert_eq!(report(&s, &short["id"]).await["status"], "EXPIRED");

    // The cursor: acknowledged pushes are not replayed to a later session.
    let body = ack(&s, "carol", &second["seq"]).await;
    assert_eq!(body["data"]["ackInbox"]["through"], second["seq"], "{body}");
    let body = ack(&s, "carol", &json!("1")).await;
    assert_eq!(
        body["data"]["ackInbox"]["through"], second["seq"],
        "a cursor never moves back"
    );
    drop(carol);
    let mut carol = Inbox::open(&s.url, Some(&s.client_token("carol")), None).await;
    assert_eq!(carol.text().await, "three");
    // `after` overrides the cursor.
    let mut again = Inbox::open(&s.url, Some(&s.client_token("carol")), Some("0")).await;
    assert_eq!(again.text().await, "one");

    // Past its lifetime, a push is never delivered.
    clock.advance(600);
    let mut late = Inbox::open(&s.url, Some(&s.client_token("alice")), None).await;
    wait_sessions(&s, 3).await;
    push(&s, "fresh", 600, json!(null)).await;
    assert_eq!(late.text().await, "fresh", "everything older has expired");
    let body = ack(&s, "alice", &json!("999")).await;
    assert_eq!(code(&body), "INVALID_ARGUMENT");
    s.stop().await;
}

#[tokio::test]
async fn a_login_creates_the_account_and_credentials_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path()).await;
    let mut newbie = Inbox::open(&s.url, Some(&s.client_token("newbie")), None).await;
    wait_sessions(&s, 1).await;
    assert_eq!(
        s.app.directory.account_count(),
        1,
        "a login makes the account reachable"
    );
    push(&s, "welcome", 60, json!(null)).await;
    assert_eq!(newbie.text().await, "welcome");

    let mut anonymous = Inbox::open(&s.url, None, None).await;
    assert_eq!(code(&anonymous.next().await), "UNAUTHENTICATED");
    let mut admin = Inbox::open(&s.url, Some(&s.admin_token()), None).await;
    assert_eq!(code(&admin.next().await), "FORBIDDEN");
    s.stop().await;
}

#[tokio::test]
async fn a_slow_session_is_closed_and_catches_up_by_replay() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::config(dir.path());
    config.delivery.session_queue = 4;
    let s = Server::start_with_send_buffer(config, 8192).await;
    seed(&s).await;
    // The slow client reads nothing and has a tiny socket buffer: the server's writes to it
    // stall, its queue fills, and it is closed; the fast client is not delayed.
    let mut slow =
        Inbox::open_with_buffer(&s.url, Some(&s.client_token("alice")), None, Some(2048)).await;
    let mut fast = Inbox::open(&s.url, Some(&s.client_token("bob")), None).await;
    wait_sessions(&s, 2).await;
    let big = "x".repeat(10_000);
    let n = 60;
    for i in 0..n {
        push(&s, &format!("{i} {big}"), 600, json!(null)).await;
        assert!(
            fast.text().await.starts_with(&format!("{i} ")),
            "the fast session keeps up"
        );
    }
    wait_sessions(&s, 1).await;
    let (_, metrics) = s.get("/metrics").await;
    assert!(
        metrics.contains("\nherald_session_overflows_total 1\n"),
        "{metrics}"
    );
    // The slow client finally reads: what was queued, then the reason it was closed.
    let mut got = 0;
    let end = loop {
        let item = slow.next().await;
        if item["data"]["inbox"].is_object() {
            got += 1;
        } else {
            break item;
        }
    };
    assert!(got < n, "the slow session was cut off after {got} messages");
    assert_eq!(code(&end), "LIMIT_EXCEEDED", "{end}");
    assert!(
        end["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("subscribe again")
    );
    // Subscribing again replays everything it missed, in order.
    let mut back = Inbox::open(&s.url, Some(&s.client_token("alice")), None).await;
    for i in 0..n {
        assert!(back.text().await.starts_with(&format!("{i} ")));
    }
    s.stop().await;
}

#[tokio::test]
async fn report_counters_are_persisted_by_the_sweeper() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path()).await;
    seed(&s).await;
    let mut alice = Inbox::open(&s.url, Some(&s.client_token("alice")), None).await;
    wait_sessions(&s, 1).await;
    let p = push(&s, "counted", 3600, json!(null)).await;
    assert_eq!(alice.text().await, "counted");
    let mut bob = Inbox::open(&s.url, Some(&s.client_token("bob")), None).await;
    assert_eq!(bob.text().await, "counted");
    drop((alice, bob));
    s.app.pushes.sweep().unwrap();
    s.stop().await;
    let s = Server::start(dir.path()).await;
    let r = report(&s, &p["id"]).await;
    assert_eq!(r["report"]["deliveredOnline"], 1, "{r}");
    assert_eq!(r["report"]["deliveredOnReconnect"], 1, "{r}");
    assert_eq!(r["report"]["pending"], 1, "{r}");
    s.stop().await;
}

/// Waits until `n` inbox sessions are registered (subscriptions open asynchronously).
async fn wait_sessions(s: &Server, n: usize) {
    for _ in 0..2000 {
        if s.app.delivery.sessions() == n {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    panic!("expected {n} sessions, have {}", s.app.delivery.sessions());
}
