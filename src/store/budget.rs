//! Rate budgets shared by every crmgate process through Redis, so that several processes
//! serving one connection stay inside the vendor's limit together.
//!
//! One sorted set per connection holds the times of its recent and reserved calls, trimmed,
//! counted and reserved in a Lua script so that finding and taking a slot is one atomic step;
//! times come from Redis's clock, so the processes' clocks need not agree. When Redis cannot be
//! reached the process falls back to its own budget (logged) rather than failing requests.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use crmgate_connector_sdk::{LocalLimiter, RateBudget, RateLimiter};
use redis::Script;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

/// Answers `{1, wait_ms}` with a slot reserved `wait_ms` from now, or `{0, wait_ms}` with
/// nothing taken when the earliest slot is further away than ARGV[4] milliseconds. Slots are
/// reserved in order, so the set's scores are sorted as the calls are; the next slot is free
/// once the call `limit` places back has left the window.
const SLIDING_WINDOW: &str = r"
local key = KEYS[1]
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local within = tonumber(ARGV[4])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local count = redis.call('ZCARD', key)
local at = now
if count >= limit then
  local back = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
  at = math.max(now, tonumber(back[2]) + window)
end
if at - now > within then
  return {0, math.max(1, at - now)}
end
redis.call('ZADD', key, at, t[1] .. t[2] .. ':' .. ARGV[3])
redis.call('PEXPIRE', key, at - now + window)
return {1, at - now}
";

/// Budgets in Redis, with this process's own budgets as the fallback.
pub struct RedisLimiter {
    redis: ConnectionManager,
    script: Script,
    fallback: LocalLimiter,
    degraded: AtomicBool,
}

impl RedisLimiter {
    /// Connects to Redis; the connection manager reconnects by itself after failures.
    pub async fn connect(url: &str) -> anyhow::Result<Arc<Self>> {
        let client = redis::Client::open(url)?;
        // A budget check sits in front of every vendor call: a Redis in trouble must cost
        // milliseconds, not the default minutes of reconnecting, before the fallback takes over.
        let config = ConnectionManagerConfig::new()
            .set_number_of_retries(1)
            .set_factor(10)
            .set_max_delay(100)
            .set_connection_timeout(Duration::from_millis(250))
            .set_response_timeout(Duration::from_millis(250));
        let redis = ConnectionManager::new_with_config(client, config).await?;
        Ok(Arc::new(Self {
            redis,
            script: Script::new(SLIDING_WINDOW),
            fallback: LocalLimiter::default(),
            degraded: AtomicBool::new(false),
        }))
    }
}

#[async_trait]
impl RateLimiter for RedisLimiter {
    async fn reserve(
        &self,
        key: &str,
        budget: RateBudget,
        within: Duration,
    ) -> Result<Duration, Duration> {
        if budget.requests == 0 {
            return Err(budget.per);
        }
        let mut nonce = [0u8; 8];
        getrandom::fill(&mut nonce).expect("the operating system provides randomness");
        let mut redis = self.redis.clone();
        // Lua numbers are doubles: a limit beyond any budget's window stands for "no limit".
        let within_ms = u64::try_from(within.as_millis())
            .unwrap_or(u64::MAX)
            .min(1 << 52);
        let answer: redis::RedisResult<(u8, u64)> = self
            .script
            .key(format!("crmgate:budget:{key}"))
            .arg(budget.requests)
            .arg(budget.per.as_millis() as u64)
            .arg(u64::from_le_bytes(nonce))
            .arg(within_ms)
            .invoke_async(&mut redis)
            .await;
        match answer {
            Ok((granted, wait_ms)) => {
                if self.degraded.swap(false, Ordering::Relaxed) {
                    tracing::info!("Redis answers again; rate budgets are shared again.");
                }
                let wait = Duration::from_millis(wait_ms);
                if granted == 1 { Ok(wait) } else { Err(wait) }
            }
            Err(e) => {
                if !self.degraded.swap(true, Ordering::Relaxed) {
                    tracing::warn!(error = %e, "Redis cannot be reached; rate budgets fall back to this process alone.");
                }
                self.fallback.reserve(key, budget, within).await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use tokio::time::Instant;

    use super::*;

    /// Environment variable naming the Redis the shared-budget test runs on (CI sets it).
    const REDIS_URL_ENV: &str = "CRMGATE_TEST_REDIS_URL";

    async fn take(limiter: &dyn RateLimiter, key: &str, budget: RateBudget) -> Instant {
        let wait = limiter.reserve(key, budget, Duration::MAX).await.unwrap();
        tokio::time::sleep(wait).await;
        Instant::now()
    }

    #[tokio::test]
    async fn two_processes_share_one_budget() {
        let Some(url) = std::env::var(REDIS_URL_ENV).ok().filter(|u| !u.is_empty()) else {
            return;
        };
        let budget = RateBudget {
            requests: 10,
            per: Duration::from_secs(2),
        };
        let mut raw = [0u8; 8];
        getrandom::fill(&mut raw).unwrap();
        let key = format!("test:{}", u64::from_le_bytes(raw));
        let a = RedisLimiter::connect(&url).await.unwrap();
        let b = RedisLimiter::connect(&url).await.unwrap();
        let mut tasks = Vec::new();
        for i in 0..30 {
            let limiter = if i % 2 == 0 { a.clone() } else { b.clone() };
            let key = key.clone();
            tasks.push(tokio::spawn(async move {
                take(limiter.as_ref(), &key, budget).await
            }));
        }
        let mut granted = Vec::new();
        for task in tasks {
            granted.push(task.await.unwrap());
        }
        granted.sort();
        // Grants are stamped here after Redis answered; half a second of allowance covers
        // scheduling jitter, while two unshared budgets would still show 20 in a window.
        let window = budget.per - Duration::from_millis(500);
        for (i, t) in granted.iter().enumerate() {
            let in_window = granted[i..]
                .iter()
                .take_while(|u| u.duration_since(*t) < window)
                .count();
            assert!(
                in_window <= 10,
                "{in_window} grants within one window from grant {i}"
            );
        }
    }

    #[tokio::test]
    async fn redis_reserves_slots_in_order_and_takes_none_past_the_callers_limit() {
        let Some(url) = std::env::var(REDIS_URL_ENV).ok().filter(|u| !u.is_empty()) else {
            return;
        };
        let budget = RateBudget {
            requests: 2,
            per: Duration::from_secs(60),
        };
        let mut raw = [0u8; 8];
        getrandom::fill(&mut raw).unwrap();
        let key = format!("test:{}", u64::from_le_bytes(raw));
        let limiter = RedisLimiter::connect(&url).await.unwrap();
        let secs = Duration::from_secs;
        assert_eq!(limiter.reserve(&key, budget, secs(0)).await, Ok(secs(0)));
        assert_eq!(limiter.reserve(&key, budget, secs(0)).await, Ok(secs(0)));
        let refused = limiter.reserve(&key, budget, secs(30)).await.unwrap_err();
        assert!(refused > secs(58) && refused <= secs(60), "{refused:?}");
        let reserved = limiter.reserve(&key, budget, secs(60)).await.unwrap();
        assert!(reserved > secs(58) && reserved <= secs(60), "{reserved:?}");
        let second = limiter.reserve(&key, budget, secs(90)).await.unwrap();
        assert!(second > secs(58) && second <= secs(60), "{second:?}");
        let third = limiter.reserve(&key, budget, secs(90)).await.unwrap_err();
        assert!(third > secs(118) && third <= secs(120), "{third:?}");
        assert!(!limiter.degraded.load(Ordering::Relaxed));
    }

    #[tokio::test]
    async fn a_redis_that_goes_away_falls_back_to_the_process_budget() {
        if std::env::var(REDIS_URL_ENV)
            .ok()
            .filter(|u| !u.is_empty())
            .is_none()
        {
            return;
        }
        // A Redis of this test's own, so that it can be stopped.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let mut server = std::process::Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server is installed where CRMGATE_TEST_REDIS_URL is set");
        let url = format!("redis://127.0.0.1:{port}");
        let mut limiter = None;
        for _ in 0..50 {
            if let Ok(l) = RedisLimiter::connect(&url).await {
                limiter = Some(l);
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let limiter = limiter.expect("the test's Redis starts");
        let budget = RateBudget {
            requests: 1,
            per: Duration::from_secs(60),
        };
        assert!(
            limiter.reserve("k", budget, Duration::ZERO).await.is_ok(),
            "Redis grants the first slot"
        );
        server.kill().unwrap();
        server.wait().unwrap();
        assert!(
            limiter.reserve("k", budget, Duration::ZERO).await.is_ok(),
            "the process budget has its own slot"
        );
        assert!(limiter.degraded.load(Ordering::Relaxed));
        assert!(
            limiter.reserve("k", budget, Duration::ZERO).await.is_err(),
            "and then it is used up"
        );
    }
}
