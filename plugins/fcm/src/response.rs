//! FCM's answer to one `messages:send`, as an outcome for Herald.
//!
//! | answer | outcome |
//! |---|---|
//! | 200 | delivered |
//! | 404 with `errorCode` `UNREGISTERED` | invalid-token: Herald removes the device |
//! | 400 `INVALID_ARGUMENT` about the token (`message.token`, "registration token") | invalid-token |
//! | 401 | retry-after 0, and the access token is fetched again |
//! | 429, 500, 503 | retry-after: the `retry-after` header's seconds, else 5 |
//! | no answer in time, connection failed | retry-after 5 |
//! | anything else, or the request was denied | failed, with FCM's status and message |
//!
//! 500 `INTERNAL` is retried as Google's error table asks. 403 `SENDER_ID_MISMATCH` is
//! *failed*: every token answers it when the service account belongs to the wrong project,
//! and removing them all would be worse than a failed push.

use herald_plugin_sdk::response::{Answer, answered, retry_after};
use herald_plugin_sdk::{HttpError, Outcome, Response};
use serde::Deserialize;

/// Google's error body: `{"error":{"code","message","status","details":[...]}}`.
#[derive(Deserialize, Default)]
struct ErrorBody {
    #[serde(default)]
    error: GoogleError,
}

#[derive(Deserialize, Default)]
struct GoogleError {
    #[serde(default)]
    message: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    details: Vec<Detail>,
}

#[derive(Deserialize)]
struct Detail {
    #[serde(rename = "errorCode")]
    error_code: Option<String>,
    #[serde(rename = "fieldViolations", default)]
    field_violations: Vec<FieldViolation>,
}

#[derive(Deserialize)]
struct FieldViolation {
    #[serde(default)]
    field: String,
}

impl GoogleError {
    fn has_error_code(&self, code: &str) -> bool {
        self.details
            .iter()
            .any(|d| d.error_code.as_deref() == Some(code))
    }

    /// The error is about the registration token rather than the rest of the message.
    fn is_about_the_token(&self) -> bool {
        self.details
            .iter()
            .flat_map(|d| &d.field_violations)
            .any(|v| v.field == "message.token")
            || self
                .message
                .to_ascii_lowercase()
                .contains("registration token")
    }
}

/// Classifies Herald's result for one request.
pub(crate) fn classify(result: &Result<Response, HttpError>) -> Answer {
    let response = match answered(result) {
        Ok(response) => response,
        Err(outcome) => return outcome.into(),
    };
    if response.status == 200 {
        return Outcome::Delivered.into();
    }
    let error = serde_json::from_slice::<ErrorBody>(&response.body)
        .unwrap_or_default()
        .error;
    match response.status {
        404 if error.has_error_code("UNREGISTERED") => Outcome::InvalidToken.into(),
        400 if (error.status == "INVALID_ARGUMENT" || error.has_error_code("INVALID_ARGUMENT"))
            && error.is_about_the_token() =>
        {
            Outcome::InvalidToken.into()
        }
        401 => Answer {
            outcome: Outcome::RetryAfter(0),
            renew_auth: true,
        },
        429 | 500 | 503 => Outcome::RetryAfter(retry_after(&response.headers)).into(),
        status => {
            let mut why = format!("FCM answered {status}");
            for part in [&error.status, &error.message] {
                if !part.is_empty() {
                    why.push(' ');
                    why.push_str(part);
                }
            }
            Outcome::Failed(why).into()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use herald_plugin_sdk::testing::response;

    fn answer(status: u16, body: &str, headers: &[(&str, &str)]) -> Answer {
        classify(&response(status, body, headers))
    }

    const UNREGISTERED: &str = r#"{"error":{"code":404,"message":"Requested entity was not found.","status":"NOT_FOUND","details":[{"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":"UNREGISTERED"}]}}"#;
    const BAD_TOKEN: &str = r#"{"error":{"code":400,"message":"The registration token is not a valid FCM registration token","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":"INVALID_ARGUMENT"}]}}"#;
    const BAD_TOKEN_FIELD: &str = r#"{"error":{"code":400,"message":"Invalid value at 'message.token'","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.BadRequest","fieldViolations":[{"field":"message.token","description":"Invalid value"}]}]}}"#;
    const BAD_TTL: &str = r#"{"error":{"code":400,"message":"Invalid value at 'message.android.ttl'","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.BadRequest","fieldViolations":[{"field":"message.android.ttl"}]}]}}"#;

    #[test]
    fn success_and_dead_tokens() {
        assert_eq!(
            answer(200, r#"{"name":"projects/p/messages/1"}"#, &[]).outcome,
            Outcome::Delivered
        );
        assert_eq!(
            answer(404, UNREGISTERED, &[]).outcome,
            Outcome::InvalidToken
        );
        assert_eq!(answer(400, BAD_TOKEN, &[]).outcome, Outcome::InvalidToken);
        assert_eq!(
            answer(400, BAD_TOKEN_FIELD, &[]).outcome,
            Outcome::InvalidToken
        );
    }

    #[test]
    fn other_invalid_arguments_and_not_founds_fail() {
        assert_eq!(
            answer(400, BAD_TTL, &[]).outcome,
            Outcome::Failed(
                "FCM answered 400 INVALID_ARGUMENT Invalid value at 'message.android.ttl'".into()
            )
        );
        assert_eq!(
            answer(
                404,
                r#"{"error":{"status":"NOT_FOUND","message":"Project not found"}}"#,
                &[]
            )
            .outcome,
            Outcome::Failed("FCM answered 404 NOT_FOUND Project not found".into())
        );
        assert_eq!(
            answer(403, r#"{"error":{"status":"PERMISSION_DENIED","message":"SenderId mismatch","details":[{"errorCode":"SENDER_ID_MISMATCH"}]}}"#, &[]).outcome,
            Outcome::Failed("FCM answered 403 PERMISSION_DENIED SenderId mismatch".into())
        );
        assert_eq!(
            answer(418, "<html>", &[]).outcome,
            Outcome::Failed("FCM answered 418".into())
        );
        assert_eq!(
            classify(&Err(HttpError::Denied(
                "fcm.googleapis.com is not allowed".into()
            )))
            .outcome,
            Outcome::Failed("Herald denied the request: fcm.googleapis.com is not allowed".into())
        );
    }

    #[test]
    fn a_refused_access_token_retries_at_once_and_is_fetched_again() {
        assert_eq!(
            answer(
                401,
                r#"{"error":{"code":401,"status":"UNAUTHENTICATED"}}"#,
                &[]
            ),
            Answer {
                outcome: Outcome::RetryAfter(0),
                renew_auth: true
            }
        );
    }

    #[test]
    fn transient_failures_retry_honouring_retry_after() {
        assert_eq!(
            answer(
                429,
                r#"{"error":{"status":"RESOURCE_EXHAUSTED"}}"#,
                &[("retry-after", "17")]
            )
            .outcome,
            Outcome::RetryAfter(17)
        );
        assert_eq!(answer(503, "", &[]).outcome, Outcome::RetryAfter(5));
        assert_eq!(
            answer(500, "", &[("Retry-After", " 2 ")]).outcome,
            Outcome::RetryAfter(2)
        );
        assert_eq!(
            classify(&Err(HttpError::Timeout)).outcome,
            Outcome::RetryAfter(5)
        );
        assert_eq!(
            classify(&Err(HttpError::Connection("refused".into()))).outcome,
            Outcome::RetryAfter(5)
        );
    }
}
