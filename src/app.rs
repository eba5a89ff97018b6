//! The assembled service: configuration plus every domain module, opened over one data dir.

use std::sync::Arc;

use crate::api::auth::Keys;
use crate::config::{Config, ConfigError};
use crate::delivery::{Delivery, Notifier};
use crate::directory::{Directory, DirectoryError};
use crate::metrics::{Metrics, Sample};
use crate::push::{PushError, Pushes};
use crate::store::{Store, StoreError};
use crate::time::{Clock, SystemClock};
use crate::transport::{self, NoSessions, TransportError, Transports};

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Configuration or app secret.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The data dir could not be created.
    #[error("cannot create data dir {path}: {source}")]
    DataDir {
        /// The folder.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The store could not be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The directory could not be loaded.
    #[error(transparent)]
    Directory(#[from] DirectoryError),
    /// The live pushes could not be loaded.
    #[error(transparent)]
    Push(#[from] PushError),
    /// The transport plugins could not be loaded.
    #[error(transparent)]
    Transport(#[from] TransportError),
}

/// Everything a request handler needs, shared by all of them.
pub struct App {
    /// The configuration it was opened with.
    pub config: Config,
    /// Accounts, tags and attributes.
    pub directory: Arc<Directory>,
    /// Push tasks.
    pub pushes: Arc<Pushes>,
    /// Live sessions and the inbox.
    pub delivery: Arc<Delivery>,
    /// Token signing and checking.
    pub keys: Keys,
    /// API counters.
    pub metrics: Arc<Metrics>,
    /// Delivery transports, once [`App::start_transports`] has loaded them.
    pub transports: std::sync::OnceLock<Arc<Transports>>,
}

impl App {
    /// Opens the data dir (creating it and the app secret on first start) and loads the
    /// directory's indexes from the store.
    pub fn open(config: Config) -> Result<Arc<App>, StartError> {
        Self::open_with_clock(config, Arc::new(SystemClock))
    }

    /// [`App::open`] with an injected clock (tests move time to expire pushes).
    pub fn open_with_clock(config: Config, clock: Arc<dyn Clock>) -> Result<Arc<App>, StartError> {
        std::fs::create_dir_all(&config.data_dir).map_err(|source| StartError::DataDir {
            path: config.data_dir.clone(),
            source,
        })?;
        let secret = config.app_secret()?;
        let keys = Keys::new(&secret, &config.app.admin);
        let store = Arc::new(Store::open(
            &config.data_dir.join("herald.redb"),
            config.store.cache_mib << 20,
        )?);
        let directory = Arc::new(Directory::open(
            store.clone(),
            config.limits.clone(),
            &config.app.admin,
        )?);
        let pushes = Arc::new(Pushes::open(
            store.clone(),
            directory.clone(),
            clock,
            &config.app,
            config.push.clone(),
        )?);
        let delivery = Delivery::new(pushes.clone(), store, config.delivery.session_queue);
        Ok(Arc::new(App {
            config,
            directory,
            pushes,
            delivery,
            keys,
            metrics: Arc::new(Metrics::default()),
            transports: std::sync::OnceLock::new(),
        }))
    }

    /// Loads the configured transport plugins and connects mobile notifications to
    /// delivery. Needs a tokio runtime; the server calls it before it serves.
    pub async fn start_transports(&self) -> Result<(), StartError> {
        if self.transports.get().is_some() {
            return Ok(());
        }
        let transports = Arc::new(
            Transports::load(
                &self.config.plugins,
                &transport::cache_dir(&self.config.data_dir),
                Arc::new(NoSessions),
            )
            .await?,
        );
        let notifier = Notifier::start(
            self.directory.clone(),
            self.pushes.clone(),
            transports.clone(),
        );
        self.delivery.set_notifier(notifier)?;
        let _ = self.transports.set(transports);
        Ok(())
    }

    /// The `/metrics` text: API counters and the directory's gauges.
    pub fn metrics_text(&self) -> String {
        let ix = self.directory.indexes();
        let stats = &self.delivery.stats;
        let total =
            |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed) as f64;
        let report = self.pushes.live_report_totals();
        let samples = [
            Sample::gauge(
                "herald_accounts",
                "Accounts in the directory.",
                ix.all().len() as f64,
            ),
            Sample::gauge(
                "herald_tags",
                "Distinct tags held by at least one account.",
                ix.tags_in_use() as f64,
            ),
            Sample::gauge(
                "herald_sessions",
                "Open inbox sessions.",
                self.delivery.sessions() as f64,
            ),
            Sample::gauge(
                "herald_live_pushes",
                "Pushes within their lifetime, deliverable on reconnect.",
                self.pushes.live_count() as f64,
            ),
            Sample::gauge(
                "herald_live_pending",
                "Recipients of live pushes that have not received them yet.",
                report.pending as f64,
            ),
            Sample::gauge(
                "herald_live_delivered_online",
                "Recipients of live pushes reached on a live session at accept time.",
                report.delivered_online as f64,
            ),
            Sample::gauge(
                "herald_live_delivered_on_reconnect",
                "Recipients of live pushes reached when they came back.",
                report.delivered_on_reconnect as f64,
            ),
            Sample::gauge(
                "herald_notifications_unfinished",
                "Live pushes whose mobile notifications are not all sent yet (resumed at start).",
                self.pushes.unfinished_notifications() as f64,
            ),
            Sample::counter(
                "herald_inbox_sent_online_total",
                "Pushes handed to open sessions at accept time (per session).",
                total(&stats.sent_online),
            ),
            Sample::counter(
                "herald_inbox_sent_on_reconnect_total",
                "Pushes replayed to sessions when they opened (per session).",
                total(&stats.sent_on_reconnect),
            ),
            Sample::counter(
                "herald_session_overflows_total",
                "Sessions closed because they fell a whole queue behind.",
                total(&stats.overflows),
            ),
        ];
        drop(ix);
        let mut text = self.metrics.render(&samples);
        if let Some(transports) = self.transports.get() {
            transports.render_metrics(&mut text);
        }
        text
    }
}
