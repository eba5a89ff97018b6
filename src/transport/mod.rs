//! The transport host: loads delivery plugins (WebAssembly components of the
//! `herald:transport/transport@0.1.0` world, `plugins/wit/`), runs them isolated, and
//! delivers through them.
//!
//! - Each plugin listed in `[plugins.<name>]` is compiled once (the artifact is cached in
//!   `<data_dir>/plugin-cache/`), linked against the host, described and configured; its
//!   instances are reused across calls.
//! - Every call runs with a memory cap (`memory_mib`) and a wall-clock deadline
//!   (`call_timeout_ms`, checked at each 10 ms epoch tick). A plugin that traps, loops or
//!   exceeds its memory fails only the batch in that call: the batch is retried, the
//!   instance is dropped and instantiated again, everything else keeps running.
//! - [`Plugin::deliver`] renders a push once, sends it in batches, retries with exponential
//!   backoff and jitter up to `max_attempts`, and returns one final [`Outcome`] per target.
//! - Host imports are capabilities, denied unless granted: HTTP to `allow_hosts` only,
//!   `publish` with `allow_publish`; `log` and `now-ms` for all. WASI has an empty context.
//!
//! Files: `config` (the table), `engine` (engine, linker, artifact cache), `plugin`
//! (instances, calls, deliver), `capabilities` (host imports), `retry` (backoff), `counters`,
//! `builtin` (plugins embedded in the binary), `contract` (generated bindings), `error`.

mod builtin;
mod capabilities;
mod config;
mod contract;
mod counters;
mod engine;
mod error;
mod plugin;
mod retry;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use self::config::PluginConfig;
pub use self::contract::herald::transport::types::{Message, Notification, Target};
pub use self::counters::{LATENCY_BOUNDS_MICROS, Latencies, PluginCounters};
pub use self::error::TransportError;
pub use self::plugin::Plugin;

use self::capabilities::{Capabilities, HttpGrant};
use self::engine::Source;
use self::plugin::Instance;

/// The final outcome of a delivery to one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The service accepted it.
    Delivered,
    /// The service says the device token is dead: remove the device.
    InvalidToken,
    /// Refused, or still failing after the last attempt; the reason says which.
    Failed(String),
}

/// Writes to the live in-app sessions of an account (the `publish` capability).
pub trait Publisher: Send + Sync {
    /// Publishes `payload` to every live session of `account`; returns how many got it.
    fn publish(&self, account: &str, payload: &[u8]) -> u32;
}

/// A publisher with no sessions, for hosts without live delivery (and `plugin check`).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoSessions;

impl Publisher for NoSessions {
    fn publish(&self, _account: &str, _payload: &[u8]) -> u32 {
        0
    }
}

/// What a component declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginInfo {
    /// Its name (`describe`).
    pub name: String,
    /// Its version (`describe`).
    pub version: String,
    /// The platforms it declares (`describe`).
    pub platforms: Vec<String>,
    /// The interfaces it imports (filled by [`check`]).
    pub imports: Vec<String>,
    /// The functions it exports (filled by [`check`]).
    pub exports: Vec<String>,
}

/// Whether a configured plugin runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginState {
    /// Loaded and configured; serving its platforms.
    Ready,
    /// It could not be loaded; the reason says why. Its platforms are not served.
    Failed(String),
    /// `enabled = false`.
    Disabled,
}

/// One configured plugin as the `plugins` query and `/metrics` show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginStatus {
    /// Its name in the config file.
    pub name: String,
    /// Its declared version (empty unless it loaded).
    pub version: String,
    /// The platforms it serves (empty unless it loaded).
    pub platforms: Vec<String>,
    /// Ready, failed or disabled.
    pub state: PluginState,
    /// What it did since Herald started.
    pub counters: PluginCounters,
    /// Whether its compiled code came from the on-disk cache (false: compiled at load).
    pub from_cache: bool,
    /// How long compiling or loading its code took.
    pub load_time: Duration,
}

enum Entry {
    Ready {
        plugin: Arc<Plugin>,
        from_cache: bool,
        load_time: Duration,
    },
    Failed(String),
    Disabled,
}

/// The loaded plugins, by name and by platform.
pub struct Transports {
    entries: BTreeMap<String, Entry>,
    by_platform: HashMap<String, Arc<Plugin>>,
}

impl std::fmt::Debug for Transports {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transports")
            .field("plugins", &self.entries.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// The cache folder for a data dir: `<data_dir>/plugin-cache`.
pub fn cache_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("plugin-cache")
}

impl Transports {
    /// Loads every enabled plugin of `plugins`. A plugin that cannot load is kept as
    /// [`PluginState::Failed`] (logged) and the others load; errors are what stops them all:
    /// the engine, the cache folder, or two plugins serving one platform.
    pub async fn load(
        plugins: &BTreeMap<String, PluginConfig>,
        cache_dir: &Path,
        publisher: Arc<dyn Publisher>,
    ) -> Result<Transports, TransportError> {
        let mut entries = BTreeMap::new();
        let mut by_platform: HashMap<String, Arc<Plugin>> = HashMap::new();
        let mut shared_client = None;
        for (name, config) in plugins {
            if !config.enabled {
                entries.insert(name.clone(), Entry::Disabled);
                continue;
            }
            let runtime = engine::runtime()?;
            std::fs::create_dir_all(cache_dir).map_err(|source| TransportError::Cache {
                path: cache_dir.to_owned(),
                source,
            })?;
            let loaded = load_one(
                runtime,
                name,
                config,
                cache_dir,
                &publisher,
                &mut shared_client,
            )
            .await;
            let entry = match loaded {
                Ok((plugin, source, load_time)) => {
                    for platform in plugin.platforms() {
                        if let Some(first) = by_platform.get(platform) {
                            return Err(TransportError::PlatformConflict {
                                platform: platform.clone(),
                                first: first.name().to_owned(),
                                second: name.clone(),
                            });
                        }
                        by_platform.insert(platform.clone(), plugin.clone());
                    }
                    tracing::info!(
                        plugin = %name,
                        version = %plugin.info().version,
                        platforms = ?plugin.platforms(),
                        from_cache = source == Source::Cached,
                        load_ms = load_time.as_secs_f64() * 1000.0,
                        "plugin ready"
                    );
                    Entry::Ready {
                        plugin,
                        from_cache: source == Source::Cached,
                        load_time,
                    }
                }
                Err(e) => {
                    tracing::error!(plugin = %name, error = %e, "plugin not loaded");
                    Entry::Failed(e.to_string())
                }
            };
            entries.insert(name.clone(), entry);
        }
        Ok(Transports {
            entries,
            by_platform,
        })
    }

    /// Whether no plugin is ready (none configured, or none loaded).
    pub fn is_empty(&self) -> bool {
        self.by_platform.is_empty()
    }

    /// The ready plugin serving `platform`.
    pub fn for_platform(&self, platform: &str) -> Option<Arc<Plugin>> {
        self.by_platform.get(platform).cloned()
    }

    /// The plugin configured under `name`, when it is ready.
    pub fn get(&self, name: &str) -> Option<Arc<Plugin>> {
        match self.entries.get(name) {
            Some(Entry::Ready { plugin, .. }) => Some(plugin.clone()),
            _ => None,
        }
    }

    /// Every configured plugin, by name.
    pub fn plugins(&self) -> Vec<PluginStatus> {
        self.entries
            .iter()
            .map(|(name, entry)| match entry {
                Entry::Ready {
                    plugin,
                    from_cache,
                    load_time,
                } => PluginStatus {
                    name: name.clone(),
                    version: plugin.info().version.clone(),
                    platforms: plugin.platforms().to_vec(),
                    state: PluginState::Ready,
                    counters: plugin.counters(),
                    from_cache: *from_cache,
                    load_time: *load_time,
                },
                Entry::Failed(reason) => PluginStatus {
                    state: PluginState::Failed(reason.clone()),
                    ..idle_status(name)
                },
                Entry::Disabled => PluginStatus {
                    state: PluginState::Disabled,
                    ..idle_status(name)
                },
            })
            .collect()
    }

    /// Appends the per-plugin counters as Prometheus text (`herald_plugin_*_total`).
    pub fn render_metrics(&self, out: &mut String) {
        let statuses = self.plugins();
        counters::render_metrics(out, statuses.iter().map(|s| (s.name.as_str(), s.counters)));
    }
}

fn idle_status(name: &str) -> PluginStatus {
    PluginStatus {
        name: name.to_owned(),
        version: String::new(),
        platforms: Vec::new(),
        state: PluginState::Disabled,
        counters: PluginCounters::default(),
        from_cache: false,
        load_time: Duration::ZERO,
    }
}

async fn load_one(
    runtime: &'static engine::Runtime,
    name: &str,
    config: &PluginConfig,
    cache_dir: &Path,
    publisher: &Arc<dyn Publisher>,
    shared_client: &mut Option<reqwest::Client>,
) -> Result<(Arc<Plugin>, Source, Duration), TransportError> {
    let hosts = config.validate(name)?;
    let wasm: Vec<u8> = match &config.file {
        Some(path) => std::fs::read(path).map_err(|source| TransportError::Read {
            path: path.clone(),
            source,
        })?,
        None => builtin::builtin(name)
            .ok_or_else(|| TransportError::NoBuiltin(name.to_owned()))?
            .to_vec(),
    };
    let http = if hosts.is_empty() {
        None
    } else {
        let client = match &config.tls_ca_file {
            Some(path) => {
                let pem = std::fs::read(path).map_err(|source| TransportError::Read {
                    path: path.clone(),
                    source,
                })?;
                capabilities::http_client(Some(&pem)).map_err(|e| TransportError::Config {
                    plugin: name.to_owned(),
                    message: format!("tls_ca_file {}: {e}", path.display()),
                })?
            }
            None => match shared_client {
                Some(client) => client.clone(),
                None => {
                    let client = capabilities::http_client(None).map_err(|e| {
                        TransportError::Engine(format!("cannot build the HTTP client: {e}"))
                    })?;
                    shared_client.insert(client).clone()
                }
            },
        };
        Some(HttpGrant {
            client,
            hosts,
            plain_http: config.allow_plain_http,
            timeout: Duration::from_millis(config.call_timeout_ms * 3 / 4),
        })
    };
    let caps = Arc::new(Capabilities {
        plugin: name.to_owned(),
        http,
        publisher: config.allow_publish.then(|| publisher.clone()),
        http_micros: Default::default(),
        http_latency: Default::default(),
    });
    let started = Instant::now();
    let cache = cache_dir.to_owned();
    let (component, source) =
        tokio::task::spawn_blocking(move || engine::load(&runtime.engine, &wasm, Some(&cache)))
            .await
            .map_err(|e| TransportError::Compile(format!("the compiler task failed: {e}")))??;
    let load_time = started.elapsed();
    let plugin = Plugin::start(runtime, name, config, &component, caps).await?;
    Ok((Arc::new(plugin), source, load_time))
}

/// Checks that `wasm` is a `herald:transport/transport@0.1.0` component: compiles it, links
/// it against the host (nothing granted), instantiates it and calls `describe`. Returns what
/// it declares, with its imports and exports. Runs on its own thread, so it may be called
/// from anywhere, async code included.
pub fn check(wasm: &[u8]) -> Result<PluginInfo, TransportError> {
    engine::sniff(wasm)?;
    let runtime = engine::runtime()?;
    let (component, _) = engine::load(&runtime.engine, wasm, None)?;
    let pre = plugin::link(runtime, &component)?;
    let described = std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| TransportError::Engine(e.to_string()))?;
                rt.block_on(async {
                    let timeout = Duration::from_secs(5);
                    let caps = Arc::new(Capabilities::none("check"));
                    let fail = |e: error::CallError| TransportError::Instantiate(e.to_string());
                    let mut instance =
                        Instance::new(&pre, caps, 64, timeout).await.map_err(fail)?;
                    instance.describe(64, timeout).await.map_err(fail)
                })
            })
            .join()
            .map_err(|_| TransportError::Instantiate("the check thread panicked".to_owned()))?
    })?;
    let ty = component.component_type();
    let imports = ty
        .imports(&runtime.engine)
        .map(|(name, _)| name.to_owned())
        .collect();
    let exports = ty
        .exports(&runtime.engine)
        .map(|(name, _)| name.to_owned())
        .collect();
    Ok(PluginInfo {
        name: described.0,
        version: described.1,
        platforms: described.2,
        imports,
        exports,
    })
}

/// Names of the plugins built into this binary (`plugins/{inapp,apns,fcm}`).
pub fn builtins() -> Vec<&'static str> {
    builtin::NAMES.to_vec()
}

/// The component of a built-in plugin, as embedded in this binary.
pub fn builtin_component(name: &str) -> Option<&'static [u8]> {
    builtin::builtin(name)
}
