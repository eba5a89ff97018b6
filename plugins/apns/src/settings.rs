//! The `[plugins.apns.settings]` table, validated once by `configure`.
//!
//! | key | required | meaning |
//! |---|---|---|
//! | `team_id` | yes | the 10-character Apple Developer Team ID (the JWT's `iss`) |
//! | `key_id` | yes | the 10-character ID of the APNs auth key (the JWT's `kid`) |
//! | `private_key` | yes | the text of the `.p8` key file (PKCS#8 PEM, P-256); Herald reads the file, a plugin has no filesystem |
//! | `topic` | yes | the app's bundle ID (`apns-topic`) |
//! | `base_url` | no, `https://api.push.apple.com` | `https://api.sandbox.push.apple.com` for development builds; tests point it at 127.0.0.1 |
//! | `priority` | no, `10` | `apns-priority`: 10 at once, 5 power-considerate, 1 lowest |

use herald_plugin_sdk::Setting;
use herald_plugin_sdk::settings::{by_key, http_url};
use p256::ecdsa::SigningKey;
use p256::pkcs8::DecodePrivateKey;

/// Apple's production endpoint.
pub(crate) const DEFAULT_BASE_URL: &str = "https://api.push.apple.com";

/// The keys this plugin knows; any other is refused so a typo is not silently ignored.
const KNOWN: [&str; 6] = [
    "team_id",
    "key_id",
    "private_key",
    "topic",
    "base_url",
    "priority",
];

/// Validated settings.
pub(crate) struct Settings {
    /// The Team ID, the provider token's issuer.
    pub(crate) team_id: String,
    /// The auth key's ID, the provider token's `kid`.
    pub(crate) key_id: String,
    /// The auth key, which signs provider tokens.
    pub(crate) key: SigningKey,
    /// `apns-topic`: the bundle ID.
    pub(crate) topic: String,
    /// Scheme and authority (and optional path prefix), without a trailing `/`.
    pub(crate) base_url: String,
    /// `apns-priority`.
    pub(crate) priority: u8,
}

impl Settings {
    /// Validates the settings; an error names the setting and what is expected.
    pub(crate) fn parse(settings: &[Setting]) -> Result<Settings, String> {
        let map = by_key(settings, &KNOWN)?;
        let required = |key: &str| -> Result<&str, String> {
            map.get(key)
                .map(|v| v.trim())
                .filter(|v| !v.is_empty())
                .ok_or_else(|| format!("setting `{key}` is required"))
        };
        let team_id = apple_id("team_id", required("team_id")?)?;
        let key_id = apple_id("key_id", required("key_id")?)?;
        let key = signing_key(required("private_key")?)?;
        let topic = required("topic")?;
        if topic.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!(
                "setting `topic`: {topic:?} is not a bundle ID (no spaces or control characters)"
            ));
        }
        let base_url = http_url(
            "base_url",
            map.get("base_url").copied().unwrap_or(DEFAULT_BASE_URL),
            DEFAULT_BASE_URL,
        )?;
        let priority = match map.get("priority").map(|v| v.trim()) {
            None => 10,
            Some("10") => 10,
            Some("5") => 5,
            Some("1") => 1,
            Some(other) => {
                return Err(format!(
                    "setting `priority`: {other:?} is not an APNs priority (10, 5 or 1)"
                ));
            }
        };
        Ok(Settings {
            team_id,
            key_id,
            key,
            topic: topic.to_owned(),
            base_url,
            priority,
        })
    }
}

/// A Team ID or Key ID: 10 ASCII letters or digits.
fn apple_id(key: &str, value: &str) -> Result<String, String> {
    if value.len() == 10 && value.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(value.to_owned())
    } else {
        Err(format!(
            "setting `{key}`: {value:?} is not an Apple ID (10 letters or digits)"
        ))
    }
}

/// The `.p8` text: PKCS#8 PEM (what Apple issues); SEC1 PEM is accepted too.
fn signing_key(pem: &str) -> Result<SigningKey, String> {
    SigningKey::from_pkcs8_pem(pem)
        .or_else(|pkcs8| {
            p256::SecretKey::from_sec1_pem(pem)
                .map(SigningKey::from)
                .map_err(|_| pkcs8)
        })
        .map_err(|e| {
            format!(
                "setting `private_key`: not the text of an APNs .p8 key \
                 (-----BEGIN PRIVATE KEY-----, a P-256 key): {e}"
            )
        })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use herald_plugin_sdk::testing::setting;

    /// A P-256 key made for these tests only, in the `.p8` format Apple issues.
    pub(crate) const TEST_KEY: &str = include_str!("../testdata/test-only-key.p8");

    pub(crate) fn valid() -> Vec<Setting> {
        vec![
            setting("team_id", "ABCDE12345"),
            setting("key_id", "KEY0000001"),
            setting("private_key", TEST_KEY),
            setting("topic", "com.example.app"),
        ]
    }

    fn error_with(mut settings: Vec<Setting>, key: &str, value: &str) -> String {
        settings.retain(|s| s.key != key);
        settings.push(setting(key, value));
        match Settings::parse(&settings) {
            Ok(_) => panic!("{key}={value:?} was accepted"),
            Err(e) => e,
        }
    }

    #[test]
    fn defaults_apply() {
        let s = Settings::parse(&valid()).unwrap();
        assert_eq!(s.team_id, "ABCDE12345");
        assert_eq!(s.key_id, "KEY0000001");
        assert_eq!(s.topic, "com.example.app");
        assert_eq!(s.base_url, "https://api.push.apple.com");
        assert_eq!(s.priority, 10);
    }

    #[test]
    fn optional_settings_are_read() {
        let mut settings = valid();
        settings.push(setting("base_url", "http://127.0.0.1:4443/"));
        settings.push(setting("priority", "5"));
        let s = Settings::parse(&settings).unwrap();
        assert_eq!(s.base_url, "http://127.0.0.1:4443");
        assert_eq!(s.priority, 5);
    }

    #[test]
    fn each_required_setting_is_named_when_missing() {
        for key in ["team_id", "key_id", "private_key", "topic"] {
            let mut settings = valid();
            settings.retain(|s| s.key != key);
            let err = Settings::parse(&settings).err().unwrap();
            assert_eq!(err, format!("setting `{key}` is required"));
        }
    }

    #[test]
    fn bad_values_are_refused_by_name() {
        let err = error_with(valid(), "team_id", "ABC");
        assert!(err.starts_with("setting `team_id`: \"ABC\""), "{err}");
        let err = error_with(valid(), "key_id", "KEY-000001");
        assert!(err.starts_with("setting `key_id`:"), "{err}");
        let err = error_with(
            valid(),
            "private_key",
            "-----BEGIN PRIVATE KEY-----\nAAAA\n",
        );
        assert!(
            err.starts_with("setting `private_key`: not the text of an APNs .p8 key"),
            "{err}"
        );
        let err = error_with(valid(), "topic", "com.example app");
        assert!(err.starts_with("setting `topic`:"), "{err}");
        let err = error_with(valid(), "priority", "7");
        assert!(err.starts_with("setting `priority`: \"7\""), "{err}");
        for url in ["ftp://x", "https://", "https://h/?q", "api.push.apple.com"] {
            let err = error_with(valid(), "base_url", url);
            assert!(err.starts_with("setting `base_url`:"), "{err}");
        }
    }

    #[test]
    fn unknown_and_repeated_keys_are_refused() {
        let mut settings = valid();
        settings.push(setting("topc", "x"));
        let err = Settings::parse(&settings).err().unwrap();
        assert!(
            err.starts_with("unknown setting `topc` (known: team_id, "),
            "{err}"
        );
        let mut settings = valid();
        settings.push(setting("topic", "com.example.other"));
        let err = Settings::parse(&settings).err().unwrap();
        assert_eq!(err, "setting `topic` is given twice");
    }

    #[test]
    fn a_sec1_key_is_accepted_too() {
        let secret = p256::SecretKey::from_pkcs8_pem(TEST_KEY).unwrap();
        let sec1 = secret.to_sec1_pem(Default::default()).unwrap();
        let mut settings = valid();
        settings.retain(|s| s.key != "private_key");
        settings.push(setting("private_key", &sec1));
        assert!(Settings::parse(&settings).is_ok());
    }
}
