//! OAuth 2.0 connections on the gateway's side: the signed states of Vault's authorize links
//! and flows, each application's client at a vendor, and token refresh done once at a time.
//!
//! A refresh happens shortly before the access token expires (when a request opens or reuses
//! the connection) or when the vendor answers 401 (through the outbound client's
//! [`Refresher`]). Either way it runs under two locks, this process's and the store's (a
//! PostgreSQL advisory lock), and first reads the connection again: if another request or
//! process refreshed meanwhile, its tokens are used and the vendor is not called. New tokens
//! are stored (the rotated refresh token with them) before the access token is used. A grant
//! the vendor refuses (`invalid_grant`) marks the connection invalid; from then on its calls
//! fail at once with a 401 naming the authorize link, and no token call is made until the end
//! customer authorizes again.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use crmgate_connector_sdk::oauth::{self, OAuthApp};
use crmgate_connector_sdk::{
    ConnectionSettings, ErrorKind, OutboundClient, OutboundPolicy, Refresher,
};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use url::Url;

use super::cursor::shared_key;
use crate::error::{Error, ErrorType, Result};
use crate::registry::ConnectorEntry;
use crate::store::{ConnectionRecord, Sealer, Store, Tenant};

/// The setting every connector takes for its API root.
const BASE_URL: &str = "base_url";

/// The shared value holding the key that signs authorize links and flow states.
const STATE_KEY_META: &str = "oauth_state_hmac_key";

/// How long an authorize link (`authorize_url` of a connection) stays usable.
pub const LINK_LIFETIME_MS: i64 = 60 * 60 * 1000;

/// The cookie that binds a flow to the browser that started it.
pub const FLOW_COOKIE: &str = "crmgate_oauth_flow";

/// How long the end customer has from the authorize redirect to the callback.
pub const FLOW_LIFETIME_MS: i64 = 10 * 60 * 1000;

/// How long before its expiry an access token is refreshed.
pub const REFRESH_MARGIN_SECS: i64 = 60;

/// Set in a connection's settings when the vendor refused its grant; holds the vendor's
/// reason. It starts with the tokens' prefix, so a new authorization clears it with them.
pub const INVALID: &str = "oauth:invalid";

/// Set in a connection's settings while a two-step authorization awaits its confirmation:
/// the SHA-256 of the confirm token and when it expires (epoch ms), `hex:ms`.
pub const UNCONFIRMED: &str = "oauth:unconfirmed";

/// Set in a connection's settings when its last refresh failed for another reason than a
/// refused grant (a refused client, a token endpoint down): `ms status reason`, when it
/// failed, the status its calls got and what the vendor said. A success or a new
/// authorization clears it.
pub const REFRESH_FAILED: &str = "oauth:refresh_failed";

/// How long after a failed refresh the next one may be tried. Meanwhile the connection's
/// calls fail at once with the same error, so a refusal that will not heal by itself
/// (`invalid_client`) costs one token call per cooldown, not one per request.
pub const REFRESH_COOLDOWN_MS: i64 = 30 * 1000;

/// How long a confirm token may be used after the callback.
pub const CONFIRM_LIFETIME_MS: i64 = 30 * 60 * 1000;

/// The hex SHA-256 of a confirm token, as it is kept.
pub fn confirm_digest(token: &str) -> String {
    use sha2::Digest;
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The error of a call on a connection whose authorization awaits confirmation.
pub fn unconfirmed_connection(service: &str) -> Error {
    Error::new(StatusCode::UNPROCESSABLE_ENTITY, ErrorType::ConnectionSettingsError, "Connection is not confirmed")
        .with_detail(format!("The {service} connection was authorized with a nonce and awaits confirmation: POST /vault/connections/crm/{service}/confirm with the confirm_token").into())
}

/// The sealing context of an application's client secret: no consumer, and a service name no
/// connection has.
fn client_scope(app_id: &str, service: &str) -> (Tenant, String) {
    (
        Tenant {
            app_id: app_id.to_owned(),
            consumer_id: String::new(),
        },
        format!("oauth-client:{service}"),
    )
}

/// Seals an application's client secret for the store.
pub fn seal_client_secret(
    sealer: &Sealer,
    app_id: &str,
    service: &str,
    secret: SecretString,
) -> String {
    let (tenant, scope) = client_scope(app_id, service);
    sealer.seal(
        &tenant,
        &scope,
        &BTreeMap::from([("client_secret".to_owned(), secret)]),
    )
}

/// Seals an application's client secret again under the newest key (key rotation).
pub fn reseal_client_secret(
    sealer: &Sealer,
    app_id: &str,
    service: &str,
    sealed: &str,
) -> std::result::Result<String, crate::store::SealError> {
    let (tenant, scope) = client_scope(app_id, service);
    let opened = sealer.open(&tenant, &scope, sealed)?;
    Ok(sealer.seal(&tenant, &scope, &opened))
}

/// What an authorize link's `state` binds: application, consumer, service and expiry.
#[derive(Serialize, Deserialize)]
struct LinkState {
    #[serde(rename = "a")]
    app_id: String,
    #[serde(rename = "c")]
    consumer_id: String,
    #[serde(rename = "s")]
    service: String,
    /// Epoch milliseconds.
    #[serde(rename = "e")]
    expires_at: i64,
}

/// The lock one connection's refreshes in this process take turns on.
type RefreshLock = Arc<tokio::sync::Mutex<()>>;

/// The gateway's OAuth state, shared by all requests.
pub struct OAuth {
    key: Vec<u8>,
    /// Where browsers reach this gateway; the callback is below it.
    public_url: Url,
    /// Per connector with an OAuth flow, the client for its token endpoint and the policy of
    /// its API calls (which an account's API root from a token answer must pass).
    connectors: BTreeMap<&'static str, (OutboundClient, OutboundPolicy)>,
    /// One lock per connection being refreshed in this process.
    locks: Mutex<HashMap<(Tenant, &'static str), RefreshLock>>,
    /// How many refreshes of different connections run at once in this process.
    refreshes: tokio::sync::Semaphore,
}

/// Refreshes one process runs at once: each holds one pooled database connection for its
/// lock (of 16) and uses another at a time.
const CONCURRENT_REFRESHES: usize = 4;

impl OAuth {
    pub async fn establish(
        store: &dyn Store,
        public_url: Url,
        connectors: BTreeMap<&'static str, (OutboundClient, OutboundPolicy)>,
    ) -> Result<Self> {
        Ok(Self {
            key: shared_key(store, STATE_KEY_META).await?,
            public_url,
            connectors,
            locks: Mutex::default(),
            refreshes: tokio::sync::Semaphore::new(CONCURRENT_REFRESHES),
        })
    }

    fn tag(&self, domain: &str, payload: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(domain.as_bytes());
        mac.update(&[0]);
        mac.update(payload);
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// `payload.tag`, both base64url.
    fn sign(&self, domain: &str, payload: &[u8]) -> String {
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(payload),
            self.tag(domain, payload)
        )
    }

    /// The payload of a signed text, if the signature holds.
    fn verify(&self, domain: &str, text: &str) -> Option<Vec<u8>> {
        let (payload, tag) = text.split_once('.')?;
        let payload = URL_SAFE_NO_PAD.decode(payload).ok()?;
        let expected = self.tag(domain, &payload);
        // Both are base64 of a fixed-length MAC, so comparing in constant time is enough.
        use subtle::ConstantTimeEq;
        bool::from(expected.as_bytes().ct_eq(tag.as_bytes())).then_some(payload)
    }

    /// The `state` of a consumer's authorize and revoke links.
    fn link_state(&self, action: &'static str, tenant: &Tenant, service: &str, now: i64) -> String {
        let state = LinkState {
            app_id: tenant.app_id.clone(),
            consumer_id: tenant.consumer_id.clone(),
            service: service.to_owned(),
            expires_at: now + LINK_LIFETIME_MS,
        };
        self.sign(
            action,
            &serde_json::to_vec(&state).expect("a link state serialises"),
        )
    }

    /// The consumer a link's `state` was made for, if it is genuine, unexpired and for this
    /// application and service.
    pub fn read_link_state(
        &self,
        action: &'static str,
        text: &str,
        app_id: &str,
        service: &str,
        now: i64,
    ) -> Result<Tenant> {
        let state: LinkState = self
            .verify(action, text)
            .and_then(|p| serde_json::from_slice(&p).ok())
            .ok_or_else(|| invalid_state("the state is not one this gateway issued"))?;
        if state.expires_at < now {
            return Err(invalid_state(
                "the link has expired; read the connection again for a new authorize_url",
            ));
        }
        if state.app_id != app_id || state.service != service {
            return Err(invalid_state(
                "the state was issued for another application or connector",
            ));
        }
        Ok(Tenant {
            app_id: state.app_id,
            consumer_id: state.consumer_id,
        })
    }

    /// The `state` sent to the vendor for a flow: its id, signed.
    pub fn flow_state(&self, id: &str) -> String {
        self.sign("flow", id.as_bytes())
    }

    /// The value of the cookie that binds a flow to the browser that started it (RFC 6749
    /// §10.12): a tag of the flow id, so it needs no storage and no other browser has it.
    pub fn flow_cookie(&self, id: &str) -> String {
        self.tag("browser", id.as_bytes())
    }

    /// Whether a callback's cookies hold the flow's browser binding.
    pub fn browser_started(&self, id: &str, cookies: &str) -> bool {
        use subtle::ConstantTimeEq;
        let expected = self.flow_cookie(id);
        cookies
            .split(';')
            .filter_map(|c| c.trim().split_once('='))
            .any(|(name, value)| {
                name == FLOW_COOKIE && bool::from(value.as_bytes().ct_eq(expected.as_bytes()))
            })
    }

    /// Whether browsers reach the gateway over HTTPS (its cookies are then `Secure`).
    pub fn secure(&self) -> bool {
        self.public_url.scheme() == "https"
    }

    /// The flow id of a callback's `state`, if the signature holds.
    pub fn read_flow_state(&self, text: &str) -> Result<String> {
        self.verify("flow", text)
            .and_then(|p| String::from_utf8(p).ok())
            .ok_or_else(|| invalid_state("the state is not one this gateway issued"))
    }

    /// A consumer's authorize and revoke links for a connector, each with a state signed for
    /// its own action, so that one is never taken for the other.
    pub fn links(&self, tenant: &Tenant, service: &str, now: i64) -> (String, String) {
        let link = |action: &'static str| {
            let state = self.link_state(action, tenant, service, now);
            let mut url = self.public_url.clone();
            url.set_path(&format!(
                "{}/vault/{action}/{service}/{}",
                self.public_url.path().trim_end_matches('/'),
                tenant.app_id
            ));
            url.query_pairs_mut().append_pair("state", &state);
            url.to_string()
        };
        (link("authorize"), link("revoke"))
    }

    /// Where the vendor sends the end customer back to; registered with the vendor as the
    /// application's redirect URI.
    pub fn callback_url(&self) -> String {
        let mut url = self.public_url.clone();
        url.set_path(&format!(
            "{}/vault/callback",
            self.public_url.path().trim_end_matches('/')
        ));
        url.to_string()
    }

    pub fn token_client(&self, service: &str) -> Result<&OutboundClient> {
        self.connectors
            .get(service)
            .map(|(client, _)| client)
            .ok_or_else(|| Error::internal(format_args!("no token client for {service}")))
    }

    /// Puts a grant into a connection's settings: the tokens, and the account's API root when
    /// the manifest takes one from the answer (refused unless the connector may call it).
    pub fn apply_tokens(
        &self,
        entry: &ConnectorEntry,
        settings: &mut BTreeMap<String, SecretString>,
        tokens: oauth::Tokens,
    ) -> Result<()> {
        let service = entry.connector.id();
        if let Some(root) = entry
            .connector
            .manifest()
            .oauth2()
            .and_then(|declared| tokens.base_url(declared))
        {
            let refused = |why: String| {
                Error::new(
                    StatusCode::BAD_GATEWAY,
                    ErrorType::ConnectorExecutionError,
                    "Connector Execution Error",
                )
                .with_detail(
                    format!(
                        "The {service} token answer names an API root crmgate may not call ({why})"
                    )
                    .into(),
                )
            };
            let url = Url::parse(root).map_err(|e| refused(e.to_string()))?;
            let (_, policy) = self
                .connectors
                .get(service)
                .ok_or_else(|| Error::internal(format_args!("no OAuth policy for {service}")))?;
            policy.check(&url).map_err(|r| refused(r.to_string()))?;
            settings.insert(BASE_URL.to_owned(), SecretString::from(root.to_owned()));
        }
        tokens.store(settings);
        Ok(())
    }

    fn lock(&self, tenant: &Tenant, service: &'static str) -> RefreshLock {
        let mut locks = self.locks.lock().unwrap_or_else(PoisonError::into_inner);
        // Locks nobody holds or waits for are let go, so the map stays as small as the
        // refreshes in progress.
        locks.retain(|_, lock| Arc::strong_count(lock) > 1);
        locks.entry((tenant.clone(), service)).or_default().clone()
    }
}

/// What a Hosted Vault session token carries: whose page it is, until when, and how the page
/// shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionClaims {
    #[serde(rename = "a")]
    pub app_id: String,
    #[serde(rename = "c")]
    pub consumer_id: String,
    /// Epoch milliseconds.
    #[serde(rename = "e")]
    pub expires_at: i64,
    /// Where the page's "back" link goes.
    #[serde(rename = "r", default, skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<String>,
    #[serde(rename = "s", default, skip_serializing_if = "std::ops::Not::not")]
    pub sandbox_mode: bool,
    /// The application asked for unified APIs other than CRM only.
    #[serde(rename = "h", default, skip_serializing_if = "std::ops::Not::not")]
    pub crm_hidden: bool,
    /// Whether the page may delete connections (`allow_actions`).
    #[serde(rename = "d")]
    pub can_disconnect: bool,
}

impl SessionClaims {
    pub fn tenant(&self) -> Tenant {
        Tenant {
            app_id: self.app_id.clone(),
            consumer_id: self.consumer_id.clone(),
        }
    }
}

/// Why a session token is not honoured.
#[derive(Debug, PartialEq, Eq)]
pub enum SessionRefusal {
    /// Not one this gateway signed.
    Forged,
    /// Genuine but past its end; the claims say where to go back to.
    Expired(SessionClaims),
}

impl OAuth {
    /// A Hosted Vault session's token: its claims, signed.
    pub fn session_token(&self, claims: &SessionClaims) -> String {
        self.sign(
            "session",
            &serde_json::to_vec(claims).expect("session claims serialise"),
        )
    }

    /// The claims of a genuine, unexpired session token.
    pub fn read_session(
        &self,
        token: &str,
        now: i64,
    ) -> std::result::Result<SessionClaims, SessionRefusal> {
        let claims: SessionClaims = self
            .verify("session", token)
            .and_then(|p| serde_json::from_slice(&p).ok())
            .ok_or(SessionRefusal::Forged)?;
        if claims.expires_at < now {
            return Err(SessionRefusal::Expired(claims));
        }
        Ok(claims)
    }

    /// The page of a session.
    pub fn session_uri(&self, token: &str) -> String {
        let mut url = self.public_url.clone();
        url.set_path(&format!(
            "{}/vault/session/{token}",
            self.public_url.path().trim_end_matches('/')
        ));
        url.to_string()
    }
}

fn invalid_state(why: &str) -> Error {
    Error::new(
        StatusCode::BAD_REQUEST,
        ErrorType::OAuthInvalidStateError,
        "Invalid state",
    )
    .with_detail(why.into())
}

/// An application's client at a connector's vendor, secret opened.
pub async fn app_client(
    store: &dyn Store,
    sealer: &Sealer,
    app_id: &str,
    service: &str,
) -> Result<OAuthApp> {
    let record = store.oauth_client(app_id, service).await?.ok_or_else(|| {
        Error::new(StatusCode::BAD_REQUEST, ErrorType::OAuthCredentialsNotFoundError, "OAuth client not found")
            .with_detail(format!("Application {app_id} has no OAuth client for {service}; register one with `crmgate apps oauth set {app_id} {service}`").into())
    })?;
    let (tenant, scope) = client_scope(app_id, service);
    let secret = sealer
        .open(&tenant, &scope, &record.client_secret)
        .ok()
        .and_then(|mut m| m.remove("client_secret"))
        .ok_or_else(|| {
            Error::internal(format_args!(
                "the client secret of {app_id}'s {service} OAuth client does not open"
            ))
        })?;
    let url = |text: &Option<String>| text.as_deref().and_then(|t| Url::parse(t).ok());
    Ok(OAuthApp {
        client_id: record.client_id,
        client_secret: secret,
        scopes: record
            .scopes
            .map(|s| s.split_whitespace().map(str::to_owned).collect()),
        authorization_url: url(&record.authorization_url),
        token_url: url(&record.token_url),
    })
}

/// The 401 of a connection whose grant the vendor refused, with the link that repairs it.
pub fn invalid_connection(oauth: &OAuth, tenant: &Tenant, service: &str, reason: &str) -> Error {
    let now = chrono::Utc::now().timestamp_millis();
    let (authorize_url, _) = oauth.links(tenant, service, now);
    Error::new(StatusCode::UNAUTHORIZED, ErrorType::UnauthorizedError, "Unauthorized Request")
        .with_detail(serde_json::json!({
            "type": "refresh_token_connector_error",
            "message": format!("The {service} connection's authorization is no longer valid ({reason}); the end customer must authorize it again."),
            "authorize_url": authorize_url,
        }))
}

/// When a connection's last refresh failed, the status its calls got and why, if it did.
pub fn refresh_failure_of(
    settings: &BTreeMap<String, SecretString>,
) -> Option<(i64, StatusCode, &str)> {
    let mut parts = settings.get(REFRESH_FAILED)?.expose_secret().splitn(3, ' ');
    let at = parts.next()?.parse().ok()?;
    let status = StatusCode::from_u16(parts.next()?.parse().ok()?).ok()?;
    Some((at, status, parts.next().unwrap_or("")))
}

/// The error of a call whose connection's token could not be refreshed, in Apideck's shape:
/// what the vendor said and when the next refresh may be tried.
fn refresh_failed(
    service: &str,
    (failed_at, status, reason): (i64, StatusCode, &str),
    now_ms: i64,
) -> Error {
    let retry_at = failed_at + REFRESH_COOLDOWN_MS;
    let remaining = (retry_at - now_ms).clamp(0, REFRESH_COOLDOWN_MS);
    let type_name = if status == StatusCode::UNAUTHORIZED {
        ErrorType::UnauthorizedError
    } else {
        ErrorType::ConnectorExecutionError
    };
    let message = if status == StatusCode::UNAUTHORIZED {
        "Unauthorized Request"
    } else {
        "Connector Execution Error"
    };
    Error::new(status, type_name, message)
        .with_detail(serde_json::json!({
            "type": "refresh_token_connector_error",
            "service": service,
            "message": reason,
            "debug": {
                "last_refresh_failed_at": failed_at,
                "retry_after_ms": retry_at,
                "cooldown_remaining_ms": remaining,
            },
        }))
        .with_retry_after(std::time::Duration::from_millis(
            u64::try_from(remaining).unwrap_or(0).max(1000),
        ))
}

/// Whether an error is a refresh that failed and waits for its cooldown (and so leaves an
/// unexpired access token usable), not a refused grant or a failure of crmgate's own.
pub fn is_refresh_failure(e: &Error) -> bool {
    e.detail()
        .get("debug")
        .is_some_and(|d| d.get("retry_after_ms").is_some())
}

/// Saves a connection with changed settings, sealed, as of now.
pub async fn save_settings(
    store: &dyn Store,
    sealer: &Sealer,
    tenant: &Tenant,
    mut record: ConnectionRecord,
    settings: &BTreeMap<String, SecretString>,
) -> Result<()> {
    record.settings = sealer.seal(tenant, &record.service_id, settings);
    record.updated_at = chrono::Utc::now().timestamp_millis();
    store.save_connection(tenant, &record).await
}

/// What a refresh reads and writes.
#[derive(Clone)]
pub struct Refreshing {
    pub store: Arc<dyn Store>,
    pub sealer: Arc<Sealer>,
    pub oauth: Arc<OAuth>,
}

impl Refreshing {
    /// Whether stored settings are an OAuth connection's whose token expires within the margin.
    pub fn due(settings: &BTreeMap<String, SecretString>, now_secs: i64) -> bool {
        oauth::is_authorized(settings)
            && oauth::expires_at(settings).is_some_and(|at| at <= now_secs + REFRESH_MARGIN_SECS)
    }

    /// The connection's settings with a current access token: refreshed at the vendor unless,
    /// once the locks are held, the stored token is in none of the `rejected` auth header
    /// values and is not due (another request or process refreshed it).
    pub async fn refresh(
        &self,
        tenant: &Tenant,
        entry: &ConnectorEntry,
        rejected: &[String],
    ) -> Result<BTreeMap<String, SecretString>> {
        let (this, tenant, entry) = (self.clone(), tenant.clone(), entry.clone());
        let rejected = rejected.to_vec();
        // A task of its own runs to the end even when the request that needed it is dropped
        // (its client went away, its deadline passed): tokens the vendor issued, a rotated
        // refresh token among them, are saved whatever happens to the request.
        tokio::spawn(async move { this.refresh_now(&tenant, &entry, &rejected).await })
            .await
            .map_err(|e| Error::internal(format_args!("the token refresh stopped: {e}")))?
    }

    /// Runs `save` under the locks a refresh holds, so that a new authorization and a refresh
    /// in flight never overwrite each other's tokens.
    pub async fn exclusively<T>(
        &self,
        tenant: &Tenant,
        service: &'static str,
        save: impl std::future::Future<Output = Result<T>>,
    ) -> Result<T> {
        let lock = self.oauth.lock(tenant, service);
        let _local = lock.lock().await;
        let guard = self.store.refresh_lock(tenant, service).await?;
        let outcome = save.await;
        guard.release().await?;
        outcome
    }

    async fn refresh_now(
        &self,
        tenant: &Tenant,
        entry: &ConnectorEntry,
        rejected: &[String],
    ) -> Result<BTreeMap<String, SecretString>> {
        let service = entry.connector.id();
        let lock = self.oauth.lock(tenant, service);
        let _local = lock.lock().await;
        // Each refresh holds a database connection for its lock and needs others meanwhile;
        // bounding them keeps refreshes of many connections from draining the pool.
        let _turn = self
            .oauth
            .refreshes
            .acquire()
            .await
            .map_err(|_| Error::internal("the refresh limiter is closed"))?;
        let guard = self.store.refresh_lock(tenant, service).await?;
        let outcome = self.refresh_locked(tenant, entry, rejected).await;
        guard.release().await?;
        outcome
    }

    async fn refresh_locked(
        &self,
        tenant: &Tenant,
        entry: &ConnectorEntry,
        rejected: &[String],
    ) -> Result<BTreeMap<String, SecretString>> {
        let service = entry.connector.id();
        let record: ConnectionRecord = self
            .store
            .connection(tenant, service)
            .await?
            .ok_or_else(|| Error::no_connection(tenant, service))?;
        let mut settings = self
            .sealer
            .open(tenant, service, &record.settings)
            .map_err(|_| Error::connection_settings("oauth"))?;
        if let Some(reason) = settings.get(INVALID) {
            return Err(invalid_connection(
                &self.oauth,
                tenant,
                service,
                reason.expose_secret(),
            ));
        }
        let now = chrono::Utc::now();
        let renewed_meanwhile = settings.get(oauth::ACCESS_TOKEN).is_some_and(|current| {
            let current = current.expose_secret();
            !rejected.iter().any(|value| value.contains(current))
        });
        if renewed_meanwhile && !Self::due(&settings, now.timestamp()) {
            return Ok(settings);
        }
        let now_ms = now.timestamp_millis();
        if let Some(failure) = refresh_failure_of(&settings)
            && now_ms < failure.0 + REFRESH_COOLDOWN_MS
        {
            return Err(refresh_failed(service, failure, now_ms));
        }
        let refresh_token = settings.get(oauth::REFRESH_TOKEN).cloned().ok_or_else(|| {
            invalid_connection(&self.oauth, tenant, service, "no refresh token was granted")
        })?;
        // Without the application's client nothing can be renewed: the call is unauthorized,
        // not malformed, whatever the Vault routes answer for the same missing client.
        let app = app_client(self.store.as_ref(), &self.sealer, &tenant.app_id, service)
            .await
            .map_err(|e| {
                if e.status() == StatusCode::BAD_REQUEST {
                    e.with_status(StatusCode::UNAUTHORIZED)
                } else {
                    e
                }
            })?;
        let manifest = entry.connector.manifest();
        let http = self.oauth.token_client(service)?;
        tracing::info!(service, "Refreshing a connection's OAuth token.");
        metrics::counter!("crmgate_oauth_refreshes_total", "connector" => service).increment(1);
        let current = ConnectionSettings::new(entry.connector.settings(), settings.clone());
        match manifest
            .refresh_tokens(http, &app, &current, &refresh_token)
            .await
        {
            Ok(tokens) => {
                settings.remove(REFRESH_FAILED);
                self.oauth.apply_tokens(entry, &mut settings, tokens)?;
                save_settings(self.store.as_ref(), &self.sealer, tenant, record, &settings).await?;
                Ok(settings)
            }
            Err(e) if e.kind == ErrorKind::Revoked => {
                tracing::warn!(
                    service,
                    "The vendor refused a connection's OAuth grant; it is marked invalid."
                );
                let reason = e.message.clone();
                settings.insert(INVALID.to_owned(), SecretString::from(reason.clone()));
                save_settings(self.store.as_ref(), &self.sealer, tenant, record, &settings).await?;
                Err(invalid_connection(&self.oauth, tenant, service, &reason))
            }
            Err(e) => {
                // When the call ended, not when it began: a token endpoint that hung for the
                // whole timeout must still be left alone for a whole cooldown.
                let now_ms = chrono::Utc::now().timestamp_millis();
                let reason = e.message.clone();
                let status = Error::from_connector(e, service).status();
                tracing::warn!(
                    service,
                    %reason,
                    "A connection's OAuth token could not be refreshed; retrying after the cooldown."
                );
                settings.insert(
                    REFRESH_FAILED.to_owned(),
                    SecretString::from(format!("{now_ms} {} {reason}", status.as_u16())),
                );
                save_settings(self.store.as_ref(), &self.sealer, tenant, record, &settings).await?;
                Err(refresh_failed(service, (now_ms, status, &reason), now_ms))
            }
        }
    }
}

/// The outbound client's hook for a 401 on an OAuth connection.
pub struct ConnectionRefresher {
    pub refreshing: Refreshing,
    pub tenant: Tenant,
    pub entry: ConnectorEntry,
}

#[async_trait]
impl Refresher for ConnectionRefresher {
    async fn refresh(&self, rejected: &HeaderMap) -> crmgate_connector_sdk::Result<HeaderMap> {
        let connector = &self.entry.connector;
        let rejected: Vec<String> = rejected
            .values()
            .filter_map(|v| v.to_str().ok())
            .map(str::to_owned)
            .collect();
        let settings = self
            .refreshing
            .refresh(&self.tenant, &self.entry, &rejected)
            .await
            .map_err(|e| {
                // A refused grant stays a 401; anything else kept the refresh from happening.
                let kind = if e.status() == StatusCode::UNAUTHORIZED {
                    ErrorKind::Revoked
                } else {
                    ErrorKind::Unavailable
                };
                let mut failure =
                    crmgate_connector_sdk::ConnectorError::new(kind, refresh_failure(&e));
                // The client is told what the refresh said; a failure of crmgate's own said
                // nothing it may show, and the connector's own words stand.
                if !e.detail().is_null() {
                    failure = failure.with_detail(e.detail().clone());
                }
                failure.retry_after = e.retry_after();
                failure
            })?;
        connector.auth_headers(&ConnectionSettings::new(connector.settings(), settings))
    }
}

/// What a failed refresh says, for the error of the call that needed it.
fn refresh_failure(e: &Error) -> String {
    match e.detail().get("message").and_then(|m| m.as_str()) {
        Some(message) => message.to_owned(),
        None => format!(
            "The connection's OAuth token could not be refreshed: {}.",
            e.message()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oauth() -> OAuth {
        OAuth {
            key: vec![7; 32],
            public_url: Url::parse("https://gw.example/crm/").unwrap(),
            connectors: BTreeMap::new(),
            locks: Mutex::default(),
            refreshes: tokio::sync::Semaphore::new(1),
        }
    }

    fn tenant() -> Tenant {
        Tenant {
            app_id: "app-1".into(),
            consumer_id: "acme".into(),
        }
    }

    fn state_of(link: &str) -> String {
        Url::parse(link)
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == "state")
            .unwrap()
            .1
            .into_owned()
    }

    #[test]
    fn a_link_names_its_consumer_until_it_expires() {
        let oauth = oauth();
        let (authorize, revoke) = oauth.links(&tenant(), "hubspot", 1_000);
        assert!(
            authorize.starts_with("https://gw.example/crm/vault/authorize/hubspot/app-1?state=")
        );
        assert!(revoke.starts_with("https://gw.example/crm/vault/revoke/hubspot/app-1?state="));
        assert_eq!(
            oauth.callback_url(),
            "https://gw.example/crm/vault/callback"
        );
        let state = state_of(&authorize);
        let read =
            |app, service, now| oauth.read_link_state("authorize", &state, app, service, now);
        assert_eq!(read("app-1", "hubspot", 1_000).unwrap(), tenant());
        let last = 1_000 + LINK_LIFETIME_MS;
        assert!(read("app-1", "hubspot", last).is_ok());
        for (app, service, now) in [
            ("app-1", "hubspot", last + 1),
            ("app-2", "hubspot", 1_000),
            ("app-1", "pipedrive", 1_000),
        ] {
            let err = read(app, service, now).unwrap_err();
            assert_eq!(err.type_name(), "OAuthInvalidStateError");
        }
    }

    #[test]
    fn states_of_one_kind_are_not_taken_for_the_other() {
        let oauth = oauth();
        let flow = oauth.flow_state("flow-1");
        assert_eq!(oauth.read_flow_state(&flow).unwrap(), "flow-1");
        assert!(
            oauth
                .read_link_state("authorize", &flow, "app-1", "hubspot", 0)
                .is_err()
        );
        let (link, revoke) = oauth.links(&tenant(), "hubspot", 0);
        assert!(oauth.read_flow_state(&state_of(&link)).is_err());
        assert!(
            oauth
                .read_link_state("revoke", &state_of(&link), "app-1", "hubspot", 0)
                .is_err(),
            "an authorize link does not revoke"
        );
        assert!(
            oauth
                .read_link_state("revoke", &state_of(&revoke), "app-1", "hubspot", 0)
                .is_ok()
        );
        let id = "flow-2";
        let cookie = format!("other=1; {FLOW_COOKIE}={}", oauth.flow_cookie(id));
        assert!(oauth.browser_started(id, &cookie));
        assert!(
            !oauth.browser_started("flow-3", &cookie),
            "bound to its own flow"
        );
        assert!(!oauth.browser_started(id, "other=1"));
        let other = OAuth {
            key: vec![8; 32],
            ..self::tests::oauth()
        };
        assert!(
            other.read_flow_state(&flow).is_err(),
            "another key signed it"
        );
    }
}
