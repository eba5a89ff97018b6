//! Per-plugin counters, read by the `plugins` query and `/metrics`.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use serde::Serialize;

/// The live counters of one plugin.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) rendered: AtomicU64,
    pub(crate) sent: AtomicU64,
    pub(crate) delivered: AtomicU64,
    pub(crate) retried: AtomicU64,
    pub(crate) invalid_tokens: AtomicU64,
    pub(crate) failed: AtomicU64,
    pub(crate) traps: AtomicU64,
    pub(crate) deadline_exceeded: AtomicU64,
    pub(crate) memory_exceeded: AtomicU64,
    pub(crate) restarts: AtomicU64,
    pub(crate) calls: AtomicU64,
    pub(crate) call_micros: AtomicU64,
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64, n: usize) {
        counter.fetch_add(n as u64, Relaxed);
    }

    /// The counters now; `http_micros` and `http_latency` are kept by the plugin's HTTP
    /// capability.
    pub(crate) fn snapshot(&self, http_micros: u64, http_latency: Latencies) -> PluginCounters {
        PluginCounters {
            rendered: self.rendered.load(Relaxed),
            sent: self.sent.load(Relaxed),
            delivered: self.delivered.load(Relaxed),
            retried: self.retried.load(Relaxed),
            invalid_tokens: self.invalid_tokens.load(Relaxed),
            failed: self.failed.load(Relaxed),
            traps: self.traps.load(Relaxed),
            deadline_exceeded: self.deadline_exceeded.load(Relaxed),
            memory_exceeded: self.memory_exceeded.load(Relaxed),
            restarts: self.restarts.load(Relaxed),
            calls: self.calls.load(Relaxed),
            call_micros: self.call_micros.load(Relaxed),
            http_micros,
            http_latency,
        }
    }
}

/// What one plugin did since Herald started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PluginCounters {
    /// Messages rendered (one per push handed to the plugin).
    pub rendered: u64,
    /// Targets handed to `send-batch`, retries included.
    pub sent: u64,
    /// Targets finally delivered.
    pub delivered: u64,
    /// Targets scheduled for another attempt (retry-after, or their batch's call failed).
    pub retried: u64,
    /// Targets whose token the service reported dead (the device is to be removed).
    pub invalid_tokens: u64,
    /// Targets finally failed (refused, or retries exhausted).
    pub failed: u64,
    /// Calls that failed in the plugin: traps, deadlines and memory caps together.
    pub traps: u64,
    /// Of `traps`, calls interrupted at their deadline.
    pub deadline_exceeded: u64,
    /// Of `traps`, calls stopped by the memory cap.
    pub memory_exceeded: u64,
    /// Instances dropped after a failure and instantiated again.
    pub restarts: u64,
    /// Calls into the plugin (`render` and `send-batch`).
    pub calls: u64,
    /// Wall time inside those calls, host imports included, in microseconds.
    pub call_micros: u64,
    /// Of `call_micros`, the time spent in `http-send` (requests on the wire): the rest is
    /// the plugin's own work and the WebAssembly boundary.
    pub http_micros: u64,
    /// How long each request of `http-send` took, from send to the whole answer.
    pub http_latency: Latencies,
}

/// Upper bounds of the request latency buckets, in microseconds: 0.25 ms to 10 s (and a last,
/// unbounded bucket).
pub const LATENCY_BOUNDS_MICROS: [u64; 15] = [
    250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000,
    2_500_000, 5_000_000, 10_000_000,
];
const BUCKETS: usize = LATENCY_BOUNDS_MICROS.len() + 1;

/// A latency histogram with fixed buckets, updated without locks from every request.
#[derive(Debug, Default)]
pub(crate) struct Histogram {
    counts: [AtomicU64; BUCKETS],
    sum_micros: AtomicU64,
}

impl Histogram {
    /// Counts one duration.
    pub(crate) fn record(&self, took: Duration) {
        let micros = took.as_micros() as u64;
        let bucket = LATENCY_BOUNDS_MICROS.partition_point(|&bound| bound < micros);
        self.counts[bucket].fetch_add(1, Relaxed);
        self.sum_micros.fetch_add(micros, Relaxed);
    }

    /// The counts now.
    pub(crate) fn snapshot(&self) -> Latencies {
        Latencies {
            counts: std::array::from_fn(|i| self.counts[i].load(Relaxed)),
            sum_micros: self.sum_micros.load(Relaxed),
        }
    }
}

/// Latencies counted by bucket ([`LATENCY_BOUNDS_MICROS`], then one unbounded bucket).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Latencies {
    /// How many fell in each bucket (not cumulative).
    pub counts: [u64; BUCKETS],
    /// The sum of all, in microseconds.
    pub sum_micros: u64,
}

impl Latencies {
    /// How many were counted.
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The `q`-quantile (0..=1), interpolated linearly inside its bucket as Prometheus'
    /// `histogram_quantile` does; `None` when nothing was counted. In the unbounded bucket
    /// it answers the last bound.
    pub fn quantile(&self, q: f64) -> Option<Duration> {
        let total = self.count();
        if total == 0 {
            return None;
        }
        let rank = q.clamp(0.0, 1.0) * total as f64;
        let mut below = 0u64;
        for (i, &n) in self.counts.iter().enumerate() {
            if n > 0 && (below + n) as f64 >= rank {
                let Some(&upper) = LATENCY_BOUNDS_MICROS.get(i) else {
                    break;
                };
                let lower = if i == 0 {
                    0
                } else {
                    LATENCY_BOUNDS_MICROS[i - 1]
                };
                let within = ((rank - below as f64) / n as f64).clamp(0.0, 1.0);
                let micros = lower as f64 + within * (upper - lower) as f64;
                return Some(Duration::from_micros(micros as u64));
            }
            below += n;
        }
        Some(Duration::from_micros(LATENCY_BOUNDS_MICROS[BUCKETS - 2]))
    }
}

/// The counters as Prometheus families `herald_plugin_<counter>_total{plugin="..."}`
/// (times in seconds).
pub(crate) fn render_metrics<'a>(
    out: &mut String,
    plugins: impl Iterator<Item = (&'a str, PluginCounters)> + Clone,
) {
    type Field = fn(&PluginCounters) -> f64;
    let families: [(&str, &str, Field); 13] = [
        ("rendered", "Messages rendered by the plugin.", |c| {
            c.rendered as f64
        }),
        (
            "sent",
            "Targets handed to the plugin's send-batch, retries included.",
            |c| c.sent as f64,
        ),
        ("delivered", "Targets the plugin delivered.", |c| {
            c.delivered as f64
        }),
        ("retried", "Targets scheduled for another attempt.", |c| {
            c.retried as f64
        }),
        (
            "invalid_tokens",
            "Targets whose device token was reported dead.",
            |c| c.invalid_tokens as f64,
        ),
        ("failed", "Targets that finally failed.", |c| {
            c.failed as f64
        }),
        (
            "traps",
            "Calls into the plugin that failed (trap, deadline or memory cap).",
            |c| c.traps as f64,
        ),
        (
            "deadline_exceeded",
            "Calls into the plugin interrupted at their deadline.",
            |c| c.deadline_exceeded as f64,
        ),
        (
            "memory_exceeded",
            "Calls into the plugin stopped by its memory cap.",
            |c| c.memory_exceeded as f64,
        ),
        (
            "restarts",
            "Plugin instances instantiated again after a failure.",
            |c| c.restarts as f64,
        ),
        (
            "calls",
            "Calls into the plugin (render and send-batch).",
            |c| c.calls as f64,
        ),
        (
            "call_seconds",
            "Wall time inside calls into the plugin, host imports included.",
            |c| c.call_micros as f64 / 1e6,
        ),
        (
            "http_seconds",
            "Wall time of the plugin's http-send calls (requests on the wire).",
            |c| c.http_micros as f64 / 1e6,
        ),
    ];
    for (name, help, field) in families {
        let _ = writeln!(out, "# HELP herald_plugin_{name}_total {help}");
        let _ = writeln!(out, "# TYPE herald_plugin_{name}_total counter");
        for (plugin, counters) in plugins.clone() {
            let plugin = label(plugin);
            let _ = writeln!(
                out,
                "herald_plugin_{name}_total{{plugin=\"{plugin}\"}} {}",
                field(&counters)
            );
        }
    }
    let name = "herald_plugin_http_request_seconds";
    let _ = writeln!(
        out,
        "# HELP {name} Latency of each request of the plugin's http-send, send to whole answer."
    );
    let _ = writeln!(out, "# TYPE {name} histogram");
    for (plugin, counters) in plugins {
        let plugin = label(plugin);
        let latencies = counters.http_latency;
        let mut cumulative = 0;
        for (i, n) in latencies.counts.iter().enumerate() {
            cumulative += n;
            let le = LATENCY_BOUNDS_MICROS
                .get(i)
                .map_or("+Inf".to_owned(), |&b| (b as f64 / 1e6).to_string());
            let _ = writeln!(
                out,
                "{name}_bucket{{plugin=\"{plugin}\",le=\"{le}\"}} {cumulative}"
            );
        }
        let _ = writeln!(
            out,
            "{name}_sum{{plugin=\"{plugin}\"}} {}",
            latencies.sum_micros as f64 / 1e6
        );
        let _ = writeln!(out, "{name}_count{{plugin=\"{plugin}\"}} {cumulative}");
    }
}

/// A Prometheus label value, escaped.
fn label(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}
