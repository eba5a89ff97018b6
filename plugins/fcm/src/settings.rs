//! The `[plugins.fcm.settings]` table, validated once by `configure`.
//!
//! | key | required | meaning |
//! |---|---|---|
//! | `service_account` | yes | the text of the Firebase service-account JSON key file (Herald reads the file, a plugin has no filesystem); its `project_id`, `client_email`, `private_key` and `token_uri` are used |
//! | `base_url` | no, `https://fcm.googleapis.com` | the FCM API; tests point it (and the key's `token_uri`) at 127.0.0.1 |

use herald_plugin_sdk::Setting;
use herald_plugin_sdk::settings::{by_key, http_url};
use rsa::RsaPrivateKey;
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::DecodePrivateKey;
use serde::Deserialize;
use sha2::Sha256;

/// The FCM API.
pub(crate) const DEFAULT_BASE_URL: &str = "https://fcm.googleapis.com";

/// Google's token endpoint, for a key file without `token_uri`.
pub(crate) const DEFAULT_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";

/// The keys this plugin knows; any other is refused so a typo is not silently ignored.
const KNOWN: [&str; 2] = ["service_account", "base_url"];

/// Validated settings.
pub(crate) struct Settings {
    /// The Firebase project the messages are sent through.
    pub(crate) project_id: String,
    /// The service account, the assertion's issuer.
    pub(crate) client_email: String,
    /// The key's ID, the assertion's `kid` when the key file has one.
    pub(crate) private_key_id: Option<String>,
    /// The service account's key, which signs assertions (RS256).
    pub(crate) key: SigningKey<Sha256>,
    /// Where assertions are exchanged for access tokens (also the assertion's `aud`).
    pub(crate) token_uri: String,
    /// Scheme and authority (and optional path prefix), without a trailing `/`.
    pub(crate) base_url: String,
}

/// The fields of a service-account key file that matter here; others are ignored.
#[derive(Deserialize)]
struct ServiceAccount {
    #[serde(rename = "type")]
    kind: Option<String>,
    project_id: String,
    private_key_id: Option<String>,
    private_key: String,
    client_email: String,
    token_uri: Option<String>,
}

impl Settings {
    /// Validates the settings; an error names the setting (and the key file's field) and what
    /// is expected.
    pub(crate) fn parse(settings: &[Setting]) -> Result<Settings, String> {
        let map = by_key(settings, &KNOWN)?;
        let text = map
            .get("service_account")
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
            .ok_or("setting `service_account` is required")?;
        let account: ServiceAccount = serde_json::from_str(text).map_err(|e| {
            format!("setting `service_account`: not a service-account JSON key file: {e}")
        })?;
        if let Some(kind) = account.kind.as_deref().filter(|k| *k != "service_account") {
            return Err(format!(
                "setting `service_account`: the key file's type is {kind:?}, not \"service_account\""
            ));
        }
        let project_id = account.project_id.trim();
        if project_id.is_empty()
            || !project_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._:".contains(&b))
        {
            return Err(format!(
                "setting `service_account`: project_id {project_id:?} is not a Firebase project ID"
            ));
        }
        if !account.client_email.contains('@') {
            return Err(format!(
                "setting `service_account`: client_email {:?} is not an email address",
                account.client_email
            ));
        }
        let key = RsaPrivateKey::from_pkcs8_pem(&account.private_key)
            .or_else(|pkcs8| RsaPrivateKey::from_pkcs1_pem(&account.private_key).map_err(|_| pkcs8))
            .map_err(|e| {
                format!(
                    "setting `service_account`: private_key is not an RSA private key in PEM: {e}"
                )
            })?;
        let token_uri = http_url(
            "service_account` field `token_uri",
            account.token_uri.as_deref().unwrap_or(DEFAULT_TOKEN_URI),
            DEFAULT_TOKEN_URI,
        )?;
        let base_url = http_url(
            "base_url",
            map.get("base_url").copied().unwrap_or(DEFAULT_BASE_URL),
            DEFAULT_BASE_URL,
        )?;
        Ok(Settings {
            project_id: project_id.to_owned(),
            client_email: account.client_email,
            private_key_id: account.private_key_id.filter(|k| !k.is_empty()),
            key: SigningKey::new(key),
            token_uri,
            base_url,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use herald_plugin_sdk::testing::setting;
    use serde_json::json;

    /// An RSA key made for these tests only.
    pub(crate) const TEST_KEY: &str = include_str!("../testdata/test-only-key.pem");

    /// A key file as the Firebase console gives it, with the token endpoint on 127.0.0.1.
    pub(crate) fn service_account() -> serde_json::Value {
        json!({
            "type": "service_account",
            "project_id": "herald-test",
            "private_key_id": "0123abcd",
            "private_key": TEST_KEY,
            "client_email": "herald@herald-test.iam.gserviceaccount.com",
            "client_id": "1234567890",
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": "http://127.0.0.1:9/token",
            "universe_domain": "googleapis.com",
        })
    }

    pub(crate) fn valid() -> Vec<Setting> {
        vec![
            setting("service_account", &service_account().to_string()),
            setting("base_url", "http://127.0.0.1:9/"),
        ]
    }

    fn error_with_account(edit: impl FnOnce(&mut serde_json::Value)) -> String {
        let mut account = service_account();
        edit(&mut account);
        match Settings::parse(&[setting("service_account", &account.to_string())]) {
            Ok(_) => panic!("accepted"),
            Err(e) => e,
        }
    }

    #[test]
    fn the_key_file_is_read() {
        let s = Settings::parse(&valid()).unwrap();
        assert_eq!(s.project_id, "herald-test");
        assert_eq!(s.client_email, "herald@herald-test.iam.gserviceaccount.com");
        assert_eq!(s.private_key_id.as_deref(), Some("0123abcd"));
        assert_eq!(s.token_uri, "http://127.0.0.1:9/token");
        assert_eq!(s.base_url, "http://127.0.0.1:9");
    }

    #[test]
    fn defaults_apply() {
        let mut account = service_account();
        account.as_object_mut().unwrap().remove("token_uri");
        let s = Settings::parse(&[setting("service_account", &account.to_string())]).unwrap();
        assert_eq!(s.base_url, DEFAULT_BASE_URL);
        assert_eq!(s.token_uri, DEFAULT_TOKEN_URI);
    }

    #[test]
    fn a_pkcs1_key_is_accepted_too() {
        use rsa::pkcs1::EncodeRsaPrivateKey;
        let key = RsaPrivateKey::from_pkcs8_pem(TEST_KEY).unwrap();
        let pkcs1 = key.to_pkcs1_pem(Default::default()).unwrap();
        let mut account = service_account();
        account["private_key"] = json!(pkcs1.as_str());
        assert!(Settings::parse(&[setting("service_account", &account.to_string())]).is_ok());
    }

    #[test]
    fn errors_name_the_setting_and_the_field() {
        assert_eq!(
            Settings::parse(&[]).err().unwrap(),
            "setting `service_account` is required"
        );
        let err = Settings::parse(&[setting("service_account", "{")])
            .err()
            .unwrap();
        assert!(
            err.starts_with("setting `service_account`: not a service-account JSON"),
            "{err}"
        );
        let err = error_with_account(|a| {
            a.as_object_mut().unwrap().remove("client_email");
        });
        assert!(err.contains("missing field `client_email`"), "{err}");
        let err = error_with_account(|a| a["type"] = json!("authorized_user"));
        assert!(err.contains("type is \"authorized_user\""), "{err}");
        let err = error_with_account(|a| a["project_id"] = json!("a/b"));
        assert!(err.contains("project_id \"a/b\""), "{err}");
        let err = error_with_account(|a| a["client_email"] = json!("nobody"));
        assert!(err.contains("client_email \"nobody\""), "{err}");
        let err = error_with_account(|a| a["private_key"] = json!("-----BEGIN PRIVATE KEY-----\n"));
        assert!(
            err.contains("private_key is not an RSA private key"),
            "{err}"
        );
        let err = error_with_account(|a| a["token_uri"] = json!("oauth2.googleapis.com/token"));
        assert!(
            err.starts_with("setting `service_account` field `token_uri`:"),
            "{err}"
        );
        let mut settings = valid();
        settings.push(setting("base_url", "x"));
        assert_eq!(
            Settings::parse(&settings).err().unwrap(),
            "setting `base_url` is given twice"
        );
        let err = Settings::parse(&[valid().remove(0), setting("base_url", "ftp://x")])
            .err()
            .unwrap();
        assert!(err.starts_with("setting `base_url`: \"ftp://x\""), "{err}");
        let err = Settings::parse(&[valid().remove(0), setting("project", "x")])
            .err()
            .unwrap();
        assert_eq!(
            err,
            "unknown setting `project` (known: service_account, base_url)"
        );
    }
}
