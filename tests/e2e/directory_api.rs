//! Every Directory operation of API.md over HTTP against a real server, every limit and bad
//! input answered with its code and nothing changed, and a restart that keeps everything.

use crate::common;
use crate::common::{Server, code};
use serde_json::{Value, json};

const STATE: &str = r#"{
  attributeNames { slot name }
  accounts(first: 1000) { totalCount edges { node { id nick tags attributes { name value } } } }
}"#;

/// Everything the directory shows, to compare before and after a refused mutation.
async fn state(s: &Server) -> Value {
    s.ok(STATE, json!({})).await
}

async fn seed(s: &Server) {
    s.ok(
        r#"mutation { importAccounts(accounts: [{id: "alice", nick: "Alice"}, {id: "bob"}, {id: "carol"}]) { created existing } }"#,
        json!({}),
    )
    .await;
    s.ok(
        r#"mutation { setAttributeNames(names: [{slot: 0, name: "city"}, {slot: 1, name: "tier"}]) { slot name } }"#,
        json!({}),
    )
    .await;
    s.ok(
        r#"mutation { addUserTags(input: [{account: "alice", tags: ["vip", "stock A"]}, {account: "bob", tags: ["vip"]}]) { changed } }"#,
        json!({}),
    )
    .await;
    s.ok(
        r#"mutation { setUserAttributes(input: [{account: "alice", attributes: [{name: "city", value: "Shenzhen"}]}]) { changed } }"#,
        json!({}),
    )
    .await;
}

#[tokio::test]
async fn every_directory_operation_works() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path()).await;

    let data = s
        .ok(
            r#"mutation { importAccounts(accounts: [{id: "alice", nick: "Alice"}, {id: "bob"}]) { created existing } }"#,
            json!({}),
        )
        .await;
    assert_eq!(data["importAccounts"], json!({"created": 2, "existing": 0}));
    let data = s
        .ok(
            r#"mutation { importAccounts(accounts: [{id: "alice"}, {id: "carol"}]) { created existing } }"#,
            json!({}),
        )
        .await;
    assert_eq!(data["importAccounts"], json!({"created": 1, "existing": 1}));

    let names = s
        .ok(
            r#"mutation { setAttributeNames(names: [{slot: 0, name: "city"}, {slot: 3, name: "level"}]) { slot name } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        names["setAttributeNames"],
        json!([{"slot": 0, "name": "city"}, {"slot": 3, "name": "level"}])
    );
    let data = s
        .ok(
            r#"mutation($i: [UserTagsInput!]!) { addUserTags(input: $i) { changed } }"#,
            json!({"i": [{"account": "alice", "tags": ["vip", "stock A"]}, {"account": "bob", "tags": ["vip"]}]}),
        )
        .await;
    assert_eq!(data["addUserTags"]["changed"], 2);
    let data = s
        .ok(
            r#"mutation { setUserAttributes(input: [{account: "alice", attributes: [{name: "city", value: "Shenzhen"}, {name: "level", value: "3"}]}]) { changed } }"#,
            json!({}),
        )
        .await;
    assert_eq!(data["setUserAttributes"]["changed"], 1);

    let data = s
        .ok(
            r#"{ account(id: "alice") { id nick tags attributes { name value } createdAt }
                 ghost: account(id: "ghost") { id }
                 userTags(accounts: ["alice", "bob"]) { account tags }
                 userAttributes(accounts: ["alice"]) { account attributes { name value } }
                 attributeNames { slot name } }"#,
            json!({}),
        )
        .await;
    assert_eq!(data["account"]["nick"], "Alice");
    assert_eq!(data["account"]["tags"], json!(["stock A", "vip"]));
    assert!(
        data["account"]["createdAt"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    assert_eq!(data["ghost"], Value::Null);
    assert_eq!(
        data["userTags"],
        json!([{"account": "alice", "tags": ["stock A", "vip"]}, {"account": "bob", "tags": ["vip"]}])
    );
    assert_eq!(
        data["userAttributes"][0]["attributes"],
        json!([{"name": "city", "value": "Shenzhen"}, {"name": "level", "value": "3"}])
    );

    // Relay pagination over all accounts.
    let page = s
        .ok(
            r#"{ accounts(first: 2) { totalCount pageInfo { hasNextPage endCursor } edges { node { id } } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(page["accounts"]["totalCount"], 3);
    assert_eq!(page["accounts"]["pageInfo"]["hasNextPage"], true);
    let after = page["accounts"]["pageInfo"]["endCursor"].clone();
    let rest = s
        .ok(
            r#"query($a: String) { accounts(first: 2, after: $a) { pageInfo { hasNextPage } edges { node { id } } } }"#,
            json!({"a": after}),
        )
        .await;
    assert_eq!(
        rest["accounts"]["edges"],
        json!([{"node": {"id": "carol"}}])
    );
    assert_eq!(rest["accounts"]["pageInfo"]["hasNextPage"], false);

    s.ok(
        r#"mutation { removeUserTags(input: [{account: "alice", tags: ["vip"]}]) { changed } }"#,
        json!({}),
    )
    .await;
    s.ok(
        r#"mutation { removeUserAttributes(input: [{account: "alice", names: ["level"]}]) { changed } }"#,
        json!({}),
    )
    .await;
    s.ok(
        r#"mutation { removeAllUserTags(accounts: ["bob"]) { changed } }"#,
        json!({}),
    )
    .await;
    let names = s
        .ok(
            r#"mutation { removeAttributeNames(slots: [3]) { slot name } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        names["removeAttributeNames"],
        json!([{"slot": 0, "name": "city"}])
    );
    let data = s
        .ok(
            r#"{ userTags(accounts: ["alice", "bob"]) { tags } userAttributes(accounts: ["alice"]) { attributes { name value } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        data["userTags"],
        json!([{"tags": ["stock A"]}, {"tags": []}])
    );
    assert_eq!(
        data["userAttributes"][0]["attributes"],
        json!([{"name": "city", "value": "Shenzhen"}])
    );
    let data = s
        .ok(
            r#"mutation { deleteAccounts(ids: ["bob"]) { deleted } }"#,
            json!({}),
        )
        .await;
    assert_eq!(data["deleteAccounts"]["deleted"], 1);
    let data = s.ok(r#"{ account(id: "bob") { id } }"#, json!({})).await;
    assert_eq!(data["account"], Value::Null);
    assert!(s.app.directory.indexes_match_store().unwrap());
    s.stop().await;
}

/// Each case: a mutation, its variables, the code, and the field or limit it must name.
#[tokio::test]
async fn bad_input_gets_its_code_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path()).await;
    seed(&s).await;
    let before = state(&s).await;

    let tags_of = |n: usize| (0..n).map(|i| format!("t{i}")).collect::<Vec<_>>();
    let add = "mutation($i: [UserTagsInput!]!) { addUserTags(input: $i) { changed } }";
    let cases: Vec<(&str, &str, Value, &str, &str, &str)> = vec![
        (
            "tag of 51 bytes",
            add,
            json!({"i": [{"account": "alice", "tags": ["x".repeat(51)]}]}),
            "LIMIT_EXCEEDED",
            "limit",
            "tagBytes",
        ),
        (
            "empty tag",
            add,
            json!({"i": [{"account": "alice", "tags": [""]}]}),
            "INVALID_ARGUMENT",
            "field",
            "input[0].tags[0]",
        ),
        (
            "101st tag",
            add,
            json!({"i": [{"account": "carol", "tags": tags_of(101)}]}),
            "LIMIT_EXCEEDED",
            "limit",
            "tagsPerAccount",
        ),
        (
            "unknown account in a batch",
            add,
            json!({"i": [{"account": "alice", "tags": ["new"]}, {"account": "ghost", "tags": ["new"]}]}),
            "NOT_FOUND",
            "field",
            "input[1].account",
        ),
        (
            "batch over the limit",
            add,
            json!({"i": (0..1001).map(|i| json!({"account": format!("u{i}"), "tags": ["x"]})).collect::<Vec<_>>()}),
            "LIMIT_EXCEEDED",
            "limit",
            "batchAccounts",
        ),
        (
            "slot 10",
            "mutation { setAttributeNames(names: [{slot: 10, name: \"x\"}]) { slot } }",
            json!({}),
            "INVALID_ARGUMENT",
            "field",
            "names[0].slot",
        ),
        (
            "duplicate attribute name in a call",
            "mutation { setAttributeNames(names: [{slot: 2, name: \"x\"}, {slot: 3, name: \"x\"}]) { slot } }",
            json!({}),
            "INVALID_ARGUMENT",
            "field",
            "names[1].name",
        ),
        (
            "attribute name of another slot",
            "mutation { setAttributeNames(names: [{slot: 2, name: \"city\"}]) { slot } }",
            json!({}),
            "CONFLICT",
            "field",
            "names[0].name",
        ),
        (
            "empty attribute name",
            "mutation { setAttributeNames(names: [{slot: 2, name: \"\"}]) { slot } }",
            json!({}),
            "INVALID_ARGUMENT",
            "field",
            "names[0].name",
        ),
        (
            "unknown attribute",
            "mutation { setUserAttributes(input: [{account: \"alice\", attributes: [{name: \"planet\", value: \"Mars\"}]}]) { changed } }",
            json!({}),
            "INVALID_ARGUMENT",
            "field",
            "input[0].attributes[0].name",
        ),
        (
            "value of 51 bytes",
            "mutation($v: String!) { setUserAttributes(input: [{account: \"alice\", attributes: [{name: \"tier\", value: $v}]}]) { changed } }",
            json!({"v": "v".repeat(51)}),
            "LIMIT_EXCEEDED",
            "limit",
            "attributeValueBytes",
        ),
        (
            "empty account id",
            "mutation { importAccounts(accounts: [{id: \"dave\"}, {id: \"\"}]) { created } }",
            json!({}),
            "INVALID_ARGUMENT",
            "field",
            "accounts[1].id",
        ),
        (
            "account id of 33 bytes",
            "mutation($id: String!) { importAccounts(accounts: [{id: \"dave\"}, {id: $id}]) { created } }",
            json!({"id": "a".repeat(33)}),
            "LIMIT_EXCEEDED",
            "limit",
            "accountIdBytes",
        ),
        (
            "delete of an unknown account",
            "mutation { deleteAccounts(ids: [\"alice\", \"ghost\"]) { deleted } }",
            json!({}),
            "NOT_FOUND",
            "field",
            "ids[1]",
        ),
        (
            "remove slot 10",
            "mutation { removeAttributeNames(slots: [0, 10]) { slot } }",
            json!({}),
            "INVALID_ARGUMENT",
            "field",
            "slots[1]",
        ),
        (
            "remove tags of an unknown account",
            "mutation { removeAllUserTags(accounts: [\"alice\", \"ghost\"]) { changed } }",
            json!({}),
            "NOT_FOUND",
            "field",
            "accounts[1]",
        ),
        (
            "wrong argument type",
            "mutation { removeAttributeNames(slots: [\"zero\"]) { slot } }",
            json!({}),
            "INVALID_ARGUMENT",
            "",
            "",
        ),
        (
            "syntax error",
            "mutation { addUserTags(",
            json!({}),
            "INVALID_ARGUMENT",
            "",
            "",
        ),
    ];
    for (name, query, vars, want, key, value) in cases {
        let body = s.gql(query, vars).await;
        assert_eq!(code(&body), want, "{name}: {body}");
        if !key.is_empty() {
            assert_eq!(
                body["errors"][0]["extensions"][key], value,
                "{name}: {body}"
            );
        }
        assert!(
            body["errors"][0]["message"].as_str().unwrap().len() > 10,
            "{name}"
        );
        assert_eq!(state(&s).await, before, "{name} changed something");
    }
    // Reads of unknown accounts name them too.
    let body = s
        .gql(
            r#"{ userTags(accounts: ["alice", "ghost"]) { tags } }"#,
            json!({}),
        )
        .await;
    assert_eq!(code(&body), "NOT_FOUND");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("ghost")
    );
    assert!(s.app.directory.indexes_match_store().unwrap());
    s.stop().await;
}

#[tokio::test]
async fn credentials_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path()).await;
    seed(&s).await;
    let before = state(&s).await;
    let mutation =
        r#"mutation { addUserTags(input: [{account: "alice", tags: ["hacked"]}]) { changed } }"#;

    let body = s.gql_as(None, mutation, json!({})).await;
    assert_eq!(code(&body), "UNAUTHENTICATED", "{body}");
    let expired = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &json!({"sub": "administrator", "exp": 1_000_000_000u64}),
        &jsonwebtoken::EncodingKey::from_secret(s.app.config.app_secret().unwrap().as_bytes()),
    )
    .unwrap();
    let body = s.gql_as(Some(&expired), mutation, json!({})).await;
    assert_eq!(code(&body), "UNAUTHENTICATED", "{body}");
    let forged = herald::api::auth::Keys::new("not the secret", "administrator")
        .mint(&herald::api::auth::Principal::Admin, 600);
    let body = s.gql_as(Some(&forged), mutation, json!({})).await;
    assert_eq!(code(&body), "UNAUTHENTICATED", "{body}");
    let body = s.gql_as(Some("garbage"), mutation, json!({})).await;
    assert_eq!(code(&body), "UNAUTHENTICATED", "{body}");
    let client = s.client_token("alice");
    let body = s.gql_as(Some(&client), mutation, json!({})).await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
    let body = s
        .gql_as(Some(&client), "{ accounts { totalCount } }", json!({}))
        .await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
    assert_eq!(state(&s).await, before);
    s.stop().await;
}

#[tokio::test]
async fn guards_of_the_http_surface() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::config(dir.path());
    config.api.max_body_bytes = 2048;
    config.api.max_depth = 4;
    let s = Server::start_with(config).await;

    let (status, body) = s.get("/healthz").await;
    assert_eq!((status, body.as_str()), (200, "ok\n"));
    let (status, body) = s.get("/").await;
    assert_eq!(status, 200);
    assert!(body.contains("graphiql"), "GraphiQL page");

    let big = format!("{{ account(id: \"{}\") {{ id }} }}", "x".repeat(4096));
    let resp = s
        .http()
        .post(format!("{}/graphql", s.url))
        .bearer_auth(s.admin_token())
        .json(&json!({ "query": big }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 413);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(code(&body), "LIMIT_EXCEEDED");
    assert_eq!(body["errors"][0]["extensions"]["limit"], "requestBytes");

    let deep = "{ __schema { types { fields { type { ofType { ofType { name } } } } } } }";
    let body = s.gql(deep, json!({})).await;
    assert_eq!(code(&body), "LIMIT_EXCEEDED", "{body}");
    assert_eq!(body["errors"][0]["extensions"]["limit"], "queryDepth");

    // Metrics count requests and errors by operation, and show the directory's size.
    seed(&s).await;
    let _ = s
        .gql(r#"{ userTags(accounts: ["ghost"]) { tags } }"#, json!({}))
        .await;
    let (status, text) = s.get("/metrics").await;
    assert_eq!(status, 200);
    assert!(
        text.contains("herald_graphql_requests_total{operation=\"addUserTags\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("herald_graphql_errors_total{operation=\"userTags\",code=\"NOT_FOUND\"} 1"),
        "{text}"
    );
    assert!(text.contains("\nherald_accounts 3\n"), "{text}");
    assert!(text.contains("\nherald_tags 2\n"), "{text}");
    s.stop().await;
}

#[tokio::test]
async fn a_restart_keeps_everything_and_indexes_agree() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path()).await;
    seed(&s).await;
    s.ok(
        r#"mutation { deleteAccounts(ids: ["carol"]) { deleted } }"#,
        json!({}),
    )
    .await;
    let before = state(&s).await;
    let indexes = s.app.directory.indexes().clone();
    s.stop().await;

    let s = Server::start(dir.path()).await;
    assert_eq!(state(&s).await, before);
    assert_eq!(*s.app.directory.indexes(), indexes);
    assert!(s.app.directory.indexes_match_store().unwrap());
    // Uids are never reused: a re-imported carol is a new account.
    s.ok(
        r#"mutation { importAccounts(accounts: [{id: "carol"}]) { created } }"#,
        json!({}),
    )
    .await;
    assert!(s.app.directory.indexes_match_store().unwrap());
    s.stop().await;
}

#[tokio::test]
async fn devices_are_managed_by_the_admin_or_their_own_account() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path()).await;
    seed(&s).await;
    let register = "mutation($i: RegisterDeviceInput!) { registerDevice(input: $i) { token platform transport registeredAt } }";
    let unregister = "mutation($i: UnregisterDeviceInput!) { unregisterDevice(input: $i) }";
    let data = s
        .ok(
            register,
            json!({"i": {"account": "alice", "platform": "ios", "token": "apns-1"}}),
        )
        .await;
    assert_eq!(data["registerDevice"]["platform"], "ios");
    let alice = s.client_token("alice");
    let body = s
        .gql_as(
            Some(&alice),
            register,
            json!({"i": {"account": "alice", "platform": "android", "token": "fcm-1", "transport": "fcm"}}),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    let body = s
        .gql_as(
            Some(&alice),
            register,
            json!({"i": {"account": "bob", "platform": "ios", "token": "stolen"}}),
        )
        .await;
    assert_eq!(code(&body), "FORBIDDEN");
    let body = s
        .gql(
            register,
            json!({"i": {"account": "alice", "platform": "iOS 17", "token": "x"}}),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["field"], "input.platform",
        "{body}"
    );
    // A client's first call makes its account exist, as a login does.
    let newbie = s.client_token("newbie");
    let body = s
        .gql_as(
            Some(&newbie),
            register,
            json!({"i": {"account": "newbie", "platform": "ios", "token": "apns-n"}}),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body}");

    let data = s
        .ok(
            r#"{ account(id: "alice") { devices { token platform transport } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        data["account"]["devices"],
        json!([{"token": "apns-1", "platform": "ios", "transport": null},
               {"token": "fcm-1", "platform": "android", "transport": "fcm"}])
    );
    let body = s
        .gql_as(
            Some(&alice),
            unregister,
            json!({"i": {"account": "alice", "token": "apns-1"}}),
        )
        .await;
    assert_eq!(body["data"]["unregisterDevice"], true, "{body}");
    let body = s
        .gql(
            unregister,
            json!({"i": {"account": "alice", "token": "apns-1"}}),
        )
        .await;
    assert_eq!(code(&body), "NOT_FOUND");
    assert!(s.app.directory.indexes_match_store().unwrap());
    s.stop().await;
}
