//! GraphQL surface of transports: the `plugins` query.

use async_graphql::{Context, Enum, Object, Result, SimpleObject};

use super::admin;
use crate::transport::{PluginState, PluginStatus};

/// Whether a configured plugin runs.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub(super) enum PluginStateKind {
    /// Loaded and serving its platforms.
    Ready,
    /// It could not be loaded; see `error`.
    Failed,
    /// Disabled in the config.
    Disabled,
}

/// What a plugin did since Herald started.
#[derive(SimpleObject)]
pub(super) struct PluginCounters {
    /// Pushes rendered.
    rendered: u64,
    /// Targets handed to `send`.
    sent: u64,
    /// Targets the push service accepted.
    delivered: u64,
    /// Targets retried.
    retried: u64,
    /// Tokens the push service called dead.
    invalid_tokens: u64,
    /// Targets that failed for good.
    failed: u64,
    /// Calls that trapped.
    traps: u64,
    /// Calls stopped at their deadline.
    deadline_exceeded: u64,
    /// Calls stopped at the memory cap.
    memory_exceeded: u64,
    /// Instances re-created after a failure.
    restarts: u64,
    /// Calls into the plugin (render and send-batch).
    calls: u64,
    /// Seconds spent inside those calls, host imports included.
    call_seconds: f64,
    /// Of `callSeconds`, the seconds in `http-send` (requests on the wire); the rest is the
    /// plugin's own work and the WebAssembly boundary.
    http_seconds: f64,
}

/// A configured transport plugin.
#[derive(SimpleObject)]
pub(super) struct Plugin {
    /// Its name in the config file.
    name: String,
    /// Its declared version.
    version: String,
    /// The platforms it serves.
    platforms: Vec<String>,
    /// Ready, failed or disabled.
    state: PluginStateKind,
    /// Why it failed to load.
    error: Option<String>,
    /// Whether its compiled code came from the on-disk cache.
    from_cache: bool,
    /// What it did since Herald started.
    counters: PluginCounters,
}

impl From<PluginStatus> for Plugin {
    fn from(p: PluginStatus) -> Self {
        let (state, error) = match p.state {
            PluginState::Ready => (PluginStateKind::Ready, None),
            PluginState::Failed(e) => (PluginStateKind::Failed, Some(e)),
            PluginState::Disabled => (PluginStateKind::Disabled, None),
        };
        let c = p.counters;
        Plugin {
            name: p.name,
            version: p.version,
            platforms: p.platforms,
            state,
            error,
            from_cache: p.from_cache,
            counters: PluginCounters {
                rendered: c.rendered,
                sent: c.sent,
                delivered: c.delivered,
                retried: c.retried,
                invalid_tokens: c.invalid_tokens,
                failed: c.failed,
                traps: c.traps,
                deadline_exceeded: c.deadline_exceeded,
                memory_exceeded: c.memory_exceeded,
                restarts: c.restarts,
                calls: c.calls,
                call_seconds: c.call_micros as f64 / 1e6,
                http_seconds: c.http_micros as f64 / 1e6,
            },
        }
    }
}

/// Plugin queries.
#[derive(Default)]
pub(super) struct PluginQuery;

#[Object]
impl PluginQuery {
    /// The configured transport plugins with their state and counters.
    async fn plugins(&self, ctx: &Context<'_>) -> Result<Vec<Plugin>> {
        let app = admin(ctx)?;
        Ok(app
            .transports
            .get()
            .map(|t| t.plugins().into_iter().map(Plugin::from).collect())
            .unwrap_or_default())
    }
}
