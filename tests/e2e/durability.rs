//! Nothing accepted is lost: the real `herald` binary is killed with SIGKILL right after
//! pushes are accepted (and once in the middle of a large fan-out), restarted on the same
//! data dir, and offline users still receive every live push on reconnect; cursors hold.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::common::Process;
use crate::common::ws::Inbox;
use futures_util::StreamExt;
use herald::api::auth::{Keys, Principal};
use serde_json::{Value, json};

const PUSH: &str = r#"mutation($i: PushInput!) { push(input: $i) { id seq status audienceSize } }"#;
const GET: &str = r#"query($id: String!) { push(id: $id) { id seq status audienceSize body { ... on TextElement { text } } report { deliveredOnline deliveredOnReconnect pending } } }"#;
const ACK: &str = "mutation($t: String!) { ackInbox(through: $t) { through } }";

/// One accepted push as the test remembers it.
#[derive(Debug, Clone)]
struct Sent {
    text: String,
    id: String,
    seq: u64,
    audience: u64,
}

async fn push(p: &Process, admin: &str, text: &str, lifetime: i64, extra: Value) -> Sent {
    let mut input = json!({"body": [{"text": {"text": text}}], "lifetimeSeconds": lifetime});
    if let Value::Object(fields) = extra {
        for (k, v) in fields {
            input[k] = v;
        }
    }
    let data = p.ok_as(admin, PUSH, json!({ "i": input })).await;
    let push = &data["push"];
    Sent {
        text: text.to_owned(),
        id: push["id"].as_str().unwrap().to_owned(),
        seq: push["seq"].as_str().unwrap().parse().unwrap(),
        audience: push["audienceSize"].as_u64().unwrap(),
    }
}

async fn ack(p: &Process, account: &str, through: u64) -> Value {
    let token = p.client_token(account);
    let body = p
        .gql_as(Some(&token), ACK, json!({ "t": through.to_string() }))
        .await;
    assert!(body.get("errors").is_none(), "ackInbox failed: {body}");
    body["data"]["ackInbox"]["through"].clone()
}

/// Reads the next message and checks it is `want`.
async fn expect(inbox: &mut Inbox, who: &str, want: &Sent) {
    let m = inbox.message().await;
    assert_eq!(
        (m["id"].as_str(), m["body"][0]["text"].as_str()),
        (Some(want.id.as_str()), Some(want.text.as_str())),
        "{who}: expected push {want:?}, got {m}"
    );
    assert_eq!(m["seq"], want.seq.to_string(), "{who}: {m}");
}

/// Restarts on the same data dir and checks it came up healthy.
async fn restart(data_dir: &std::path::Path) -> Process {
    let started = Instant::now();
    let p = Process::spawn(data_dir);
    let (status, body) = p.get("/healthz").await;
    assert_eq!(
        (status, body.trim()),
        (200, "ok"),
        "after the kill the data dir opens cleanly; log:\n{}",
        p.log()
    );
    eprintln!("restarted after SIGKILL in {:?}", started.elapsed());
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushes_and_cursors_survive_sigkill() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let p = Process::spawn(&data);
    let admin = p.admin_token();
    p.ok_as(
        &admin,
        r#"mutation {
          importAccounts(accounts: [{id: "alice"}, {id: "bob"}, {id: "carol"}, {id: "dave"}]) { created }
          addUserTags(input: [
            {account: "alice", tags: ["vip"]},
            {account: "carol", tags: ["vip", "eu"]},
            {account: "dave", tags: ["eu"]}
          ]) { changed }
        }"#,
        json!({}),
    )
    .await;

    // alice is online: she receives the first pushes at once and acknowledges them.
    let mut alice = Inbox::open(&p.url, Some(&p.client_token("alice")), None).await;
    p.wait_sessions(1).await;
    let all1 = push(&p, &admin, "all 1", 600, json!({})).await;
    let vip = push(
        &p,
        &admin,
        "vip",
        600,
        json!({"target": {"tagsOr": ["vip"]}}),
    )
    .await;
    expect(&mut alice, "alice online", &all1).await;
    expect(&mut alice, "alice online", &vip).await;
    assert_eq!(ack(&p, "alice", vip.seq).await, vip.seq.to_string());
    // bob is offline and acknowledged the first push from another device.
    assert_eq!(ack(&p, "bob", all1.seq).await, all1.seq.to_string());

    // An online-only push and a cancelled one: neither is delivered after the restart.
    let online_only = push(&p, &admin, "online only", 0, json!({})).await;
    let cancelled = push(&p, &admin, "cancelled", 600, json!({})).await;
    expect(&mut alice, "alice online", &online_only).await;
    expect(&mut alice, "alice online", &cancelled).await;
    let data_ = p
        .ok_as(
            &admin,
            "mutation($id: String!) { cancelPush(id: $id) { status } }",
            json!({ "id": cancelled.id }),
        )
        .await;
    assert_eq!(data_["cancelPush"]["status"], "CANCELLED");

    let eu = push(&p, &admin, "eu", 600, json!({"target": {"tagsOr": ["eu"]}})).await;
    let vip_eu = push(
        &p,
        &admin,
        "vip and eu",
        600,
        json!({"target": {"tagsAnd": ["vip", "eu"]}}),
    )
    .await;
    let not_vip = push(
        &p,
        &admin,
        "not vip",
        600,
        json!({"target": {"where": "all and not tag(\"vip\")"}}),
    )
    .await;
    let last = push(
        &p,
        &admin,
        "all 2",
        600,
        json!({"idempotencyKey": "the-last-one"}),
    )
    .await;
    // SIGKILL the moment the last mutation answered: no shutdown code runs.
    p.kill9();
    drop(alice);

    let expected_audience = [
        (&all1, 4),
        (&vip, 2),
        (&online_only, 4),
        (&cancelled, 4),
        (&eu, 2),
        (&vip_eu, 1),
        (&not_vip, 2),
        (&last, 4),
    ];
    for (s, n) in expected_audience {
        assert_eq!(s.audience, n, "{s:?}");
    }
    let seqs: Vec<u64> = expected_audience.iter().map(|(s, _)| s.seq).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");

    let p = restart(&data).await;
    let admin = p.admin_token();

    // Every push is there, with its audience size and status.
    for (s, n) in expected_audience {
        let got = p.ok_as(&admin, GET, json!({ "id": s.id })).await["push"].clone();
        let status = if s.id == cancelled.id {
            "CANCELLED"
        } else if s.id == online_only.id {
            "EXPIRED"
        } else {
            "LIVE"
        };
        assert_eq!(got["id"], s.id.as_str(), "{got}");
        assert_eq!(got["seq"], s.seq.to_string(), "{got}");
        assert_eq!(got["status"], status, "{s:?}: {got}");
        assert_eq!(got["audienceSize"], n, "{s:?}: {got}");
        assert_eq!(got["body"][0]["text"], s.text.as_str(), "{got}");
    }

    // The idempotency key still returns the first push: nothing is sent again.
    let again = push(
        &p,
        &admin,
        "all 2",
        600,
        json!({"idempotencyKey": "the-last-one"}),
    )
    .await;
    assert_eq!((again.id.as_str(), again.seq), (last.id.as_str(), last.seq));

    // The offline users come back without `after`: every live push for them above their
    // cursor, oldest first; then a new push, so nothing more (no duplicate) came between.
    let mut sessions = Vec::new();
    for who in ["alice", "bob", "carol", "dave"] {
        let inbox = Inbox::open(&p.url, Some(&p.client_token(who)), None).await;
        sessions.push((who, inbox));
    }
    p.wait_sessions(4).await;
    let marker = push(&p, &admin, "after the restart", 600, json!({})).await;
    assert_eq!(
        marker.seq,
        last.seq + 1,
        "sequence numbers are not reused after a crash"
    );
    for (who, inbox) in &mut sessions {
        let want: Vec<&Sent> = match *who {
            // Acknowledged through `vip`; not eu; the rest is cancelled or online-only.
            "alice" => vec![&last],
            // Acknowledged through `all1`.
            "bob" => vec![&not_vip, &last],
            "carol" => vec![&all1, &vip, &eu, &vip_eu, &last],
            "dave" => vec![&all1, &eu, &not_vip, &last],
            _ => unreachable!(),
        };
        for s in want {
            expect(inbox, who, s).await;
        }
        expect(inbox, who, &marker).await;
    }

    // The cursors held: acknowledging an older push does not move them back.
    assert_eq!(ack(&p, "alice", 1).await, vip.seq.to_string());
    assert_eq!(ack(&p, "bob", 1).await, all1.seq.to_string());
    assert_eq!(ack(&p, "carol", 0).await, "0");
    // Replaying from 0 never yields the cancelled or the online-only push.
    let mut replay = Inbox::open(&p.url, Some(&p.client_token("alice")), Some("0")).await;
    for s in [&all1, &vip, &last, &marker] {
        expect(&mut replay, "alice from 0", s).await;
    }
    // The push accepted just before the kill is delivered on reconnect and counted (bob,
    // carol and dave at least; alice had it online before the kill).
    let got = p.ok_as(&admin, GET, json!({ "id": last.id })).await["push"].clone();
    assert!(
        got["report"]["deliveredOnReconnect"].as_u64().unwrap() >= 3,
        "{got}"
    );
    assert_eq!(got["report"]["pending"], 0, "{got}");

    // And a second SIGKILL right after an acknowledgement keeps it too.
    assert_eq!(ack(&p, "carol", last.seq).await, last.seq.to_string());
    drop(sessions);
    drop(replay);
    p.kill9();
    let p = restart(&data).await;
    let mut carol = Inbox::open(&p.url, Some(&p.client_token("carol")), None).await;
    expect(&mut carol, "carol after ack", &marker).await;
    p.kill9();
}

/// Accounts `u0`..`u{n-1}`, imported in batches.
async fn import(p: &Process, admin: &str, n: usize) {
    let ids: Vec<Value> = (0..n).map(|i| json!({"id": format!("u{i}")})).collect();
    for chunk in ids.chunks(1000) {
        p.ok_as(
            admin,
            "mutation($a: [AccountInput!]!) { importAccounts(accounts: $a) { created } }",
            json!({ "a": chunk }),
        )
        .await;
    }
}

/// Opens one inbox session per token (no `after`), a bounded number of handshakes at once.
async fn open_all(url: &str, tokens: &[String]) -> Vec<Inbox> {
    futures_util::stream::iter(tokens)
        .map(|t| Inbox::open(url, Some(t), None))
        .buffered(64)
        .collect()
        .await
}

/// Reads a session until its socket closes (the kill), calling `seen` with each message's
/// id as it arrives; returns the ids in order.
async fn drain(mut inbox: Inbox, mut seen: impl FnMut(&str) + Send + 'static) -> Vec<String> {
    let mut got = Vec::new();
    loop {
        let item = inbox.next().await;
        match item["data"]["inbox"]["id"].as_str() {
            Some(id) => {
                seen(id);
                got.push(id.to_owned());
            }
            None => {
                assert!(
                    item["closed"] == true,
                    "the session ends by the kill: {item}"
                );
                return got;
            }
        }
    }
}

/// A push to all accounts with a large text.
fn big_push(text: &str) -> Value {
    json!({"body": [{"text": {"text": text}}], "lifetimeSeconds": 600})
}

/// The push in a `push` mutation's answer.
fn sent(text: &str, body: &Value) -> Sent {
    assert!(body.get("errors").is_none(), "{body}");
    let answer = &body["data"]["push"];
    Sent {
        text: text.to_owned(),
        id: answer["id"].as_str().unwrap().to_owned(),
        seq: answer["seq"].as_str().unwrap().parse().unwrap(),
        audience: answer["audienceSize"].as_u64().unwrap(),
    }
}

/// POSTs a push with a client of its own (not the pool of a busy runtime).
async fn post_push(url: &str, admin: &str, input: &Value) -> reqwest::Result<Value> {
    reqwest::Client::new()
        .post(format!("{url}/graphql"))
        .bearer_auth(admin)
        .json(&json!({"query": PUSH, "variables": {"i": input}}))
        .send()
        .await?
        .json()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_in_the_middle_of_a_large_fanout() {
    const N: usize = 1500;
    rlimit::increase_nofile_limit(u64::MAX).unwrap();
    let started = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let p = Process::spawn(&data);
    let admin = p.admin_token();
    import(&p, &admin, N).await;
    // Client tokens as an app backend mints them: HS256 with the generated app secret
    // (a `herald token` process per account would be slow).
    let secret = std::fs::read_to_string(data.join("app-secret")).unwrap();
    let keys = Keys::new(secret.trim(), "administrator");
    let tokens: Vec<String> = (0..N)
        .map(|i| keys.mint(&Principal::Client(format!("u{i}")), 3600))
        .collect();

    // Round 1: SIGKILL the moment the push mutation answered. The push and the kill run on
    // a thread and runtime of their own, so the answer is seen at once however busy the
    // readers keep the test's runtime.
    let inboxes = open_all(&p.url, &tokens).await;
    p.wait_sessions(N).await;
    let readers: Vec<_> = inboxes
        .into_iter()
        .map(|i| tokio::spawn(drain(i, |_| {})))
        .collect();
    let text1 = format!("first {}", "x".repeat(10_000));
    let (url, token, input) = (p.url.clone(), admin.clone(), big_push(&text1));
    let killer = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let body = rt.block_on(post_push(&url, &token, &input)).unwrap();
        p.kill9();
        body
    });
    let body = tokio::task::spawn_blocking(move || killer.join().unwrap())
        .await
        .unwrap();
    let first = sent(&text1, &body);
    assert_eq!(first.audience, N as u64);
    let mut received = 0;
    for r in readers {
        let got = r.await.unwrap();
        assert!(got.len() <= 1, "at most the one push, once: {got:?}");
        if let Some(id) = got.first() {
            assert_eq!(id, &first.id);
            received += 1;
        }
    }
    eprintln!("round 1: {N} sessions; {received} received the push answered just before the kill");

    // Round 2: restart; everyone reconnects and is replayed the first push; then a second
    // push, and SIGKILL the moment the first session receives it: in the middle of the
    // fan-out, before the mutation could even answer.
    let p = restart(&data).await;
    let got = p.ok_as(&admin, GET, json!({ "id": first.id })).await["push"].clone();
    assert_eq!(
        (&got["status"], &got["audienceSize"]),
        (&json!("LIVE"), &json!(N)),
        "{got}"
    );
    let inboxes = open_all(&p.url, &tokens).await;
    p.wait_sessions(N).await;
    let replayed = Arc::new(AtomicUsize::new(0));
    let (signal, fanning_out) = std::sync::mpsc::channel::<()>();
    let readers: Vec<_> = inboxes
        .into_iter()
        .map(|i| {
            let (first, replayed, signal) = (first.id.clone(), replayed.clone(), signal.clone());
            tokio::spawn(drain(i, move |id| {
                if id == first {
                    replayed.fetch_add(1, Ordering::Relaxed);
                } else {
                    let _ = signal.send(());
                }
            }))
        })
        .collect();
    drop(signal);
    let deadline = Instant::now() + Duration::from_secs(20);
    while replayed.load(Ordering::Relaxed) < N {
        assert!(
            Instant::now() < deadline,
            "the first push was not replayed to all"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let url = p.url.clone();
    let killer = std::thread::spawn(move || {
        let signalled = fanning_out.recv_timeout(Duration::from_secs(20)).is_ok();
        p.kill9();
        signalled
    });
    let text2 = format!("second {}", "y".repeat(10_000));
    let answer = post_push(&url, &admin, &big_push(&text2)).await;
    let signalled = tokio::task::spawn_blocking(move || killer.join().unwrap())
        .await
        .unwrap();
    assert!(signalled, "no session received the second push: {answer:?}");
    let mut second_id = None;
    let mut received = 0;
    for r in readers {
        let got = r.await.unwrap();
        assert_eq!(got[0], first.id, "the replay comes first");
        assert!(got.len() <= 2, "no duplicate within a session: {got:?}");
        if let Some(id) = got.get(1) {
            assert_eq!(second_id.get_or_insert_with(|| id.clone()), id);
            received += 1;
        }
    }
    let second_id = second_id.unwrap();
    let answered = match &answer {
        Ok(body) => {
            assert_eq!(body["data"]["push"]["id"], second_id.as_str(), "{body}");
            true
        }
        Err(_) => false,
    };
    eprintln!(
        "round 2: {received} of {N} sessions received the second push before the kill \
         (mutation answered: {answered})"
    );
    assert!(
        received < N,
        "the kill did not land in the middle of the fan-out"
    );

    // Round 3: restart; every session gets both pushes on reconnect, oldest first, then a
    // new push, with no duplicate in between.
    let p = restart(&data).await;
    let got = p.ok_as(&admin, GET, json!({ "id": second_id })).await["push"].clone();
    assert_eq!(got["status"], "LIVE", "{got}");
    assert_eq!(got["audienceSize"], N, "{got}");
    assert_eq!(got["body"][0]["text"], text2.as_str());
    let second = Sent {
        text: text2,
        id: second_id,
        seq: got["seq"].as_str().unwrap().parse().unwrap(),
        audience: N as u64,
    };
    assert_eq!(second.seq, first.seq + 1);
    let inboxes = open_all(&p.url, &tokens).await;
    p.wait_sessions(N).await;
    let marker = push(&p, &admin, "after the restart", 600, json!({})).await;
    assert_eq!(marker.seq, second.seq + 1);
    let readers: Vec<_> = inboxes
        .into_iter()
        .enumerate()
        .map(|(i, mut inbox)| {
            let want = [first.clone(), second.clone(), marker.clone()];
            tokio::spawn(async move {
                for s in &want {
                    expect(&mut inbox, &format!("u{i} after the restart"), s).await;
                }
                inbox
            })
        })
        .collect();
    let mut inboxes = Vec::with_capacity(N);
    for r in readers {
        inboxes.push(r.await.unwrap());
    }
    let got = p.ok_as(&admin, GET, json!({ "id": second.id })).await["push"].clone();
    let on_reconnect = got["report"]["deliveredOnReconnect"].as_u64().unwrap();
    assert!(on_reconnect >= (N - received) as u64, "{got}");
    assert_eq!(got["report"]["pending"], 0, "{got}");
    drop(inboxes);
    p.kill9();
    eprintln!("whole test took {:?}", started.elapsed());
}

/// A herald config that loads the built-in APNs plugin against `base_url`, trusting `ca`.
fn apns_config(
    dir: &std::path::Path,
    name: &str,
    key: &herald_fakes::apns::ApnsKey,
    ca: &std::path::Path,
    base_url: &str,
) -> std::path::PathBuf {
    let p8 = dir.join("AuthKey.p8");
    std::fs::write(&p8, &key.p8).unwrap();
    let config = format!(
        r#"[plugins.apns]
allow_hosts = ["127.0.0.1"]
tls_ca_file = {ca:?}
call_timeout_ms = 60000
[plugins.apns.settings]
team_id = "{team}"
key_id = "{kid}"
private_key = "@{p8}"
topic = "com.example.herald"
base_url = "{base_url}"
"#,
        team = key.team_id,
        kid = key.key_id,
        p8 = p8.display(),
    );
    let path = dir.join(name);
    std::fs::write(&path, config).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_unfinished_at_a_crash_are_sent_after_restart() {
    use herald_fakes::apns::{ApnsKey, FakeApns};
    use herald_fakes::tls::TestCa;

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let ca = TestCa::new();
    let ca_file = ca.write_ca(dir.path());
    let key = ApnsKey::generate();

    // First life: "Apple" accepts connections and never answers, so the notification is
    // in flight when herald is killed.
    let hole = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hole_url = format!("https://{}", hole.local_addr().unwrap());
    let (seen_tx, mut seen) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = hole.accept().await {
            held.push(socket);
            let _ = seen_tx.send(());
        }
    });
    let first = apns_config(dir.path(), "first.toml", &key, &ca_file, &hole_url);
    let p = Process::spawn_with_config(&data, Some(&first));
    let admin = p.admin_token();
    let token = "ab".repeat(32);
    p.ok_as(
        &admin,
        r#"mutation($t: String!) {
          importAccounts(accounts: [{id: "alice"}]) { created }
          registerDevice(input: {account: "alice", platform: "ios", token: $t}) { token }
        }"#,
        json!({ "t": token }),
    )
    .await;
    let sent = push(
        &p,
        &admin,
        "while you were away",
        3600,
        json!({"offlinePush": {"title": "News"}}),
    )
    .await;
    tokio::time::timeout(Duration::from_secs(20), seen.recv())
        .await
        .expect("the plugin connects to Apple")
        .unwrap();
    p.kill9();

    // Second life: Apple answers; the unfinished notification is sent once herald is back.
    let (apple, base) = FakeApns::start(&key, "com.example.herald", &ca, true).await;
    let second = apns_config(dir.path(), "second.toml", &key, &ca_file, &base);
    let p = Process::spawn_with_config(&data, Some(&second));
    let deadline = Instant::now() + Duration::from_secs(20);
    while apple.delivered().is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let delivered = apple.delivered();
    assert_eq!(delivered.len(), 1, "{}", p.log());
    assert_eq!(delivered[0].token, token);
    assert_eq!(delivered[0].headers["apns-collapse-id"], sent.id);
    assert_eq!(delivered[0].payload["aps"]["alert"]["title"], "News");

    // Finished (the mark is gone once the outcome is counted): a third life sends nothing.
    let deadline = Instant::now() + Duration::from_secs(20);
    while p.metric("herald_notifications_unfinished").await != 0.0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(p.metric("herald_notifications_unfinished").await, 0.0);
    p.kill9();
    let p = Process::spawn_with_config(&data, Some(&second));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(apple.delivered().len(), 1);
    drop(p);
}
