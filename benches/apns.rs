//! APNs transport benchmark: the built-in `apns` plugin (the WebAssembly component Herald
//! embeds) notifies N device tokens through Herald's transport host, against the fake APNs
//! of `tests/fakes` on loopback: TLS with a test CA, HTTP/2 only, every provider token
//! verified (ES256) and every request checked as Apple does.
//!
//! `cargo bench --bench apns`. `HERALD_BENCH_TOKENS` (default 100000) tokens per round,
//! `HERALD_BENCH_ROUNDS` (default 3), and the plugin's `batch_size` and `instances` from
//! `HERALD_BENCH_BATCH` (default 500) and `HERALD_BENCH_INSTANCES` (default 2).
//!
//! Prints per round: notifications/s (all N delivered, `Plugin::deliver` from first render to
//! last outcome), p50/p99 request latency from Herald's own histogram (interpolated inside
//! its bucket, as Prometheus' `histogram_quantile`), and the time per `send-batch` spent in
//! the component rather than on the wire: the call's wall time minus its `http-send` time,
//! that is the plugin's own work plus crossing the WebAssembly boundary both ways.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

mod common;

use common::env_usize;
use herald::transport::{
    Latencies, Message, NoSessions, Notification, Outcome, PluginConfig, PluginCounters, Target,
    Transports,
};
use herald_fakes::apns::{ApnsKey, FakeApns};
use herald_fakes::tls::TestCa;

const TOPIC: &str = "com.example.herald";

fn message(seq: u64) -> Message {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    Message {
        push_id: format!("bench_{seq}"),
        seq,
        sender: "administrator".into(),
        body_json: r#"[{"MsgType":"TIMTextElem","MsgContent":{"Text":"Flash sale"}}]"#.into(),
        sent_at: now,
        expires_at: now + 3600,
        notification: Some(Notification {
            title: Some("Flash sale".into()),
            subtitle: None,
            body: "50% off everything until midnight".into(),
            sound: Some("default".into()),
            badge: Some(1),
            image: None,
            mutable_content: false,
            channel_id: None,
            ext: Some(r#"{"deeplink":"app://sale"}"#.into()),
        }),
    }
}

fn targets(round: usize, n: usize) -> Vec<Target> {
    (0..n)
        .map(|i| Target {
            account: format!("user{i}"),
            token: format!("{round:08x}{i:056x}"),
        })
        .collect()
}

/// What changed between two snapshots of the plugin's latency histogram.
fn latency_delta(before: &Latencies, after: &Latencies) -> Latencies {
    let mut delta = *after;
    for (d, b) in delta.counts.iter_mut().zip(before.counts) {
        *d -= b;
    }
    delta.sum_micros -= before.sum_micros;
    delta
}

fn ms(d: Option<Duration>) -> String {
    d.map_or("-".into(), |d| format!("{:.2} ms", d.as_secs_f64() * 1e3))
}

fn main() {
    let tokens = env_usize("HERALD_BENCH_TOKENS", 100_000);
    let rounds = env_usize("HERALD_BENCH_ROUNDS", 3);
    let batch = env_usize("HERALD_BENCH_BATCH", 500);
    let instances = env_usize("HERALD_BENCH_INSTANCES", 2);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let dir = tempfile::tempdir().unwrap();
        let ca = TestCa::new();
        let key = ApnsKey::generate();
        let (apple, base) = FakeApns::start(&key, TOPIC, &ca, false).await;
        let config = PluginConfig {
            allow_hosts: vec!["127.0.0.1".into()],
            tls_ca_file: Some(ca.write_ca(dir.path())),
            batch_size: batch,
            instances,
            settings: BTreeMap::from([
                ("team_id".to_owned(), key.team_id.clone()),
                ("key_id".to_owned(), key.key_id.clone()),
                ("private_key".to_owned(), key.p8.clone()),
                ("topic".to_owned(), TOPIC.to_owned()),
                ("base_url".to_owned(), base),
            ]),
            ..PluginConfig::default()
        };
        let plugins = BTreeMap::from([("apns".to_owned(), config)]);
        let started = Instant::now();
        let transports = Transports::load(&plugins, &dir.path().join("cache"), Arc::new(NoSessions))
            .await
            .unwrap();
        let apns = transports.get("apns").expect("the apns plugin loaded");
        println!(
            "apns plugin loaded in {:.0} ms; {tokens} tokens per round, batches of {batch}, {instances} instances, fake APNs over TLS + HTTP/2 on 127.0.0.1",
            started.elapsed().as_secs_f64() * 1e3
        );

        // Warm-up: the TLS connection, the HTTP/2 window, the provider token.
        let warm = apns.deliver(message(0), targets(0, 2_000)).await;
        assert!(warm.iter().all(|o| *o == Outcome::Delivered), "warm-up failed: {:?}", warm.iter().find(|o| **o != Outcome::Delivered));

        println!("round  notifications/s  p50 request  p99 request  in-component per send-batch  (of which per target)");
        for round in 1..=rounds {
            let before: PluginCounters = apns.counters();
            let accepted = apple.accepted();
            let targets = targets(round, tokens);
            let started = Instant::now();
            let outcomes = apns.deliver(message(round as u64), targets).await;
            let took = started.elapsed();
            let after = apns.counters();
            let delivered = outcomes.iter().filter(|o| **o == Outcome::Delivered).count();
            assert_eq!(delivered, tokens, "not all delivered: {:?}", outcomes.iter().find(|o| **o != Outcome::Delivered));
            assert_eq!(apple.accepted() - accepted, tokens as u64, "the fake accepted every one");

            let latency = latency_delta(&before.http_latency, &after.http_latency);
            let calls = after.calls - before.calls;
            let send_calls = calls.saturating_sub(after.rendered - before.rendered).max(1);
            let in_component = (after.call_micros - before.call_micros)
                .saturating_sub(after.http_micros - before.http_micros);
            let per_batch = in_component as f64 / send_calls as f64;
            println!(
                "{round:>5}  {:>15.0}  {:>11}  {:>11}  {:>24.0} µs  {:>18.2} µs",
                tokens as f64 / took.as_secs_f64(),
                ms(latency.quantile(0.5)),
                ms(latency.quantile(0.99)),
                per_batch,
                per_batch / (tokens as f64 / send_calls as f64),
            );
        }
        println!("fake APNs refused: {:?}; provider tokens seen: {}", apple.refused(), apple.provider_tokens());
    });
}
