//! What `render` makes once per push: the APNs JSON body and the headers that are the same
//! for every device. `send-batch` adds only the `authorization` header and the device path.
//!
//! ```json
//! {"aps":{"alert":{"title":"Sale","subtitle":"Today","body":"50% off"},
//!         "sound":"default","badge":3,"mutable-content":1},
//!  "ext":"{\"deeplink\":\"app://sale\"}"}
//! ```
//!
//! Absent fields are left out; `mutable-content` appears only when set. An alert body that
//! would make the JSON longer than Apple's 4096 bytes is shortened, ending in `…`.

use herald_plugin_sdk::Message;
use serde::{Deserialize, Serialize};

use crate::settings::Settings;

/// Apple's limit on a notification's JSON.
pub(crate) const MAX_PAYLOAD_BYTES: usize = 4096;

/// Apple's limit on `apns-collapse-id`; a longer push id sends no collapse id.
pub(crate) const MAX_COLLAPSE_ID_BYTES: usize = 64;

/// The rendered push, serialized (as JSON) into the payload Herald hands to `send-batch`.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Rendered {
    /// Headers every request of this push carries.
    pub(crate) headers: Vec<(String, String)>,
    /// The notification JSON.
    pub(crate) body: String,
}

impl Rendered {
    /// Reads a payload made by [`render`].
    pub(crate) fn decode(payload: &[u8]) -> Result<Rendered, String> {
        herald_plugin_sdk::payload::decode(payload, "apns")
    }
}

#[derive(Serialize)]
struct Body<'a> {
    aps: Aps<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ext: Option<&'a str>,
}

#[derive(Serialize)]
struct Aps<'a> {
    alert: Alert<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sound: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    badge: Option<u32>,
    #[serde(rename = "mutable-content", skip_serializing_if = "Option::is_none")]
    mutable_content: Option<u8>,
}

#[derive(Serialize)]
struct Alert<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    subtitle: Option<&'a str>,
    body: String,
}

/// Renders `message` for every device of the push. A push without a notification has
/// nothing to show on iOS and is refused, as is one whose fields alone exceed 4096 bytes.
pub(crate) fn render(settings: &Settings, message: &Message) -> Result<Rendered, String> {
    let Some(n) = &message.notification else {
        return Err("the push has no notification to show (no offlinePush): \
                    the apns transport sends alerts only"
            .into());
    };
    let mut body = Body {
        aps: Aps {
            alert: Alert {
                title: n.title.as_deref(),
                subtitle: n.subtitle.as_deref(),
                body: n.body.clone(),
            },
            sound: n.sound.as_deref(),
            badge: n.badge,
            mutable_content: n.mutable_content.then_some(1),
        },
        ext: n.ext.as_deref(),
    };
    let mut json = to_json(&body)?;
    if json.len() > MAX_PAYLOAD_BYTES {
        body.aps.alert.body = String::new();
        let without_body = to_json(&body)?.len();
        if without_body + ELLIPSIS.len() > MAX_PAYLOAD_BYTES {
            return Err(format!(
                "the APNs payload is {without_body} bytes even with an empty alert body; \
                 Apple's limit is {MAX_PAYLOAD_BYTES} (shorten the title, subtitle or ext)"
            ));
        }
        let budget = MAX_PAYLOAD_BYTES - without_body - ELLIPSIS.len();
        body.aps.alert.body = format!("{}{ELLIPSIS}", json_prefix(&n.body, budget));
        json = to_json(&body)?;
    }

    // "Now or never": a push whose lifetime is 0 is not stored by APNs.
    let expiration = if message.expires_at > message.sent_at {
        message.expires_at
    } else {
        0
    };
    let mut headers = vec![
        ("apns-push-type".to_owned(), "alert".to_owned()),
        ("apns-topic".to_owned(), settings.topic.clone()),
        ("apns-priority".to_owned(), settings.priority.to_string()),
        ("apns-expiration".to_owned(), expiration.to_string()),
    ];
    if message.push_id.len() <= MAX_COLLAPSE_ID_BYTES {
        headers.push(("apns-collapse-id".to_owned(), message.push_id.clone()));
    }
    headers.push(("content-type".to_owned(), "application/json".to_owned()));
    Ok(Rendered {
        headers,
        body: json,
    })
}

const ELLIPSIS: &str = "…";

fn to_json(body: &Body<'_>) -> Result<String, String> {
    serde_json::to_string(body).map_err(|e| format!("cannot serialize the APNs payload: {e}"))
}

/// The longest prefix of `text`, on a character boundary, whose JSON string escaping takes
/// at most `budget` bytes (as serde_json escapes: `"`, `\\` and control characters).
fn json_prefix(text: &str, budget: usize) -> &str {
    let mut used = 0;
    for (i, c) in text.char_indices() {
        used += match c {
            '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
            c if u32::from(c) < 0x20 => 6,
            c => c.len_utf8(),
        };
        if used > budget {
            return &text[..i];
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::tests::valid;
    use herald_plugin_sdk::testing::message;
    use serde_json::{Value, json};

    fn settings() -> Settings {
        Settings::parse(&valid()).unwrap()
    }

    fn body(r: &Rendered) -> Value {
        serde_json::from_str(&r.body).unwrap()
    }

    #[test]
    fn full_notification_has_apples_shape() {
        let r = render(&settings(), &message()).unwrap();
        assert_eq!(
            body(&r),
            json!({
                "aps": {
                    "alert": {"title": "Sale", "subtitle": "Today", "body": "50% off"},
                    "sound": "default",
                    "badge": 3,
                    "mutable-content": 1,
                },
                "ext": "{\"deeplink\":\"app://sale\"}",
            })
        );
        let headers: Vec<(&str, &str)> = r
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            headers,
            [
                ("apns-push-type", "alert"),
                ("apns-topic", "com.example.app"),
                ("apns-priority", "10"),
                ("apns-expiration", "1764386400"),
                ("apns-collapse-id", "1400000000_7_1764300000"),
                ("content-type", "application/json"),
            ]
        );
    }

    #[test]
    fn absent_fields_are_left_out() {
        let mut m = message();
        let n = m.notification.as_mut().unwrap();
        n.title = None;
        n.subtitle = None;
        n.sound = None;
        n.badge = None;
        n.mutable_content = false;
        n.ext = None;
        let r = render(&settings(), &m).unwrap();
        assert_eq!(r.body, r#"{"aps":{"alert":{"body":"50% off"}}}"#);
    }

    #[test]
    fn now_or_never_sets_expiration_zero() {
        let mut m = message();
        m.expires_at = m.sent_at;
        let r = render(&settings(), &m).unwrap();
        assert!(r.headers.contains(&("apns-expiration".into(), "0".into())));
    }

    #[test]
    fn a_long_push_id_sends_no_collapse_id() {
        let mut m = message();
        m.push_id = "x".repeat(65);
        let r = render(&settings(), &m).unwrap();
        assert!(r.headers.iter().all(|(k, _)| k != "apns-collapse-id"));
        m.push_id = "x".repeat(64);
        let r = render(&settings(), &m).unwrap();
        assert!(r.headers.iter().any(|(k, _)| k == "apns-collapse-id"));
    }

    #[test]
    fn a_push_without_notification_is_refused() {
        let mut m = message();
        m.notification = None;
        let err = render(&settings(), &m).unwrap_err();
        assert!(err.contains("no notification"), "{err}");
    }

    #[test]
    fn a_long_body_is_shortened_to_4096_bytes_on_a_char_boundary() {
        let mut m = message();
        // Multi-byte characters and quotes (escaped in JSON) both.
        m.notification.as_mut().unwrap().body = "é\"".repeat(3000);
        let r = render(&settings(), &m).unwrap();
        assert!(r.body.len() <= MAX_PAYLOAD_BYTES, "{}", r.body.len());
        assert!(r.body.len() > MAX_PAYLOAD_BYTES - 4, "{}", r.body.len());
        let text = body(&r)["aps"]["alert"]["body"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(text.ends_with('…'), "{text}");
        assert!(text.starts_with("é\"é\""));
    }

    #[test]
    fn json_prefix_counts_escapes() {
        assert_eq!(json_prefix("abc", 2), "ab");
        assert_eq!(json_prefix("a\"b", 2), "a");
        assert_eq!(json_prefix("a\"b", 3), "a\"");
        assert_eq!(json_prefix("\u{1}x", 6), "\u{1}");
        assert_eq!(json_prefix("éa", 1), "");
        assert_eq!(json_prefix("éa", 3), "éa");
    }

    #[test]
    fn an_oversized_ext_is_refused() {
        let mut m = message();
        m.notification.as_mut().unwrap().ext = Some("x".repeat(5000));
        let err = render(&settings(), &m).unwrap_err();
        assert!(err.contains("Apple's limit is 4096"), "{err}");
    }

    #[test]
    fn rendered_round_trips_through_the_payload_bytes() {
        let r = render(&settings(), &message()).unwrap();
        let bytes = serde_json::to_vec(&r).unwrap();
        assert_eq!(Rendered::decode(&bytes).unwrap(), r);
        let err = Rendered::decode(b"not json").unwrap_err();
        assert!(err.starts_with("the payload was not rendered by the apns transport"));
    }
}
