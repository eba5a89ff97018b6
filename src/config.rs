//! One configuration struct, layered: defaults < TOML file < environment < command-line flags.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use crate::transport::PluginConfig;

/// The whole configuration of a Herald process.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address the HTTP server listens on.
    pub listen: SocketAddr,
    /// Folder holding the store, the generated app secret and caches.
    pub data_dir: PathBuf,
    /// The app's identity and signing key.
    pub app: AppConfig,
    /// Limits of the directory (API.md defaults).
    pub limits: Limits,
    /// Limits of the HTTP/GraphQL surface.
    pub api: ApiConfig,
    /// Tuning of the embedded store.
    pub store: StoreConfig,
    /// Rate rules of pushes.
    pub push: PushConfig,
    /// Live delivery.
    pub delivery: DeliveryConfig,
    /// Delivery transports (`[plugins.<name>]`), loaded by `transport`.
    pub plugins: BTreeMap<String, PluginConfig>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./herald-data"),
            app: AppConfig::default(),
            limits: Limits::default(),
            api: ApiConfig::default(),
            store: StoreConfig::default(),
            push: PushConfig::default(),
            delivery: DeliveryConfig::default(),
            plugins: BTreeMap::new(),
        }
    }
}

/// The `[app]` table: who the app is and how its tokens are signed.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AppConfig {
    /// Numeric app id (the vendor's `sdkappid`).
    pub id: u64,
    /// Signing key (UTF-8 bytes are the HMAC key). Generated into the data dir when unset.
    pub secret: Option<String>,
    /// The admin identity: the `sub` of admin tokens and the default push sender.
    pub admin: String,
}

impl Default for AppConfig {
    fn default() -> Self {
        AppConfig {
            id: 1_400_000_000,
            secret: None,
            admin: "administrator".to_owned(),
        }
    }
}

/// Limits on directory data; the defaults are API.md's.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Accounts per batch call (one transaction).
    pub batch_accounts: usize,
    /// Tags one account may hold.
    pub tags_per_account: usize,
    /// Longest tag, in bytes.
    pub tag_bytes: usize,
    /// Longest attribute name, in bytes.
    pub attribute_name_bytes: usize,
    /// Longest attribute value, in bytes.
    pub attribute_value_bytes: usize,
    /// Longest account id, in bytes.
    pub account_id_bytes: usize,
    /// Longest nick, in bytes.
    pub nick_bytes: usize,
    /// Devices one account may register.
    pub devices_per_account: usize,
    /// Longest device token, in bytes.
    pub device_token_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            batch_accounts: 1000,
            tags_per_account: 100,
            tag_bytes: 50,
            attribute_name_bytes: 50,
            attribute_value_bytes: 50,
            account_id_bytes: 32,
            nick_bytes: 100,
            devices_per_account: 10,
            device_token_bytes: 512,
        }
    }
}

/// The `[api]` table: guards of the HTTP and GraphQL surface.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ApiConfig {
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Deepest query accepted.
    pub max_depth: usize,
    /// Highest query complexity accepted (async-graphql's count of fields).
    pub max_complexity: usize,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            max_body_bytes: 4 << 20,
            max_depth: 16,
            max_complexity: 5000,
        }
    }
}

/// The `[store]` table.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// redb page cache, in MiB. The indexes live apart from it, in memory.
    pub cache_mib: usize,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig { cache_mib: 64 }
    }
}

/// The `[push]` table: optional rate rules (both off by default).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PushConfig {
    /// Minimum seconds between two accepted pushes (0 = no minimum).
    pub min_interval_seconds: u64,
    /// Pushes accepted per UTC day (0 = no quota).
    pub daily_quota: u64,
}

/// The `[delivery]` table.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DeliveryConfig {
    /// Pushes queued per inbox session; a session that falls this far behind is closed
    /// (it catches up by replay when it subscribes again).
    pub session_queue: usize,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            session_queue: 1024,
        }
    }
}

/// Errors reading the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The config file is not valid TOML for this struct.
    #[error("invalid config file {path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong, with its position.
        source: toml::de::Error,
    },
    /// An environment variable has a bad value.
    #[error("invalid environment variable {name}: {message}")]
    Env {
        /// The variable.
        name: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The app secret could not be created or read in the data dir.
    #[error("app secret file {path}: {source}")]
    Secret {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// Command-line values that override the file and the environment.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// `--config`.
    pub config: Option<PathBuf>,
    /// `--listen`.
    pub listen: Option<SocketAddr>,
    /// `--data-dir`.
    pub data_dir: Option<PathBuf>,
}

impl Config {
    /// Loads the configuration: defaults, then the file (`--config`, else `HERALD_CONFIG`),
    /// then `HERALD_LISTEN`, `HERALD_DATA_DIR`, `HERALD_APP_SECRET`, then the flags.
    pub fn load(flags: &Overrides) -> Result<Config, ConfigError> {
        Self::load_with_env(flags, |name| std::env::var(name).ok())
    }

    /// [`Config::load`] with an injected environment, so tests need not touch the process's.
    pub fn load_with_env(
        flags: &Overrides,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let file = flags
            .config
            .clone()
            .or_else(|| env("HERALD_CONFIG").map(PathBuf::from));
        let mut config = match file {
            Some(path) => Self::from_file(&path)?,
            None => Config::default(),
        };
        if let Some(listen) = env("HERALD_LISTEN") {
            config.listen = listen.parse().map_err(|e| ConfigError::Env {
                name: "HERALD_LISTEN",
                message: format!("{listen:?} is not an address like 127.0.0.1:8080 ({e})"),
            })?;
        }
        if let Some(dir) = env("HERALD_DATA_DIR") {
            config.data_dir = PathBuf::from(dir);
        }
        if let Some(secret) = env("HERALD_APP_SECRET") {
            config.app.secret = Some(secret);
        }
        if let Some(listen) = flags.listen {
            config.listen = listen;
        }
        if let Some(dir) = &flags.data_dir {
            config.data_dir = dir.clone();
        }
        Ok(config)
    }

    /// Parses a TOML config file.
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.to_owned(),
            source,
        })
    }

    /// The app secret: the configured one, else the one in the data dir, else a new random
    /// one written there with mode 0600. Creates the data dir when missing.
    pub fn app_secret(&self) -> Result<String, ConfigError> {
        if let Some(secret) = &self.app.secret {
            return Ok(secret.clone());
        }
        let path = self.data_dir.join("app-secret");
        let err = |source| ConfigError::Secret {
            path: path.clone(),
            source,
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => return Ok(text.trim().to_owned()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(err(e)),
        }
        std::fs::create_dir_all(&self.data_dir).map_err(err)?;
        let secret = random_secret();
        write_private(&path, &secret).map_err(err)?;
        Ok(secret)
    }
}

fn random_secret() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes a file readable by its owner only (0600), atomically: a crash leaves either no
/// file or the whole one.
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_config_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/herald.toml");
        let config = Config::from_file(&path).unwrap();
        assert_eq!(config.app.admin, "administrator");
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = toml::from_str::<Config>("listne = \"127.0.0.1:1\"").unwrap_err();
        assert!(err.to_string().contains("listne"), "{err}");
    }

    #[test]
    fn layers_are_file_then_env_then_flags() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("herald.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:1111\"\ndata_dir = \"/from-file\"\n[app]\nid = 7\n",
        )
        .unwrap();
        let env = |name: &str| match name {
            "HERALD_CONFIG" => Some(file.display().to_string()),
            "HERALD_LISTEN" => Some("127.0.0.1:2222".to_owned()),
            _ => None,
        };
        let flags = Overrides {
            data_dir: Some(PathBuf::from("/from-flag")),
            ..Default::default()
        };
        let config = Config::load_with_env(&flags, env).unwrap();
        assert_eq!(config.app.id, 7);
        assert_eq!(config.listen.port(), 2222);
        assert_eq!(config.data_dir, PathBuf::from("/from-flag"));
    }

    #[test]
    fn a_bad_env_value_names_the_variable() {
        let env = |name: &str| (name == "HERALD_LISTEN").then(|| "nope".to_owned());
        let err = Config::load_with_env(&Overrides::default(), env).unwrap_err();
        assert!(err.to_string().contains("HERALD_LISTEN"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn a_generated_secret_is_private_and_stable() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let config = Config {
            data_dir: dir.path().join("data"),
            ..Default::default()
        };
        let first = config.app_secret().unwrap();
        assert_eq!(first.len(), 64);
        assert_eq!(config.app_secret().unwrap(), first);
        let mode = std::fs::metadata(config.data_dir.join("app-secret"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
