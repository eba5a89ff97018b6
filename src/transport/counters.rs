//! Per-plugin counters, read by the `plugins` query and `/metrics`.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

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
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64, n: usize) {
        counter.fetch_add(n as u64, Relaxed);
    }

    pub(crate) fn snapshot(&self) -> PluginCounters {
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
}

/// The counters as Prometheus families `herald_plugin_<counter>_total{plugin="..."}`.
pub(crate) fn render_metrics<'a>(
    out: &mut String,
    plugins: impl Iterator<Item = (&'a str, PluginCounters)> + Clone,
) {
    type Field = fn(&PluginCounters) -> u64;
    let families: [(&str, &str, Field); 10] = [
        ("rendered", "Messages rendered by the plugin.", |c| {
            c.rendered
        }),
        (
            "sent",
            "Targets handed to the plugin's send-batch, retries included.",
            |c| c.sent,
        ),
        ("delivered", "Targets the plugin delivered.", |c| {
            c.delivered
        }),
        ("retried", "Targets scheduled for another attempt.", |c| {
            c.retried
        }),
        (
            "invalid_tokens",
            "Targets whose device token was reported dead.",
            |c| c.invalid_tokens,
        ),
        ("failed", "Targets that finally failed.", |c| c.failed),
        (
            "traps",
            "Calls into the plugin that failed (trap, deadline or memory cap).",
            |c| c.traps,
        ),
        (
            "deadline_exceeded",
            "Calls into the plugin interrupted at their deadline.",
            |c| c.deadline_exceeded,
        ),
        (
            "memory_exceeded",
            "Calls into the plugin stopped by its memory cap.",
            |c| c.memory_exceeded,
        ),
        (
            "restarts",
            "Plugin instances instantiated again after a failure.",
            |c| c.restarts,
        ),
    ];
    for (name, help, field) in families {
        let _ = writeln!(out, "# HELP herald_plugin_{name}_total {help}");
        let _ = writeln!(out, "# TYPE herald_plugin_{name}_total counter");
        for (plugin, counters) in plugins.clone() {
            let plugin = plugin.replace('\\', "\\\\").replace('"', "\\\"");
            let _ = writeln!(
                out,
                "herald_plugin_{name}_total{{plugin=\"{plugin}\"}} {}",
                field(&counters)
            );
        }
    }
}
