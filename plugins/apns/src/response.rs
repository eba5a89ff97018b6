//! Apple's answer to one request, as an outcome for Herald.
//!
//! | answer | outcome |
//! |---|---|
//! | 200 | delivered |
//! | 410, or 400 `BadDeviceToken` / `Unregistered` | invalid-token: Herald removes the device |
//! | 429, 500, 503 | retry-after: the `retry-after` header's seconds, else 5 |
//! | 403 `ExpiredProviderToken` | retry-after 0, and the provider token is renewed |
//! | no answer in time, connection failed | retry-after 5 |
//! | anything else, or the request was denied | failed, with Apple's `reason` |
//!
//! 400 `DeviceTokenNotForTopic` is deliberately *failed*, not invalid-token: every token of
//! the app answers it when `topic` is mistyped, and removing them all would be worse than
//! a failed push.

use herald_plugin_sdk::response::{Answer, answered, retry_after};
use herald_plugin_sdk::{HttpError, Outcome, Response};
use serde::Deserialize;

#[derive(Deserialize)]
struct ErrorBody {
    reason: String,
}

/// Classifies Herald's result for one request.
pub(crate) fn classify(result: &Result<Response, HttpError>) -> Answer {
    let response = match answered(result) {
        Ok(response) => response,
        Err(outcome) => return outcome.into(),
    };
    let reason = serde_json::from_slice::<ErrorBody>(&response.body)
        .map(|b| b.reason)
        .unwrap_or_default();
    match (response.status, reason.as_str()) {
        (200, _) => Outcome::Delivered.into(),
        (410, _) | (400, "BadDeviceToken" | "Unregistered") => Outcome::InvalidToken.into(),
        (429 | 500 | 503, _) => Outcome::RetryAfter(retry_after(&response.headers)).into(),
        (403, "ExpiredProviderToken") => Answer {
            outcome: Outcome::RetryAfter(0),
            renew_auth: true,
        },
        (status, "") => Outcome::Failed(format!("APNs answered {status}")).into(),
        (status, reason) => Outcome::Failed(format!("APNs answered {status} {reason}")).into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use herald_plugin_sdk::testing::response;

    fn answer(status: u16, body: &str, headers: &[(&str, &str)]) -> Answer {
        classify(&response(status, body, headers))
    }

    fn outcome(status: u16, reason: &str) -> Outcome {
        let body = if reason.is_empty() {
            String::new()
        } else {
            format!(r#"{{"reason":"{reason}"}}"#)
        };
        answer(status, &body, &[]).outcome
    }

    #[test]
    fn success_and_dead_tokens() {
        assert_eq!(outcome(200, ""), Outcome::Delivered);
        assert_eq!(
            answer(
                410,
                r#"{"reason":"Unregistered","timestamp":1764300000000}"#,
                &[]
            )
            .outcome,
            Outcome::InvalidToken
        );
        assert_eq!(outcome(410, ""), Outcome::InvalidToken);
        assert_eq!(outcome(400, "BadDeviceToken"), Outcome::InvalidToken);
        assert_eq!(outcome(400, "Unregistered"), Outcome::InvalidToken);
    }

    #[test]
    fn a_wrong_topic_fails_without_removing_the_device() {
        assert_eq!(
            outcome(400, "DeviceTokenNotForTopic"),
            Outcome::Failed("APNs answered 400 DeviceTokenNotForTopic".into())
        );
    }

    #[test]
    fn transient_failures_retry_honouring_retry_after() {
        for status in [429, 500, 503] {
            assert_eq!(outcome(status, ""), Outcome::RetryAfter(5), "{status}");
        }
        assert_eq!(
            answer(
                429,
                r#"{"reason":"TooManyRequests"}"#,
                &[("retry-after", "30")]
            )
            .outcome,
            Outcome::RetryAfter(30)
        );
        assert_eq!(
            answer(503, "", &[("Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT")]).outcome,
            Outcome::RetryAfter(5)
        );
        assert_eq!(
            answer(503, "", &[("retry-after", "99999999999")]).outcome,
            Outcome::RetryAfter(u32::MAX)
        );
        assert_eq!(
            classify(&Err(HttpError::Timeout)).outcome,
            Outcome::RetryAfter(5)
        );
        assert_eq!(
            classify(&Err(HttpError::Connection("reset".into()))).outcome,
            Outcome::RetryAfter(5)
        );
    }

    #[test]
    fn an_expired_provider_token_retries_at_once_and_renews() {
        assert_eq!(
            answer(403, r#"{"reason":"ExpiredProviderToken"}"#, &[]),
            Answer {
                outcome: Outcome::RetryAfter(0),
                renew_auth: true
            }
        );
    }

    #[test]
    fn other_answers_fail_with_apples_reason() {
        assert_eq!(
            outcome(403, "InvalidProviderToken"),
            Outcome::Failed("APNs answered 403 InvalidProviderToken".into())
        );
        assert_eq!(
            outcome(413, "PayloadTooLarge"),
            Outcome::Failed("APNs answered 413 PayloadTooLarge".into())
        );
        assert_eq!(
            answer(404, "<html>", &[]).outcome,
            Outcome::Failed("APNs answered 404".into())
        );
        assert_eq!(
            classify(&Err(HttpError::Denied(
                "api.push.apple.com is not allowed".into()
            )))
            .outcome,
            Outcome::Failed("Herald denied the request: api.push.apple.com is not allowed".into())
        );
    }
}
