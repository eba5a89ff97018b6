//! The inbox envelope: the JSON document a live in-app session receives for one push.
//!
//! ```json
//! {"type":"push","id":"1400000000_7_1764300000","seq":"7","sender":"administrator",
//!  "body":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"hi"}}],
//!  "sentAt":"2025-11-28T03:20:00Z","expiresAt":"2025-11-29T03:20:00Z"}
//! ```
//!
//! The fields match the GraphQL `InboxMessage` a subscription receives: `seq` is a decimal
//! string (a u64 does not fit a JavaScript number) and the times are RFC 3339 UTC. `body` is
//! the push's MsgBody array, copied verbatim.

use serde::Serialize;
use serde_json::value::RawValue;

use herald_plugin_sdk::Message;

/// The envelope as serialized; field order is the order on the wire.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Envelope<'a> {
    r#type: &'static str,
    id: &'a str,
    seq: String,
    sender: &'a str,
    body: &'a RawValue,
    sent_at: String,
    expires_at: String,
}

/// Renders the envelope of `message` once; every live session of every target gets these
/// bytes. Fails when `body-json` is not JSON.
pub(crate) fn render(message: &Message) -> Result<Vec<u8>, String> {
    let body: &RawValue = serde_json::from_str(&message.body_json)
        .map_err(|e| format!("body-json is not valid JSON: {e}"))?;
    let envelope = Envelope {
        r#type: "push",
        id: &message.push_id,
        seq: message.seq.to_string(),
        sender: &message.sender,
        body,
        sent_at: rfc3339(message.sent_at),
        expires_at: rfc3339(message.expires_at),
    };
    serde_json::to_vec(&envelope).map_err(|e| format!("cannot serialize the envelope: {e}"))
}

/// Unix seconds as RFC 3339 UTC with second precision, e.g. `2025-11-28T03:20:00Z`: the form
/// Herald's API uses. (The civil-from-days conversion of Howard Hinnant's date algorithms.)
pub(crate) fn rfc3339(secs: u64) -> String {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (hour, minute, second) = (rem / 3600, rem % 3600 / 60, rem % 60);
    // Days since 0000-03-01, so that leap days end each 4-year cycle.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn message() -> Message {
        Message {
            push_id: "1400000000_7_1764300000".into(),
            seq: 7,
            sender: "administrator".into(),
            body_json: r#"[{"MsgType":"TIMTextElem","MsgContent":{"Text":"hi"}}]"#.into(),
            sent_at: 1_764_300_000,
            expires_at: 1_764_386_400,
            notification: None,
        }
    }

    #[test]
    fn envelope_has_the_inbox_shape() {
        let bytes = render(&message()).unwrap();
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(
            v,
            json!({
                "type": "push",
                "id": "1400000000_7_1764300000",
                "seq": "7",
                "sender": "administrator",
                "body": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "hi"}}],
                "sentAt": "2025-11-28T03:20:00Z",
                "expiresAt": "2025-11-29T03:20:00Z",
            })
        );
        // Field order on the wire is fixed, whatever serde_json's map features are.
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.starts_with(r#"{"type":"push","id":"#), "{text}");
    }

    #[test]
    fn body_is_copied_verbatim() {
        let mut m = message();
        m.body_json = r#"[ {"MsgType" : "TIMCustomElem", "MsgContent":{"Data":"1.50"}} ]"#.into();
        let text = String::from_utf8(render(&m).unwrap()).unwrap();
        assert!(text.contains(&m.body_json), "{text}");
    }

    #[test]
    fn a_body_that_is_not_json_is_refused() {
        let mut m = message();
        m.body_json = "[{".into();
        let err = render(&m).unwrap_err();
        assert!(err.starts_with("body-json is not valid JSON"), "{err}");
    }

    #[test]
    fn rfc3339_matches_known_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_764_300_000), "2025-11-28T03:20:00Z");
        assert_eq!(rfc3339(4_107_542_399), "2100-02-28T23:59:59Z");
        assert_eq!(rfc3339(253_402_300_799), "9999-12-31T23:59:59Z");
    }
}
