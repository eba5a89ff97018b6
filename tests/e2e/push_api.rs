//! Targeting and push tasks over HTTP against a real server: every targeting form, durable,
//! idempotent and cancellable pushes, expiry, rate rules, and bad pushes leaving nothing.

use crate::common;
use std::sync::Arc;

use crate::common::{Server, code};
use herald::time::ManualClock;
use serde_json::{Value, json};

const PUSH: &str = r#"mutation($i: PushInput!) {
  push(input: $i) { id seq status sender audienceSize createdAt expiresAt idempotencyKey
    body { __typename ... on TextElement { text } ... on CustomElement { data desc } }
    report { deliveredOnline deliveredOnReconnect pending expiredUndelivered } }
}"#;

/// alice: vip, stock A; city Shenzhen, tier gold, level 7
/// bob:   vip;          city Beijing,  level 2
/// carol: muted;        tier platinum, level 50
/// dave:  (nothing)
async fn seed(s: &Server) {
    s.ok(
        r#"mutation {
          importAccounts(accounts: [{id: "alice"}, {id: "bob"}, {id: "carol"}, {id: "dave"}]) { created }
          setAttributeNames(names: [{slot: 0, name: "city"}, {slot: 1, name: "tier"}, {slot: 2, name: "level"}]) { slot }
        }"#,
        json!({}),
    )
    .await;
    s.ok(
        r#"mutation {
          addUserTags(input: [{account: "alice", tags: ["vip", "stock A"]}, {account: "bob", tags: ["vip"]}, {account: "carol", tags: ["muted"]}]) { changed }
          setUserAttributes(input: [
            {account: "alice", attributes: [{name: "city", value: "Shenzhen"}, {name: "tier", value: "gold"}, {name: "level", value: "7"}]},
            {account: "bob", attributes: [{name: "city", value: "Beijing"}, {name: "level", value: "2"}]},
            {account: "carol", attributes: [{name: "tier", value: "platinum"}, {name: "level", value: "50"}]}]) { changed }
        }"#,
        json!({}),
    )
    .await;
}

async fn size(s: &Server, target: Value) -> Value {
    let body = s
        .gql(
            "query($t: TargetInput) { audienceSize(target: $t) }",
            json!({ "t": target }),
        )
        .await;
    if body.get("errors").is_some() {
        return body;
    }
    body["data"]["audienceSize"].clone()
}

fn text(t: &str) -> Value {
    json!([{ "text": { "text": t } }])
}

async fn push_count(s: &Server) -> usize {
    let data = s
        .ok(
            "{ pushes(first: 500) { edges { node { id } } } }",
            json!({}),
        )
        .await;
    data["pushes"]["edges"].as_array().unwrap().len()
}

#[tokio::test]
async fn every_targeting_form_selects_the_right_accounts() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path()).await;
    seed(&s).await;
    let cases = [
        (json!(null), 4),
        (json!({}), 4),
        (json!({"tagsAnd": ["vip", "stock A"]}), 1),
        (json!({"tagsOr": ["stock A", "muted"]}), 2),
        (json!({"tagsOr": ["nobody has this"]}), 0),
        (
            json!({"attrsAnd": [{"name": "city", "value": "Shenzhen"}, {"name": "tier", "value": "gold"}]}),
            1,
        ),
        (
            json!({"attrsOr": [{"name": "city", "value": "Beijing"}, {"name": "tier", "value": "platinum"}]}),
            2,
        ),
        // Unlike the vendor, tags and attributes combine (AND).
        (
            json!({"tagsOr": ["vip"], "attrsAnd": [{"name": "city", "value": "Beijing"}]}),
            1,
        ),
        (
            json!({"where": "tag(\"stock A\") and (city = \"Shenzhen\" or not tag(\"vip\"))"}),
            1,
        ),
        (
            json!({"where": "tier in (\"gold\", \"platinum\") and exists(city)"}),
            1,
        ),
        (json!({"where": "level >= 3"}), 2),
        (json!({"where": "all and not tag(\"muted\")"}), 3),
        (json!({"where": "not city = \"Beijing\""}), 3),
        (json!({"where": "city != \"Beijing\""}), 1),
        (
            json!({"condition": {"and": [{"tag": "vip"}, {"not": {"attr": {"name": "level", "lt": "5"}}}]}}),
            1,
        ),
        (
            json!({"condition": {"or": [{"exists": "tier"}, {"attr": {"name": "city", "in": ["Beijing"]}}]}}),
            3,
        ),
    ];
    for (target, want) in cases {
        assert_eq!(size(&s, target.clone()).await, json!(want), "{target}");
    }
    // A push's audience is the same set, fixed at accept time.
    let data = s
        .ok(
            PUSH,
            json!({"i": {"target": {"where": "level >= 3"}, "body": text("hi"), "lifetimeSeconds": 600}}),
        )
        .await;
    assert_eq!(data["push"]["audienceSize"], 2);
    assert_eq!(data["push"]["report"]["pending"], 2);
    s.stop().await;
}

#[tokio::test]
async fn bad_targets_and_bad_pushes_leave_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path()).await;
    seed(&s).await;
    let push = |target: Value, extra: Value| {
        let mut input = json!({"body": text("hi"), "target": target});
        for (k, v) in extra.as_object().unwrap() {
            input[k] = v.clone();
        }
        json!({ "i": input })
    };
    let cases: Vec<(&str, Value, &str, &str, &str)> = vec![
        (
            "where syntax",
            push(
                json!({"where": "tag(\"vip\") and (city = \"X\""}),
                json!({}),
            ),
            "INVALID_ARGUMENT",
            "field",
            "target.where",
        ),
        (
            "unknown attribute",
            push(json!({"where": "planet = \"Mars\""}), json!({})),
            "INVALID_ARGUMENT",
            "field",
            "target.where",
        ),
        (
            "tag of 51 bytes",
            push(json!({"tagsAnd": ["x".repeat(51)]}), json!({})),
            "LIMIT_EXCEEDED",
            "limit",
            "tagBytes",
        ),
        (
            "empty tag list",
            push(json!({"tagsOr": []}), json!({})),
            "INVALID_ARGUMENT",
            "field",
            "target.tagsOr",
        ),
        (
            "lifetime over 7 days",
            push(json!(null), json!({"lifetimeSeconds": 604_801})),
            "LIMIT_EXCEEDED",
            "limit",
            "lifetimeSeconds",
        ),
        (
            "negative lifetime",
            push(json!(null), json!({"lifetimeSeconds": -1})),
            "INVALID_ARGUMENT",
            "field",
            "lifetimeSeconds",
        ),
        (
            "empty body",
            push(json!(null), json!({"body": []})),
            "INVALID_ARGUMENT",
            "field",
            "body",
        ),
        (
            "body over 12 KB",
            push(json!(null), json!({"body": text(&"x".repeat(12 * 1024))})),
            "LIMIT_EXCEEDED",
            "limit",
            "bodyBytes",
        ),
        (
            "latitude 100",
            push(
                json!(null),
                json!({"body": [{"location": {"latitude": 100.0, "longitude": 1.0}}]}),
            ),
            "INVALID_ARGUMENT",
            "field",
            "body[0].location.latitude",
        ),
        (
            "two custom elements",
            push(
                json!(null),
                json!({"body": [{"custom": {"data": "a"}}, {"custom": {"data": "b"}}]}),
            ),
            "INVALID_ARGUMENT",
            "field",
            "body[1].custom",
        ),
        (
            "key of 65 bytes",
            push(json!(null), json!({"idempotencyKey": "k".repeat(65)})),
            "LIMIT_EXCEEDED",
            "limit",
            "idempotencyKeyBytes",
        ),
        (
            "unknown sender",
            push(json!(null), json!({"sender": "ghost"})),
            "NOT_FOUND",
            "field",
            "sender",
        ),
    ];
    for (name, vars, want, key, value) in cases {
        let body = s.gql(PUSH, vars).await;
        assert_eq!(code(&body), want, "{name}: {body}");
        assert_eq!(
            body["errors"][0]["extensions"][key], value,
            "{name}: {body}"
        );
    }
    let body = s
        .gql(
            PUSH,
            push(
                json!({"where": "tag(\"vip\") and (city = \"X\""}),
                json!({}),
            ),
        )
        .await;
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("at byte"),
        "a syntax error names its position: {message}"
    );
    assert_eq!(push_count(&s).await, 0, "a refused push leaves nothing");

    let client = s.client_token("alice");
    let body = s
        .gql_as(Some(&client), PUSH, json!({"i": {"body": text("hi")}}))
        .await;
    assert_eq!(code(&body), "FORBIDDEN");
    assert_eq!(push_count(&s).await, 0);
    s.stop().await;
}

#[tokio::test]
async fn pushes_are_idempotent_listed_and_cancellable() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path()).await;
    seed(&s).await;
    let first = s
        .ok(
            PUSH,
            json!({"i": {"body": text("hello"), "lifetimeSeconds": 3600, "idempotencyKey": "k1", "sender": "alice"}}),
        )
        .await["push"]
        .clone();
    assert_eq!(first["status"], "LIVE");
    assert_eq!(first["sender"], "alice");
    assert_eq!(first["audienceSize"], 4);
    assert_eq!(
        first["body"],
        json!([{"__typename": "TextElement", "text": "hello"}])
    );
    let again = s
        .ok(
            PUSH,
            json!({"i": {"body": text("different"), "lifetimeSeconds": 10, "idempotencyKey": "k1"}}),
        )
        .await["push"]
        .clone();
    assert_eq!(again["id"], first["id"], "same key, same push");
    assert_eq!(again["body"], first["body"]);
    assert_eq!(push_count(&s).await, 1);

    let online_only = s
        .ok(PUSH, json!({"i": {"body": text("now or never")}}))
        .await["push"]
        .clone();
    assert_eq!(
        online_only["status"], "EXPIRED",
        "lifetime 0 reaches only those online"
    );
    assert_eq!(online_only["report"]["expiredUndelivered"], 4);

    let live = s
        .ok(
            r#"{ pushes(status: LIVE) { edges { node { id status } } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(live["pushes"]["edges"].as_array().unwrap().len(), 1);
    // Newest first, in pages.
    let page = s
        .ok(
            "{ pushes(first: 1) { pageInfo { hasNextPage endCursor } edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(page["pushes"]["edges"][0]["node"]["id"], online_only["id"]);
    let rest = s
        .ok(
            "query($a: String) { pushes(first: 1, after: $a) { pageInfo { hasNextPage } edges { node { id } } } }",
            json!({"a": page["pushes"]["pageInfo"]["endCursor"]}),
        )
        .await;
    assert_eq!(rest["pushes"]["edges"][0]["node"]["id"], first["id"]);
    assert_eq!(rest["pushes"]["pageInfo"]["hasNextPage"], false);

    let cancel = "mutation($id: String!) { cancelPush(id: $id) { status report { pending expiredUndelivered } } }";
    let cancelled = s.ok(cancel, json!({"id": first["id"]})).await;
    assert_eq!(cancelled["cancelPush"]["status"], "CANCELLED");
    assert_eq!(cancelled["cancelPush"]["report"]["pending"], 0);
    assert_eq!(cancelled["cancelPush"]["report"]["expiredUndelivered"], 4);
    let twice = s.ok(cancel, json!({"id": first["id"]})).await;
    assert_eq!(twice["cancelPush"]["status"], "CANCELLED");
    let body = s.gql(cancel, json!({"id": "1400000000_999_1"})).await;
    assert_eq!(code(&body), "NOT_FOUND");
    let got = s
        .ok(
            "query($id: String!) { push(id: $id) { status } }",
            json!({"id": first["id"]}),
        )
        .await;
    assert_eq!(got["push"]["status"], "CANCELLED");
    let none = s.ok(r#"{ push(id: "not-an-id") { id } }"#, json!({})).await;
    assert_eq!(none["push"], Value::Null);
    s.stop().await;
}

#[tokio::test]
async fn pushes_expire_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(1_800_000_000));
    let s = Server::start_with_clock(dir.path(), clock.clone()).await;
    seed(&s).await;
    let short = s
        .ok(
            PUSH,
            json!({"i": {"body": text("short"), "lifetimeSeconds": 60}}),
        )
        .await["push"]
        .clone();
    let long = s
        .ok(
            PUSH,
            json!({"i": {"body": text("long"), "lifetimeSeconds": 3600, "target": {"tagsAnd": ["vip"]}}}),
        )
        .await["push"]
        .clone();
    assert_eq!(s.app.pushes.live_count(), 2);
    clock.advance(61);
    let got = s
        .ok(
            "query($id: String!) { push(id: $id) { status } }",
            json!({"id": short["id"]}),
        )
        .await;
    assert_eq!(
        got["push"]["status"], "EXPIRED",
        "status follows the clock before any sweep"
    );
    assert_eq!(s.app.pushes.sweep().unwrap(), 1);
    assert_eq!(s.app.pushes.live_count(), 1);
    let (_, metrics) = s.get("/metrics").await;
    assert!(metrics.contains("\nherald_live_pushes 1\n"), "{metrics}");
    s.stop().await;

    // Restarted on the same data dir: every push and its audience snapshot is there.
    let s = Server::start_with_clock(dir.path(), clock.clone()).await;
    assert_eq!(s.app.pushes.live_count(), 1);
    let q = "query($id: String!) { push(id: $id) { id seq status audienceSize createdAt expiresAt body { ... on TextElement { text } } } }";
    let got = s.ok(q, json!({"id": long["id"]})).await;
    assert_eq!(got["push"]["status"], "LIVE");
    assert_eq!(got["push"]["audienceSize"], 2);
    assert_eq!(got["push"]["createdAt"], long["createdAt"]);
    assert_eq!(got["push"]["body"], json!([{"text": "long"}]));
    let got = s.ok(q, json!({"id": short["id"]})).await;
    assert_eq!(got["push"]["status"], "EXPIRED");
    // Expired while the server was down: retired at start.
    clock.advance(3600);
    s.stop().await;
    let s = Server::start_with_clock(dir.path(), clock.clone()).await;
    assert_eq!(s.app.pushes.live_count(), 0);
    s.stop().await;
}

#[tokio::test]
async fn rate_rules_refuse_with_rate_limited() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::config(dir.path());
    config.push.daily_quota = 2;
    let s = Server::start_with(config).await;
    for _ in 0..2 {
        s.ok(PUSH, json!({"i": {"body": text("hi")}})).await;
    }
    let body = s.gql(PUSH, json!({"i": {"body": text("hi")}})).await;
    assert_eq!(code(&body), "RATE_LIMITED", "{body}");
    assert_eq!(body["errors"][0]["extensions"]["limit"], "dailyQuota");
    assert_eq!(push_count(&s).await, 2);
    s.stop().await;

    let dir = tempfile::tempdir().unwrap();
    let mut config = common::config(dir.path());
    config.push.min_interval_seconds = 3600;
    let s = Server::start_with(config).await;
    s.ok(
        PUSH,
        json!({"i": {"body": text("hi"), "idempotencyKey": "a"}}),
    )
    .await;
    // A retry with the same key is not a new push, so it is not limited.
    s.ok(
        PUSH,
        json!({"i": {"body": text("hi"), "idempotencyKey": "a"}}),
    )
    .await;
    let body = s.gql(PUSH, json!({"i": {"body": text("hi")}})).await;
    assert_eq!(code(&body), "RATE_LIMITED", "{body}");
    assert_eq!(
        body["errors"][0]["extensions"]["limit"],
        "minIntervalSeconds"
    );
    s.stop().await;
}
