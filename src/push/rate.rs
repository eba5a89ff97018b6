//! Optional rate rules of pushes: a minimum interval and a daily quota (UTC days).

use super::PushError;
use crate::config::PushConfig;

const DAY: u64 = 86_400;

/// What the rules need to remember: the last accept and today's count.
#[derive(Debug, Default)]
pub(super) struct RateState {
    last: Option<u64>,
    day: u64,
    count: u64,
}

impl RateState {
    /// State that already counts pushes accepted at `times` (from the store, at start).
    pub(super) fn from_history(times: impl IntoIterator<Item = u64>, now: u64) -> RateState {
        let day = now / DAY;
        let mut state = RateState {
            last: None,
            day,
            count: 0,
        };
        for t in times {
            if t / DAY == day {
                state.count += 1;
            }
            state.last = state.last.max(Some(t));
        }
        state
    }

    /// Refuses a push at `now` that the rules do not allow.
    pub(super) fn check(&self, rules: &PushConfig, now: u64) -> Result<(), PushError> {
        if rules.min_interval_seconds > 0
            && let Some(last) = self.last
        {
            let next = last + rules.min_interval_seconds;
            if now < next {
                return Err(PushError::TooFrequent {
                    interval: rules.min_interval_seconds,
                    retry_after: next - now,
                });
            }
        }
        let today = if now / DAY == self.day { self.count } else { 0 };
        if rules.daily_quota > 0 && today >= rules.daily_quota {
            return Err(PushError::DailyQuota(rules.daily_quota));
        }
        Ok(())
    }

    /// Counts a push accepted at `now`.
    pub(super) fn record(&mut self, now: u64) {
        if now / DAY != self.day {
            self.day = now / DAY;
            self.count = 0;
        }
        self.count += 1;
        self.last = Some(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_and_quota() {
        let rules = PushConfig {
            min_interval_seconds: 2,
            daily_quota: 2,
        };
        let mut s = RateState::default();
        let t0 = 10 * DAY;
        s.check(&rules, t0).unwrap();
        s.record(t0);
        assert!(matches!(
            s.check(&rules, t0 + 1),
            Err(PushError::TooFrequent { retry_after: 1, .. })
        ));
        s.record(t0 + 2);
        assert!(matches!(
            s.check(&rules, t0 + 10),
            Err(PushError::DailyQuota(2))
        ));
        s.check(&rules, t0 + DAY).unwrap();
    }

    #[test]
    fn history_counts_only_today() {
        let rules = PushConfig {
            min_interval_seconds: 0,
            daily_quota: 1,
        };
        let now = 20 * DAY + 50;
        let s = RateState::from_history([now - DAY, now - 10], now);
        assert!(s.check(&rules, now).is_err());
        let s = RateState::from_history([now - DAY], now);
        s.check(&rules, now).unwrap();
    }

    #[test]
    fn rules_off_allow_everything() {
        let s = RateState::from_history([1, 2, 3], 3);
        s.check(&PushConfig::default(), 3).unwrap();
    }
}
