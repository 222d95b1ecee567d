use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Once, RwLock};
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use bytes::Bytes;
pub use http::HeaderMap;
use http::{Method, StatusCode, header};
use serde_json::Value;
use url::Url;

use crate::outbound::{Lookup, OutboundPolicy, Refusal, system_lookup};
use crate::{ConnectorError, DownstreamError, ErrorKind, RateBudget, RateLimiter, Result};

/// Timeouts, retries and limits of the outbound client.
#[derive(Debug, Clone, Copy)]
pub struct HttpConfig {
    pub connect_timeout: Duration,
    /// Longest single vendor call.
    pub request_timeout: Duration,
    /// Attempts per call, the first included, for calls that are safe to repeat.
    pub max_attempts: u32,
    /// First backoff step; each retry doubles it, with full jitter, up to `max_backoff`.
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// Largest vendor body read; a larger one is refused while it streams in.
    pub max_body_bytes: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
            max_attempts: 3,
            base_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(10),
            max_body_bytes: 16 * 1024 * 1024,
        }
    }
}

/// The least of its deadline a call must have left when its budget slot comes: a slot later
/// than that would only start a call that times out, so the request is answered 429 instead.
const MIN_CALL_TIME: Duration = Duration::from_secs(1);

/// How the client waits between attempts; tests substitute one that records the waits instead
/// of sleeping, so retry timing is asserted exactly without wall time.
pub trait Pause: Send + Sync {
    fn pause(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

/// Waiting on tokio's clock.
struct TokioPause;

impl Pause for TokioPause {
    fn pause(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// The one outbound HTTP client every connector calls its vendor through. It injects the
/// connection's auth headers, applies timeouts and turns transport failures and vendor error
/// statuses into typed [`ConnectorError`]s, so connectors only describe their vendor.
#[derive(Clone)]
pub struct OutboundClient {
    client: reqwest::Client,
    /// Where calls may go; checked before every call, and by the client's resolver.
    policy: Arc<OutboundPolicy>,
    /// The connection's auth headers, shared by every request on the opened connection so
    /// that a refreshed token serves them all at once.
    auth: Arc<RwLock<Arc<HeaderMap>>>,
    /// Renews the auth headers when the vendor answers 401 (an OAuth connection's).
    refresher: Option<Arc<dyn Refresher>>,
    config: HttpConfig,
    pause: Arc<dyn Pause>,
    /// When the client's request must be answered; retries and waits never run past it.
    deadline: Option<Instant>,
    /// The connection's budget, its key and where it is kept.
    budget: Option<(Arc<dyn RateLimiter>, Arc<str>, RateBudget)>,
    /// How the vendor reports its rate limit, and where the latest reading of this request's
    /// calls is kept (none on a client that serves no single request).
    rate: Arc<dyn RateReport>,
    last_rate: Option<RateLimitSlot>,
    /// Metric labels: which connector, and which unified operation the calls serve.
    connector: &'static str,
    operation: &'static str,
}

/// Renews a connection's auth headers after the vendor refused them with a 401: an OAuth
/// connection's token refresh. The gateway implements it, since it holds the tokens and the
/// locks that keep two refreshes of one connection from racing.
#[async_trait::async_trait]
pub trait Refresher: Send + Sync {
    /// Auth headers to send instead of `rejected`; an error when the connection cannot be
    /// renewed (its grant was revoked), which the call then fails with.
    async fn refresh(&self, rejected: &HeaderMap) -> Result<HeaderMap>;
}

/// Where one request's latest vendor rate-limit reading is kept.
pub type RateLimitSlot = Arc<std::sync::Mutex<Option<RateLimitStatus>>>;

/// The vendor's own account of its rate limit after a call, passed to clients as Apideck's
/// `x-downstream-ratelimit-*` headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitStatus {
    pub limit: u64,
    pub remaining: u64,
    /// When the window resets, as Unix seconds.
    pub reset: u64,
}

/// How a vendor reports its rate limit in its answers: its own count, and how long an error
/// answer asks to wait. A connector's manifest says it ([`crate::manifest::RateLimit`]); a
/// client without one honours the standard `Retry-After` header and reads no count.
pub trait RateReport: Send + Sync {
    /// The vendor's count after a call; `None` when the answer carries none.
    fn status(&self, headers: &HeaderMap) -> Option<RateLimitStatus>;

    /// How long an error answer asks to wait before the call is sent again; `latest` is the
    /// newest count of the request's calls, this answer's when it has one.
    fn retry_after(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        latest: Option<RateLimitStatus>,
    ) -> Option<Duration>;
}

/// What HTTP itself defines: `Retry-After`, and no count.
struct StandardRetryAfter;

impl RateReport for StandardRetryAfter {
    fn status(&self, _: &HeaderMap) -> Option<RateLimitStatus> {
        None
    }

    fn retry_after(
        &self,
        headers: &HeaderMap,
        _: &[u8],
        _: Option<RateLimitStatus>,
    ) -> Option<Duration> {
        header_delay(headers, header::RETRY_AFTER.as_str(), SystemTime::now())
    }
}

/// One vendor call before it is sent.
#[derive(Debug)]
pub struct VendorRequest {
    pub method: Method,
    pub url: Url,
    pub body: Option<Value>,
    /// Whether sending the call twice is harmless. True for GET, PUT, PATCH and DELETE; a POST
    /// that only reads (a search) says so with [`Self::read_only`]. A call that is not safe to
    /// repeat is retried only when it cannot have reached the vendor (the connection failed).
    pub repeatable: bool,
    /// Headers the operation adds (Salesforce's `Sforce-Query-Options`), after the auth ones.
    pub headers: HeaderMap,
}

impl VendorRequest {
    pub fn new(method: Method, url: Url) -> Self {
        let repeatable = matches!(
            method,
            Method::GET | Method::HEAD | Method::PUT | Method::PATCH | Method::DELETE
        );
        Self {
            method,
            url,
            body: None,
            repeatable,
            headers: HeaderMap::new(),
        }
    }

    #[must_use]
    pub fn json(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }

    /// Marks a POST that changes nothing (a search), so it may be retried like a GET.
    #[must_use]
    pub fn read_only(mut self) -> Self {
        self.repeatable = true;
        self
    }
}

/// How a vendor's error answers read: the vendor's own messages, the kind of failure a status
/// is, and which statuses are worth another attempt. A connector's manifest says it
/// ([`crate::manifest::Errors`]); a plain function of the body gives the messages alone.
pub trait VendorErrors: Send + Sync {
    /// The vendor's messages in an error body, as Apideck's `downstream_errors`.
    fn downstream(&self, body: &[u8]) -> Vec<DownstreamError>;

    /// The kind of failure an error status (with its body) is; `None` leaves it to the status.
    fn kind(&self, _status: u16, _body: &[u8]) -> Option<ErrorKind> {
        None
    }

    /// Whether an answer with this status may succeed when a call that is safe to repeat is
    /// sent again.
    fn transient(&self, status: u16) -> bool {
        matches!(status, 429 | 502 | 503 | 504)
    }
}

impl<F: Fn(&[u8]) -> Vec<DownstreamError> + Send + Sync> VendorErrors for F {
    fn downstream(&self, body: &[u8]) -> Vec<DownstreamError> {
        self(body)
    }
}

/// A vendor answer with a success status.
#[derive(Debug)]
pub struct VendorResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl VendorResponse {
    /// The body as JSON; a body that is not JSON is a typed `BadResponse`, never a panic.
    pub fn json(&self) -> Result<Value> {
        serde_json::from_slice(&self.body)
            .map_err(|e| ConnectorError::bad_response(self.status.as_u16(), e))
    }
}

static CRYPTO_PROVIDER: Once = Once::new();

/// Installs the process's TLS crypto provider (ring), once; every HTTPS client of the process,
/// crmgate's or a test's, needs it first.
pub fn install_crypto_provider() {
    CRYPTO_PROVIDER.call_once(|| {
        // Another part of the process may have installed one already; either is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

impl OutboundClient {
    /// The client of one connector, shared by all its connections (cheap to clone per call
    /// with [`Self::with_auth`]); its calls go only where `policy` allows and follow no
    /// redirect, so a credential never travels to a host the vendor did not declare.
    pub fn for_connector(
        config: HttpConfig,
        connector: &'static str,
        policy: OutboundPolicy,
    ) -> Self {
        Self::build(config, connector, policy, system_lookup())
    }

    fn build(
        config: HttpConfig,
        connector: &'static str,
        policy: OutboundPolicy,
        lookup: Lookup,
    ) -> Self {
        install_crypto_provider();
        let client = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(policy.resolver(lookup))
            .user_agent(concat!("crmgate/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("the TLS backend is compiled in, so the client builds");
        Self {
            client,
            policy: Arc::new(policy),
            auth: Arc::default(),
            refresher: None,
            config,
            pause: Arc::new(TokioPause),
            deadline: None,
            budget: None,
            rate: Arc::new(StandardRetryAfter),
            last_rate: None,
            connector,
            operation: "unknown",
        }
    }

    /// Where this client's calls may go.
    pub fn policy(&self) -> &OutboundPolicy {
        &self.policy
    }

    /// The same client labelling its metrics with the unified operation it serves.
    #[must_use]
    pub fn with_operation(&self, operation: &'static str) -> Self {
        Self {
            operation,
            ..self.clone()
        }
    }

    /// A client for unit tests that may call anywhere.
    pub fn for_tests() -> Self {
        Self::for_tests_with(HttpConfig::default())
    }

    /// A client for unit tests with its own settings, that may call anywhere.
    pub fn for_tests_with(config: HttpConfig) -> Self {
        Self::for_connector(config, "test", OutboundPolicy::allow_all())
    }

    /// The same client with one connection's auth headers, which are marked sensitive.
    #[must_use]
    pub fn with_auth(&self, mut auth: HeaderMap) -> Self {
        for value in auth.values_mut() {
            value.set_sensitive(true);
        }
        Self {
            auth: Arc::new(RwLock::new(Arc::new(auth))),
            ..self.clone()
        }
    }

    /// The same client renewing its auth headers through `refresher` when the vendor answers
    /// 401, then sending the call once more: a 401 means the vendor did nothing, so even a
    /// create may be sent again.
    #[must_use]
    pub fn with_refresher(&self, refresher: Arc<dyn Refresher>) -> Self {
        Self {
            refresher: Some(refresher),
            ..self.clone()
        }
    }

    /// The auth headers as they are now.
    fn auth(&self) -> Arc<HeaderMap> {
        self.auth.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Asks the refresher for new auth headers after `rejected` drew a 401, and uses them for
    /// every later call on the connection; `false` when there is no refresher.
    async fn renew(&self, rejected: &HeaderMap) -> Result<bool> {
        let Some(refresher) = &self.refresher else {
            return Ok(false);
        };
        let mut fresh = refresher.refresh(rejected).await?;
        for value in fresh.values_mut() {
            value.set_sensitive(true);
        }
        *self.auth.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(fresh);
        Ok(true)
    }

    /// The same client bound to a request's deadline.
    #[must_use]
    pub fn with_deadline(&self, deadline: Instant) -> Self {
        Self {
            deadline: Some(deadline),
            ..self.clone()
        }
    }

    /// The same client holding every call to a connection's budget.
    #[must_use]
    pub fn with_budget(
        &self,
        limiter: Arc<dyn RateLimiter>,
        key: &str,
        budget: RateBudget,
    ) -> Self {
        Self {
            budget: Some((limiter, key.into(), budget)),
            ..self.clone()
        }
    }

    /// Reserves a slot in the connection's budget and waits for it. Slots are reserved in
    /// order, so the wait is known at once: when the slot would leave less than
    /// [`MIN_CALL_TIME`] of the request's deadline, none is taken and the answer is a rate
    /// limit straight away, with the time until the earliest slot as `Retry-After`, rather than
    /// a request held until its deadline. A slot that is free now is always taken; then the
    /// budget is not what stands in the way.
    async fn take_slot(&self) -> Result<()> {
        let Some((limiter, key, budget)) = &self.budget else {
            return Ok(());
        };
        let within = self.deadline.map_or(Duration::MAX, |d| {
            d.saturating_duration_since(Instant::now())
                .saturating_sub(MIN_CALL_TIME)
        });
        let wait = limiter
            .reserve(key, *budget, within)
            .await
            .map_err(|earliest| {
                tracing::debug!(
                    wait_ms = earliest.as_millis() as u64,
                    "The connection's rate budget has no slot within the request's deadline."
                );
                ConnectorError::new(
                    ErrorKind::RateLimited,
                    "The connection's request budget at the CRM is used up for now.",
                )
                .with_retry_after(Some(earliest))
            })?;
        if wait.is_zero() {
            return Ok(());
        }
        tracing::debug!(
            wait_ms = wait.as_millis() as u64,
            "Waiting for the connection's rate budget."
        );
        metrics::counter!("crmgate_rate_limit_waits_total", "connector" => self.connector)
            .increment(1);
        metrics::histogram!("crmgate_rate_limit_wait_seconds", "connector" => self.connector)
            .record(wait.as_secs_f64());
        self.pause.pause(wait).await;
        Ok(())
    }

    /// The same client reading the vendor's rate limit as `report` says, into `slot`, where the
    /// gateway picks the latest reading up for the client's response. The slot belongs to one
    /// request: a reading never tells another request's client when to retry.
    #[must_use]
    pub fn with_rate_report(&self, report: Arc<dyn RateReport>, slot: RateLimitSlot) -> Self {
        Self {
            rate: report,
            last_rate: Some(slot),
            ..self.clone()
        }
    }

    /// The same client waiting through `pause` between attempts.
    #[must_use]
    pub fn with_pause(&self, pause: Arc<dyn Pause>) -> Self {
        Self {
            pause,
            ..self.clone()
        }
    }

    /// Sends one call, retrying what is safe to retry: answers `errors` calls transient (429,
    /// 502, 503 and 504 unless it says otherwise) and failed connections, for calls that may be
    /// repeated, waiting as long as the vendor asks (its [`RateReport`]) and an exponential
    /// backoff with jitter otherwise, never past the deadline. Non-success statuses become typed
    /// errors, of the kind `errors` says, with the vendor's own messages.
    pub async fn send(
        &self,
        rq: VendorRequest,
        errors: &dyn VendorErrors,
    ) -> Result<VendorResponse> {
        let body = rq
            .body
            .as_ref()
            .map(|b| Bytes::from(serde_json::to_vec(b).expect("a JSON value always serialises")));
        let mut attempt = 1;
        let mut renewed = false;
        loop {
            let auth = self.auth();
            let outcome = self.attempt(&rq, &auth, body.clone(), errors).await;
            let (err, reached) = match outcome {
                Ok(response) => return Ok(response),
                Err(failure) => failure,
            };
            if err.vendor_status == Some(401) && !renewed && self.renew(&auth).await? {
                renewed = true;
                continue;
            }
            let transient = err.vendor_status.is_some_and(|s| errors.transient(s)) || !reached;
            let may_repeat = rq.repeatable || !reached;
            if attempt >= self.config.max_attempts || !transient || !may_repeat {
                return Err(err);
            }
            let wait = err.retry_after.unwrap_or_else(|| self.backoff(attempt));
            if self.deadline.is_some_and(|d| Instant::now() + wait >= d) {
                tracing::debug!(
                    wait_ms = wait.as_millis() as u64,
                    "A retry would pass the request's deadline; giving up."
                );
                return Err(err);
            }
            tracing::info!(
                method = %rq.method,
                path = rq.url.path(),
                attempt,
                status = err.vendor_status,
                wait_ms = wait.as_millis() as u64,
                "Retrying a vendor call."
            );
            metrics::counter!("crmgate_vendor_retries_total", "connector" => self.connector)
                .increment(1);
            self.pause.pause(wait).await;
            attempt += 1;
        }
    }

    /// One call whose answer is the caller's to read as it streams: the Proxy API hands the
    /// vendor's status, headers and body to its client unchanged. The destination is checked as
    /// for every call and the connection's budget is taken; the connection's auth headers win
    /// over any of `headers` with the same name unless `inject_auth` is false (the client
    /// brought its own). Nothing is retried and no status is an error here: the gateway cannot
    /// know which of a client's raw calls are safe to repeat, nor what a status means to it.
    pub async fn forward(
        &self,
        method: Method,
        url: Url,
        headers: HeaderMap,
        body: Bytes,
        inject_auth: bool,
    ) -> Result<reqwest::Response> {
        self.policy
            .check(&url)
            .map_err(|refusal| ConnectorError::refused(&refusal))?;
        self.take_slot().await?;
        let mut timeout = self.config.request_timeout;
        if let Some(deadline) = self.deadline {
            timeout = timeout.min(deadline.saturating_duration_since(Instant::now()));
        }
        let mut renewed = false;
        let response = loop {
            let auth = self.auth();
            let mut outgoing = headers.clone();
            if inject_auth {
                for (name, value) in auth.iter() {
                    outgoing.insert(name, value.clone());
                }
            }
            let started = Instant::now();
            let response = self
                .client
                .request(method.clone(), url.clone())
                .headers(outgoing)
                .timeout(timeout)
                .body(body.clone())
                .send()
                .await
                .map_err(|e| {
                    self.count_call("unanswered", started);
                    match refusal_in(&e) {
                        Some(refusal) => ConnectorError::refused(refusal),
                        None => transport_error(&e),
                    }
                })?;
            self.count_call(response.status().as_str(), started);
            if response.status() == StatusCode::UNAUTHORIZED
                && inject_auth
                && !renewed
                && self.renew(&auth).await?
            {
                renewed = true;
                continue;
            }
            break response;
        };
        if let (Some(status), Some(slot)) = (self.rate.status(response.headers()), &self.last_rate)
        {
            *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(status);
        }
        Ok(response)
    }

    /// The values of the connection's auth headers and the tokens inside them (`Bearer x` →
    /// `x`), as vendors sometimes echo them back.
    pub fn secrets(&self) -> Vec<String> {
        self.auth()
            .values()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| [Some(v), v.split_once(' ').map(|(_, token)| token)])
            .flatten()
            .filter(|s| s.len() >= 4)
            .map(str::to_owned)
            .collect()
    }

    /// The names of the headers that carry the connection's credentials.
    pub fn auth_header_names(&self) -> Vec<header::HeaderName> {
        self.auth().keys().cloned().collect()
    }

    /// Full-jitter exponential backoff for the given (1-based) retry.
    fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self
            .config
            .base_backoff
            .saturating_mul(1 << attempt.min(16))
            .min(self.config.max_backoff);
        let mut raw = [0u8; 4];
        getrandom::fill(&mut raw).expect("the operating system provides randomness");
        ceiling.mul_f64(f64::from(u32::from_le_bytes(raw)) / f64::from(u32::MAX))
    }

    /// One attempt; the error says whether the request may have reached the vendor.
    async fn attempt(
        &self,
        rq: &VendorRequest,
        auth: &HeaderMap,
        body: Option<Bytes>,
        errors: &dyn VendorErrors,
    ) -> std::result::Result<VendorResponse, (ConnectorError, bool)> {
        // A refused destination is final: it is not retried, and nothing is sent.
        self.policy
            .check(&rq.url)
            .map_err(|refusal| (ConnectorError::refused(&refusal), true))?;
        // Waiting already happened inside: an exhausted budget is final for this call.
        self.take_slot().await.map_err(|e| (e, true))?;
        let started = Instant::now();
        let mut builder = self
            .client
            .request(rq.method.clone(), rq.url.clone())
            .headers(auth.clone())
            .headers(rq.headers.clone())
            .header(header::ACCEPT, "application/json");
        let mut timeout = self.config.request_timeout;
        if let Some(deadline) = self.deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err((
                    ConnectorError::new(
                        ErrorKind::Timeout,
                        "The request's deadline passed before the CRM answered.",
                    ),
                    false,
                ));
            }
            timeout = timeout.min(left);
        }
        builder = builder.timeout(timeout);
        if let Some(body) = body {
            builder = builder
                .header(header::CONTENT_TYPE, "application/json")
                .body(body);
        }
        let mut response = builder.send().await.map_err(|e| {
            self.count_call("unanswered", started);
            if let Some(refusal) = refusal_in(&e) {
                return (ConnectorError::refused(refusal), true);
            }
            let reached = !e.is_connect();
            (transport_error(&e), reached)
        })?;
        let status = response.status();
        let headers = response.headers().clone();
        let reading = self.rate.status(&headers);
        if let (Some(status), Some(slot)) = (reading, &self.last_rate) {
            *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(status);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| (transport_error(&e), true))?
        {
            if body.len() + chunk.len() > self.config.max_body_bytes {
                let err = ConnectorError::unreadable(
                    status.as_u16(),
                    &format!(
                        "the body is larger than {} bytes",
                        self.config.max_body_bytes
                    ),
                );
                return Err((err, true));
            }
            body.extend_from_slice(&chunk);
        }
        tracing::debug!(
            method = %rq.method,
            path = rq.url.path(),
            status = status.as_u16(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "Vendor answered."
        );
        self.count_call(status.as_str(), started);
        if status.is_success() {
            return Ok(VendorResponse {
                status,
                headers,
                body: Bytes::from(body),
            });
        }
        let latest = reading.or_else(|| {
            let slot = self.last_rate.as_ref()?;
            *slot.lock().unwrap_or_else(|p| p.into_inner())
        });
        let mut err = status_error(status, &body, errors)
            .with_retry_after(self.rate.retry_after(&headers, &body, latest));
        self.scrub(&mut err.downstream);
        Err((err, true))
    }

    /// Counts a vendor call and its latency, by connector, unified operation and status.
    fn count_call(&self, status: &str, started: Instant) {
        let labels = [
            ("connector", self.connector.to_owned()),
            ("operation", self.operation.to_owned()),
            ("status", status.to_owned()),
        ];
        metrics::counter!("crmgate_vendor_calls_total", &labels).increment(1);
        metrics::histogram!("crmgate_vendor_call_duration_seconds", &labels[..2])
            .record(started.elapsed().as_secs_f64());
    }

    /// Vendors sometimes echo the credential they rejected; it is cut out of every message
    /// before the error can reach a client or a log.
    fn scrub(&self, errors: &mut [DownstreamError]) {
        let secrets = self.secrets();
        let clean = |text: &mut String| {
            for secret in &secrets {
                if text.contains(secret) {
                    *text = text.replace(secret, "[REDACTED]");
                }
            }
        };
        for e in errors {
            clean(&mut e.message);
            if let Some(detail) = &mut e.detail {
                clean(detail);
            }
            if let Some(code) = &mut e.code {
                clean(code);
            }
        }
    }
}

/// The policy's refusal, when the resolver refused the name's addresses.
fn refusal_in(err: &reqwest::Error) -> Option<&Refusal> {
    let mut source = std::error::Error::source(err);
    while let Some(e) = source {
        if let Some(refusal) = e.downcast_ref::<Refusal>() {
            return Some(refusal);
        }
        source = e.source();
    }
    None
}

/// A failed call in words that say what the client can act on, and no more: a closed port, a
/// host that does not speak HTTP and a refused TLS handshake read alike, so an answer never
/// maps a network for whoever chose the URL.
fn transport_error(err: &reqwest::Error) -> ConnectorError {
    if err.is_timeout() {
        ConnectorError::new(ErrorKind::Timeout, "The CRM did not answer in time.")
    } else if err.is_body() || err.is_decode() {
        ConnectorError::new(
            ErrorKind::Unavailable,
            "The CRM's answer was cut off before its end.",
        )
    } else {
        ConnectorError::new(
            ErrorKind::Unavailable,
            "The CRM could not be reached, or did not answer over HTTP.",
        )
    }
}

fn status_error(status: StatusCode, body: &[u8], errors: &dyn VendorErrors) -> ConnectorError {
    if status.is_redirection() {
        // Redirects are never followed: the credential would go wherever the answer points.
        return ConnectorError::new(
            ErrorKind::BadResponse,
            format!(
                "The CRM answered with a redirect (HTTP {}), which crmgate does not follow.",
                status.as_u16()
            ),
        )
        .with_status(status.as_u16());
    }
    let kind = errors
        .kind(status.as_u16(), body)
        .unwrap_or(match status.as_u16() {
            401 | 403 => ErrorKind::Unauthorized,
            404 => ErrorKind::NotFound,
            429 => ErrorKind::RateLimited,
            500..=599 => ErrorKind::Unavailable,
            _ => ErrorKind::Rejected,
        });
    let message = match kind {
        ErrorKind::Unauthorized => "The CRM rejected the connection's credentials.",
        ErrorKind::NotFound => "The CRM has no such record.",
        ErrorKind::RateLimited => "The CRM's rate limit was reached.",
        ErrorKind::Unavailable => "The CRM failed to answer the request.",
        ErrorKind::Timeout => "The CRM gave up waiting on its side.",
        ErrorKind::BadResponse => "The CRM answered with an error it does not document.",
        ErrorKind::Unsupported => "The CRM cannot do what was asked.",
        _ => "The CRM refused the request.",
    };
    let mut err = ConnectorError::new(kind, message)
        .with_status(status.as_u16())
        .with_downstream(errors.downstream(body));
    // The vendor answered, so even a missing record is the vendor's word, not a malformed id.
    err.origin = crate::Origin::Vendor;
    err
}

/// A delay header read like `Retry-After`: seconds, or an HTTP-date (a date already past is no
/// wait at all).
pub(crate) fn header_delay(headers: &HeaderMap, name: &str, now: SystemTime) -> Option<Duration> {
    let value = headers.get(name)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_headers_are_marked_sensitive() {
        let mut auth = HeaderMap::new();
        auth.insert(
            header::AUTHORIZATION,
            "Bearer secret-token".parse().unwrap(),
        );
        let client = OutboundClient::for_tests().with_auth(auth);
        let auth = client.auth();
        let value = auth.get(header::AUTHORIZATION).unwrap();
        assert!(value.is_sensitive());
        assert!(!format!("{value:?}").contains("secret-token"));
    }

    #[test]
    fn echoed_credentials_are_cut_out_of_vendor_messages() {
        let mut auth = HeaderMap::new();
        auth.insert(
            header::AUTHORIZATION,
            "Bearer tok-SECRET-9".parse().unwrap(),
        );
        auth.insert("x-api-token", "other-SECRET-8".parse().unwrap());
        let client = OutboundClient::for_tests().with_auth(auth);
        let mut errors = vec![DownstreamError {
            message: "token tok-SECRET-9 is invalid".into(),
            detail: Some("got header Bearer tok-SECRET-9 and other-SECRET-8".into()),
            code: None,
        }];
        client.scrub(&mut errors);
        assert_eq!(errors[0].message, "token [REDACTED] is invalid");
        assert_eq!(
            errors[0].detail.as_deref(),
            Some("got header [REDACTED] and [REDACTED]")
        );
    }

    #[test]
    fn statuses_become_typed_errors() {
        let none = |_: &[u8]| Vec::new();
        let cases = [
            (401, ErrorKind::Unauthorized),
            (403, ErrorKind::Unauthorized),
            (404, ErrorKind::NotFound),
            (400, ErrorKind::Rejected),
            (422, ErrorKind::Rejected),
            (429, ErrorKind::RateLimited),
            (500, ErrorKind::Unavailable),
            (503, ErrorKind::Unavailable),
        ];
        for (status, kind) in cases {
            let err = status_error(StatusCode::from_u16(status).unwrap(), b"", &none);
            assert_eq!(err.kind, kind, "status {status}");
            assert_eq!(err.vendor_status, Some(status));
        }
    }
}

#[cfg(test)]
mod retries {
    use std::sync::Mutex;

    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;

    /// Records the waits instead of sleeping.
    #[derive(Default)]
    struct Recorder(Mutex<Vec<Duration>>);

    impl Pause for Recorder {
        fn pause(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
            self.0.lock().unwrap().push(duration);
            Box::pin(std::future::ready(()))
        }
    }

    fn client() -> (OutboundClient, Arc<Recorder>) {
        let recorder = Arc::new(Recorder::default());
        let client = OutboundClient::for_tests().with_pause(recorder.clone());
        (client, recorder)
    }

    fn none(_: &[u8]) -> Vec<DownstreamError> {
        Vec::new()
    }

    async fn vendor(answers: &[ResponseTemplate], verb: &str) -> MockServer {
        let server = MockServer::start().await;
        for (i, answer) in answers.iter().enumerate() {
            let last = i + 1 == answers.len();
            let mock = Mock::given(method(verb))
                .and(path("/x"))
                .respond_with(answer.clone());
            let mock = if last {
                mock.expect(1)
            } else {
                mock.up_to_n_times(1).expect(1)
            };
            server.register(mock).await;
        }
        server
    }

    fn url(server: &MockServer) -> Url {
        Url::parse(&format!("{}/x", server.uri())).unwrap()
    }

    #[tokio::test]
    async fn transient_failures_of_repeatable_calls_are_retried_with_backoff() {
        let server = vendor(
            &[
                ResponseTemplate::new(503),
                ResponseTemplate::new(502),
                ResponseTemplate::new(200),
            ],
            "GET",
        )
        .await;
        let (client, waits) = client();
        let response = client
            .send(VendorRequest::new(Method::GET, url(&server)), &none)
            .await
            .unwrap();
        assert_eq!(response.status, StatusCode::OK);
        let waits = waits.0.lock().unwrap().clone();
        assert_eq!(waits.len(), 2);
        assert!(
            waits[0] <= Duration::from_millis(500) && waits[1] <= Duration::from_secs(1),
            "{waits:?}"
        );
    }

    /// A client without a rate report (no manifest hints) still waits what the vendor says, on
    /// a 429 and on a 503 alike.
    #[tokio::test]
    async fn retry_after_is_honoured_exactly() {
        for status in [429, 503] {
            let server = vendor(
                &[
                    ResponseTemplate::new(status).insert_header("Retry-After", "2"),
                    ResponseTemplate::new(200),
                ],
                "GET",
            )
            .await;
            let (client, waits) = client();
            client
                .send(VendorRequest::new(Method::GET, url(&server)), &none)
                .await
                .unwrap();
            assert_eq!(
                *waits.0.lock().unwrap(),
                [Duration::from_secs(2)],
                "{status}"
            );
        }
    }

    #[tokio::test]
    async fn a_create_that_reached_the_vendor_is_never_repeated() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(503))
            .expect(1)
            .mount(&server)
            .await;
        let (client, waits) = client();
        let err = client
            .send(VendorRequest::new(Method::POST, url(&server)), &none)
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Unavailable);
        assert!(waits.0.lock().unwrap().is_empty());
    }

    /// Hands out `Bearer new-N` and counts how often it was asked.
    #[derive(Default)]
    struct CountingRefresher(std::sync::atomic::AtomicU32);

    #[async_trait::async_trait]
    impl Refresher for CountingRefresher {
        async fn refresh(&self, rejected: &HeaderMap) -> Result<HeaderMap> {
            assert_eq!(rejected[header::AUTHORIZATION], "Bearer old");
            let n = self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
            let mut fresh = HeaderMap::new();
            fresh.insert(
                header::AUTHORIZATION,
                format!("Bearer new-{n}").parse().unwrap(),
            );
            Ok(fresh)
        }
    }

    #[tokio::test]
    async fn a_401_renews_the_auth_once_and_sends_even_a_create_again() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(wiremock::matchers::header("authorization", "Bearer old"))
            .respond_with(ResponseTemplate::new(401))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(wiremock::matchers::header("authorization", "Bearer new-1"))
            .respond_with(ResponseTemplate::new(201))
            .expect(2)
            .mount(&server)
            .await;
        let refresher = Arc::new(CountingRefresher::default());
        let mut auth = HeaderMap::new();
        auth.insert(header::AUTHORIZATION, "Bearer old".parse().unwrap());
        let (client, _) = client();
        let client = client.with_auth(auth).with_refresher(refresher.clone());
        for _ in 0..2 {
            let answer = client
                .send(VendorRequest::new(Method::POST, url(&server)), &none)
                .await
                .unwrap();
            assert_eq!(answer.status, 201);
        }
        // The renewed headers serve the next call at once: one refresh in all.
        assert_eq!(refresher.0.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert!(client.auth()[header::AUTHORIZATION].is_sensitive());
    }

    #[tokio::test]
    async fn a_401_after_renewing_is_the_answer() {
        let server = vendor(
            &[ResponseTemplate::new(401), ResponseTemplate::new(401)],
            "GET",
        )
        .await;
        let mut auth = HeaderMap::new();
        auth.insert(header::AUTHORIZATION, "Bearer old".parse().unwrap());
        let (client, _) = client();
        let client = client
            .with_auth(auth)
            .with_refresher(Arc::new(CountingRefresher::default()));
        let err = client
            .send(VendorRequest::new(Method::GET, url(&server)), &none)
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Unauthorized);
    }

    #[tokio::test]
    async fn a_read_only_post_is_retried() {
        let server = vendor(
            &[ResponseTemplate::new(504), ResponseTemplate::new(200)],
            "POST",
        )
        .await;
        let (client, _) = client();
        let rq = VendorRequest::new(Method::POST, url(&server)).read_only();
        assert!(client.send(rq, &none).await.is_ok());
    }

    #[tokio::test]
    async fn a_failed_connection_is_retried_even_for_a_create() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let (client, waits) = client();
        let url = Url::parse(&format!("http://127.0.0.1:{port}/x")).unwrap();
        let err = client
            .send(VendorRequest::new(Method::POST, url), &none)
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Unavailable);
        assert_eq!(waits.0.lock().unwrap().len(), 2, "three attempts in all");
    }

    #[tokio::test]
    async fn server_errors_that_are_not_transient_are_not_retried() {
        let server = vendor(&[ResponseTemplate::new(500)], "GET").await;
        let (client, waits) = client();
        let err = client
            .send(VendorRequest::new(Method::GET, url(&server)), &none)
            .await
            .unwrap_err();
        assert_eq!(err.vendor_status, Some(500));
        assert!(waits.0.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_wait_past_the_deadline_fails_fast_with_the_vendors_retry_after() {
        let server = vendor(
            &[ResponseTemplate::new(429).insert_header("Retry-After", "120")],
            "GET",
        )
        .await;
        let (client, waits) = client();
        let client = client.with_deadline(Instant::now() + Duration::from_secs(10));
        let err = client
            .send(VendorRequest::new(Method::GET, url(&server)), &none)
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::RateLimited);
        assert_eq!(err.retry_after, Some(Duration::from_secs(120)));
        assert!(waits.0.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn an_oversized_body_is_refused_while_it_streams() {
        let server = vendor(
            &[ResponseTemplate::new(200).set_body_string("x".repeat(2048))],
            "GET",
        )
        .await;
        let client = OutboundClient::for_tests_with(HttpConfig {
            max_body_bytes: 1024,
            ..HttpConfig::default()
        });
        let err = client
            .send(VendorRequest::new(Method::GET, url(&server)), &none)
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::BadResponse);
        assert!(
            err.message.contains("larger than 1024 bytes"),
            "{}",
            err.message
        );
    }

    /// A client whose resolver answers every name with the mock's loopback address.
    fn resolving_to_loopback(operator: &[&str]) -> OutboundClient {
        let operator: Vec<crate::HostPattern> = operator
            .iter()
            .map(|e| crate::HostPattern::parse(e).unwrap())
            .collect();
        let policy = OutboundPolicy::new(
            &[crate::HostPattern::parse("*.example.test").unwrap()],
            operator.into(),
        );
        let lookup: Lookup = Arc::new(|_| {
            let addrs = vec![std::net::SocketAddr::from(([127, 0, 0, 1], 0))];
            Box::pin(async move { Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs) })
        });
        OutboundClient::build(HttpConfig::default(), "test", policy, lookup)
    }

    #[tokio::test]
    async fn a_name_resolving_to_loopback_is_called_only_when_the_operator_names_it() {
        let server = MockServer::start().await;
        let port = server.address().port();
        let url = Url::parse(&format!("http://crm.example.test:{port}/x")).unwrap();
        // A suffix covers the name, but never lets it reach an internal address.
        let refused = resolving_to_loopback(&["*.example.test"])
            .send(VendorRequest::new(Method::GET, url.clone()), &none)
            .await
            .unwrap_err();
        assert_eq!(refused.kind, ErrorKind::Refused);
        assert!(
            refused.message.contains("no public address"),
            "{}",
            refused.message
        );
        assert!(server.received_requests().await.unwrap().is_empty());
        Mock::given(method("GET"))
            .and(path("/x"))
            .respond_with(ResponseTemplate::new(200))
            .expect(1)
            .mount(&server)
            .await;
        let named = resolving_to_loopback(&[&format!("crm.example.test:{port}")]);
        let response = named
            .send(VendorRequest::new(Method::GET, url), &none)
            .await
            .unwrap();
        assert_eq!(response.status, StatusCode::OK);
    }

    #[tokio::test]
    async fn a_destination_outside_the_policy_is_never_called_nor_retried() {
        let server = MockServer::start().await;
        let (client, waits) = client();
        let client = OutboundClient {
            policy: Arc::new(OutboundPolicy::new(
                &[crate::HostPattern::parse("api.vendor.example").unwrap()],
                Arc::new([]),
            )),
            ..client
        };
        let err = client
            .send(VendorRequest::new(Method::GET, url(&server)), &none)
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Refused);
        assert!(
            err.message.contains("api.vendor.example"),
            "{}",
            err.message
        );
        assert!(waits.0.lock().unwrap().is_empty());
        assert!(server.received_requests().await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn redirects_are_not_followed() {
        let target = MockServer::start().await;
        let server = vendor(
            &[ResponseTemplate::new(307).insert_header("Location", format!("{}/x", target.uri()))],
            "POST",
        )
        .await;
        let mut auth = HeaderMap::new();
        auth.insert("x-api-token", "tok-SECRET".parse().unwrap());
        let (client, _) = client();
        let err = client
            .with_auth(auth)
            .send(
                VendorRequest::new(Method::POST, url(&server)).json(serde_json::json!({"a": 1})),
                &none,
            )
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::BadResponse);
        assert_eq!(err.vendor_status, Some(307));
        assert!(err.message.contains("HTTP 307"), "{}", err.message);
        assert!(target.received_requests().await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_closed_port_and_a_host_that_does_not_speak_http_read_alike() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let closed_port = closed.local_addr().unwrap().port();
        drop(closed);
        let garbage = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let garbage_port = garbage.local_addr().unwrap().port();
        tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            while let Ok((mut socket, _)) = garbage.accept().await {
                let _ = socket.write_all(b"SSH-2.0-OpenSSH_9.6\r\n").await;
            }
        });
        let (client, _) = client();
        let mut messages = Vec::new();
        for port in [closed_port, garbage_port] {
            let url = Url::parse(&format!("http://127.0.0.1:{port}/x")).unwrap();
            let err = client
                .send(VendorRequest::new(Method::GET, url), &none)
                .await
                .unwrap_err();
            messages.push((err.kind, err.message));
        }
        assert_eq!(messages[0], messages[1]);
        assert_eq!(messages[0].0, ErrorKind::Unavailable);
    }

    /// A rate limit as a manifest declares it.
    fn declared(yaml: &str) -> Arc<dyn RateReport> {
        let rate: crate::manifest::RateLimit = serde_saphyr::from_str(yaml).unwrap();
        Arc::new(rate)
    }

    #[tokio::test]
    async fn a_429_without_retry_after_waits_for_the_vendors_window() {
        let server = vendor(
            &[
                ResponseTemplate::new(429)
                    .insert_header("x-limit", "10")
                    .insert_header("x-left", "0")
                    .insert_header("x-reset-in", "5"),
                ResponseTemplate::new(200),
            ],
            "GET",
        )
        .await;
        let (client, waits) = client();
        let slot = RateLimitSlot::default();
        let report = declared(
            "headers: { limit: x-limit, remaining: x-left, reset: { type: delta_seconds, header: x-reset-in } }\n\
             retry_after: [{ type: header, name: retry-after }, { type: reset }]\n",
        );
        client
            .with_rate_report(report, slot.clone())
            .send(VendorRequest::new(Method::GET, url(&server)), &none)
            .await
            .unwrap();
        let waits = waits.0.lock().unwrap().clone();
        assert_eq!(waits.len(), 1);
        assert!(
            waits[0] >= Duration::from_secs(4) && waits[0] <= Duration::from_secs(5),
            "{waits:?}"
        );
        let reading = slot.lock().unwrap().unwrap();
        assert_eq!((reading.limit, reading.remaining), (10, 0));
    }

    #[tokio::test]
    async fn the_first_hint_that_gives_a_wait_is_waited_and_told() {
        let server = vendor(
            &[
                ResponseTemplate::new(429)
                    .set_body_json(serde_json::json!({ "error": { "retry_in": 12 } })),
                ResponseTemplate::new(429)
                    .insert_header("retry-after", "3")
                    .set_body_json(serde_json::json!({ "error": { "retry_in": 12 } })),
                ResponseTemplate::new(429)
                    .insert_header("retry-after", "3")
                    .set_body_json(serde_json::json!({ "error": { "retry_in": 12 } })),
            ],
            "GET",
        )
        .await;
        let (client, waits) = client();
        let report = declared(
            "retry_after:\n  - { type: header, name: retry-after }\n  - { type: body, path: $.error.retry_in }\n",
        );
        let err = client
            .with_rate_report(report, RateLimitSlot::default())
            .send(VendorRequest::new(Method::GET, url(&server)), &none)
            .await
            .unwrap_err();
        assert_eq!(
            *waits.0.lock().unwrap(),
            [Duration::from_secs(12), Duration::from_secs(3)]
        );
        assert_eq!(err.retry_after, Some(Duration::from_secs(3)));
    }

    #[tokio::test]
    async fn a_manifest_without_hints_leaves_the_wait_to_the_backoff() {
        let server = vendor(
            &[
                ResponseTemplate::new(429).insert_header("retry-after", "30"),
                ResponseTemplate::new(200),
            ],
            "GET",
        )
        .await;
        let (client, waits) = client();
        client
            .with_rate_report(declared("{}"), RateLimitSlot::default())
            .send(VendorRequest::new(Method::GET, url(&server)), &none)
            .await
            .unwrap();
        let waits = waits.0.lock().unwrap().clone();
        assert_eq!(waits.len(), 1);
        assert!(waits[0] <= HttpConfig::default().max_backoff, "{waits:?}");
    }

    #[test]
    fn delay_headers_take_seconds_and_http_dates() {
        let now = std::time::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let mut headers = HeaderMap::new();
        headers.insert(header::RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(
            header_delay(&headers, "retry-after", now),
            Some(Duration::from_secs(7))
        );
        let later = now + Duration::from_secs(90);
        headers.insert(
            header::RETRY_AFTER,
            httpdate::fmt_http_date(later).parse().unwrap(),
        );
        assert_eq!(
            header_delay(&headers, "Retry-After", now),
            Some(Duration::from_secs(90))
        );
        let earlier = now - Duration::from_secs(90);
        headers.insert(
            header::RETRY_AFTER,
            httpdate::fmt_http_date(earlier).parse().unwrap(),
        );
        assert_eq!(
            header_delay(&headers, "retry-after", now),
            Some(Duration::ZERO)
        );
        headers.insert(header::RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(header_delay(&headers, "retry-after", now), None);
        assert_eq!(header_delay(&headers, "x-other", now), None);
    }
}

#[cfg(test)]
mod budget {
    use crate::LocalLimiter;

    use super::*;

    /// HubSpot's budget, 100 calls in 10 seconds, met by 500 requests at once with 30 seconds
    /// each: three windows' worth go (at 0, 10 and 20 seconds), and the rest are told at once.
    #[tokio::test(start_paused = true)]
    async fn a_contended_budget_answers_429_at_once_when_the_slot_comes_too_late() {
        let limiter: Arc<dyn RateLimiter> = Arc::new(LocalLimiter::default());
        let budget = RateBudget {
            requests: 100,
            per: Duration::from_secs(10),
        };
        let start = Instant::now();
        let deadline = start + Duration::from_secs(30);
        let client = OutboundClient::for_tests()
            .with_budget(limiter, "hubspot:c1", budget)
            .with_deadline(deadline);
        let mut tasks = Vec::new();
        for _ in 0..500 {
            let client = client.clone();
            tasks.push(tokio::spawn(async move {
                let outcome = client.take_slot().await;
                (Instant::now(), outcome)
            }));
        }
        let mut granted = Vec::new();
        let mut refused = 0;
        for task in tasks {
            match task.await.unwrap() {
                (at, Ok(())) => granted.push(at),
                (at, Err(err)) => {
                    refused += 1;
                    assert_eq!(at, start, "refused at once, not after waiting");
                    assert_eq!(err.kind, ErrorKind::RateLimited);
                    assert_eq!(err.retry_after, Some(Duration::from_secs(30)));
                }
            }
        }
        assert_eq!(granted.len(), 300);
        assert_eq!(refused, 200);
        for at in &granted {
            assert!(
                deadline.saturating_duration_since(*at) >= MIN_CALL_TIME,
                "a slot {:?} after the start leaves too little of the deadline",
                at.duration_since(start)
            );
        }
        let last = granted.iter().max().unwrap().duration_since(start);
        assert_eq!(last, Duration::from_secs(20));
    }

    /// A free slot is taken even with little of the deadline left: then the budget is not what
    /// stands in the way, and the call itself meets the deadline.
    #[tokio::test(start_paused = true)]
    async fn a_free_slot_is_taken_however_little_time_is_left() {
        let limiter: Arc<dyn RateLimiter> = Arc::new(LocalLimiter::default());
        let budget = RateBudget {
            requests: 1,
            per: Duration::from_secs(10),
        };
        let client = OutboundClient::for_tests()
            .with_budget(limiter, "k", budget)
            .with_deadline(Instant::now() + Duration::from_millis(200));
        assert!(client.take_slot().await.is_ok());
        let err = client.take_slot().await.unwrap_err();
        assert_eq!(err.retry_after, Some(Duration::from_secs(10)));
    }
}
