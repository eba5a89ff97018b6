//! The transport host against real components: the hostile test component
//! (`tests/components/hostile`, built once per run through `$CARGO`) loops, exhausts memory
//! and traps on demand; each misdeed fails only its batch, the plugin is re-instantiated and
//! keeps serving, other plugins never notice. Also: capabilities are denied unless granted,
//! `check` explains what is wrong with a file, compiled code is cached on disk.

use crate::common::build_component;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use herald::transport::{
    self, Message, NoSessions, Outcome, PluginConfig, PluginState, Publisher, Target,
    TransportError, Transports,
};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// Builds the hostile component once per test run and returns its path.
fn hostile_wasm() -> &'static Path {
    static WASM: OnceLock<PathBuf> = OnceLock::new();
    WASM.get_or_init(|| build_component("herald-test-hostile"))
}

/// Builds the real in-app plugin once per test run and returns its path.
fn inapp_wasm() -> &'static Path {
    static WASM: OnceLock<PathBuf> = OnceLock::new();
    WASM.get_or_init(|| build_component("herald-plugin-inapp"))
}

/// A cache folder shared by the tests that do not test the cache (compiling once is enough).
fn shared_cache() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().unwrap()).path()
}

/// The hostile plugin with short deadlines and quick retries.
fn hostile() -> PluginConfig {
    PluginConfig {
        file: Some(hostile_wasm().to_owned()),
        platforms: vec!["hostile".to_owned()],
        memory_mib: 16,
        call_timeout_ms: 300,
        max_attempts: 2,
        retry_base_ms: 10,
        retry_max_ms: 50,
        ..Default::default()
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn message(push_id: &str) -> Message {
    Message {
        push_id: push_id.to_owned(),
        seq: 1,
        sender: "administrator".to_owned(),
        body_json: "[]".to_owned(),
        sent_at: now(),
        expires_at: now() + 3600,
        notification: None,
    }
}

fn target(account: &str, token: &str) -> Target {
    Target {
        account: account.to_owned(),
        token: token.to_owned(),
    }
}

async fn load(plugins: &[(&str, PluginConfig)]) -> Transports {
    load_with(plugins, Arc::new(NoSessions)).await
}

async fn load_with(plugins: &[(&str, PluginConfig)], publisher: Arc<dyn Publisher>) -> Transports {
    let plugins: BTreeMap<String, PluginConfig> = plugins
        .iter()
        .map(|(name, config)| (name.to_string(), config.clone()))
        .collect();
    let transports = Transports::load(&plugins, shared_cache(), publisher)
        .await
        .unwrap();
    for status in transports.plugins() {
        if plugins[&status.name].enabled {
            assert_eq!(status.state, PluginState::Ready, "{}", status.name);
        }
    }
    transports
}

fn failed_with(outcome: &Outcome, words: &str) -> bool {
    matches!(outcome, Outcome::Failed(reason) if reason.contains(words))
}

/// A normal push still goes through (the instance that failed was replaced).
async fn still_serves(plugin: &transport::Plugin) {
    let outcomes = plugin
        .deliver(message("hello"), vec![target("alice", "ok")])
        .await;
    assert_eq!(outcomes, vec![Outcome::Delivered]);
}

#[tokio::test]
async fn a_loop_is_stopped_at_each_deadline_then_fails_after_max_attempts() {
    let transports = load(&[("hostile", hostile())]).await;
    let plugin = transports.for_platform("hostile").unwrap();

    let started = Instant::now();
    let outcomes = plugin
        .deliver(
            message("loop"),
            vec![target("alice", "ok"), target("bob", "ok")],
        )
        .await;
    let elapsed = started.elapsed();
    assert_eq!(outcomes.len(), 2);
    for outcome in &outcomes {
        assert!(failed_with(outcome, "deadline of 300 ms"), "{outcome:?}");
        assert!(failed_with(outcome, "attempt 2"), "{outcome:?}");
    }
    // Two attempts of 300 ms each plus a short backoff: stopped at the deadline, not later.
    assert!(elapsed >= Duration::from_millis(600), "{elapsed:?}");
    assert!(elapsed < Duration::from_millis(1500), "{elapsed:?}");
    let counters = plugin.counters();
    assert_eq!(counters.traps, 2);
    assert_eq!(counters.deadline_exceeded, 2);
    assert_eq!(counters.restarts, 2);
    assert_eq!(counters.failed, 2);
    still_serves(&plugin).await;

    // A loop inside `send-batch` fails its batch the same way.
    let outcomes = plugin
        .deliver(message("x"), vec![target("c", "loop")])
        .await;
    assert!(failed_with(&outcomes[0], "deadline"), "{outcomes:?}");
    still_serves(&plugin).await;
    assert_eq!(plugin.counters().restarts, 4);
}

#[tokio::test]
async fn an_allocation_blow_up_is_stopped_by_the_memory_cap() {
    let transports = load(&[("hostile", hostile())]).await;
    let plugin = transports.for_platform("hostile").unwrap();
    let started = Instant::now();
    let outcomes = plugin
        .deliver(message("oom"), vec![target("alice", "ok")])
        .await;
    assert!(
        failed_with(&outcomes[0], "memory cap of 16 MiB"),
        "{outcomes:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "stopped by the cap, not a deadline"
    );
    let counters = plugin.counters();
    assert_eq!(counters.memory_exceeded, 2, "{counters:?}");
    assert_eq!(counters.deadline_exceeded, 0, "{counters:?}");
    assert_eq!(counters.restarts, 2);
    still_serves(&plugin).await;
}

#[tokio::test]
async fn a_trap_fails_only_its_batch() {
    let config = PluginConfig {
        batch_size: 2,
        ..hostile()
    };
    let transports = load(&[("hostile", config)]).await;
    let plugin = transports.for_platform("hostile").unwrap();

    let outcomes = plugin
        .deliver(message("trap"), vec![target("alice", "ok")])
        .await;
    assert!(failed_with(&outcomes[0], "plugin trapped"), "{outcomes:?}");
    assert!(
        failed_with(&outcomes[0], "trap requested by the test"),
        "the panic message is kept: {outcomes:?}"
    );
    still_serves(&plugin).await;

    // Batches of two: the one holding "trap" fails (both its targets), the others don't.
    let targets = vec![
        target("a", "ok"),
        target("b", "ok"),
        target("c", "trap"),
        target("d", "ok"),
        target("e", "dead"),
        target("f", "busy"),
    ];
    let outcomes = plugin.deliver(message("batches"), targets).await;
    assert_eq!(outcomes[..2], [Outcome::Delivered, Outcome::Delivered]);
    assert!(failed_with(&outcomes[2], "trapped"), "{outcomes:?}");
    assert!(failed_with(&outcomes[3], "trapped"), "{outcomes:?}");
    assert_eq!(outcomes[4], Outcome::InvalidToken);
    assert!(
        failed_with(&outcomes[5], "retry after 0 s (after 2 attempts)"),
        "{outcomes:?}"
    );
    let counters = plugin.counters();
    assert_eq!(counters.invalid_tokens, 1);
    assert_eq!(counters.delivered, 3);
    // Render trap twice, then the "trap" batch twice.
    assert_eq!(counters.traps, 4, "{counters:?}");
    assert_eq!(counters.restarts, 4, "{counters:?}");
    still_serves(&plugin).await;
}

#[tokio::test]
async fn a_retry_after_is_retried_with_backoff() {
    let config = PluginConfig {
        instances: 1,
        max_attempts: 3,
        retry_base_ms: 40,
        retry_max_ms: 1000,
        ..hostile()
    };
    let transports = load(&[("hostile", config)]).await;
    let plugin = transports.for_platform("hostile").unwrap();
    let started = Instant::now();
    let outcomes = plugin
        .deliver(
            message("m"),
            vec![target("a", "busy-once"), target("b", "ok")],
        )
        .await;
    assert_eq!(outcomes, vec![Outcome::Delivered, Outcome::Delivered]);
    assert!(
        started.elapsed() >= Duration::from_millis(20),
        "waited at least half the base"
    );
    let counters = plugin.counters();
    assert_eq!(
        (counters.retried, counters.sent, counters.rendered),
        (1, 3, 1)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_plugins_are_unaffected_by_a_looping_one() {
    let slow = PluginConfig {
        call_timeout_ms: 1500,
        max_attempts: 1,
        ..hostile()
    };
    let calm = PluginConfig {
        platforms: vec!["calm".to_owned()],
        ..hostile()
    };
    let transports = load(&[("hostile", slow), ("calm", calm)]).await;
    let hostile = transports.for_platform("hostile").unwrap();
    let calm = transports.for_platform("calm").unwrap();
    assert_eq!(calm.name(), "calm");

    let looping = tokio::spawn(async move {
        hostile
            .deliver(message("loop"), vec![target("a", "ok")])
            .await
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    for i in 0..10 {
        let outcomes = calm
            .deliver(message(&format!("p{i}")), vec![target("b", "ok")])
            .await;
        assert_eq!(outcomes, vec![Outcome::Delivered]);
    }
    let calm_time = started.elapsed();
    assert!(
        !looping.is_finished(),
        "the loop still runs while calm delivers"
    );
    assert!(calm_time < Duration::from_millis(1000), "{calm_time:?}");
    let outcomes = looping.await.unwrap();
    assert!(failed_with(&outcomes[0], "deadline"), "{outcomes:?}");
    assert_eq!(calm.counters().traps, 0);
    assert_eq!(calm.counters().delivered, 10);
    println!("10 deliveries on a calm plugin while another loops: {calm_time:?}");
}

/// A tiny HTTP/1.1 server on 127.0.0.1: `/gone` answers 410, `/busy` 503, anything else 200.
/// Counts the requests it got.
async fn http_server() -> (u16, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let counted = counted.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let mut len = 0;
                while !buf[..len].windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf[len..]).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => len += n,
                    }
                }
                counted.fetch_add(1, Ordering::SeqCst);
                let head = String::from_utf8_lossy(&buf[..len]).to_ascii_lowercase();
                assert!(head.contains("x-herald-test: 1"), "{head}");
                let status = if head.starts_with("get /gone") {
                    "410 Gone"
                } else if head.starts_with("get /busy") {
                    "503 Service Unavailable"
                } else {
                    "200 OK"
                };
                let answer =
                    format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
                let _ = socket.write_all(answer.as_bytes()).await;
            });
        }
    });
    (port, hits)
}

#[tokio::test]
async fn http_goes_only_to_allowed_hosts() {
    let (port, hits) = http_server().await;
    let granted = PluginConfig {
        allow_hosts: vec![format!("127.0.0.1:{port}")],
        allow_plain_http: true,
        ..hostile()
    };
    let https_only = PluginConfig {
        platforms: vec!["calm".to_owned()],
        allow_hosts: vec!["127.0.0.1".to_owned()],
        ..hostile()
    };
    let transports = load(&[("hostile", granted), ("calm", https_only)]).await;
    let plugin = transports.get("hostile").unwrap();
    let other_port = if port == 65535 { port - 1 } else { port + 1 };
    let outcomes = plugin
        .deliver(
            message("m"),
            vec![
                target("a", &format!("http://127.0.0.1:{port}/ok")),
                target("b", &format!("http://127.0.0.1:{port}/gone")),
                target("c", &format!("http://localhost:{port}/ok")),
                target("d", &format!("http://127.0.0.1:{other_port}/ok")),
                target("e", "ftp://127.0.0.1/x"),
            ],
        )
        .await;
    assert_eq!(outcomes[0], Outcome::Delivered);
    assert_eq!(outcomes[1], Outcome::InvalidToken);
    assert!(
        failed_with(
            &outcomes[2],
            &format!("denied: host localhost:{port} is not in allow_hosts")
        ),
        "{outcomes:?}"
    );
    assert!(
        failed_with(&outcomes[3], "not in allow_hosts"),
        "{outcomes:?}"
    );
    assert!(
        failed_with(&outcomes[4], "denied: scheme \"ftp\""),
        "{outcomes:?}"
    );
    assert_eq!(
        hits.load(Ordering::SeqCst),
        2,
        "denied requests never leave the host"
    );

    // The same host without allow_plain_http: refused before any connection.
    let calm = transports.get("calm").unwrap();
    let outcomes = calm
        .deliver(
            message("m"),
            vec![target("a", &format!("http://127.0.0.1:{port}/ok"))],
        )
        .await;
    assert!(
        failed_with(&outcomes[0], "plain http:// is not allowed"),
        "{outcomes:?}"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 2);
}

/// Records what plugins publish; every account but `bob` has one live session.
#[derive(Default)]
struct Recorder(Mutex<Vec<(String, Vec<u8>)>>);

impl Publisher for Recorder {
    fn publish(&self, account: &str, payload: &[u8]) -> u32 {
        if account == "bob" {
            return 0;
        }
        self.0
            .lock()
            .unwrap()
            .push((account.to_owned(), payload.to_vec()));
        1
    }
}

#[tokio::test]
async fn capabilities_are_denied_unless_granted() {
    let recorder = Arc::new(Recorder::default());
    let may_publish = PluginConfig {
        platforms: vec!["calm".to_owned()],
        allow_publish: true,
        ..hostile()
    };
    let transports = load_with(
        &[("hostile", hostile()), ("calm", may_publish)],
        recorder.clone(),
    )
    .await;
    let denied = transports.get("hostile").unwrap();
    let outcomes = denied
        .deliver(
            message("m"),
            vec![
                target("alice", "publish"),
                target("alice", "https://example.com/"),
            ],
        )
        .await;
    assert!(failed_with(&outcomes[0], "may not publish"), "{outcomes:?}");
    assert!(
        failed_with(&outcomes[1], "no HTTP capability"),
        "{outcomes:?}"
    );
    assert!(recorder.0.lock().unwrap().is_empty());

    let granted = transports.get("calm").unwrap();
    let outcomes = granted
        .deliver(message("push-7"), vec![target("alice", "publish")])
        .await;
    assert_eq!(outcomes, vec![Outcome::Delivered]);
    assert_eq!(
        *recorder.0.lock().unwrap(),
        vec![("alice".to_owned(), b"push-7".to_vec())]
    );
}

#[tokio::test]
async fn plugins_that_cannot_load_are_reported_and_the_others_serve() {
    let dir = tempfile::tempdir().unwrap();
    let bad_ca = dir.path().join("ca.pem");
    std::fs::write(&bad_ca, "not a certificate").unwrap();
    let plugins = BTreeMap::from([
        ("hostile".to_owned(), hostile()),
        (
            "picky".to_owned(),
            PluginConfig {
                platforms: vec!["calm".to_owned()],
                settings: BTreeMap::from([("fail".to_owned(), "yes".to_owned())]),
                ..hostile()
            },
        ),
        ("nosuch".to_owned(), PluginConfig::default()),
        (
            "off".to_owned(),
            PluginConfig {
                enabled: false,
                ..PluginConfig::default()
            },
        ),
        (
            "missing".to_owned(),
            PluginConfig {
                file: Some("/nonexistent/plugin.wasm".into()),
                ..PluginConfig::default()
            },
        ),
        (
            "badca".to_owned(),
            PluginConfig {
                allow_hosts: vec!["api.push.apple.com".to_owned()],
                tls_ca_file: Some(bad_ca.clone()),
                ..hostile()
            },
        ),
    ]);
    let transports = Transports::load(&plugins, shared_cache(), Arc::new(NoSessions))
        .await
        .unwrap();
    let states: BTreeMap<String, PluginState> = transports
        .plugins()
        .into_iter()
        .map(|s| (s.name, s.state))
        .collect();
    assert_eq!(states["hostile"], PluginState::Ready);
    assert_eq!(states["off"], PluginState::Disabled);
    let reason = |name: &str| match &states[name] {
        PluginState::Failed(reason) => reason.clone(),
        other => panic!("{name}: {other:?}"),
    };
    assert!(reason("picky").contains("refused its settings: refusing setting fail=yes"));
    assert!(reason("nosuch").contains("no built-in plugin named \"nosuch\""));
    assert!(reason("missing").contains("/nonexistent/plugin.wasm"));
    assert!(reason("badca").contains("[plugins.badca] tls_ca_file"));
    assert!(transports.for_platform("calm").is_none());
    still_serves(&transports.for_platform("hostile").unwrap()).await;
}

#[tokio::test]
async fn two_plugins_may_not_serve_one_platform() {
    let plugins = BTreeMap::from([("a".to_owned(), hostile()), ("b".to_owned(), hostile())]);
    let err = Transports::load(&plugins, shared_cache(), Arc::new(NoSessions))
        .await
        .unwrap_err();
    assert!(
        matches!(err, TransportError::PlatformConflict { .. }),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("platform \"hostile\" is served by both"),
        "{err}"
    );
}

#[test]
fn handles_are_shareable_across_tasks() {
    fn shareable<T: Send + Sync + 'static>() {}
    shareable::<Transports>();
    shareable::<transport::Plugin>();
}

#[test]
fn check_accepts_a_transport_and_explains_what_is_not() {
    let wasm = std::fs::read(hostile_wasm()).unwrap();
    let info = transport::check(&wasm).unwrap();
    assert_eq!(info.name, "hostile");
    assert_eq!(info.platforms, ["hostile", "calm"]);
    assert!(
        info.imports
            .iter()
            .any(|i| i == "herald:transport/host@0.1.0"),
        "{:?}",
        info.imports
    );
    for export in ["describe", "configure", "render", "send-batch"] {
        assert!(
            info.exports.iter().any(|e| e == export),
            "{:?}",
            info.exports
        );
    }

    let err = transport::check(b"#!/bin/sh\necho hi\n").unwrap_err();
    assert!(err.to_string().contains("not a WebAssembly file"), "{err}");
    // The smallest core module: a module, not a component.
    let err = transport::check(b"\0asm\x01\0\0\0").unwrap_err();
    assert!(
        err.to_string()
            .contains("core WebAssembly module, not a component"),
        "{err}"
    );
    // The smallest component: valid, but exports nothing of the contract.
    let err = transport::check(b"\0asm\x0d\0\x01\0").unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("not a herald:transport/transport@0.1.0 component"),
        "{text}"
    );
    assert!(
        text.contains("no export `"),
        "the missing export is named: {text}"
    );
    // Truncated: compiles not.
    let err = transport::check(&wasm[..wasm.len() / 2]).unwrap_err();
    assert!(err.to_string().contains("does not compile"), "{err}");
}

#[tokio::test]
async fn compiled_code_is_cached_on_disk() {
    let cache = tempfile::tempdir().unwrap();
    let plugins = BTreeMap::from([("hostile".to_owned(), hostile())]);
    let first = Transports::load(&plugins, cache.path(), Arc::new(NoSessions))
        .await
        .unwrap();
    let entries: Vec<PathBuf> = std::fs::read_dir(cache.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert!(
        entries[0].extension().is_some_and(|e| e == "cwasm"),
        "{entries:?}"
    );
    let compiled = &first.plugins()[0];
    assert!(!compiled.from_cache);

    let second = Transports::load(&plugins, cache.path(), Arc::new(NoSessions))
        .await
        .unwrap();
    let cached = &second.plugins()[0];
    assert!(cached.from_cache);
    assert!(cached.load_time < compiled.load_time);
    still_serves(&second.for_platform("hostile").unwrap()).await;

    // A damaged entry is recompiled and replaced, never trusted.
    std::fs::write(&entries[0], b"garbage").unwrap();
    let third = Transports::load(&plugins, cache.path(), Arc::new(NoSessions))
        .await
        .unwrap();
    assert!(!third.plugins()[0].from_cache);
    still_serves(&third.for_platform("hostile").unwrap()).await;
    let fourth = Transports::load(&plugins, cache.path(), Arc::new(NoSessions))
        .await
        .unwrap();
    assert!(fourth.plugins()[0].from_cache);
    println!(
        "hostile component: compiled in {:?}, loaded from cache in {:?}",
        compiled.load_time, cached.load_time
    );
}

#[tokio::test]
async fn counters_show_in_metrics() {
    let transports = load(&[("hostile", hostile())]).await;
    let plugin = transports.for_platform("hostile").unwrap();
    plugin
        .deliver(message("m"), vec![target("a", "ok"), target("b", "dead")])
        .await;
    let mut text = String::new();
    transports.render_metrics(&mut text);
    assert!(
        text.contains("# TYPE herald_plugin_delivered_total counter"),
        "{text}"
    );
    assert!(
        text.contains("herald_plugin_delivered_total{plugin=\"hostile\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("herald_plugin_invalid_tokens_total{plugin=\"hostile\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("herald_plugin_traps_total{plugin=\"hostile\"} 0"),
        "{text}"
    );
}

/// Not a timed assertion: prints what a call costs, for the record.
#[tokio::test]
async fn call_costs() {
    let config = PluginConfig {
        call_timeout_ms: 5000,
        max_attempts: 1,
        ..hostile()
    };
    let transports = load(&[("hostile", config.clone())]).await;
    let plugin = transports.for_platform("hostile").unwrap();
    still_serves(&plugin).await;
    let rounds = 200;
    let started = Instant::now();
    for _ in 0..rounds {
        plugin.deliver(message("m"), vec![target("a", "ok")]).await;
    }
    let per_delivery = started.elapsed() / rounds;
    let targets: Vec<Target> = (0..500).map(|i| target(&format!("u{i}"), "ok")).collect();
    let started = Instant::now();
    let outcomes = plugin.deliver(message("m"), targets).await;
    let batch = started.elapsed();
    assert!(outcomes.iter().all(|o| *o == Outcome::Delivered));

    let single = PluginConfig {
        call_timeout_ms: 200,
        max_attempts: 1,
        ..hostile()
    };
    let transports = load(&[("hostile", single)]).await;
    let plugin = transports.for_platform("hostile").unwrap();
    let started = Instant::now();
    plugin
        .deliver(message("loop"), vec![target("a", "ok")])
        .await;
    let stop = started.elapsed();
    println!(
        "deliver (render + send of 1 target) {per_delivery:?}; 500 targets in one batch {batch:?} \
         ({:?} per target); a loop with a 200 ms deadline returned after {stop:?}",
        batch / 500
    );
}

#[tokio::test]
async fn the_inapp_plugin_publishes_to_live_sessions() {
    let recorder = Arc::new(Recorder::default());
    let inapp = PluginConfig {
        file: Some(inapp_wasm().to_owned()),
        allow_publish: true,
        ..Default::default()
    };
    let transports = load_with(&[("inapp", inapp)], recorder.clone()).await;
    let plugin = transports.for_platform("inapp").unwrap();
    let outcomes = plugin
        .deliver(
            message("push-1"),
            vec![target("alice", ""), target("bob", "")],
        )
        .await;
    assert_eq!(outcomes[0], Outcome::Delivered);
    assert!(matches!(outcomes[1], Outcome::Failed(_)), "{outcomes:?}");
    let published = recorder.0.lock().unwrap().clone();
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].0, "alice");
    let envelope = String::from_utf8(published[0].1.clone()).unwrap();
    assert!(envelope.contains("push-1"), "{envelope}");
}
