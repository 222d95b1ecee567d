//! Proactive vendor budgets: a connection never sends more than its vendor allows in any
//! rolling window, so its calls wait for a slot instead of collecting 429s.
//!
//! The window is a sliding log (the times of the last calls), which bounds every rolling window
//! exactly; a token bucket would let twice the budget through around a window's edge. A call
//! that has to wait reserves its slot in the log at the time it frees, so waiters are served in
//! order and none loses its slot to a later one after waiting: a caller knows at once when its
//! call can go, and whether that is still within its deadline.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;

/// At most `requests` calls in any window of `per`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateBudget {
    pub requests: u32,
    pub per: Duration,
}

/// Where budgets are kept: in the process, or shared by several processes (Redis).
#[async_trait]
pub trait RateLimiter: Send + Sync {
    /// Reserves the earliest free slot for `key` if it starts within `within` from now, and
    /// answers how long until it starts (zero when a slot is free now). When the earliest slot
    /// is later, nothing is taken and the error is how long until that slot.
    async fn reserve(
        &self,
        key: &str,
        budget: RateBudget,
        within: Duration,
    ) -> Result<Duration, Duration>;
}

/// Budgets of this process only.
#[derive(Debug, Default)]
pub struct LocalLimiter {
    windows: Mutex<HashMap<String, VecDeque<Instant>>>,
}

/// Most budgets kept before idle ones are dropped.
const MAX_KEYS: usize = 100_000;

#[async_trait]
impl RateLimiter for LocalLimiter {
    async fn reserve(
        &self,
        key: &str,
        budget: RateBudget,
        within: Duration,
    ) -> Result<Duration, Duration> {
        let limit = budget.requests as usize;
        if limit == 0 {
            return Err(budget.per);
        }
        let now = Instant::now();
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if windows.len() >= MAX_KEYS && !windows.contains_key(key) {
            windows.retain(|_, log| {
                log.back()
                    .is_some_and(|t| now.saturating_duration_since(*t) < budget.per)
            });
        }
        let log = windows.entry(key.to_owned()).or_default();
        while log
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= budget.per)
        {
            log.pop_front();
        }
        // Slots are reserved in order, so the log is sorted; the new slot is free once the
        // call `limit` places back has left the window.
        let at = match log.len().checked_sub(limit) {
            Some(i) => (log[i] + budget.per).max(now),
            None => now,
        };
        let wait = at - now;
        if wait > within {
            return Err(wait.max(Duration::from_millis(1)));
        }
        log.push_back(at);
        Ok(wait)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    const COPPER: RateBudget = RateBudget {
        requests: 180,
        per: Duration::from_secs(60),
    };

    /// Reserves a slot without a deadline, waits for it as the outbound client does, and
    /// answers when the call would go.
    async fn take(limiter: &LocalLimiter, key: &str, budget: RateBudget) -> Instant {
        let wait = limiter.reserve(key, budget, Duration::MAX).await.unwrap();
        tokio::time::sleep(wait).await;
        Instant::now()
    }

    #[tokio::test(start_paused = true)]
    async fn waiters_are_served_in_order_and_know_their_wait_at_once() {
        let limiter = LocalLimiter::default();
        let budget = RateBudget {
            requests: 2,
            per: Duration::from_secs(10),
        };
        let mut waits = Vec::new();
        for _ in 0..5 {
            waits.push(limiter.reserve("k", budget, Duration::MAX).await.unwrap());
        }
        let secs = |s| Duration::from_secs(s);
        assert_eq!(waits, [secs(0), secs(0), secs(10), secs(10), secs(20)]);
        tokio::time::advance(secs(4)).await;
        assert_eq!(
            limiter.reserve("k", budget, secs(15)).await,
            Err(secs(16)),
            "a slot past the caller's limit is not taken"
        );
        assert_eq!(limiter.reserve("k", budget, secs(16)).await, Ok(secs(16)));
        assert_eq!(
            limiter.reserve("k", budget, secs(25)).await,
            Err(secs(26)),
            "the reservation just made counts"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_budget_of_nothing_grants_nothing() {
        let limiter = LocalLimiter::default();
        let none = RateBudget {
            requests: 0,
            per: Duration::from_secs(10),
        };
        assert_eq!(
            limiter.reserve("k", none, Duration::MAX).await,
            Err(Duration::from_secs(10))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_never_exceeds_the_budget_in_any_rolling_window() {
        let limiter = Arc::new(LocalLimiter::default());
        let start = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..300 {
            let limiter = limiter.clone();
            tasks.push(tokio::spawn(async move {
                take(&limiter, "copper:c1", COPPER).await
            }));
        }
        let mut granted = Vec::new();
        for task in tasks {
            granted.push(task.await.unwrap());
        }
        granted.sort();
        for (i, t) in granted.iter().enumerate() {
            let in_window = granted[i..]
                .iter()
                .take_while(|u| u.duration_since(*t) < COPPER.per)
                .count();
            assert!(
                in_window <= 180,
                "{in_window} calls within a minute from call {i}"
            );
        }
        assert_eq!(
            granted
                .iter()
                .filter(|t| t.duration_since(start) < COPPER.per)
                .count(),
            180
        );
        assert!(
            granted[299].duration_since(start) >= COPPER.per,
            "the rest waited for the window"
        );

        let other = Instant::now();
        let got = take(&limiter, "copper:c2", COPPER).await;
        assert_eq!(got, other, "another connection is not slowed");
    }
}
