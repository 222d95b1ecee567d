//! Connections opened once and reused while they are current.
//!
//! Opening a connection costs two or three database reads, a decryption and the tenant's
//! mapping layers compiled; none of it is translation. So a process keeps each opened
//! connection with the tenant's version ([`crate::store::Store::tenant_version`]) it was
//! opened at, and a request uses it only while the store still reports that version: every
//! Vault write moves the version in its own transaction, from whichever process made it, so a
//! request never runs on settings or mappings older than the last write it could have seen.
//! The check is one indexed read, against three to five for opening again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use crmgate_connector_sdk::{CallContext, RateLimitSlot, Resource};

use crate::mapping::TenantMappings;
use crate::registry::ConnectorEntry;
use crate::store::Tenant;

/// The opened connections of the tenants this process has served lately.
pub struct ConnectionCache {
    /// Per tenant, one opened connection per `x-apideck-service-id` it was asked with (`None`
    /// for "the consumer's only connection"), all of one version.
    tenants: Mutex<HashMap<Tenant, Opened>>,
    /// How many tenants are kept; past it an arbitrary one is let go. 0 keeps none.
    capacity: usize,
}

struct Opened {
    version: i64,
    by_service: Vec<(Option<String>, Arc<OpenConnection>)>,
}

/// A connection ready for calls: its connector, the settings opened, the client with the
/// connection's auth and budget, and the tenant's mapping layers as they are compiled.
pub struct OpenConnection {
    pub entry: ConnectorEntry,
    /// Everything of a call context that does not belong to one request.
    template: CallContext,
    /// The tenant's compiled mapping layers, per resource, filled on first use.
    mappings: Mutex<Vec<(Resource, Arc<TenantMappings>)>>,
    /// When the OAuth access token it was opened with expires (Unix seconds): a request near
    /// then opens the connection again, refreshing the token first.
    pub expires_at: Option<i64>,
}

impl OpenConnection {
    pub fn new(entry: ConnectorEntry, template: CallContext, expires_at: Option<i64>) -> Self {
        Self {
            entry,
            template,
            mappings: Mutex::default(),
            expires_at,
        }
    }

    /// A call context for one request, with its own deadline, rate-limit slot, metric label
    /// and degraded steps.
    pub fn call_context(
        &self,
        deadline: tokio::time::Instant,
        slot: RateLimitSlot,
        operation: &'static str,
    ) -> CallContext {
        let t = &self.template;
        let report = self.entry.connector.manifest().rate_report();
        CallContext {
            http: t
                .http
                .with_deadline(deadline)
                .with_rate_report(report, slot)
                .with_operation(operation),
            base_url: t.base_url.clone(),
            settings: t.settings.clone(),
            lookups: t.lookups.clone(),
            connection: t.connection.clone(),
            degraded: Default::default(),
        }
    }

    /// The tenant's mapping layers for `resource`, if a request compiled them already.
    pub fn mappings(&self, resource: Resource) -> Option<Arc<TenantMappings>> {
        let found = self
            .mappings
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .find(|(r, _)| *r == resource)
            .map(|(_, m)| m.clone());
        count("mappings", found.is_some());
        found
    }

    /// Keeps the layers a request compiled for the next requests on this connection.
    pub fn keep_mappings(&self, resource: Resource, layers: Arc<TenantMappings>) {
        let mut kept = self.mappings.lock().unwrap_or_else(PoisonError::into_inner);
        if !kept.iter().any(|(r, _)| *r == resource) {
            kept.push((resource, layers));
        }
    }
}

/// Counts a cache lookup for `/metrics`: `part` is `connection` or `mappings`.
fn count(part: &'static str, hit: bool) {
    let result = if hit { "hit" } else { "miss" };
    metrics::counter!("crmgate_connection_cache_total", "part" => part, "result" => result)
        .increment(1);
}

impl ConnectionCache {
    pub fn new(capacity: usize) -> Self {
        Self {
            tenants: Mutex::default(),
            capacity,
        }
    }

    /// The connection opened for this tenant and service header, if it was opened at
    /// `version`.
    pub fn get(
        &self,
        tenant: &Tenant,
        service: Option<&str>,
        version: i64,
    ) -> Option<Arc<OpenConnection>> {
        let found = self
            .tenants
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(tenant)
            .filter(|opened| opened.version == version)
            .and_then(|opened| {
                opened
                    .by_service
                    .iter()
                    .find(|(s, _)| s.as_deref() == service)
            })
            .map(|(_, open)| open.clone());
        count("connection", found.is_some());
        found
    }

    /// Keeps a connection opened at `version`; what was kept for an older version goes.
    pub fn insert(
        &self,
        tenant: &Tenant,
        service: Option<&str>,
        version: i64,
        open: Arc<OpenConnection>,
    ) {
        if self.capacity == 0 {
            return;
        }
        let mut tenants = self.tenants.lock().unwrap_or_else(PoisonError::into_inner);
        if tenants.len() >= self.capacity && !tenants.contains_key(tenant) {
            let evicted = tenants.keys().next().cloned();
            if let Some(evicted) = evicted {
                tenants.remove(&evicted);
            }
        }
        let opened = tenants.entry(tenant.clone()).or_insert(Opened {
            version,
            by_service: Vec::new(),
        });
        if opened.version != version {
            // A request that read an older version finishing late must not push out the
            // newer entry; one that read a newer version replaces everything.
            if opened.version > version {
                return;
            }
            *opened = Opened {
                version,
                by_service: Vec::new(),
            };
        }
        opened.by_service.retain(|(s, _)| s.as_deref() != service);
        opened.by_service.push((service.map(str::to_owned), open));
    }
}
