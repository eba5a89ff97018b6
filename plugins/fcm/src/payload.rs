//! What `render` makes once per push: the FCM message without its `token` and `android.ttl`.
//! `send-batch` sets the TTL once per batch (the push's remaining lifetime) and splices each
//! target's token in.
//!
//! ```json
//! {"message":{"token":"<registration token>",
//!   "notification":{"title":"Sale","body":"50% off","image":"https://example.com/i.png"},
//!   "android":{"ttl":"86400s","notification":{"sound":"default","channel_id":"promo"}},
//!   "data":{"pushId":"1400000000_7_1764300000","ext":"{\"deeplink\":\"app://sale\"}"}}}
//! ```
//!
//! Absent fields are left out (`android.notification` too when it would be empty). FCM data
//! values must be strings: `ext` is the push's opaque string as is.

use herald_plugin_sdk::Message;
use serde::{Deserialize, Serialize};

/// The rendered push, serialized (as JSON) into the payload Herald hands to `send-batch`.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Rendered {
    /// Unix seconds after which the push must not be delivered.
    pub(crate) expires_at: u64,
    /// The message, without `token`; `android.ttl` is set per batch.
    pub(crate) message: Template,
}

/// An FCM `message` without its target.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Template {
    notification: FcmNotification,
    android: Android,
    data: Data,
}

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
struct FcmNotification {
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<String>,
    body: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    image: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
struct Android {
    ttl: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    notification: Option<AndroidNotification>,
}

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
struct AndroidNotification {
    #[serde(skip_serializing_if = "Option::is_none")]
    sound: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    channel_id: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
struct Data {
    #[serde(rename = "pushId")]
    push_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    ext: Option<String>,
}

impl Rendered {
    /// Reads a payload made by [`render`].
    pub(crate) fn decode(payload: &[u8]) -> Result<Rendered, String> {
        herald_plugin_sdk::payload::decode(payload, "fcm")
    }

    /// The message JSON for this batch, sent at `now_secs`, without its token: an object
    /// `{"notification":...,"android":{"ttl":"<remaining>s",...},"data":...}`.
    pub(crate) fn batch_json(&mut self, now_secs: u64) -> Result<String, String> {
        self.message.android.ttl = format!("{}s", self.expires_at.saturating_sub(now_secs));
        serde_json::to_string(&self.message)
            .map_err(|e| format!("cannot serialize the FCM message: {e}"))
    }
}

/// The request body for one registration token: `{"message":{"token":...,<rest>}}`, where
/// `rest` is what [`Rendered::batch_json`] made.
pub(crate) fn request_body(token: &str, rest: &str) -> Vec<u8> {
    // A string always serializes.
    let token = serde_json::to_string(token).unwrap_or_default();
    let inner = rest.strip_prefix('{').unwrap_or(rest);
    let mut body = String::with_capacity(token.len() + rest.len() + 24);
    body.push_str(r#"{"message":{"token":"#);
    body.push_str(&token);
    if inner != "}" {
        body.push(',');
    }
    body.push_str(inner);
    body.push('}');
    body.into_bytes()
}

/// Renders `message` once. A push without a notification has nothing to show on Android
/// and is refused.
pub(crate) fn render(message: &Message) -> Result<Rendered, String> {
    let Some(n) = &message.notification else {
        return Err("the push has no notification to show (no offlinePush): \
                    the fcm transport sends notifications only"
            .into());
    };
    let android_notification =
        (n.sound.is_some() || n.channel_id.is_some()).then(|| AndroidNotification {
            sound: n.sound.clone(),
            channel_id: n.channel_id.clone(),
        });
    Ok(Rendered {
        expires_at: message.expires_at,
        message: Template {
            notification: FcmNotification {
                title: n.title.clone(),
                body: n.body.clone(),
                image: n.image.clone(),
            },
            android: Android {
                ttl: format!("{}s", message.expires_at.saturating_sub(message.sent_at)),
                notification: android_notification,
            },
            data: Data {
                push_id: message.push_id.clone(),
                ext: n.ext.clone(),
            },
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use herald_plugin_sdk::testing::message;
    use serde_json::{Value, json};

    fn body_for(mut rendered: Rendered, now: u64, token: &str) -> Value {
        let rest = rendered.batch_json(now).unwrap();
        serde_json::from_slice(&request_body(token, &rest)).unwrap()
    }

    #[test]
    fn full_notification_has_fcms_shape() {
        let r = render(&message()).unwrap();
        assert_eq!(
            body_for(r, 1_764_300_000, "tok\"en"),
            json!({"message": {
                "token": "tok\"en",
                "notification": {"title": "Sale", "body": "50% off", "image": "https://example.com/i.png"},
                "android": {"ttl": "86400s", "notification": {"sound": "default", "channel_id": "promo"}},
                "data": {"pushId": "1400000000_7_1764300000", "ext": "{\"deeplink\":\"app://sale\"}"},
            }})
        );
    }

    #[test]
    fn absent_fields_are_left_out() {
        let mut m = message();
        let n = m.notification.as_mut().unwrap();
        n.title = None;
        n.image = None;
        n.sound = None;
        n.channel_id = None;
        n.ext = None;
        let mut r = render(&m).unwrap();
        let rest = r.batch_json(1_764_300_000).unwrap();
        assert_eq!(
            String::from_utf8(request_body("t", &rest)).unwrap(),
            r#"{"message":{"token":"t","notification":{"body":"50% off"},"android":{"ttl":"86400s"},"data":{"pushId":"1400000000_7_1764300000"}}}"#
        );
    }

    #[test]
    fn ttl_is_the_lifetime_left_when_the_batch_is_sent() {
        let r = render(&message()).unwrap();
        assert_eq!(
            body_for(r, 1_764_300_000 + 400, "t")["message"]["android"]["ttl"],
            "86000s"
        );
        let r = render(&message()).unwrap();
        assert_eq!(
            body_for(r, 1_764_386_401, "t")["message"]["android"]["ttl"],
            "0s"
        );
        let mut m = message();
        m.expires_at = m.sent_at;
        let r = render(&m).unwrap();
        assert_eq!(
            body_for(r, m.sent_at, "t")["message"]["android"]["ttl"],
            "0s"
        );
    }

    #[test]
    fn request_body_handles_an_empty_rest() {
        assert_eq!(request_body("t", "{}"), br#"{"message":{"token":"t"}}"#);
    }

    #[test]
    fn a_push_without_notification_is_refused() {
        let mut m = message();
        m.notification = None;
        assert!(render(&m).unwrap_err().contains("no notification"));
    }

    #[test]
    fn rendered_round_trips_through_the_payload_bytes() {
        let r = render(&message()).unwrap();
        let bytes = serde_json::to_vec(&r).unwrap();
        assert_eq!(Rendered::decode(&bytes).unwrap(), r);
        assert!(
            Rendered::decode(b"[]")
                .unwrap_err()
                .starts_with("the payload was not rendered by the fcm")
        );
    }
}
