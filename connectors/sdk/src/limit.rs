//! Proactive vendor budgets: a connection never sends more than its vendor allows in any
//! rolling window, so its calls wait for a slot instead of collecting 429s.
//!
//! The window is a sliding log (the times of the last calls), which bounds every rolling window
//! exactly; a token bucket would let twice the budget through around a window's edge.

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
    /// Takes a slot for `key` if one is free now; otherwise answers how long until one frees.
    async fn try_acquire(&self, key: &str, budget: RateBudget) -> Result<(), Duration>;
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
    async fn try_acquire(&self, key: &str, budget: RateBudget) -> Result<(), Duration> {
        let now = Instant::now();
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if windows.len() >= MAX_KEYS && !windows.contains_key(key) {
            windows.retain(|_, log| {
                log.back()
                    .is_some_and(|t| now.duration_since(*t) < budget.per)
            });
        }
        let log = windows.entry(key.to_owned()).or_default();
        while log
            .front()
            .is_some_and(|t| now.duration_since(*t) >= budget.per)
        {
            log.pop_front();
        }
        if log.len() < budget.requests as usize {
            log.push_back(now);
            return Ok(());
        }
        let oldest = *log.front().expect("a full log has a first entry");
        Err((oldest + budget.per)
            .saturating_duration_since(now)
            .max(Duration::from_millis(1)))
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

    /// Waits for a slot as the outbound client does, and answers when it was granted.
    async fn take(limiter: &LocalLimiter, key: &str, budget: RateBudget) -> Instant {
        loop {
            match limiter.try_acquire(key, budget).await {
                Ok(()) => return Instant::now(),
                Err(wait) => tokio::time::sleep(wait).await,
            }
        }
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
