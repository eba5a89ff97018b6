//! `[plugins.<name>]`: which transports Herald loads and what each may do.
//!
//! ```toml
//! [plugins.apns]
//! # file = "plugins/apns.wasm"       # unset: the built-in plugin of that name
//! allow_hosts = ["api.push.apple.com", "api.sandbox.push.apple.com:443"]
//! settings = { team_id = "ABCDE12345", key_id = "KEY1234567", private_key = "@/etc/herald/apns.p8" }
//! ```
//!
//! Paths (`file`, `tls_ca_file`, `@path` settings) are relative to Herald's working folder.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use super::error::TransportError;

/// Largest `memory_mib` accepted: the engine's per-memory reservation (4 GiB).
pub(crate) const MAX_MEMORY_MIB: usize = 4096;

/// One `[plugins.<name>]` table.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct PluginConfig {
    /// The component file; unset means the plugin built into Herald under this name.
    pub file: Option<PathBuf>,
    /// `false` keeps the plugin listed (state `Disabled`) without loading it.
    pub enabled: bool,
    /// Hosts the plugin may reach through the host's HTTP capability: `"host"` (any port) or
    /// `"host:port"`. Empty means no HTTP at all.
    pub allow_hosts: Vec<String>,
    /// Also allow `http://` URLs (plain text). Off by default: only `https://`.
    pub allow_plain_http: bool,
    /// Grants `publish` (write to the live in-app sessions of an account).
    pub allow_publish: bool,
    /// Passed to the plugin's `configure`. A value `"@path"` is replaced by the contents of
    /// that file (one trailing newline removed), so secrets stay out of the config file;
    /// `"@@..."` stands for a literal value starting with `@`.
    pub settings: BTreeMap<String, String>,
    /// Memory cap of one instance, in MiB.
    pub memory_mib: usize,
    /// Wall-clock deadline of one call into the plugin (render, or send of one batch,
    /// including its HTTP requests), in milliseconds. One HTTP request may take at most
    /// three quarters of it.
    pub call_timeout_ms: u64,
    /// Targets handed to one `send-batch` call.
    pub batch_size: usize,
    /// Attempts per target (the first included) before a retriable failure becomes final.
    pub max_attempts: u32,
    /// An extra trusted root certificate (PEM, one or more) for the plugin's HTTPS requests,
    /// besides the public web roots.
    pub tls_ca_file: Option<PathBuf>,
    /// The platforms this plugin serves, a subset of those it declares; empty means all.
    pub platforms: Vec<String>,
    /// Instances kept per plugin, i.e. calls into it that may run at once.
    pub instances: usize,
    /// First retry delay in milliseconds; each further retry doubles it, with jitter.
    pub retry_base_ms: u64,
    /// Longest wait between two attempts, in milliseconds (also caps a plugin's retry-after).
    pub retry_max_ms: u64,
}

impl Default for PluginConfig {
    fn default() -> Self {
        PluginConfig {
            file: None,
            enabled: true,
            allow_hosts: Vec::new(),
            allow_plain_http: false,
            allow_publish: false,
            settings: BTreeMap::new(),
            memory_mib: 32,
            call_timeout_ms: 5000,
            batch_size: 500,
            max_attempts: 5,
            tls_ca_file: None,
            platforms: Vec::new(),
            instances: 2,
            retry_base_ms: 500,
            retry_max_ms: 60_000,
        }
    }
}

/// One entry of `allow_hosts`, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AllowedHost {
    /// Lower case, IPv6 without brackets.
    pub(crate) host: String,
    /// `None`: any port.
    pub(crate) port: Option<u16>,
}

impl AllowedHost {
    fn parse(entry: &str) -> Option<AllowedHost> {
        let entry = entry.trim().to_ascii_lowercase();
        let (host, port) = if let Some(rest) = entry.strip_prefix('[') {
            let (host, after) = rest.split_once(']')?;
            match after {
                "" => (host.to_owned(), None),
                _ => (
                    host.to_owned(),
                    Some(after.strip_prefix(':')?.parse().ok()?),
                ),
            }
        } else if entry.matches(':').count() == 1 {
            let (host, port) = entry.split_once(':')?;
            (host.to_owned(), Some(port.parse().ok()?))
        } else {
            (entry, None)
        };
        let valid =
            !host.is_empty() && !host.contains(['/', '@', '?', '#', ' ']) && !host.contains('*');
        valid.then_some(AllowedHost { host, port })
    }

    /// Whether a URL's host and port are this entry.
    pub(crate) fn matches(&self, host: &str, port: u16) -> bool {
        self.host == host && self.port.is_none_or(|p| p == port)
    }
}

impl PluginConfig {
    /// Checks the ranges and parses `allow_hosts`; errors name the key.
    pub(crate) fn validate(&self, plugin: &str) -> Result<Vec<AllowedHost>, TransportError> {
        let bad = |message: String| TransportError::Config {
            plugin: plugin.to_owned(),
            message,
        };
        if self.memory_mib == 0 || self.memory_mib > MAX_MEMORY_MIB {
            return Err(bad(format!(
                "memory_mib = {} is out of range 1..={MAX_MEMORY_MIB}",
                self.memory_mib
            )));
        }
        if !(10..=600_000).contains(&self.call_timeout_ms) {
            return Err(bad(format!(
                "call_timeout_ms = {} is out of range 10..=600000",
                self.call_timeout_ms
            )));
        }
        if !(1..=100_000).contains(&self.batch_size) {
            return Err(bad(format!(
                "batch_size = {} is out of range 1..=100000",
                self.batch_size
            )));
        }
        if !(1..=100).contains(&self.max_attempts) {
            return Err(bad(format!(
                "max_attempts = {} is out of range 1..=100",
                self.max_attempts
            )));
        }
        if !(1..=64).contains(&self.instances) {
            return Err(bad(format!(
                "instances = {} is out of range 1..=64",
                self.instances
            )));
        }
        if self.retry_base_ms > self.retry_max_ms {
            return Err(bad(format!(
                "retry_base_ms = {} is above retry_max_ms = {}",
                self.retry_base_ms, self.retry_max_ms
            )));
        }
        self.allow_hosts
            .iter()
            .map(|entry| {
                AllowedHost::parse(entry).ok_or_else(|| {
                    bad(format!(
                        "allow_hosts entry {entry:?} is not \"host\" or \"host:port\""
                    ))
                })
            })
            .collect()
    }

    /// The settings handed to `configure`, with `@path` values read from their files.
    pub(crate) fn resolved_settings(&self) -> Result<Vec<(String, String)>, TransportError> {
        self.settings
            .iter()
            .map(|(key, value)| {
                let value = if let Some(literal) = value.strip_prefix("@@") {
                    format!("@{literal}")
                } else if let Some(path) = value.strip_prefix('@') {
                    let path = PathBuf::from(path);
                    let mut text = std::fs::read_to_string(&path)
                        .map_err(|source| TransportError::Read { path, source })?;
                    if text.ends_with('\n') {
                        text.pop();
                        if text.ends_with('\r') {
                            text.pop();
                        }
                    }
                    text
                } else {
                    value.clone()
                };
                Ok((key.clone(), value))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_ones() {
        let c: PluginConfig = toml::from_str("").unwrap();
        assert!(c.enabled && c.file.is_none() && !c.allow_publish && !c.allow_plain_http);
        assert_eq!(
            (
                c.memory_mib,
                c.call_timeout_ms,
                c.batch_size,
                c.max_attempts
            ),
            (32, 5000, 500, 5)
        );
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = toml::from_str::<PluginConfig>("alow_hosts = []").unwrap_err();
        assert!(err.to_string().contains("alow_hosts"), "{err}");
    }

    #[test]
    fn allow_hosts_parse_with_and_without_port() {
        let c = PluginConfig {
            allow_hosts: vec![
                "API.push.apple.com".into(),
                "127.0.0.1:8443".into(),
                "[::1]:80".into(),
                "::1".into(),
            ],
            ..Default::default()
        };
        let hosts = c.validate("apns").unwrap();
        assert!(hosts[0].matches("api.push.apple.com", 2197));
        assert!(hosts[1].matches("127.0.0.1", 8443));
        assert!(!hosts[1].matches("127.0.0.1", 8444));
        assert!(hosts[2].matches("::1", 80));
        assert!(hosts[3].matches("::1", 1));
        for bad in ["", "a/b", "h:port", "*.apple.com", "[::1]x"] {
            let c = PluginConfig {
                allow_hosts: vec![bad.into()],
                ..Default::default()
            };
            let err = c.validate("apns").unwrap_err().to_string();
            assert!(err.contains("allow_hosts"), "{bad}: {err}");
        }
    }

    #[test]
    fn ranges_name_the_key() {
        let c = PluginConfig {
            memory_mib: 0,
            ..Default::default()
        };
        let err = c.validate("fcm").unwrap_err().to_string();
        assert!(err.contains("[plugins.fcm] memory_mib"), "{err}");
    }

    #[test]
    fn the_commented_example_parses() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/herald.toml");
        let text = std::fs::read_to_string(path).unwrap();
        let start = text
            .find("# [plugins.apns]")
            .expect("the example has [plugins.apns]");
        let uncommented: String = text[start..]
            .lines()
            .filter(|l| l.starts_with("# "))
            .map(|l| format!("{}\n", &l[2..]))
            .collect();
        #[derive(Deserialize)]
        struct Root {
            plugins: BTreeMap<String, PluginConfig>,
        }
        let root: Root = toml::from_str(&uncommented).unwrap();
        let apns = &root.plugins["apns"];
        assert_eq!(apns.allow_hosts.len(), 2);
        assert_eq!(apns.settings["private_key"], "@/etc/herald/apns-key.p8");
        apns.validate("apns").unwrap();
    }

    #[test]
    fn at_values_are_read_from_files() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("key.p8");
        std::fs::write(&key, "SECRET\n").unwrap();
        let c = PluginConfig {
            settings: BTreeMap::from([
                ("key".into(), format!("@{}", key.display())),
                ("handle".into(), "@@herald".into()),
                ("plain".into(), "x".into()),
            ]),
            ..Default::default()
        };
        let s = c.resolved_settings().unwrap();
        assert_eq!(
            s,
            vec![
                ("handle".into(), "@herald".into()),
                ("key".into(), "SECRET".into()),
                ("plain".into(), "x".into()),
            ]
        );
        let missing = PluginConfig {
            settings: BTreeMap::from([("key".into(), "@/nonexistent/key".into())]),
            ..Default::default()
        };
        let err = missing.resolved_settings().unwrap_err().to_string();
        assert!(err.contains("/nonexistent/key"), "{err}");
    }
}
