//! Backoff between attempts: exponential, with jitter, bounded.

use std::time::Duration;

/// The delays of one delivery's retries.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Backoff {
    base_ms: u64,
    max_ms: u64,
}

impl Backoff {
    pub(crate) fn new(base_ms: u64, max_ms: u64) -> Backoff {
        Backoff {
            base_ms,
            max_ms: max_ms.max(base_ms),
        }
    }

    /// The wait after failed attempt number `attempt` (1-based): `base * 2^(attempt-1)`,
    /// capped at `max`, drawn uniformly from its upper half ("equal jitter": retries of many
    /// deliveries spread out, yet each waits at least half the nominal delay). A plugin's
    /// retry-after raises it, within `max` too.
    pub(crate) fn delay(&self, attempt: u32, retry_after_s: u32) -> Duration {
        let exp = attempt.saturating_sub(1).min(32);
        let nominal = self.base_ms.saturating_mul(1u64 << exp).min(self.max_ms);
        let jittered = if nominal < 2 {
            nominal
        } else {
            rand::random_range(nominal / 2..=nominal)
        };
        let hinted = u64::from(retry_after_s).saturating_mul(1000);
        Duration::from_millis(jittered.max(hinted).min(self.max_ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_stay_jittered_and_bounded() {
        let b = Backoff::new(100, 1000);
        for _ in 0..200 {
            let d1 = b.delay(1, 0).as_millis();
            let d3 = b.delay(3, 0).as_millis();
            let d30 = b.delay(30, 0).as_millis();
            assert!((50..=100).contains(&d1), "{d1}");
            assert!((200..=400).contains(&d3), "{d3}");
            assert!((500..=1000).contains(&d30), "{d30}");
        }
        assert_eq!(
            b.delay(1, 5).as_millis(),
            1000,
            "retry-after is capped by max"
        );
        assert_eq!(Backoff::new(0, 0).delay(7, 0), Duration::ZERO);
    }
}
