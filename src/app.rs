//! The assembled service: configuration plus every domain module, opened over one data dir.

use std::sync::Arc;

use crate::api::auth::Keys;
use crate::config::{Config, ConfigError};
use crate::directory::{Directory, DirectoryError};
use crate::metrics::{Gauge, Metrics};
use crate::push::{PushError, Pushes};
use crate::store::{Store, StoreError};
use crate::time::{Clock, SystemClock};

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
}

/// Everything a request handler needs, shared by all of them.
pub struct App {
    /// The configuration it was opened with.
    pub config: Config,
    /// Accounts, tags and attributes.
    pub directory: Arc<Directory>,
    /// Push tasks.
    pub pushes: Arc<Pushes>,
    /// Token signing and checking.
    pub keys: Keys,
    /// API counters.
    pub metrics: Arc<Metrics>,
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
            store,
            directory.clone(),
            clock,
            &config.app,
            config.push.clone(),
        )?);
        Ok(Arc::new(App {
            config,
            directory,
            pushes,
            keys,
            metrics: Arc::new(Metrics::default()),
        }))
    }

    /// The `/metrics` text: API counters and the directory's gauges.
    pub fn metrics_text(&self) -> String {
        let ix = self.directory.indexes();
        let gauges = [
            Gauge {
                name: "herald_accounts",
                help: "Accounts in the directory.",
                value: ix.all().len() as f64,
            },
            Gauge {
                name: "herald_tags",
                help: "Distinct tags held by at least one account.",
                value: ix.tags_in_use() as f64,
            },
            Gauge {
                name: "herald_live_pushes",
                help: "Pushes within their lifetime, deliverable on reconnect.",
                value: self.pushes.live_count() as f64,
            },
        ];
        drop(ix);
        self.metrics.render(&gauges)
    }
}
