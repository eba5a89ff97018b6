//! What every HTTP transport makes of Herald's result for one request, before reading the
//! service's own answer.

use crate::{HttpError, Outcome, Response};

/// Seconds to wait when a transient failure says nothing more precise.
pub const DEFAULT_RETRY_SECS: u32 = 5;

/// An outcome, and whether the service refused the transport's own auth token (APNs's
/// provider token, FCM's access token), which must then be renewed before the next batch.
#[derive(Debug, PartialEq, Eq)]
pub struct Answer {
    /// What Herald records for the target.
    pub outcome: Outcome,
    /// The auth token was refused or expired.
    pub renew_auth: bool,
}

impl From<Outcome> for Answer {
    fn from(outcome: Outcome) -> Answer {
        Answer {
            outcome,
            renew_auth: false,
        }
    }
}

/// The response, or the outcome when there is none: retry-after [`DEFAULT_RETRY_SECS`] on a
/// timeout or a failed connection, failed when Herald denied the request.
pub fn answered(result: &Result<Response, HttpError>) -> Result<&Response, Outcome> {
    match result {
        Ok(response) => Ok(response),
        Err(HttpError::Timeout | HttpError::Connection(_)) => {
            Err(Outcome::RetryAfter(DEFAULT_RETRY_SECS))
        }
        Err(HttpError::Denied(why)) => {
            Err(Outcome::Failed(format!("Herald denied the request: {why}")))
        }
    }
}

/// The `retry-after` header as whole seconds (the HTTP-date form falls back to
/// [`DEFAULT_RETRY_SECS`]).
pub fn retry_after(headers: &[(String, String)]) -> u32 {
    headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("retry-after"))
        .and_then(|(_, value)| value.trim().parse::<u64>().ok())
        .map_or(DEFAULT_RETRY_SECS, |secs| {
            u32::try_from(secs).unwrap_or(u32::MAX)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn retry_after_reads_whole_seconds_only() {
        assert_eq!(retry_after(&headers(&[("Retry-After", " 30 ")])), 30);
        assert_eq!(
            retry_after(&headers(&[(
                "retry-after",
                "Wed, 21 Oct 2015 07:28:00 GMT"
            )])),
            DEFAULT_RETRY_SECS
        );
        assert_eq!(
            retry_after(&headers(&[("retry-after", "99999999999")])),
            u32::MAX
        );
        assert_eq!(retry_after(&[]), DEFAULT_RETRY_SECS);
    }

    #[test]
    fn no_response_is_an_outcome() {
        assert_eq!(
            answered(&Err(HttpError::Timeout)),
            Err(Outcome::RetryAfter(5))
        );
        assert_eq!(
            answered(&Err(HttpError::Connection("reset".into()))),
            Err(Outcome::RetryAfter(5))
        );
        assert_eq!(
            answered(&Err(HttpError::Denied("not allowed".into()))),
            Err(Outcome::Failed(
                "Herald denied the request: not allowed".into()
            ))
        );
        let ok = Ok(Response {
            status: 200,
            headers: vec![],
            body: vec![],
        });
        assert_eq!(answered(&ok), Ok(ok.as_ref().unwrap()));
    }
}
