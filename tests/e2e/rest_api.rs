//! The vendor-compatible REST API (`/v4/...`) against a real server: the vendor's documented
//! request and response examples, UserSig auth (the vendor's test vector, expired, forged),
//! every vendor error code, the liberal readings real clients need, and a REST push that a
//! GraphQL inbox subscriber receives and GraphQL shows.

use crate::common;
use std::sync::Arc;

use crate::common::ws::Inbox;
use herald::api::auth::Principal;
use herald::app::App;
use herald::config::Config;
use herald::rest::usersig;
use herald::time::ManualClock;
use serde_json::{Value, json};
use tokio::sync::oneshot;

/// The vendor generator's test vector: this app secret, sdkappid 1400000000, identifier
/// `administrator`, signed at `TIME` for `EXPIRE` seconds, gives `VECTOR`.
const KEY: &str = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e";
const TIME: u64 = 1_764_300_000;
const EXPIRE: u64 = 15_552_000;
const VECTOR: &str = "eJyrVgrxCdYrSy1SslJQMtIzUNJRAItkpqTmlWSmZUIkElNyM-Myi0uKEkvyi2BKilOyEwsKMlOACgxNDKAAKpdaUZBZlAqSMTU1NUKIl2TmgkXNzUyMkdUXZ6aD7NH2disO9nfPzw13q9S2KC8LzXM0CInILwouLSzxC3NMcUkPt0wNMPXLMS22VaoFANN2Nkw_";
const APP: u64 = 1_400_000_000;

/// A server whose app secret is the vector's key and whose clock is inside the vector's
/// validity; stopped on drop.
struct Rest {
    url: String,
    app: Arc<App>,
    clock: Arc<ManualClock>,
    http: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    _dir: tempfile::TempDir,
}

impl Rest {
    async fn start() -> Rest {
        Self::start_with(|_| {}).await
    }

    async fn start_with(edit: impl FnOnce(&mut Config)) -> Rest {
        let dir = tempfile::tempdir().unwrap();
        let mut config = common::config(dir.path());
        config.app.secret = Some(KEY.to_owned());
        edit(&mut config);
        let clock = Arc::new(ManualClock::new(TIME + 60));
        let app = App::open_with_clock(config, clock.clone()).expect("open app");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let served = app.clone();
        tokio::spawn(async move {
            herald::server::run(listener, served, async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        });
        Rest {
            url,
            app,
            clock,
            http: reqwest::Client::new(),
            stop: Some(stop),
            _dir: dir,
        }
    }

    /// POSTs `body` to `path?query`; the vendor always answers HTTP 200 with JSON.
    async fn post(&self, path: &str, query: &str, body: impl Into<reqwest::Body>) -> Value {
        let resp = self
            .http
            .post(format!("{}{path}?{query}", self.url))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        resp.json().await.unwrap()
    }

    /// Calls `v4/{command}` as the admin with the vendor's vector UserSig.
    async fn call(&self, command: &str, body: Value) -> Value {
        let path = format!("/v4/{command}");
        self.post(&path, &query(VECTOR, "administrator"), body.to_string())
            .await
    }

    /// Calls `v4/all_member_push/{command}`.
    async fn amp(&self, command: &str, body: Value) -> Value {
        self.call(&format!("all_member_push/{command}"), body).await
    }

    /// An `im_push` that must succeed; returns the TaskId.
    async fn push(&self, body: Value) -> String {
        let r = self.amp("im_push", body).await;
        ok(&r);
        r["TaskId"].as_str().expect("TaskId").to_owned()
    }

    /// A GraphQL query as admin; returns `data`.
    async fn gql(&self, query: &str, variables: Value) -> Value {
        let token = self.app.keys.mint(&Principal::Admin, 3600);
        let body: Value = self
            .http
            .post(format!("{}/graphql", self.url))
            .bearer_auth(token)
            .json(&json!({"query": query, "variables": variables}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(body.get("errors").is_none(), "{body}");
        body["data"].clone()
    }
}

impl Drop for Rest {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

fn query(sig: &str, identifier: &str) -> String {
    format!("sdkappid={APP}&identifier={identifier}&usersig={sig}&random=99999999&contenttype=json")
}

/// The vendor's base success response.
fn base_ok() -> Value {
    json!({"ActionStatus": "OK", "ErrorInfo": "", "ErrorCode": 0})
}

#[track_caller]
fn ok(r: &Value) {
    assert_eq!(r["ActionStatus"], "OK", "{r}");
    assert_eq!(r["ErrorCode"], 0, "{r}");
}

#[track_caller]
fn fail(r: &Value, code: u32) {
    assert_eq!(r["ActionStatus"], "FAIL", "{r}");
    assert_eq!(r["ErrorCode"], code, "{r}");
    assert!(
        !r["ErrorInfo"].as_str().unwrap_or_default().is_empty(),
        "{r}"
    );
}

fn text(t: &str) -> Value {
    json!([{"MsgType": "TIMTextElem", "MsgContent": {"Text": t}}])
}

async fn import(s: &Rest, ids: &[&str]) {
    let r = s
        .call(
            "im_open_login_svc/multiaccount_import",
            json!({"Accounts": ids}),
        )
        .await;
    ok(&r);
    assert_eq!(r["FailAccounts"], json!([]));
}

const PUSH_BY_ID: &str =
    "query($id: String!) { push(id: $id) { id status sender audienceSize expiresAt } }";

#[tokio::test]
async fn the_vendors_attribute_examples() {
    let s = Rest::start().await;
    import(
        &s,
        &[
            "xiaojun012",
            "xiaojun013",
            "Zhang Xiaohong",
            "Chen Xiaoming",
            "abc",
        ],
    )
    .await;

    let r = s
        .amp(
            "im_set_attr_name",
            json!({"AttrNames": {"0": "sex", "1": "city", "2": "country"}}),
        )
        .await;
    assert_eq!(r, base_ok());
    // Names merge by slot: renaming slot 2 keeps 0 and 1.
    let r = s
        .amp(
            "im_set_attr_name",
            json!({"AttrNames": {"2": "Membership level"}}),
        )
        .await;
    assert_eq!(r, base_ok());
    let r = s.amp("im_get_attr_name", json!({})).await;
    assert_eq!(
        r,
        json!({"ActionStatus": "OK", "ErrorInfo": "", "ErrorCode": 0,
               "AttrNames": {"0": "sex", "1": "city", "2": "Membership level"}})
    );

    let r = s
        .amp(
            "im_set_attr",
            json!({"UserAttrs": [
                {"To_Account": "xiaojun012", "Attrs": {"sex": "attr1", "city": "attr2"}},
                {"To_Account": "xiaojun013", "Attrs": {"city": "attr3", "sex": "attr4"}}]}),
        )
        .await;
    assert_eq!(r, base_ok());
    let r = s
        .amp(
            "im_set_attr",
            json!({"UserAttrs": [
                {"To_Account": "Zhang Xiaohong", "Attrs": {"sex": "Female", "city": "New York"}},
                {"To_Account": "Chen Xiaoming", "Attrs": {"sex": "M", "city": "Shenzhen"}}]}),
        )
        .await;
    ok(&r);
    let r = s
        .amp(
            "im_get_attr",
            json!({"To_Account": ["Zhang Xiaohong", "Chen Xiaoming", "abc"]}),
        )
        .await;
    // The vendor's example answer lists the same users in another order; ours is the
    // request's.
    assert_eq!(
        r,
        json!({"ActionStatus": "OK", "ErrorInfo": "", "ErrorCode": 0,
               "UserAttrs": [
                   {"To_Account": "Zhang Xiaohong", "Attrs": {"sex": "Female", "city": "New York"}},
                   {"To_Account": "Chen Xiaoming", "Attrs": {"sex": "M", "city": "Shenzhen"}},
                   {"To_Account": "abc", "Attrs": {}}]})
    );

    let r = s
        .amp(
            "im_remove_attr",
            json!({"UserAttrs": [{"To_Account": "xiaojun013", "Attrs": ["sex", "city"]}]}),
        )
        .await;
    assert_eq!(r, base_ok());
    let r = s
        .amp(
            "im_get_attr",
            json!({"To_Account": ["xiaojun012", "xiaojun013", "never-imported"]}),
        )
        .await;
    assert_eq!(
        r["UserAttrs"],
        json!([{"To_Account": "xiaojun012", "Attrs": {"sex": "attr1", "city": "attr2"}},
               {"To_Account": "xiaojun013", "Attrs": {}},
               {"To_Account": "never-imported", "Attrs": {}}])
    );

    // The same data through GraphQL: one core.
    let d = s
        .gql(
            r#"{ attributeNames { slot name } userAttributes(accounts: ["xiaojun012"]) { account attributes { name value } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        d["attributeNames"][2],
        json!({"slot": 2, "name": "Membership level"})
    );
    assert_eq!(
        d["userAttributes"][0]["attributes"],
        json!([{"name": "sex", "value": "attr1"}, {"name": "city", "value": "attr2"}])
    );
}

#[tokio::test]
async fn the_vendors_tag_and_account_examples() {
    let s = Rest::start().await;
    let r = s
        .call(
            "im_open_login_svc/account_import",
            json!({"UserID": "xiaojun012", "Nick": "test", "FaceUrl": "http://www.qq.com"}),
        )
        .await;
    assert_eq!(r, base_ok());
    // The old form and the new form of multiaccount_import.
    let r = s
        .call(
            "im_open_login_svc/multiaccount_import",
            json!({"Accounts": ["xiaojun013", "test2"]}),
        )
        .await;
    assert_eq!(
        r,
        json!({"ActionStatus": "OK", "ErrorInfo": "", "ErrorCode": 0, "FailAccounts": []})
    );
    let r = s
        .call(
            "im_open_login_svc/multiaccount_import",
            json!({"AccountList": [{"UserID": "test3", "Nick": "Three", "FaceUrl": "http://x"}]}),
        )
        .await;
    ok(&r);
    let d = s
        .gql(r#"{ account(id: "test3") { nick } }"#, json!({}))
        .await;
    assert_eq!(d["account"]["nick"], "Three");

    let r = s
        .amp(
            "im_add_tag",
            json!({"UserTags": [{"To_Account": "xiaojun012", "Tags": ["a", "b"]},
                                {"To_Account": "xiaojun013", "Tags": ["a", "b"]}]}),
        )
        .await;
    assert_eq!(r, base_ok());
    let r = s
        .amp(
            "im_remove_tag",
            json!({"UserTags": [{"To_Account": "xiaojun013", "Tags": ["b"]}]}),
        )
        .await;
    assert_eq!(r, base_ok());
    let r = s
        .amp(
            "im_add_tag",
            json!({"UserTags": [{"To_Account": "xiaojun013", "Tags": ["c", "a"]}]}),
        )
        .await;
    ok(&r);
    let r = s
        .amp(
            "im_get_tag",
            json!({"To_Account": ["xiaojun012", "xiaojun013"]}),
        )
        .await;
    assert_eq!(
        r,
        json!({"ActionStatus": "OK", "ErrorInfo": "", "ErrorCode": 0,
               "UserTags": [{"To_Account": "xiaojun012", "Tags": ["a", "b"]},
                            {"To_Account": "xiaojun013", "Tags": ["a", "c"]}]})
    );
    let r = s
        .amp(
            "im_remove_all_tags",
            json!({"To_Account": ["xiaojun012", "xiaojun013"]}),
        )
        .await;
    assert_eq!(r, base_ok());
    let r = s
        .amp(
            "im_get_tag",
            json!({"To_Account": ["xiaojun012", "xiaojun013", "nobody"]}),
        )
        .await;
    assert_eq!(
        r["UserTags"],
        json!([{"To_Account": "xiaojun012", "Tags": []},
               {"To_Account": "xiaojun013", "Tags": []},
               {"To_Account": "nobody", "Tags": []}])
    );
}

#[tokio::test]
async fn the_vendors_push_examples() {
    let s = Rest::start().await;
    import(&s, &["admin", "xiaoming", "lisi"]).await;
    ok(&s
        .amp(
            "im_set_attr_name",
            json!({"AttrNames": {"0": "sex", "1": "city"}}),
        )
        .await);
    ok(&s
        .amp(
            "im_set_attr",
            json!({"UserAttrs": [{"To_Account": "lisi", "Attrs": {"city": "Shenzhen"}}]}),
        )
        .await);
    ok(&s
        .amp(
            "im_add_tag",
            json!({"UserTags": [{"To_Account": "xiaoming", "Tags": ["Stock A", "Stock B"]},
                                {"To_Account": "lisi", "Tags": ["Stock A"]}]}),
        )
        .await);

    let examples = [
        (
            json!({"From_Account": "admin", "MsgRandom": 56512, "MsgLifeTime": 120,
                   "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "hi, beauty"}}]}),
            3,
        ),
        (
            json!({"From_Account": "admin", "MsgRandom": 214, "MsgLifeTime": 120,
                   "Condition": {"TagsAnd": ["Stock A", "Stock B"]},
                   "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "hi"}}]}),
            1,
        ),
        (
            json!({"From_Account": "admin", "MsgRandom": 9657,
                   "Condition": {"AttrsOr": {"sex": "M", "city": "Shenzhen"}},
                   "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "hi"}}]}),
            1,
        ),
        (
            json!({"From_Account": "xiaoming", "MsgRandom": 3674128, "MsgLifeTime": 120,
                   "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "hi"}}],
                   "OfflinePushInfo": {"PushFlag": 0, "Desc": "offline text", "Ext": "passthrough",
                       "AndroidInfo": {"Sound": "android.mp3"},
                       "ApnsInfo": {"Sound": "apns.mp3", "BadgeMode": 1, "Title": "apns title",
                                    "SubTitle": "apns subtitle", "Image": "www.image.com"}}}),
            3,
        ),
    ];
    for (request, audience) in examples {
        let r = s.amp("im_push", request.clone()).await;
        assert_eq!(
            r.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["ActionStatus", "ErrorCode", "ErrorInfo", "TaskId"],
            "{r}"
        );
        ok(&r);
        let id = r["TaskId"].as_str().unwrap();
        assert!(id.starts_with("1400000000_"), "{id}");
        let push = &s.gql(PUSH_BY_ID, json!({"id": id})).await["push"];
        assert_eq!(push["id"], id);
        assert_eq!(push["sender"], request["From_Account"]);
        assert_eq!(push["audienceSize"], audience, "{request}");
        // MsgLifeTime absent = 0 = online users only: expired at once.
        let status = if request.get("MsgLifeTime").is_some() {
            "LIVE"
        } else {
            "EXPIRED"
        };
        assert_eq!(push["status"], status, "{request}");
    }
}

#[tokio::test]
async fn a_rest_push_reaches_a_graphql_inbox_subscriber() {
    let s = Rest::start().await;
    import(&s, &["alice", "bob"]).await;
    ok(&s
        .amp(
            "im_add_tag",
            json!({"UserTags": [{"To_Account": "alice", "Tags": ["vip"]}]}),
        )
        .await);
    let alice = s.app.keys.mint(&Principal::Client("alice".into()), 3600);
    let mut inbox = Inbox::open(&s.url, Some(&alice), None).await;
    let id = s
        .push(json!({"MsgRandom": 1, "MsgLifeTime": 120,
                     "Condition": {"TagsAnd": ["vip"]}, "MsgBody": text("hello over REST")}))
        .await;
    let msg = inbox.message().await;
    assert_eq!(msg["id"], id);
    assert_eq!(msg["sender"], "administrator");
    assert_eq!(msg["body"][0]["text"], "hello over REST");
    let push = &s.gql(PUSH_BY_ID, json!({"id": id})).await["push"];
    assert_eq!(push["status"], "LIVE");
    assert_eq!(push["audienceSize"], 1);
    assert_eq!(push["sender"], "administrator");
}

#[tokio::test]
async fn msg_random_is_the_idempotency_key() {
    let s = Rest::start().await;
    let first = s
        .push(json!({"MsgRandom": 4_294_967_295u32, "MsgLifeTime": 60, "MsgBody": text("once")}))
        .await;
    // A retry, even with the number as a string, answers the first task and sends nothing.
    let again = s
        .push(json!({"MsgRandom": "4294967295", "MsgLifeTime": 60, "MsgBody": text("once")}))
        .await;
    assert_eq!(again, first);
    let other = s
        .push(json!({"MsgRandom": 7, "MsgLifeTime": 60, "MsgBody": text("twice")}))
        .await;
    assert_ne!(other, first);
    let d = s
        .gql("{ pushes(first: 10) { edges { node { id } } } }", json!({}))
        .await;
    assert_eq!(d["pushes"]["edges"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn usersig_auth_as_the_vendor_does_it() {
    let s = Rest::start().await;
    let path = "/v4/all_member_push/im_get_attr_name";
    let login = "/v4/im_open_login_svc/account_import";
    ok(&s.post(path, &query(VECTOR, "administrator"), "{}").await);
    // The query's parameters in another order, without random or contenttype.
    let r = s
        .post(
            path,
            &format!("usersig={VECTOR}&identifier=administrator&sdkappid={APP}"),
            "",
        )
        .await;
    ok(&r);

    // Signed with another key: forged.
    let other = usersig::generate(&"f".repeat(64), APP, "administrator", TIME, EXPIRE);
    fail(
        &s.post(path, &query(&other, "administrator"), "{}").await,
        70009,
    );
    // Not a UserSig at all.
    fail(
        &s.post(path, &query("bm90LWEtc2ln", "administrator"), "{}")
            .await,
        70003,
    );
    // Issued to someone else than the identifier the query names.
    let bob = usersig::generate(KEY, APP, "bob", TIME, EXPIRE);
    fail(
        &s.post(path, &query(&bob, "administrator"), "{}").await,
        70013,
    );
    // A valid UserSig of a user that is not the admin.
    fail(&s.post(path, &query(&bob, "bob"), "{}").await, 90009);
    fail(
        &s.post(login, &query(&bob, "bob"), r#"{"UserID":"x"}"#)
            .await,
        70403,
    );
    // Issued for another app.
    let other_app = usersig::generate(KEY, APP + 1, "administrator", TIME, EXPIRE);
    fail(
        &s.post(path, &query(&other_app, "administrator"), "{}")
            .await,
        70014,
    );
    // Missing parameters and a wrong app id.
    fail(
        &s.post(
            path,
            &format!("identifier=administrator&usersig={VECTOR}"),
            "{}",
        )
        .await,
        60012,
    );
    fail(
        &s.post(
            path,
            &format!("sdkappid={APP}&identifier=administrator"),
            "{}",
        )
        .await,
        60004,
    );
    fail(
        &s.post(path, &format!("sdkappid={APP}&usersig={VECTOR}"), "{}")
            .await,
        60004,
    );
    fail(
        &s.post(
            path,
            &format!("sdkappid=1400000001&identifier=administrator&usersig={VECTOR}"),
            "{}",
        )
        .await,
        70020,
    );
    fail(
        &s.post(
            path,
            &format!("sdkappid=abc&identifier=administrator&usersig={VECTOR}"),
            "{}",
        )
        .await,
        60002,
    );
    // A refused call changes nothing.
    fail(
        &s.post(
            "/v4/all_member_push/im_set_attr_name",
            &query(&other, "administrator"),
            r#"{"AttrNames":{"0":"city"}}"#,
        )
        .await,
        70009,
    );
    assert!(s.app.directory.attribute_names().is_empty());

    // The vector is valid up to time + expire on the server's clock, then expired.
    s.clock.advance(TIME + EXPIRE - (TIME + 60));
    ok(&s.post(path, &query(VECTOR, "administrator"), "{}").await);
    s.clock.advance(1);
    fail(
        &s.post(path, &query(VECTOR, "administrator"), "{}").await,
        70001,
    );
}

#[tokio::test]
async fn every_push_error_code() {
    let s = Rest::start().await;
    import(&s, &["alice"]).await;
    ok(&s
        .amp("im_set_attr_name", json!({"AttrNames": {"0": "city"}}))
        .await);
    let push = |extra: Value| {
        let mut body = json!({"MsgRandom": 1, "MsgBody": text("hi")});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    let cases: Vec<(Value, u32)> = vec![
        // MsgBody: malformed element, empty, not an array, missing.
        (
            push(json!({"MsgBody": [{"MsgType": "TIMTextElem"}]})),
            90002,
        ),
        (
            push(json!({"MsgBody": [{"MsgType": "TIMNoSuchElem", "MsgContent": {}}]})),
            90002,
        ),
        (push(json!({"MsgBody": []})), 90002),
        (json!({"MsgRandom": 1}), 90002),
        (
            push(json!({"MsgBody": {"MsgType": "TIMTextElem", "MsgContent": {"Text": "x"}}})),
            90007,
        ),
        (push(json!({"MsgBody": "hi"})), 90007),
        // OfflinePushInfo not following the message format.
        (push(json!({"OfflinePushInfo": {"PushFlag": 2}})), 90010),
        (push(json!({"OfflinePushInfo": {"ApnsInfo": "x"}})), 90010),
        // MsgRandom missing or not a 32-bit unsigned integer.
        (json!({"MsgBody": text("hi")}), 90005),
        (push(json!({"MsgRandom": "abc"})), 90005),
        (push(json!({"MsgRandom": -1})), 90005),
        (push(json!({"MsgRandom": 4_294_967_296u64})), 90005),
        (push(json!({"MsgRandom": 1.5})), 90005),
        // Tags.
        (
            push(json!({"Condition": {"TagsAnd": ["x".repeat(51)]}})),
            90020,
        ),
        (
            push(json!({"Condition": {"TagsOr": ["a", "b"], "TagsAnd": ["b"]}})),
            90022,
        ),
        (
            push(
                json!({"Condition": {"TagsOr": (0..11).map(|i| format!("t{i}")).collect::<Vec<_>>()}}),
            ),
            90032,
        ),
        (push(json!({"Condition": {"TagsAnd": ["a", ""]}})), 90040),
        (
            push(json!({"Condition": {"TagsAnd": ["a"], "AttrsOr": {"city": "X"}}})),
            90039,
        ),
        // Attributes.
        (
            push(json!({"Condition": {"AttrsAnd": {"planet": "Mars"}}})),
            90033,
        ),
        (
            push(json!({"Condition": {"AttrsAnd": {"city": "x".repeat(51)}}})),
            90033,
        ),
        // Lifetime.
        (push(json!({"MsgLifeTime": 604_801})), 90026),
        (push(json!({"MsgLifeTime": -1})), 90026),
        (push(json!({"MsgLifeTime": "a week"})), 90026),
        // A sender that was never imported.
        (push(json!({"From_Account": "ghost"})), 70107),
        // A condition key that does not exist is refused, not ignored.
        (push(json!({"Condition": {"TagAnd": ["a"]}})), 90001),
        (push(json!({"Condition": "vip"})), 90001),
    ];
    for (body, code) in cases {
        let r = s.amp("im_push", body.clone()).await;
        fail(&r, code);
        assert!(r.get("TaskId").is_none(), "{body}: {r}");
    }
    // Not JSON, or JSON but not an object.
    let q = query(VECTOR, "administrator");
    fail(&s.post("/v4/all_member_push/im_push", &q, "{").await, 90001);
    fail(
        &s.post("/v4/all_member_push/im_push", &q, "[1]").await,
        90001,
    );
    // None of the refused pushes exists.
    let d = s
        .gql("{ pushes(first: 10) { edges { node { id } } } }", json!({}))
        .await;
    assert_eq!(d["pushes"]["edges"], json!([]));
    // At the limits, all is well: 50-byte tags, 10 tags, 7 days.
    let tags: Vec<String> = (0..10).map(|i| format!("{i:0>50}")).collect();
    s.push(push(
        json!({"MsgRandom": 2, "MsgLifeTime": 604_800, "Condition": {"TagsOr": tags}}),
    ))
    .await;
}

#[tokio::test]
async fn every_directory_error_code() {
    let s = Rest::start().await;
    import(&s, &["alice"]).await;
    ok(&s
        .amp("im_set_attr_name", json!({"AttrNames": {"0": "city"}}))
        .await);
    let many: Vec<String> = (0..101).map(|i| format!("u{i}")).collect();
    let eleven: Vec<String> = (0..11).map(|i| format!("t{i}")).collect();
    let cases: Vec<(&str, Value, u32)> = vec![
        // 101 accounts in one call.
        ("im_get_tag", json!({"To_Account": many}), 90018),
        ("im_get_attr", json!({"To_Account": many}), 90018),
        ("im_remove_all_tags", json!({"To_Account": many}), 90018),
        (
            "im_add_tag",
            json!({"UserTags": many.iter().map(|a| json!({"To_Account": a, "Tags": ["x"]})).collect::<Vec<_>>()}),
            90018,
        ),
        (
            "im_set_attr",
            json!({"UserAttrs": many.iter().map(|a| json!({"To_Account": a, "Attrs": {"city": "x"}})).collect::<Vec<_>>()}),
            90018,
        ),
        // Tags.
        (
            "im_add_tag",
            json!({"UserTags": [{"To_Account": "alice", "Tags": eleven}]}),
            90032,
        ),
        (
            "im_add_tag",
            json!({"UserTags": [{"To_Account": "alice", "Tags": ["x".repeat(51)]}]}),
            90020,
        ),
        (
            "im_add_tag",
            json!({"UserTags": [{"To_Account": "alice", "Tags": [""]}]}),
            90040,
        ),
        (
            "im_add_tag",
            json!({"UserTags": [{"To_Account": "ghost", "Tags": ["a"]}]}),
            70107,
        ),
        (
            "im_remove_all_tags",
            json!({"To_Account": ["alice", "ghost"]}),
            70107,
        ),
        // Attributes.
        (
            "im_set_attr",
            json!({"UserAttrs": [{"To_Account": "alice", "Attrs": {"planet": "Mars"}}]}),
            90033,
        ),
        (
            "im_set_attr",
            json!({"UserAttrs": [{"To_Account": "alice", "Attrs": {"city": "x".repeat(51)}}]}),
            90033,
        ),
        (
            "im_remove_attr",
            json!({"UserAttrs": [{"To_Account": "alice", "Attrs": ["planet"]}]}),
            90033,
        ),
        ("im_set_attr_name", json!({"AttrNames": {"10": "x"}}), 90033),
        (
            "im_set_attr_name",
            json!({"AttrNames": {"one": "x"}}),
            90033,
        ),
        (
            "im_set_attr_name",
            json!({"AttrNames": {"1": "x".repeat(51)}}),
            90033,
        ),
        (
            "im_set_attr_name",
            json!({"AttrNames": {"1": "city"}}),
            90033,
        ),
        // Missing or mistyped fields.
        ("im_add_tag", json!({}), 90001),
        ("im_get_tag", json!({"To_Account": [{}]}), 90001),
        ("im_set_attr_name", json!({"AttrNames": ["sex"]}), 90001),
        (
            "im_set_attr",
            json!({"UserAttrs": [{"To_Account": "alice", "Attrs": ["city"]}]}),
            90001,
        ),
    ];
    for (command, body, code) in cases {
        let r = s.amp(command, body.clone()).await;
        fail(&r, code);
    }
    // Nothing was applied.
    let r = s.amp("im_get_tag", json!({"To_Account": ["alice"]})).await;
    assert_eq!(r["UserTags"][0]["Tags"], json!([]));
    let r = s.amp("im_get_attr_name", json!({})).await;
    assert_eq!(r["AttrNames"], json!({"0": "city"}));

    // Per user, at most 100 tags: the 101st is 90032.
    for round in 0..10 {
        let tags: Vec<String> = (0..10).map(|i| format!("r{round}t{i}")).collect();
        ok(&s
            .amp(
                "im_add_tag",
                json!({"UserTags": [{"To_Account": "alice", "Tags": tags}]}),
            )
            .await);
    }
    fail(
        &s.amp(
            "im_add_tag",
            json!({"UserTags": [{"To_Account": "alice", "Tags": ["more"]}]}),
        )
        .await,
        90032,
    );
}

#[tokio::test]
async fn account_import_errors_and_partial_failure() {
    let s = Rest::start().await;
    let single = "im_open_login_svc/account_import";
    let multi = "im_open_login_svc/multiaccount_import";
    fail(
        &s.call(single, json!({"UserID": "x".repeat(33)})).await,
        70402,
    );
    fail(&s.call(single, json!({"UserID": ""})).await, 70402);
    fail(
        &s.call(single, json!({"UserID": "administrator"})).await,
        70402,
    );
    fail(&s.call(single, json!({"Nick": "no id"})).await, 70402);
    fail(
        &s.call(single, json!({"UserID": "a", "Nick": "n".repeat(101)}))
            .await,
        40601,
    );
    let q = query(VECTOR, "administrator");
    fail(&s.post(&format!("/v4/{single}"), &q, "{").await, 70402);
    // The older spelling of the id.
    ok(&s.call(single, json!({"Identifier": "old-style"})).await);

    let r = s
        .call(
            multi,
            json!({"Accounts": ["ok1", "x".repeat(33), "administrator", ""],
                   "AccountList": [{"UserID": "ok2"}, {"UserID": "bad-nick", "Nick": "n".repeat(101)}]}),
        )
        .await;
    assert_eq!(
        r,
        json!({"ActionStatus": "OK", "ErrorInfo": "", "ErrorCode": 0,
               "FailAccounts": ["x".repeat(33), "administrator", "", "bad-nick"]})
    );
    assert!(s.app.directory.uid_of("ok1").unwrap().is_some());
    assert!(s.app.directory.uid_of("ok2").unwrap().is_some());
    assert!(s.app.directory.uid_of("bad-nick").unwrap().is_none());
    let many: Vec<String> = (0..101).map(|i| format!("u{i}")).collect();
    fail(&s.call(multi, json!({"Accounts": many})).await, 70402);
    fail(&s.call(multi, json!({})).await, 70402);
    fail(&s.call(multi, json!({"Accounts": [[1]]})).await, 70402);
}

#[tokio::test]
async fn rate_rules_answer_90024_and_90047() {
    let s = Rest::start_with(|c| {
        c.push.min_interval_seconds = 1;
        c.push.daily_quota = 2;
    })
    .await;
    let body = |n: u32| json!({"MsgRandom": n, "MsgBody": text("hi")});
    let first = s.push(body(1)).await;
    fail(&s.amp("im_push", body(2)).await, 90024);
    // A retry of an accepted push is not another push.
    assert_eq!(s.push(body(1)).await, first);
    s.clock.advance(1);
    s.push(body(2)).await;
    s.clock.advance(1);
    fail(&s.amp("im_push", body(3)).await, 90047);
}

#[tokio::test]
async fn real_clients_are_read_liberally() {
    let s = Rest::start().await;
    import(&s, &["alice", "bob", "12345"]).await;
    ok(&s
        .amp(
            "im_set_attr_name",
            json!({"AttrNames": {"0": "city", "1": "level"}}),
        )
        .await);
    ok(&s
        .amp(
            "im_add_tag",
            json!({"UserTags": [{"To_Account": "alice", "Tags": ["vip"]},
                                {"To_Account": 12345, "Tags": "vip"}]}),
        )
        .await);
    ok(&s
        .amp(
            "im_set_attr",
            json!({"UserAttrs": [{"To_Account": "bob", "Attrs": {"city": "Shenzhen", "level": 3, "x": null}}]}),
        )
        .await);
    let r = s.amp("im_get_attr", json!({"To_Account": "bob"})).await;
    assert_eq!(
        r["UserAttrs"][0]["Attrs"],
        json!({"city": "Shenzhen", "level": "3"})
    );

    let server = &s;
    let audience = move |id: String| async move {
        server.gql(PUSH_BY_ID, json!({"id": id})).await["push"]["audienceSize"].clone()
    };
    // The Java SDK's Condition: an array of one object; numbers as strings.
    let id = s
        .push(json!({"MsgRandom": "10", "MsgLifeTime": "120",
                     "Condition": [{"TagsAnd": ["vip"]}], "MsgBody": text("hi")}))
        .await;
    assert_eq!(audience(id).await, 2);
    // The Go client's Condition: the absent kind of condition as null (not 90039).
    let id = s
        .push(json!({"MsgRandom": 11, "From_Account": "",
                     "Condition": {"TagsAnd": null, "TagsOr": null,
                                   "AttrsAnd": {"city": "Shenzhen"}, "AttrsOr": null},
                     "MsgBody": text("hi"), "OfflinePushInfo": null}))
        .await;
    assert_eq!(audience(id).await, 1);
    // Empty conditions are no condition: everyone.
    for (n, condition) in [
        (12, json!({})),
        (13, json!([])),
        (14, json!([{}])),
        (15, json!({"TagsAnd": [], "AttrsOr": {}})),
    ] {
        let id = s
            .push(json!({"MsgRandom": n, "Condition": condition, "MsgBody": text("hi")}))
            .await;
        assert_eq!(audience(id).await, 3, "{condition}");
    }
    // Keys in another case (a TypeScript typing sends offlinePushInfo).
    let id = s
        .push(json!({"msgRandom": 16, "MsgBody": text("hi"),
                     "offlinePushInfo": {"Desc": "d"}}))
        .await;
    assert_eq!(audience(id).await, 3);
    // TagsAnd and TagsOr together: both must hold.
    let id = s
        .push(json!({"MsgRandom": 17, "MsgBody": text("hi"),
                     "Condition": {"TagsAnd": ["vip"], "TagsOr": ["none", "other"]}}))
        .await;
    assert_eq!(audience(id).await, 0);
    // An empty body is an empty request.
    let q = query(VECTOR, "administrator");
    ok(&s.post("/v4/all_member_push/im_get_attr_name", &q, "").await);
}

#[test]
fn the_cli_prints_a_usersig_for_the_app_secret() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(common::herald_bin())
        .args(["usersig", "administrator", "--expire", "600", "--data-dir"])
        .arg(dir.path())
        .env_remove("HERALD_CONFIG")
        .env_remove("HERALD_APP_SECRET")
        .env_remove("HERALD_DATA_DIR")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sig = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let secret = std::fs::read_to_string(dir.path().join("app-secret")).unwrap();
    let claims = usersig::verify(secret.trim(), &sig, herald::time::now_secs()).unwrap();
    assert_eq!(claims.identifier, "administrator");
    assert_eq!(claims.sdkappid, APP);
    assert_eq!(claims.expire, 600);
}
