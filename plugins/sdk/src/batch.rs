//! One `send-batch` of an HTTP transport: one request per target with a usable token, all
//! in one `http-send`, and one outcome per target, in order.

use crate::response::Answer;
use crate::{HttpError, Outcome, Response, Target};

/// The outcomes of a batch being sent, and which targets still wait for an answer.
pub struct Batch {
    /// One outcome per target, in order; those of [`pending`](Batch::pending) targets are
    /// placeholders until [`record`](Batch::record).
    pub outcomes: Vec<Outcome>,
    /// The indices of the targets a request is made for, in order.
    pub pending: Vec<usize>,
}

impl Batch {
    /// Starts a batch: a target whose token `usable` refuses is invalid-token at once,
    /// without a request; the others are pending.
    pub fn new(targets: &[Target], usable: impl Fn(&str) -> bool) -> Batch {
        let mut outcomes = Vec::with_capacity(targets.len());
        let mut pending = Vec::with_capacity(targets.len());
        for (i, target) in targets.iter().enumerate() {
            if usable(&target.token) {
                pending.push(i);
                // Replaced by the answer.
                outcomes.push(Outcome::Delivered);
            } else {
                outcomes.push(Outcome::InvalidToken);
            }
        }
        Batch { outcomes, pending }
    }

    /// Gives every pending target `outcome` (e.g. when no request could be made).
    pub fn fail_pending(&mut self, outcome: &Outcome) {
        for &i in &self.pending {
            self.outcomes[i] = outcome.clone();
        }
    }

    /// Records Herald's results, one per pending target in order, as `classify` reads them
    /// (a missing result fails its target); whether any answer asks to renew the
    /// transport's own auth token.
    pub fn record(
        &mut self,
        results: &[Result<Response, HttpError>],
        classify: impl Fn(&Result<Response, HttpError>) -> Answer,
    ) -> bool {
        let mut renew_auth = false;
        for (k, &i) in self.pending.iter().enumerate() {
            self.outcomes[i] = match results.get(k) {
                Some(result) => {
                    let answer = classify(result);
                    renew_auth |= answer.renew_auth;
                    answer.outcome
                }
                None => Outcome::Failed(format!(
                    "Herald answered {} results for {} requests",
                    results.len(),
                    self.pending.len()
                )),
            };
        }
        renew_auth
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(token: &str) -> Target {
        Target {
            account: "alice".into(),
            token: token.into(),
        }
    }

    #[test]
    fn unusable_tokens_are_invalid_and_results_fill_the_rest_in_order() {
        let targets = [target("a"), target(""), target("b"), target("c")];
        let mut batch = Batch::new(&targets, |t| !t.is_empty());
        assert_eq!(batch.pending, [0, 2, 3]);
        let results = [Err(HttpError::Timeout), Err(HttpError::Timeout)];
        let renew = batch.record(&results, |_| Answer {
            outcome: Outcome::RetryAfter(0),
            renew_auth: true,
        });
        assert!(renew);
        assert_eq!(
            batch.outcomes,
            [
                Outcome::RetryAfter(0),
                Outcome::InvalidToken,
                Outcome::RetryAfter(0),
                Outcome::Failed("Herald answered 2 results for 3 requests".into()),
            ]
        );
        batch.fail_pending(&Outcome::Failed("x".into()));
        assert_eq!(batch.outcomes[1], Outcome::InvalidToken);
        assert_eq!(batch.outcomes[3], Outcome::Failed("x".into()));
    }
}
