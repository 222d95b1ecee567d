//! Rate budgets shared by every crmgate process through Redis, so that several processes
//! serving one connection stay inside the vendor's limit together.
//!
//! One sorted set per connection holds the times of its recent calls, trimmed and counted in a
//! Lua script so that checking and taking a slot is one atomic step; times come from Redis's
//! clock, so the processes' clocks need not agree. When Redis cannot be reached the process
//! falls back to its own budget (logged) rather than failing requests.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use crmgate_connector_sdk::{LocalLimiter, RateBudget, RateLimiter};
use redis::Script;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

const SLIDING_WINDOW: &str = r"
local key = KEYS[1]
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
if redis.call('ZCARD', key) < limit then
  redis.call('ZADD', key, now, t[1] .. t[2] .. ':' .. ARGV[3])
  redis.call('PEXPIRE', key, window)
  return 0
end
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
return math.max(1, tonumber(oldest[2]) + window - now)
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
    async fn try_acquire(&self, key: &str, budget: RateBudget) -> Result<(), Duration> {
        let mut nonce = [0u8; 8];
        getrandom::fill(&mut nonce).expect("the operating system provides randomness");
        let mut redis = self.redis.clone();
        let answer: redis::RedisResult<u64> = self
            .script
            .key(format!("crmgate:budget:{key}"))
            .arg(budget.requests)
            .arg(budget.per.as_millis() as u64)
            .arg(u64::from_le_bytes(nonce))
            .invoke_async(&mut redis)
            .await;
        match answer {
            Ok(0) => {
                if self.degraded.swap(false, Ordering::Relaxed) {
                    tracing::info!("Redis answers again; rate budgets are shared again.");
                }
                Ok(())
            }
            Ok(wait_ms) => Err(Duration::from_millis(wait_ms)),
            Err(e) => {
                if !self.degraded.swap(true, Ordering::Relaxed) {
                    tracing::warn!(error = %e, "Redis cannot be reached; rate budgets fall back to this process alone.");
                }
                self.fallback.try_acquire(key, budget).await
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
        loop {
            match limiter.try_acquire(key, budget).await {
                Ok(()) => return Instant::now(),
                Err(wait) => tokio::time::sleep(wait).await,
            }
        }
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
            limiter.try_acquire("k", budget).await.is_ok(),
            "Redis grants the first slot"
        );
        server.kill().unwrap();
        server.wait().unwrap();
        assert!(
            limiter.try_acquire("k", budget).await.is_ok(),
            "the process budget has its own slot"
        );
        assert!(limiter.degraded.load(Ordering::Relaxed));
        assert!(
            limiter.try_acquire("k", budget).await.is_err(),
            "and then it is used up"
        );
    }
}
